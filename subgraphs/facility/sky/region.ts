/**
 * The region model of the where language's spatial constraints, mirroring LSST sphgeom's regions
 * (ConvexPolygon, Circle, Box, Ellipse, UnionRegion, IntersectionRegion) plus the language's POINT,
 * and the constructors behind POINT / CIRCLE / BOX / POLYGON.
 *
 * Facts followed (lsst/sphgeom, lsst/daf_butler):
 * - Circle (src/Circle.cc, include/lsst/sphgeom/Circle.h): a center unit vector and an opening angle
 *   θ (the angular radius, radians); it also carries the squared chord length 4 sin²(θ/2) that its
 *   containment test `|v − c|² ≤ l²` uses. Empty when l² < 0 (θ < 0), full when l² ≥ 4 (θ ≥ π).
 *   `squaredChordLength` is optional here: set on decoded and constructed circles so that re-encoding
 *   is byte-identical, derived from `openingAngle` when absent.
 * - ConvexPolygon (src/ConvexPolygon.cc): counter-clockwise vertices; built as the convex hull of a
 *   point set by an incremental algorithm using the exact orientation predicate. `convexHull` here
 *   reproduces that algorithm step for step, so that the vertex order (hence `encode()`) matches
 *   sphgeom's for the same input vectors. It fails (RegionError) when fewer than 3 distinct
 *   non-coplanar points are given or the hull would contain antipodal points (not within a hemisphere).
 *   One deliberate difference: sphgeom silently drops a point that lies on the great circle of the
 *   first two points but opposite to the arc between them (e.g. POLYGON(0,0, 120,0, 240,0, 0,10));
 *   here every input point must end up inside the hull, else RegionError.
 * - Box (include/lsst/sphgeom/Box.h, src/NormalizedAngleInterval.cc): a longitude interval
 *   [lon[0], lon[1]] of normalized angles in [0, 2π] that wraps through 0 when lon[0] > lon[1] and
 *   is full when it is [0, 2π]; empty when an endpoint is NaN; and a latitude interval clipped to
 *   [−π/2, π/2], empty when lat[0] > lat[1].
 * - Ellipse (src/Ellipse.cc, Ellipse.h): kept exactly as encoded: the orthogonal matrix S (row-major;
 *   its last row is the center), a = α − π/2, b = β − π/2, γ (half the angle between the foci),
 *   |tan a|, |tan b|.
 * - Where language (daf_butler python/lsst/daf/butler/queries/_expression_strings.py, _ConversionVisitor):
 *   POINT(ra, dec) → LonLat.fromDegrees; BOX(ra, dec, width, height) → sphgeom
 *   `Box(LonLat.fromDegrees(ra, dec), Angle.fromDegrees(width / 2), Angle.fromDegrees(height / 2))`:
 *   CENTERED on (ra, dec), `width` the FULL extent in longitude degrees (a coordinate range, not an
 *   on-sky length), `height` the full extent in latitude, clipped at the poles, full in longitude
 *   when width ≥ 360; POLYGON(ra1, dec1, …) → ConvexPolygon of the vertices (convex hull).
 *   CIRCLE(ra, dec, r): daf_butler builds `Circle(center, Angle.fromDegrees(r * 2))`, i.e. a circle
 *   whose angular radius is TWICE the argument. `circle()` below takes the true radius in degrees
 *   (as IVOA CIRCLE and sphgeom `from_ivoa_pos` do); `whereLanguageCircle()` reproduces daf_butler's
 *   doubling for callers that want bit-for-bit parity with daf_butler.
 * Deliberate deviations: negative radius, width or height, non-finite numbers and |dec| > 90 throw
 * RegionError (sphgeom would build an empty region or throw a bare ValueError).
 */
import {
  add,
  DEG_PER_RAD,
  fromLonLatDegrees,
  isFiniteVec,
  neg,
  normalize,
  normalizeLonRadians,
  orientation,
  RAD_PER_DEG,
  robustCross,
  Vec3,
  vecEquals,
} from "./vector";

/** A region that cannot be built, decoded or evaluated; the message is meant for the user. */
export class RegionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegionError";
  }
}

export interface PointRegion {
  kind: "point";
  v: Vec3;
}

export interface CircleRegion {
  kind: "circle";
  center: Vec3;
  /** Angular radius in radians; < 0 (or NaN) is empty, ≥ π is the full sphere. */
  openingAngle: number;
  /** sphgeom's squared chord length 4 sin²(θ/2), kept for exact containment and re-encoding. */
  squaredChordLength?: number;
}

export interface PolygonRegion {
  kind: "polygon";
  /** Counter-clockwise unit vectors of a convex polygon. */
  vertices: Vec3[];
}

export interface BoxRegion {
  kind: "box";
  /** Radians in [0, 2π]; wraps through 0 when lon[0] > lon[1]; [0, 2π] is full; NaN is empty. */
  lon: [number, number];
  /** Radians within [−π/2, π/2]; empty when lat[0] > lat[1]. */
  lat: [number, number];
}

export interface EllipseRegion {
  kind: "ellipse";
  /** sphgeom's orthogonal matrix S, row-major (9 numbers); row 2 is the center. */
  matrix: number[];
  /** α − π/2 (α: first semi-axis angle). */
  a: number;
  /** β − π/2. */
  b: number;
  /** Half the angle between the foci. */
  gamma: number;
  /** |tan a| = |cot α|. */
  tana: number;
  /** |tan b| = |cot β|. */
  tanb: number;
}

export interface CompoundRegion {
  kind: "union" | "intersection";
  operands: Region[];
}

export type Region = PointRegion | CircleRegion | PolygonRegion | BoxRegion | EllipseRegion | CompoundRegion;

// ---------------------------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------------------------

function checkNumber(value: number, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RegionError(`${what} must be a finite number of degrees, got ${String(value)}`);
  }
}

/** Unit vector of an (ra, dec) position in degrees, with user-facing errors. */
export function positionOf(raDeg: number, decDeg: number, what = "position"): Vec3 {
  checkNumber(raDeg, `${what}: RA`);
  checkNumber(decDeg, `${what}: Dec`);
  if (Math.abs(decDeg) > 90) throw new RegionError(`${what}: Dec ${decDeg} is outside [-90, 90] degrees`);
  return fromLonLatDegrees(raDeg, decDeg);
}

/** sphgeom Circle::squaredChordLengthFor. */
export function squaredChordLengthFor(openingAngle: number): number {
  if (openingAngle < 0) return -1;
  if (openingAngle >= Math.PI) return 4;
  if (Number.isNaN(openingAngle)) return NaN;
  const s = Math.sin(0.5 * openingAngle);
  return 4 * s * s;
}

// ---------------------------------------------------------------------------------------------
// Constructors
// ---------------------------------------------------------------------------------------------

/** The where language's POINT(ra, dec), degrees. */
export function point(raDeg: number, decDeg: number): Region {
  return { kind: "point", v: positionOf(raDeg, decDeg, "POINT") };
}

/** A circle of angular radius `radiusDeg` (degrees) around (ra, dec): sphgeom Circle(center, Angle.fromDegrees(r)). */
export function circle(raDeg: number, decDeg: number, radiusDeg: number): Region {
  const center = positionOf(raDeg, decDeg, "CIRCLE center");
  checkNumber(radiusDeg, "CIRCLE radius");
  if (radiusDeg < 0) throw new RegionError(`CIRCLE radius must be >= 0 degrees, got ${radiusDeg}`);
  const openingAngle = radiusDeg * RAD_PER_DEG;
  return { kind: "circle", center, openingAngle, squaredChordLength: squaredChordLengthFor(openingAngle) };
}

/**
 * daf_butler's where-language CIRCLE(ra, dec, r) exactly as its _ConversionVisitor.visitCircleNode
 * builds it: `Circle(center, Angle.fromDegrees(r * 2))`, an angular radius of 2·r degrees.
 */
export function whereLanguageCircle(raDeg: number, decDeg: number, rDeg: number): Region {
  checkNumber(rDeg, "CIRCLE radius");
  if (rDeg < 0) throw new RegionError(`CIRCLE radius must be >= 0 degrees, got ${rDeg}`);
  return circle(raDeg, decDeg, rDeg * 2);
}

/** NormalizedAngleInterval(center).dilatedBy(x) for x ≥ 0 (src/NormalizedAngleInterval.cc). */
function dilatedLon(center: number, x: number): [number, number] {
  const twoPi = 2 * Math.PI;
  if (x === 0) return [center, center];
  if (x >= Math.PI) return [0, twoPi];
  let a = center - x;
  let b = center + x;
  if (a < 0) {
    a = a + twoPi;
    if (a <= b) return [0, twoPi];
  }
  if (b > twoPi) {
    b = b - twoPi;
    if (a <= b) return [0, twoPi];
  }
  return [normalizeLonRadians(a), normalizeLonRadians(b)];
}

/** Box::_enforceInvariants's latitude clip to [−π/2, π/2]. */
function clippedLat(a: number, b: number): [number, number] {
  return [Math.max(a, -0.5 * Math.PI), Math.min(b, 0.5 * Math.PI)];
}

/**
 * The where language's BOX(ra, dec, width, height), degrees: centered on (ra, dec), spanning
 * ra ± width/2 in longitude and dec ± height/2 in latitude (clipped at ±90); full longitude when
 * width ≥ 360. As daf_butler: sphgeom Box(LonLat(ra, dec), Angle(width/2), Angle(height/2)).
 */
export function box(raDeg: number, decDeg: number, widthDeg: number, heightDeg: number): Region {
  positionOf(raDeg, decDeg, "BOX center");
  checkNumber(widthDeg, "BOX width");
  checkNumber(heightDeg, "BOX height");
  if (widthDeg < 0) throw new RegionError(`BOX width must be >= 0 degrees (the full extent in RA), got ${widthDeg}`);
  if (heightDeg < 0) throw new RegionError(`BOX height must be >= 0 degrees (the full extent in Dec), got ${heightDeg}`);
  const lon = normalizeLonRadians(raDeg * RAD_PER_DEG);
  const lat = decDeg * RAD_PER_DEG;
  const w = (widthDeg / 2) * RAD_PER_DEG;
  const h = (heightDeg / 2) * RAD_PER_DEG;
  return { kind: "box", lon: dilatedLon(lon, w), lat: clippedLat(lat - h, lat + h) };
}

/**
 * A box from longitude and latitude ranges in degrees, as sphgeom
 * `Box(LonLat.fromDegrees(lon1, lat1), LonLat.fromDegrees(lon2, lat2))` (IVOA RANGE): the longitude
 * range runs counter-clockwise from lon1 to lon2 (wrapping through 0 when lon1 > lon2 after
 * normalization; [0, 360] is full).
 */
export function boxFromRanges(lon1Deg: number, lon2Deg: number, lat1Deg: number, lat2Deg: number): Region {
  for (const [v, what] of [
    [lon1Deg, "longitude 1"],
    [lon2Deg, "longitude 2"],
    [lat1Deg, "latitude 1"],
    [lat2Deg, "latitude 2"],
  ] as Array<[number, string]>) {
    checkNumber(v, `RANGE ${what}`);
  }
  for (const lat of [lat1Deg, lat2Deg]) {
    if (Math.abs(lat) > 90) throw new RegionError(`RANGE latitude ${lat} is outside [-90, 90] degrees`);
  }
  if (lat1Deg > lat2Deg) throw new RegionError(`RANGE latitudes must be given low to high, got ${lat1Deg} > ${lat2Deg}`);
  const lon: [number, number] = [normalizeLonRadians(lon1Deg * RAD_PER_DEG), normalizeLonRadians(lon2Deg * RAD_PER_DEG)];
  return { kind: "box", lon, lat: clippedLat(lat1Deg * RAD_PER_DEG, lat2Deg * RAD_PER_DEG) };
}

/** The where language's POLYGON(ra1, dec1, ra2, dec2, …): the convex hull of the vertices (degrees). */
export function polygon(coordsDeg: Array<[number, number]>): Region {
  if (!Array.isArray(coordsDeg) || coordsDeg.length < 3) {
    throw new RegionError(`POLYGON needs at least 3 (ra, dec) vertices, got ${Array.isArray(coordsDeg) ? coordsDeg.length : 0}`);
  }
  const points = coordsDeg.map(([ra, dec], i) => positionOf(ra, dec, `POLYGON vertex ${i + 1}`));
  return { kind: "polygon", vertices: convexHull(points) };
}

/** A union of regions (sphgeom UnionRegion; nested unions are flattened as sphgeom does). */
export function union(...operands: Region[]): Region {
  return { kind: "union", operands: flatten("union", operands) };
}

/** An intersection of regions (sphgeom IntersectionRegion; nested intersections are flattened). */
export function intersection(...operands: Region[]): Region {
  return { kind: "intersection", operands: flatten("intersection", operands) };
}

function flatten(kind: "union" | "intersection", operands: Region[]): Region[] {
  const out: Region[] = [];
  for (const r of operands) {
    if (r.kind === kind) out.push(...flatten(kind, r.operands));
    else out.push(r);
  }
  return out;
}

/** The empty circle as sphgeom's Circle() holds it. */
export function emptyCircle(): CircleRegion {
  return { kind: "circle", center: [0, 0, 1], openingAngle: -1, squaredChordLength: -1 };
}

/** Degrees of a radian value (sphgeom Angle::asDegrees). */
export function degrees(rad: number): number {
  return rad * DEG_PER_RAD;
}

// ---------------------------------------------------------------------------------------------
// Convex hull (sphgeom ConvexPolygon(points) / convexHull)
// ---------------------------------------------------------------------------------------------

const NOT_ENOUGH_POINTS =
  "a polygon needs at least 3 distinct vertices that do not all lie on one great circle";
const ANTIPODAL =
  "the convex hull of these vertices is not a convex polygon: it would contain antipodal points " +
  "(the vertices must lie within one hemisphere, and no two may be diametrically opposite)";

/**
 * The convex hull of a set of unit vectors, vertices counter-clockwise, as sphgeom's ConvexPolygon
 * computes it (same starting triangle, same insertion rule, hence the same vertex order).
 * Throws RegionError for degenerate inputs.
 */
export function convexHull(points: readonly Vec3[]): Vec3[] {
  for (const p of points) {
    if (!isFiniteVec(p) || (p[0] === 0 && p[1] === 0 && p[2] === 0)) throw new RegionError("polygon vertices must be finite, non-zero vectors");
  }
  // 1. A second point distinct from the first.
  if (points.length === 0) throw new RegionError(NOT_ENOUGH_POINTS);
  let v0 = points[0];
  let k = 1;
  for (; k < points.length; k++) {
    if (vecEquals(v0, neg(points[k]))) throw new RegionError(ANTIPODAL);
    if (!vecEquals(v0, points[k])) break;
  }
  if (k >= points.length) throw new RegionError(NOT_ENOUGH_POINTS);
  let v1 = points[k++];
  // 2. A third point making a counter-clockwise triangle. Points on the great circle through v0
  // and v1 either lie inside the current segment (ignored) or extend it.
  const n = normalize(robustCross(v0, v1));
  let v2: Vec3 | null = null;
  for (; k < points.length; k++) {
    const v = points[k];
    const ccw = orientation(v0, v1, v);
    if (ccw > 0) {
      v2 = v;
      k++;
      break;
    }
    if (ccw < 0) {
      [v0, v1] = [v1, v0];
      v2 = v;
      k++;
      break;
    }
    if (vecEquals(v, v0) || vecEquals(v, v1)) continue;
    if (vecEquals(v, neg(v0)) || vecEquals(v, neg(v1))) throw new RegionError(ANTIPODAL);
    const o0v = orientation(n, v0, v);
    const ov1 = orientation(n, v, v1);
    if (o0v === ov1) continue; // v is inside the segment (v0, v1)
    const o01 = orientation(n, v0, v1);
    if (o01 === -ov1) {
      v1 = v; // v1 is inside (v0, v)
      continue;
    }
    if (-o0v === o01) {
      v0 = v; // v0 is inside (v, v1)
      continue;
    }
    throw new RegionError(ANTIPODAL);
  }
  if (v2 === null) throw new RegionError(NOT_ENOUGH_POINTS);
  let hull: Vec3[] = [v0, v1, v2];
  // 3. Add the remaining points one at a time. Edge (i, i+1) "faces" v when v is not strictly to its
  // left; the edges facing v form one run, which is replaced by two edges through v.
  for (; k < points.length; k++) {
    const v = points[k];
    const m = hull.length;
    const leftOf = (i: number) => orientation(v, hull[i], hull[(i + 1) % m]) > 0;
    const firstCcw = leftOf(m - 1); // the closing edge (m-1, 0)
    let prev = firstCcw;
    let toCcw = -1; // first vertex of the run of edges with v on their left
    let fromCcw = -1; // first vertex after the last edge with v on its left
    for (let i = 0; i < m - 1; i++) {
      if (leftOf(i)) {
        if (!prev) {
          toCcw = i;
          prev = true;
        }
      } else if (prev) {
        fromCcw = i + 1;
        prev = false;
      }
    }
    if (firstCcw) {
      if (!prev) toCcw = m - 1;
    } else if (prev) {
      fromCcw = 0;
    }
    if (toCcw < 0) {
      if (firstCcw) continue; // v is inside the hull
      throw new RegionError(ANTIPODAL); // -v is inside the hull
    }
    if (toCcw < fromCcw) {
      hull = [...hull.slice(toCcw, fromCcw), v];
    } else if (toCcw > fromCcw) {
      hull = [...hull.slice(0, fromCcw), v, ...hull.slice(toCcw)];
    } else if (fromCcw === 0) {
      hull = [...hull, v];
    } else {
      hull = [...hull.slice(0, fromCcw), v, ...hull.slice(fromCcw)];
    }
  }
  // sphgeom silently drops a point lying on the great circle of the first two distinct points but
  // on the far side of it (its collinearity test cannot tell that arc from the one between them);
  // such a point set is not within a hemisphere, so report it instead of losing a vertex.
  for (const p of points) {
    if (!insideHull(hull, p)) throw new RegionError(ANTIPODAL);
  }
  return hull;
}

/** Whether p is inside (or within 1e-14 rad outside) the convex polygon `hull`. */
function insideHull(hull: readonly Vec3[], p: Vec3): boolean {
  const u = normalize(p);
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % hull.length];
    if (orientation(u, a, b) >= 0) continue;
    const n = robustCross(a, b);
    if (n[0] === 0 && n[1] === 0 && n[2] === 0) continue;
    const m = normalize(n);
    if (m[0] * u[0] + m[1] * u[1] + m[2] * u[2] < -1e-14) return false;
  }
  return true;
}

/** Checks that decoded or hand-built polygon vertices are usable (finite, at least 3). */
export function checkPolygonVertices(vertices: readonly Vec3[]): void {
  if (vertices.length < 3) throw new RegionError(`a convex polygon needs at least 3 vertices, got ${vertices.length}`);
  for (const v of vertices) {
    if (!isFiniteVec(v)) throw new RegionError("a polygon vertex has a non-finite coordinate");
  }
}

/** The midpoint direction of two unit vectors (sphgeom UnitVector3d(a + b)). */
export function midpoint(a: Vec3, b: Vec3): Vec3 {
  return normalize(add(a, b));
}
