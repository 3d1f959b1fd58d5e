/**
 * Spatial predicates on regions (region.ts): `overlaps`, `contains`, and `boundingBox` (the SQL
 * prefilter box). Everything is computed on unit vectors.
 *
 * Semantics (sphgeom facts followed, lsst/sphgeom src/*.cc):
 * - Regions are closed: a boundary point belongs to the region. Circle containment is
 *   `|v − c|² ≤ l²` (Circle.h); polygon containment is `orientation(v, vᵢ, vᵢ₊₁) ≥ 0` for every edge
 *   with the exact orientation predicate (ConvexPolygonImpl.h); box containment compares the point's
 *   longitude/latitude with the intervals (Box.h); ellipse containment is sphgeom's Ellipse::contains.
 *   On top of the sphgeom tests, a point within BOUNDARY_EPS (1e-14 rad ≈ 2 nano-arcsec) of a
 *   boundary counts as inside, so that a POINT or vertex computed to lie on an edge is not lost to
 *   rounding; and a box whose latitude range reaches a pole contains the pole whatever its
 *   longitudes (sphgeom's interval test does not).
 * - `overlaps` is exact (up to BOUNDARY_EPS, and near tangencies up to the conditioning of the
 *   intersection point, always erring towards "overlaps") for every pair of point, circle, polygon
 *   and box: polygon–polygon by vertex containment plus proper edge crossings with exact
 *   orientations (as sphgeom's ConvexPolygon relate); circle–polygon and circle–box by the
 *   angular distance from the circle center to the other region (0 inside, else the distance to its
 *   boundary: great-circle edges, box meridian sides as great-circle arcs, box parallel sides as small
 *   circles) compared with the radius; polygon–box by vertex/corner containment plus crossings of
 *   polygon edges with the box's meridian sides (great circles) and parallel sides (small circles,
 *   located by bisection on monotone pieces of the edge); box–box by interval intersection (plus the
 *   shared pole). Where sphgeom's `relate` is itself approximate (polygon–box uses the polygon's
 *   bounding box there) this is tighter.
 * - Ellipses are approximated by their bounding circle (as sphgeom's Ellipse relate does) except
 *   against a point; intersections are conservative like sphgeom's IntersectionRegion::overlaps
 *   (false only when some operand is disjoint from the other region, or two operands are disjoint
 *   from each other; exact against a point); a union overlaps when any operand does.
 * - Empty regions (empty circle/box/ellipse, union of nothing) overlap nothing; an intersection of
 *   nothing is the full sphere (sphgeom).
 * `boundingBox` pads by BOX_PAD (5e-10 rad, sphgeom's own polygon bounding-box margin) and returns
 * the full longitude range for regions that reach within POLE_GUARD (1e-7 rad ≈ 0.02″) of a pole.
 */
import { BoxRegion, CircleRegion, CompoundRegion, EllipseRegion, PolygonRegion, Region, RegionError, squaredChordLengthFor } from "./region";
import {
  add,
  angleBetween,
  cross,
  DEG_PER_RAD,
  dot,
  fromLonLatRadians,
  isFiniteVec,
  isZero,
  latitudeOf,
  longitudeOf,
  neg,
  normalize,
  orientation,
  robustCross,
  scale,
  squaredNorm,
  sub,
  Vec3,
  Z,
} from "./vector";

/** Radians: how far outside a boundary a point may be computed and still count as on it. */
export const BOUNDARY_EPS = 1e-14;
/** Radians added on every side of a bounding box. */
export const BOX_PAD = 5e-10;
/** Radians: a region this close to a pole gets the full longitude range in its bounding box. */
export const POLE_GUARD = 1e-7;
/** sphgeom's MAX_ASIN_ERROR, used to pad an ellipse's bounding circle as sphgeom does. */
const MAX_ASIN_ERROR = 1.5e-8;

const HALF_PI = 0.5 * Math.PI;
const TWO_PI = 2 * Math.PI;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function unit(p: Vec3): Vec3 {
  if (!isFiniteVec(p) || isZero(p)) throw new RegionError("a point must be a finite, non-zero vector");
  return normalize(p);
}

function chordSquared(c: CircleRegion): number {
  return c.squaredChordLength ?? squaredChordLengthFor(c.openingAngle);
}

/** The circle's angular radius from its squared chord length (sphgeom Circle::openingAngleFor). */
function circleRadius(c: CircleRegion): number {
  const l2 = chordSquared(c);
  if (!(l2 >= 0)) return -1;
  if (l2 >= 4) return Math.PI;
  return 2 * Math.asin(0.5 * Math.sqrt(l2));
}

function lonIsEmpty(b: BoxRegion): boolean {
  return Number.isNaN(b.lon[0]) || Number.isNaN(b.lon[1]);
}

function lonIsFull(b: BoxRegion): boolean {
  return b.lon[0] === 0 && b.lon[1] === TWO_PI;
}

/** Angle from x forward (counter-clockwise) to y, in [0, 2π). */
function forward(x: number, y: number): number {
  let d = (y - x) % TWO_PI;
  if (d < 0) d += TWO_PI;
  return d;
}

/** Whether longitude x lies in [a, b] (wrapping when a > b), allowing `tol` radians of longitude. */
function lonInInterval(x: number, a: number, b: number, tol = 0): boolean {
  if (a === 0 && b === TWO_PI) return true;
  const inside = a <= b ? a <= x && x <= b : x >= a || x <= b;
  if (inside || tol <= 0) return inside;
  return Math.min(forward(x, a), forward(b, x)) <= tol;
}

function ellipseCenter(e: EllipseRegion): Vec3 {
  return [e.matrix[6], e.matrix[7], e.matrix[8]];
}

/** sphgeom Ellipse::getBoundingCircle: center, max(α, β) + 2·MAX_ASIN_ERROR. */
function ellipseBoundingCircle(e: EllipseRegion): CircleRegion {
  const r = Math.max(HALF_PI + e.a, HALF_PI + e.b) + 2 * MAX_ASIN_ERROR;
  return { kind: "circle", center: ellipseCenter(e), openingAngle: r, squaredChordLength: squaredChordLengthFor(r) };
}

// ---------------------------------------------------------------------------------------------
// Emptiness and fullness
// ---------------------------------------------------------------------------------------------

/** Whether a region is known to contain no point (intersections: only the obvious cases). */
export function isEmptyRegion(r: Region): boolean {
  switch (r.kind) {
    case "point":
    case "polygon":
      return false;
    case "circle":
      return !(chordSquared(r) >= 0);
    case "box":
      return lonIsEmpty(r) || !(r.lat[0] <= r.lat[1]);
    case "ellipse":
      return HALF_PI + r.a < r.gamma || Number.isNaN(r.a);
    case "union":
      return r.operands.every(isEmptyRegion);
    case "intersection":
      if (r.operands.length === 0) return false;
      if (r.operands.some(isEmptyRegion)) return true;
      return hasDisjointOperands(r);
  }
}

function isFullRegion(r: Region): boolean {
  switch (r.kind) {
    case "point":
    case "polygon":
      return false;
    case "circle":
      return chordSquared(r) >= 4;
    case "box":
      return lonIsFull(r) && r.lat[0] <= -HALF_PI && r.lat[1] >= HALF_PI;
    case "ellipse":
      return HALF_PI - r.a <= r.gamma;
    case "union":
      return r.operands.some(isFullRegion);
    case "intersection":
      return r.operands.every(isFullRegion);
  }
}

function hasDisjointOperands(r: CompoundRegion): boolean {
  const ops = r.operands;
  for (let i = 0; i < ops.length; i++) {
    for (let j = i + 1; j < ops.length; j++) {
      if (!overlaps(ops[i], ops[j])) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Point containment
// ---------------------------------------------------------------------------------------------

function polygonContains(vertices: readonly Vec3[], p: Vec3, eps = BOUNDARY_EPS): boolean {
  const n = vertices.length;
  for (let i = 0; i < n; i++) {
    const a = vertices[i === 0 ? n - 1 : i - 1];
    const b = vertices[i];
    if (orientation(p, a, b) >= 0) continue;
    if (eps <= 0) return false;
    const normal = robustCross(a, b);
    if (isZero(normal)) continue;
    if (dot(normalize(normal), p) < -eps) return false;
  }
  return true;
}

function circleContains(c: CircleRegion, p: Vec3, eps = BOUNDARY_EPS): boolean {
  const l2 = chordSquared(c);
  if (!(l2 >= 0)) return false;
  if (l2 >= 4) return true;
  if (squaredNorm(sub(p, c.center)) <= l2) return true;
  return eps > 0 && angleBetween(p, c.center) <= circleRadius(c) + eps;
}

function boxContains(b: BoxRegion, p: Vec3, eps = BOUNDARY_EPS): boolean {
  if (isEmptyRegion(b)) return false;
  const lat = latitudeOf(p);
  if (lat < b.lat[0] - eps || lat > b.lat[1] + eps) return false;
  // The pole belongs to every box that reaches it, whatever the longitudes.
  if (lat >= HALF_PI - eps && b.lat[1] >= HALF_PI - eps) return true;
  if (lat <= -HALF_PI + eps && b.lat[0] <= -HALF_PI + eps) return true;
  const cosLat = Math.cos(lat);
  const tol = eps > 0 ? Math.min(Math.PI, eps / Math.max(cosLat, 1e-300)) : 0;
  return lonInInterval(longitudeOf(p), b.lon[0], b.lon[1], tol);
}

/** sphgeom Ellipse::contains. */
function ellipseContains(e: EllipseRegion, v: Vec3): boolean {
  if (isEmptyRegion(e)) return false;
  if (isFullRegion(e)) return true;
  const c = ellipseCenter(e);
  const vdotc = dot(v, c);
  let u: Vec3;
  let scz: number;
  if (vdotc > 0.5) {
    u = sub(v, c);
    scz = 1;
  } else if (vdotc < -0.5) {
    u = add(v, c);
    scz = -1;
  } else {
    u = v;
    scz = 0;
  }
  const m = e.matrix;
  const su: Vec3 = [m[0] * u[0] + m[1] * u[1] + m[2] * u[2], m[3] * u[0] + m[4] * u[1] + m[5] * u[2], m[6] * u[0] + m[7] * u[1] + m[8] * u[2]];
  const x = su[0] * e.tana;
  const y = su[1] * e.tanb;
  const z = su[2] + scz;
  const d = x * x + y * y - z * z;
  return e.a > 0 ? z >= 0 || d >= 0 : z >= 0 && d <= 0;
}

/** Whether the region contains the point `p` (any non-zero vector; boundary points count). */
export function contains(r: Region, p: Vec3): boolean {
  const v = unit(p);
  switch (r.kind) {
    case "point":
      return angleBetween(unit(r.v), v) <= BOUNDARY_EPS;
    case "circle":
      return circleContains(r, v);
    case "polygon":
      return polygonContains(r.vertices, v);
    case "box":
      return boxContains(r, v);
    case "ellipse":
      return ellipseContains(r, v);
    case "union":
      return r.operands.some((o) => contains(o, v));
    case "intersection":
      return r.operands.every((o) => contains(o, v));
  }
}

// ---------------------------------------------------------------------------------------------
// Distances from a point to boundaries
// ---------------------------------------------------------------------------------------------

/** Angular distance from unit vector p to the minor great-circle arc from a to b. */
function arcDistance(p: Vec3, a: Vec3, b: Vec3): number {
  const n = robustCross(a, b);
  const toEnds = Math.min(angleBetween(p, a), angleBetween(p, b));
  if (isZero(n)) return toEnds;
  // The point of the great circle nearest to p lies within the arc iff both tests hold.
  if (dot(cross(a, p), n) >= 0 && dot(cross(p, b), n) >= 0) {
    const s = Math.abs(dot(p, normalize(n)));
    return Math.min(toEnds, Math.asin(Math.min(1, s)));
  }
  return toEnds;
}

/** Angular distance from p to the meridian segment at longitude `lon`, latitudes [lat0, lat1]. */
function meridianDistance(p: Vec3, lon: number, lat0: number, lat1: number): number {
  const cosLon = Math.cos(lon);
  const sinLon = Math.sin(lon);
  let best = Math.min(angleBetween(p, fromLonLatRadians(lon, lat0)), angleBetween(p, fromLonLatRadians(lon, lat1)));
  const psi = Math.atan2(p[2], p[0] * cosLon + p[1] * sinLon);
  if (psi > lat0 && psi < lat1) best = Math.min(best, angleBetween(p, fromLonLatRadians(lon, psi)));
  return best;
}

/** Angular distance from p to the parallel at latitude `lat` over longitudes [lon0, lon1]. */
function parallelDistance(p: Vec3, lat: number, lon0: number, lon1: number): number {
  const full = lon0 === 0 && lon1 === TWO_PI;
  const lp = longitudeOf(p);
  let best = Infinity;
  if (full || lonInInterval(lp, lon0, lon1)) best = angleBetween(p, fromLonLatRadians(lp, lat));
  if (!full) best = Math.min(best, angleBetween(p, fromLonLatRadians(lon0, lat)), angleBetween(p, fromLonLatRadians(lon1, lat)));
  return best;
}

/** Angular distance from p to a polygon (0 inside). */
function polygonDistance(vertices: readonly Vec3[], p: Vec3): number {
  if (polygonContains(vertices, p)) return 0;
  let best = Infinity;
  const n = vertices.length;
  for (let i = 0; i < n; i++) best = Math.min(best, arcDistance(p, vertices[i === 0 ? n - 1 : i - 1], vertices[i]));
  return best;
}

/** Angular distance from p to a non-empty box (0 inside). */
function boxDistance(b: BoxRegion, p: Vec3): number {
  if (boxContains(b, p)) return 0;
  let best = Infinity;
  const [lon0, lon1] = b.lon;
  const [lat0, lat1] = b.lat;
  if (!lonIsFull(b)) {
    best = Math.min(best, meridianDistance(p, lon0, lat0, lat1), meridianDistance(p, lon1, lat0, lat1));
  }
  if (lat0 > -HALF_PI) best = Math.min(best, parallelDistance(p, lat0, lon0, lon1));
  if (lat1 < HALF_PI) best = Math.min(best, parallelDistance(p, lat1, lon0, lon1));
  if (lat0 <= -HALF_PI) best = Math.min(best, angleBetween(p, neg(Z)));
  if (lat1 >= HALF_PI) best = Math.min(best, angleBetween(p, Z));
  return best;
}

// ---------------------------------------------------------------------------------------------
// Polygon edges against box sides
// ---------------------------------------------------------------------------------------------

/** Whether the minor arc a→b crosses the meridian segment at `lon`, latitudes [lat0, lat1]. */
function arcCrossesMeridian(a: Vec3, b: Vec3, lon: number, lat0: number, lat1: number): boolean {
  const m: Vec3 = [-Math.sin(lon), Math.cos(lon), 0]; // normal of the meridian plane
  const e: Vec3 = [Math.cos(lon), Math.sin(lon), 0]; // the meridian's side of that plane
  const da = dot(a, m);
  const db = dot(b, m);
  if (!((da < 0 && db > 0) || (da > 0 && db < 0))) return false; // touching endpoints are tested as vertices
  const q = add(scale(a, Math.abs(db)), scale(b, Math.abs(da)));
  if (isZero(q)) return false;
  const qn = normalize(q);
  if (dot(qn, e) < -BOUNDARY_EPS) return false;
  const lat = latitudeOf(qn);
  return lat >= lat0 - BOUNDARY_EPS && lat <= lat1 + BOUNDARY_EPS;
}

/** Whether the minor arc a→b meets the parallel at latitude `lat`, longitudes [lon0, lon1]. */
function arcCrossesParallel(a: Vec3, b: Vec3, lat: number, lon0: number, lon1: number): boolean {
  const n = robustCross(a, b);
  if (isZero(n)) return false;
  const e1 = normalize(a);
  const e2 = normalize(cross(normalize(n), e1));
  const length = angleBetween(a, b);
  const at = (t: number): Vec3 => add(scale(e1, Math.cos(t)), scale(e2, Math.sin(t)));
  const g = (t: number) => latitudeOf(at(t)) - lat;
  // Split the arc where its latitude is extreme, so that latitude is monotone on every piece.
  const cuts = [0, length];
  const top = Math.atan2(e2[2], e1[2]);
  for (const t of [top, top + Math.PI, top - Math.PI, top + TWO_PI]) {
    if (t > 0 && t < length) cuts.push(t);
  }
  cuts.sort((x, y) => x - y);
  const roots: number[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    let t0 = cuts[k];
    let t1 = cuts[k + 1];
    let g0 = g(t0);
    const g1 = g(t1);
    if (Math.abs(g0) <= BOUNDARY_EPS) roots.push(t0);
    if (Math.abs(g1) <= BOUNDARY_EPS) roots.push(t1);
    if ((g0 < 0 && g1 > 0) || (g0 > 0 && g1 < 0)) {
      for (let i = 0; i < 80 && t1 - t0 > 0; i++) {
        const tm = 0.5 * (t0 + t1);
        if (tm <= t0 || tm >= t1) break;
        const gm = g(tm);
        if (gm === 0) {
          t0 = t1 = tm;
          break;
        }
        if (gm < 0 === g0 < 0) {
          t0 = tm;
          g0 = gm;
        } else {
          t1 = tm;
        }
      }
      roots.push(t0, t1);
    }
  }
  for (const t of roots) {
    const q = at(t);
    const tol = Math.min(Math.PI, BOUNDARY_EPS / Math.max(Math.cos(lat), 1e-300));
    if (lonInInterval(longitudeOf(q), lon0, lon1, tol)) return true;
  }
  return false;
}

/** The points of a box boundary that represent each of its boundary curves (its corners). */
function boxCorners(b: BoxRegion): Vec3[] {
  const lons = lonIsFull(b) ? [0] : [b.lon[0], b.lon[1]];
  const out: Vec3[] = [];
  for (const lon of lons) for (const lat of [b.lat[0], b.lat[1]]) out.push(fromLonLatRadians(lon, lat));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pairwise overlaps of the basic shapes
// ---------------------------------------------------------------------------------------------

function circleCircle(a: CircleRegion, b: CircleRegion): boolean {
  return angleBetween(a.center, b.center) <= circleRadius(a) + circleRadius(b) + BOUNDARY_EPS;
}

function circlePolygon(c: CircleRegion, p: PolygonRegion): boolean {
  return polygonDistance(p.vertices, unit(c.center)) <= circleRadius(c) + BOUNDARY_EPS;
}

function circleBox(c: CircleRegion, b: BoxRegion): boolean {
  return boxDistance(b, unit(c.center)) <= circleRadius(c) + BOUNDARY_EPS;
}

function polygonPolygon(p: PolygonRegion, q: PolygonRegion): boolean {
  const a = p.vertices;
  const b = q.vertices;
  if (a.some((v) => polygonContains(b, v)) || b.some((v) => polygonContains(a, v))) return true;
  // No vertex of either is in the other: they overlap iff two edges cross (ConvexPolygonImpl.h).
  for (let i = 0; i < a.length; i++) {
    const a0 = a[i === 0 ? a.length - 1 : i - 1];
    const a1 = a[i];
    for (let j = 0; j < b.length; j++) {
      const b0 = b[j === 0 ? b.length - 1 : j - 1];
      const b1 = b[j];
      const acd = orientation(a0, b0, b1);
      const bdc = orientation(a1, b1, b0);
      if (acd === bdc && acd !== 0) {
        const cba = orientation(b0, a1, a0);
        const dab = orientation(b1, a0, a1);
        if (cba === dab && cba === acd) return true;
      }
    }
  }
  return false;
}

function polygonBox(p: PolygonRegion, b: BoxRegion): boolean {
  const vertices = p.vertices;
  if (vertices.some((v) => boxContains(b, v))) return true;
  if (boxCorners(b).some((c) => polygonContains(vertices, c))) return true;
  const [lon0, lon1] = b.lon;
  const [lat0, lat1] = b.lat;
  const full = lonIsFull(b);
  for (let i = 0; i < vertices.length; i++) {
    const v0 = vertices[i === 0 ? vertices.length - 1 : i - 1];
    const v1 = vertices[i];
    if (!full && (arcCrossesMeridian(v0, v1, lon0, lat0, lat1) || arcCrossesMeridian(v0, v1, lon1, lat0, lat1))) return true;
    if (lat0 > -HALF_PI && arcCrossesParallel(v0, v1, lat0, lon0, lon1)) return true;
    if (lat1 < HALF_PI && arcCrossesParallel(v0, v1, lat1, lon0, lon1)) return true;
  }
  return false;
}

function boxBox(a: BoxRegion, b: BoxRegion): boolean {
  const lo = Math.max(a.lat[0], b.lat[0]);
  const hi = Math.min(a.lat[1], b.lat[1]);
  if (lo > hi + BOUNDARY_EPS) return false;
  if (a.lat[1] >= HALF_PI - BOUNDARY_EPS && b.lat[1] >= HALF_PI - BOUNDARY_EPS) return true;
  if (a.lat[0] <= -HALF_PI + BOUNDARY_EPS && b.lat[0] <= -HALF_PI + BOUNDARY_EPS) return true;
  const maxAbsLat = Math.min(HALF_PI, Math.max(Math.abs(lo), Math.abs(hi)));
  const tol = Math.min(Math.PI, BOUNDARY_EPS / Math.max(Math.cos(maxAbsLat), 1e-300));
  return lonInInterval(b.lon[0], a.lon[0], a.lon[1], tol) || lonInInterval(a.lon[0], b.lon[0], b.lon[1], tol);
}

type Basic = CircleRegion | PolygonRegion | BoxRegion;

function basicOverlaps(a: Basic, b: Basic): boolean {
  const order = { circle: 0, polygon: 1, box: 2 } as const;
  const [x, y] = order[a.kind] <= order[b.kind] ? [a, b] : [b, a];
  if (x.kind === "circle") {
    if (y.kind === "circle") return circleCircle(x, y);
    if (y.kind === "polygon") return circlePolygon(x, y);
    return circleBox(x, y as BoxRegion);
  }
  if (x.kind === "polygon") {
    if (y.kind === "polygon") return polygonPolygon(x, y);
    return polygonBox(x, y as BoxRegion);
  }
  return boxBox(x, y as BoxRegion);
}

function intersectionOverlaps(i: CompoundRegion, other: Region): boolean {
  if (i.operands.length === 0) return true; // the full sphere; `other` is not empty here
  if (other.kind === "point") return contains(i, other.v);
  // (An intersection with two disjoint operands was already found empty by the caller.)
  return i.operands.every((o) => overlaps(o, other));
}

/**
 * Whether two regions may share a point. Exact for point, circle, polygon and box (boundary
 * points count); conservative (true when unsure) for ellipses and intersections. Symmetric.
 */
export function overlaps(a: Region, b: Region): boolean {
  if (a.kind === "union") return a.operands.some((o) => overlaps(o, b));
  if (b.kind === "union") return b.operands.some((o) => overlaps(a, o));
  if (isEmptyRegion(a) || isEmptyRegion(b)) return false;
  if (a.kind === "intersection") return intersectionOverlaps(a, b);
  if (b.kind === "intersection") return intersectionOverlaps(b, a);
  if (isFullRegion(a) || isFullRegion(b)) return true;
  if (a.kind === "point") return contains(b, a.v);
  if (b.kind === "point") return contains(a, b.v);
  const x = a.kind === "ellipse" ? ellipseBoundingCircle(a) : (a as Basic);
  const y = b.kind === "ellipse" ? ellipseBoundingCircle(b) : (b as Basic);
  return basicOverlaps(x, y);
}

/**
 * Whether region `r` certainly contains the whole convex polygon `vertices` (smaller than a
 * hemisphere, e.g. an HTM trixel). False when unsure: decided for circles, polygons, boxes and
 * unions / intersections of those; never for ellipses. Used to skip testing every sub-pixel.
 */
export function containsPolygon(r: Region, vertices: readonly Vec3[]): boolean {
  switch (r.kind) {
    case "circle": {
      const l2 = chordSquared(r);
      if (l2 >= 4) return true;
      if (!(l2 >= 0)) return false;
      // The polygon misses the circle's complement, the open cap of radius π − θ around −center.
      const anti = neg(unit(r.center));
      return polygonDistance(vertices, anti) > Math.PI - circleRadius(r) + 1e-12;
    }
    case "polygon":
      return vertices.every((v) => polygonContains(r.vertices, v, 0));
    case "box": {
      if (isEmptyRegion(r)) return false;
      if (isFullRegion(r)) return true;
      if (!vertices.every((v) => boxContains(r, v, 0))) return false;
      // With its vertices inside, the polygon is inside unless an edge leaves the box or it
      // encloses a pole the box lacks (a box spanning all longitudes is a band).
      const [lon0, lon1] = r.lon;
      const [lat0, lat1] = r.lat;
      const full = lonIsFull(r);
      for (let i = 0; i < vertices.length; i++) {
        const a = vertices[i === 0 ? vertices.length - 1 : i - 1];
        const b = vertices[i];
        if (!full && (arcCrossesMeridian(a, b, lon0, lat0, lat1) || arcCrossesMeridian(a, b, lon1, lat0, lat1))) return false;
        if (lat0 > -HALF_PI && arcCrossesParallel(a, b, lat0, lon0, lon1)) return false;
        if (lat1 < HALF_PI && arcCrossesParallel(a, b, lat1, lon0, lon1)) return false;
      }
      if (full && lat1 < HALF_PI && polygonContains(vertices, Z)) return false;
      if (full && lat0 > -HALF_PI && polygonContains(vertices, neg(Z))) return false;
      return true;
    }
    case "union":
      return r.operands.some((o) => containsPolygon(o, vertices));
    case "intersection":
      return r.operands.every((o) => containsPolygon(o, vertices));
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Bounding boxes
// ---------------------------------------------------------------------------------------------

/** Internal bounding box in radians; lon is [a, a + width]. */
interface RadBox {
  empty: boolean;
  lonFull: boolean;
  lonStart: number;
  lonWidth: number;
  latMin: number;
  latMax: number;
}

const EMPTY_BOX: RadBox = { empty: true, lonFull: false, lonStart: 0, lonWidth: 0, latMin: 0, latMax: 0 };
const FULL_BOX: RadBox = { empty: false, lonFull: true, lonStart: 0, lonWidth: TWO_PI, latMin: -HALF_PI, latMax: HALF_PI };

/** A box from a latitude range and a longitude range [lonStart, lonStart + width], padded; poles widen it. */
function makeBox(latMin: number, latMax: number, lonStart: number, lonWidth: number, lonFull: boolean): RadBox {
  let lo = Math.max(-HALF_PI, latMin - BOX_PAD);
  let hi = Math.min(HALF_PI, latMax + BOX_PAD);
  let full = lonFull;
  if (hi >= HALF_PI - POLE_GUARD) {
    hi = HALF_PI;
    full = true;
  }
  if (lo <= -HALF_PI + POLE_GUARD) {
    lo = -HALF_PI;
    full = true;
  }
  if (!full) {
    const maxAbs = Math.max(Math.abs(lo), Math.abs(hi));
    const pad = BOX_PAD / Math.cos(maxAbs);
    const width = lonWidth + 2 * pad;
    if (width >= TWO_PI) full = true;
    else return { empty: false, lonFull: false, lonStart: lonStart - pad, lonWidth: width, latMin: lo, latMax: hi };
  }
  return { empty: false, lonFull: true, lonStart: 0, lonWidth: TWO_PI, latMin: lo, latMax: hi };
}

function pointBounds(p: Vec3): RadBox {
  const v = unit(p);
  const lat = latitudeOf(v);
  return makeBox(lat, lat, longitudeOf(v), 0, false);
}

function circleBounds(c: CircleRegion): RadBox {
  const l2 = chordSquared(c);
  if (!(l2 >= 0)) return EMPTY_BOX;
  if (l2 >= 4) return FULL_BOX;
  const center = unit(c.center);
  const r = circleRadius(c) + BOX_PAD;
  const lat = latitudeOf(center);
  const lon = longitudeOf(center);
  const latMin = lat - r;
  const latMax = lat + r;
  if (latMax >= HALF_PI - POLE_GUARD || latMin <= -HALF_PI + POLE_GUARD) return makeBox(latMin, latMax, 0, TWO_PI, true);
  // Box::halfWidthForCircle: the half-width in longitude is asin(sin r / cos lat).
  const s = Math.abs(Math.sin(r) / Math.cos(lat));
  if (s >= 1) return makeBox(latMin, latMax, 0, TWO_PI, true);
  const half = Math.asin(s) * (1 + 4e-16) + 4e-16;
  return makeBox(latMin, latMax, lon - half, 2 * half, false);
}

function polygonBounds(p: PolygonRegion): RadBox {
  const vs = p.vertices.map(unit);
  let latMin = Infinity;
  let latMax = -Infinity;
  for (const v of vs) {
    const lat = latitudeOf(v);
    latMin = Math.min(latMin, lat);
    latMax = Math.max(latMax, lat);
  }
  // Edges reach beyond their endpoints' latitudes when the great circle's extreme is inside them.
  for (let i = 0; i < vs.length; i++) {
    const a = vs[i === 0 ? vs.length - 1 : i - 1];
    const b = vs[i];
    const n = robustCross(a, b);
    if (isZero(n)) continue;
    const top: Vec3 = [-n[0] * n[2], -n[1] * n[2], n[0] * n[0] + n[1] * n[1]];
    if (isZero(top)) continue;
    for (const [v, isTop] of [
      [top, true],
      [neg(top), false],
    ] as Array<[Vec3, boolean]>) {
      if (dot(cross(a, v), n) > 0 && dot(cross(v, b), n) > 0) {
        const lat = latitudeOf(v);
        if (isTop) latMax = Math.max(latMax, lat);
        else latMin = Math.min(latMin, lat);
      }
    }
  }
  const north = polygonDistance(vs, Z) <= POLE_GUARD;
  const south = polygonDistance(vs, neg(Z)) <= POLE_GUARD;
  if (north) latMax = HALF_PI;
  if (south) latMin = -HALF_PI;
  if (north || south) return makeBox(latMin, latMax, 0, TWO_PI, true);
  // Longitudes: every edge sweeps the short way between its endpoints' longitudes (it does not
  // pass a pole); follow them around the polygon, unwrapped.
  const start = longitudeOf(vs[0]);
  let at = 0;
  let lo = 0;
  let hi = 0;
  for (let i = 1; i <= vs.length; i++) {
    let d = longitudeOf(vs[i % vs.length]) - longitudeOf(vs[i - 1]);
    if (d > Math.PI) d -= TWO_PI;
    else if (d <= -Math.PI) d += TWO_PI;
    at += d;
    lo = Math.min(lo, at);
    hi = Math.max(hi, at);
  }
  if (Math.abs(at) > Math.PI) return makeBox(latMin, latMax, 0, TWO_PI, true); // winds around a pole
  return makeBox(latMin, latMax, start + lo, hi - lo, false);
}

function boxBounds(b: BoxRegion): RadBox {
  if (isEmptyRegion(b)) return EMPTY_BOX;
  const full = lonIsFull(b);
  return makeBox(b.lat[0], b.lat[1], full ? 0 : b.lon[0], full ? TWO_PI : forward(b.lon[0], b.lon[1]), full);
}

/** The smallest arc covering a set of arcs (start, width). */
function coverArcs(arcs: Array<{ start: number; width: number }>): { full: boolean; start: number; width: number } {
  if (arcs.some((a) => a.width >= TWO_PI)) return { full: true, start: 0, width: TWO_PI };
  let bestGap = 0;
  let bestEnd = 0;
  for (const a of arcs) {
    const end = a.start + a.width;
    const covered = arcs.some((o) => o !== a && forward(o.start, end) < o.width);
    if (covered) continue;
    let gap = TWO_PI;
    for (const o of arcs) gap = Math.min(gap, forward(end, o.start));
    if (gap > bestGap) {
      bestGap = gap;
      bestEnd = end;
    }
  }
  if (bestGap <= 0) return { full: true, start: 0, width: TWO_PI };
  return { full: false, start: bestEnd + bestGap, width: TWO_PI - bestGap };
}

function radBox(r: Region): RadBox {
  switch (r.kind) {
    case "point":
      return pointBounds(r.v);
    case "circle":
      return circleBounds(r);
    case "polygon":
      return polygonBounds(r);
    case "box":
      return boxBounds(r);
    case "ellipse":
      if (isEmptyRegion(r)) return EMPTY_BOX;
      if (isFullRegion(r)) return FULL_BOX;
      return circleBounds(ellipseBoundingCircle(r));
    case "union": {
      const boxes = r.operands.map(radBox).filter((b) => !b.empty);
      if (boxes.length === 0) return EMPTY_BOX;
      const cover = coverArcs(boxes.map((b) => ({ start: b.lonStart, width: b.lonFull ? TWO_PI : b.lonWidth })));
      return {
        empty: false,
        lonFull: cover.full,
        lonStart: cover.start,
        lonWidth: cover.width,
        latMin: Math.min(...boxes.map((b) => b.latMin)),
        latMax: Math.max(...boxes.map((b) => b.latMax)),
      };
    }
    case "intersection": {
      if (r.operands.length === 0) return FULL_BOX;
      const boxes = r.operands.map(radBox);
      if (boxes.some((b) => b.empty)) return EMPTY_BOX;
      const latMin = Math.max(...boxes.map((b) => b.latMin));
      const latMax = Math.min(...boxes.map((b) => b.latMax));
      if (latMin > latMax) return EMPTY_BOX;
      const partial = boxes.filter((b) => !b.lonFull).sort((x, y) => x.lonWidth - y.lonWidth);
      if (partial.length === 0) return { ...FULL_BOX, latMin, latMax };
      return { empty: false, lonFull: false, lonStart: partial[0].lonStart, lonWidth: partial[0].lonWidth, latMin, latMax };
    }
  }
}

function wrapDegrees(rad: number): number {
  let d = (rad * DEG_PER_RAD) % 360;
  if (d < 0) d += 360;
  if (d >= 360) d -= 360;
  return d;
}

/**
 * A longitude/latitude box (degrees) containing the region, for an SQL prefilter: lat in [-90, 90];
 * lon in [0, 360), wrapping through 0 when lonMin > lonMax; lonMin = 0, lonMax = 360 for the full
 * range (regions around a pole or wider than the sphere's half). Never smaller than the region;
 * padded by ~0.1 milli-arcsecond. An empty region gives latMin = 90 > latMax = -90 (matches nothing).
 */
export function boundingBox(r: Region): { lonMin: number; lonMax: number; latMin: number; latMax: number } {
  const b = radBox(r);
  if (b.empty) return { lonMin: 0, lonMax: 0, latMin: 90, latMax: -90 };
  const latMin = Math.max(-90, b.latMin * DEG_PER_RAD);
  const latMax = Math.min(90, b.latMax * DEG_PER_RAD);
  if (b.lonFull || b.lonWidth >= TWO_PI) return { lonMin: 0, lonMax: 360, latMin, latMax };
  return { lonMin: wrapDegrees(b.lonStart), lonMax: wrapDegrees(b.lonStart + b.lonWidth), latMin, latMax };
}
