import { boundingBox, contains, overlaps } from "../../subgraphs/facility/sky/overlap";
import {
  box,
  boxFromRanges,
  circle,
  convexHull,
  emptyCircle,
  intersection,
  point,
  polygon,
  Region,
  union,
} from "../../subgraphs/facility/sky/region";
import {
  add,
  angleBetween,
  cross,
  fromLonLatDegrees,
  fromLonLatRadians,
  normalize,
  RAD_PER_DEG,
  scale,
  toLonLatDegrees,
  Vec3,
} from "../../subgraphs/facility/sky/vector";
import { seededRandom } from "../../lib/seeded-random";

const DEG = RAD_PER_DEG;
const ARCSEC = DEG / 3600;
/** A gap well above rounding (≈ 0.2 milli-arcsecond) but far below any region size. */
const DELTA = 1e-9;

/** The point at angular distance `dist` from `c` along `bearing` (radians). */
function walk(c: Vec3, bearing: number, dist: number): Vec3 {
  const u = normalize(cross(c, Math.abs(c[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0]));
  const w = cross(c, u);
  const d = add(scale(u, Math.cos(bearing)), scale(w, Math.sin(bearing)));
  return normalize(add(scale(c, Math.cos(dist)), scale(d, Math.sin(dist))));
}

function slerp(a: Vec3, b: Vec3, t: number): Vec3 {
  const w = angleBetween(a, b);
  if (w === 0) return a;
  const s = Math.sin(w);
  return normalize(add(scale(a, Math.sin((1 - t) * w) / s), scale(b, Math.sin(t * w) / s)));
}

function circleRad(center: Vec3, radius: number): Region {
  return { kind: "circle", center, openingAngle: radius };
}

/** Both argument orders agree (overlaps is symmetric) and equal `expected`. */
function expectOverlap(a: Region, b: Region, expected: boolean): void {
  expect(overlaps(a, b)).toBe(expected);
  expect(overlaps(b, a)).toBe(expected);
}

describe("point containment", () => {
  it("counts boundary points as inside and points just outside as outside", () => {
    const sq = polygon([[0, 0], [10, 0], [10, 10], [0, 10]]);
    const v = (sq as { vertices: Vec3[] }).vertices;
    const mid = slerp(v[0], v[1], 0.37);
    expect(contains(sq, mid)).toBe(true);
    for (const vertex of v) expect(contains(sq, vertex)).toBe(true);
    const n = normalize(cross(v[0], v[1])); // inward normal of a CCW edge
    expect(contains(sq, normalize(add(mid, scale(n, -DELTA))))).toBe(false);
    expect(contains(sq, normalize(add(mid, scale(n, DELTA))))).toBe(true);

    const c = circle(20, -30, 1);
    expect(contains(c, walk(fromLonLatDegrees(20, -30), 1.1, 1 * DEG))).toBe(true);
    expect(contains(c, walk(fromLonLatDegrees(20, -30), 1.1, 1 * DEG + DELTA))).toBe(false);

    const b = box(0, 0, 2, 2); // RA 359..1, Dec -1..1
    expect(contains(b, fromLonLatDegrees(359, 0.5))).toBe(true);
    expect(contains(b, fromLonLatDegrees(1, 1))).toBe(true);
    expect(contains(b, fromLonLatDegrees(0, 0))).toBe(true);
    expect(contains(b, fromLonLatRadians(1 * DEG + DELTA, 0))).toBe(false);
    expect(contains(b, fromLonLatRadians(359 * DEG - DELTA, 0))).toBe(false);
    expect(contains(b, fromLonLatDegrees(180, 0))).toBe(false);
  });

  it("puts the pole in every box that reaches it, whatever the longitude range", () => {
    const cap = box(15, 85, 10, 10); // RA 10..20, Dec 80..90
    expect(contains(cap, [0, 0, 1])).toBe(true);
    expect(contains(cap, fromLonLatDegrees(200, 90))).toBe(true);
    expect(contains(cap, fromLonLatDegrees(200, 89.9))).toBe(false);
    expect(overlaps(cap, point(123, 90))).toBe(true);
  });
});

describe("overlaps: circle pairs", () => {
  it("is exact for tangent circles", () => {
    const a = fromLonLatDegrees(10, 10);
    const b = fromLonLatDegrees(12, 11);
    const d = angleBetween(a, b);
    const r1 = 1 * DEG;
    expectOverlap(circleRad(a, r1), circleRad(b, d - r1 + DELTA), true);
    expectOverlap(circleRad(a, r1), circleRad(b, d - r1 - DELTA), false);
  });

  it("handles circles across RA = 0 and at the poles", () => {
    expectOverlap(circle(359.5, 0, 0.3), circle(0.5, 0, 0.71), true);
    expectOverlap(circle(359.5, 0, 0.3), circle(0.5, 0, 0.69), false);
    expectOverlap(circle(0, 89.5, 0.6), circle(180, 89.5, 0.6), true);
    expectOverlap(circle(0, 89.5, 0.4), circle(180, 89.5, 0.4), false);
  });

  it("treats empty and full circles as sphgeom does", () => {
    expectOverlap(emptyCircle(), circle(0, 0, 10), false);
    expectOverlap(emptyCircle(), point(0, 0), false);
    expectOverlap(circle(0, 0, 180), point(123, -45), true);
    expectOverlap(circle(0, 0, 180), polygon([[10, 10], [11, 10], [10, 11]]), true);
  });
});

describe("overlaps: circle and polygon", () => {
  const sq = polygon([[0, 0], [10, 0], [10, 10], [0, 10]]);

  it("measures the distance to an edge interior", () => {
    const c = fromLonLatDegrees(12, 5);
    // The edge (10,0)-(10,10) lies on the meridian RA = 10.
    const d = Math.asin(Math.cos(5 * DEG) * Math.sin(2 * DEG));
    expectOverlap(sq, circleRad(c, d + DELTA), true);
    expectOverlap(sq, circleRad(c, d - DELTA), false);
  });

  it("measures the distance to a vertex when no edge interior is nearest", () => {
    const c = fromLonLatDegrees(11, -1);
    const d = angleBetween(c, fromLonLatDegrees(10, 0));
    expectOverlap(sq, circleRad(c, d + DELTA), true);
    expectOverlap(sq, circleRad(c, d - DELTA), false);
  });

  it("finds circles inside polygons and polygons inside circles", () => {
    expectOverlap(sq, circle(5, 5, 0.001), true);
    expectOverlap(sq, circle(5, 5, 30), true);
  });

  it("matches sphgeom's CircleRelations for the octant triangle (tests/testConvexPolygon.cc)", () => {
    const t: Region = { kind: "polygon", vertices: convexHull([[1, 0, 0], [0, 1, 0], [0, 0, 1]]) };
    expectOverlap(t, circleRad(normalize([1, 1, 1]), 0.25), true);
    for (const axis of [[1, 0, 0], [0, 1, 0], [0, 0, 1]] as Vec3[]) {
      expectOverlap(t, circleRad(axis, 1), true);
      expectOverlap(t, circleRad(scale(axis, -1), 1), false);
    }
  });

  it("works for arcsecond-sized regions", () => {
    const center = fromLonLatDegrees(150, 2);
    const tri = polygon([[150 + 2 / 3600, 2], [150 + 4 / 3600, 2 - 1 / 3600], [150 + 4 / 3600, 2 + 1 / 3600]]);
    // The nearest point of the triangle is its vertex at 2" east (along the parallel).
    const d = angleBetween(center, fromLonLatDegrees(150 + 2 / 3600, 2));
    expect(d / ARCSEC).toBeCloseTo(2 * Math.cos(2 * DEG), 6);
    expectOverlap(tri, circleRad(center, d + 1e-4 * ARCSEC), true);
    expectOverlap(tri, circleRad(center, d - 1e-4 * ARCSEC), false);
  });
});

describe("overlaps: circle and box (meridian sides are great circles, parallel sides small circles)", () => {
  it("handles the box's parallel sides exactly, where a great-circle side would bulge", () => {
    const b = boxFromRanges(0, 90, 60, 70);
    // Above the top side: the nearest point is straight south on the parallel Dec = 70.
    expectOverlap(b, circleRad(fromLonLatDegrees(45, 72), 2 * DEG - DELTA), false);
    expectOverlap(b, circleRad(fromLonLatDegrees(45, 72), 2 * DEG + DELTA), true);
    // Below the bottom side, Dec = 60 (a great circle through the corners would pass Dec 67.8 here).
    expectOverlap(b, circleRad(fromLonLatDegrees(45, 58), 2 * DEG - DELTA), false);
    expectOverlap(b, circleRad(fromLonLatDegrees(45, 58), 2 * DEG + DELTA), true);
  });

  it("handles meridian sides and corners, across RA = 0", () => {
    const b = box(0, 0, 2, 2); // RA 359..1, Dec -1..1
    expectOverlap(b, circleRad(fromLonLatDegrees(2, 0), 1 * DEG + DELTA), true);
    expectOverlap(b, circleRad(fromLonLatDegrees(2, 0), 1 * DEG - DELTA), false);
    expectOverlap(b, circleRad(fromLonLatDegrees(358, 0.5), Math.asin(Math.cos(0.5 * DEG) * Math.sin(1 * DEG)) + DELTA), true);
    expectOverlap(b, circleRad(fromLonLatDegrees(358, 0.5), Math.asin(Math.cos(0.5 * DEG) * Math.sin(1 * DEG)) - DELTA), false);
    const corner = fromLonLatDegrees(1, 1);
    const c = fromLonLatDegrees(1.5, 1.5);
    expectOverlap(b, circleRad(c, angleBetween(c, corner) + DELTA), true);
    expectOverlap(b, circleRad(c, angleBetween(c, corner) - DELTA), false);
    expectOverlap(b, circle(0, 3, 2.0000001), true);
    expectOverlap(b, circle(0, 3, 1.9999999), false);
  });

  it("handles polar caps and circles around the pole", () => {
    const cap = boxFromRanges(0, 360, 85, 90);
    expectOverlap(cap, circle(33, 83, 2.0000001), true);
    expectOverlap(cap, circle(33, 83, 1.9999999), false);
    const wedge = boxFromRanges(10, 20, 80, 90);
    expectOverlap(wedge, circle(200, 89, 1.0000001), true); // reaches the pole, a corner of the wedge
    expectOverlap(wedge, circle(200, 89, 0.9999999), false);
  });
});

describe("overlaps: polygon and box", () => {
  it("finds a polygon edge that bulges across the box's lower parallel between its vertices", () => {
    const poly = polygon([[0, 50], [0, 40], [40, 40], [40, 50]]);
    // The top edge (0,50)-(40,50) reaches its highest latitude at RA 20.
    const a = fromLonLatDegrees(0, 50);
    const bv = fromLonLatDegrees(40, 50);
    const n = normalize(cross(a, bv));
    const top = Math.atan2(Math.hypot(n[0], n[1]), Math.abs(n[2])) / DEG;
    expect(top).toBeGreaterThan(51.7);
    expectOverlap(poly, boxFromRanges(10, 30, top - 1e-7, 60), true);
    expectOverlap(poly, boxFromRanges(10, 30, top + 1e-7, 60), false);
    // Only the parallel is crossed: no vertex of either region is inside the other.
    expectOverlap(poly, boxFromRanges(19, 21, top - 1e-7, top + 5), true);
  });

  it("finds a polygon edge crossing the box's meridian sides", () => {
    const sliver = polygon([[0, 0.2], [0, -0.2], [20, 0]]);
    expectOverlap(sliver, boxFromRanges(10, 11, -5, 5), true);
    expectOverlap(sliver, boxFromRanges(10, 11, 1, 5), false);
    expectOverlap(sliver, boxFromRanges(10, 11, 0.1, 5), true);
  });

  it("finds containment both ways", () => {
    expectOverlap(polygon([[0, 0], [30, 0], [30, 30], [0, 30]]), box(10, 10, 1, 1), true);
    expectOverlap(polygon([[10, 10], [10.1, 10], [10.1, 10.1]]), box(10, 10, 5, 5), true);
  });

  it("is exact across RA = 0", () => {
    const b = box(0, 0, 2, 2); // RA 359..1
    expectOverlap(b, polygon([[358.9, 0.5], [358.9, -0.5], [357, 0]]), false);
    expectOverlap(b, polygon([[359.1, 0.5], [359.1, -0.5], [357, 0]]), true);
    expectOverlap(b, polygon([[1.0000001, 0.5], [1.0000001, -0.5], [3, 0]]), false);
    expectOverlap(b, polygon([[0.9999999, 0.5], [0.9999999, -0.5], [3, 0]]), true);
    expectOverlap(b, polygon([[358, 0.5], [2, 0.5], [0, 3]]), true);
  });

  it("is exact around the poles", () => {
    const wedge = boxFromRanges(10, 20, 80, 90);
    expectOverlap(wedge, polygon([[190, 85], [200, 85], [195, 86]]), false);
    expectOverlap(wedge, polygon([[0, 88], [90, 88], [180, 88], [270, 88]]), true); // both hold the pole
    const cap = boxFromRanges(0, 360, 85, 90);
    expectOverlap(cap, polygon([[0, 80], [10, 80], [5, 84.9]]), false);
    expectOverlap(cap, polygon([[0, 80], [10, 80], [5, 85.1]]), true);
    // A polygon around the pole, between two parallels of a band, meets the band everywhere.
    expectOverlap(boxFromRanges(0, 360, 60, 70), polygon([[0, 88], [120, 88], [240, 88]]), false);
    expectOverlap(boxFromRanges(0, 360, 60, 89), polygon([[0, 88], [120, 88], [240, 88]]), true);
  });
});

describe("overlaps: polygon pairs and box pairs", () => {
  it("matches sphgeom's degenerate edge-sharing cases (PolygonRelations2) and separations", () => {
    const t: Region = { kind: "polygon", vertices: convexHull([[1, 0, 0], [0, 1, 0], [0, 0, 1]]) };
    const U = (x: number, y: number, z: number) => normalize([x, y, z]);
    for (const pts of [
      [U(1, 2, 0), U(2, 1, 0), [0, 0, -1]],
      [U(2, -1, 0), U(-1, 2, 0), [0, 0, -1]],
      [U(1, 1, 0), U(-1, 2, 0), [0, 0, -1]],
    ] as Vec3[][]) {
      expectOverlap(t, { kind: "polygon", vertices: convexHull(pts) }, true);
    }
    const below = { kind: "polygon" as const, vertices: convexHull([U(1, 2, -1e-9), U(2, 1, -1e-9), [0, 0, -1]]) };
    expectOverlap(t, below, false);
  });

  it("finds crossings when no vertex is inside the other polygon", () => {
    const a = polygon([[0, 0], [10, 0], [5, 8]]);
    const star = polygon([[0, 5.5], [5, -2.5], [10, 5.5]]);
    expectOverlap(a, star, true);
    expectOverlap(polygon([[0, 0], [1, 0], [0.5, 1]]), polygon([[2, 0], [3, 0], [2.5, 1]]), false);
  });

  it("compares box intervals, with wrap-around and shared poles", () => {
    expectOverlap(boxFromRanges(10, 20, 0, 10), boxFromRanges(20, 30, 0, 10), true);
    expectOverlap(boxFromRanges(10, 19.9999999, 0, 10), boxFromRanges(20, 30, 0, 10), false);
    expectOverlap(boxFromRanges(350, 10, -1, 1), boxFromRanges(5, 20, 0, 5), true);
    expectOverlap(boxFromRanges(350, 10, -1, 1), boxFromRanges(11, 20, 0, 5), false);
    expectOverlap(boxFromRanges(10, 20, 0, 10), boxFromRanges(10, 20, 10, 20), true);
    expectOverlap(boxFromRanges(10, 20, 0, 10), boxFromRanges(10, 20, 10.0000001, 20), false);
    expectOverlap(boxFromRanges(10, 20, 80, 90), boxFromRanges(100, 110, 85, 90), true);
    expectOverlap(boxFromRanges(10, 20, -90, -80), boxFromRanges(100, 110, -90, -85), true);
    expectOverlap(boxFromRanges(10, 20, 80, 89), boxFromRanges(100, 110, 85, 89), false);
  });
});

describe("overlaps: compound regions and ellipses", () => {
  // sphgeom tests/test_CompoundRegion.py
  const inCircle = fromLonLatDegrees(44, 45);
  const inBox = fromLonLatDegrees(46, 45);
  const inBoth = fromLonLatDegrees(45, 45);
  const inNeither = fromLonLatDegrees(45, 48);
  const c = circle(44, 45, 1);
  const b = boxFromRanges(44.5, 47.5, 43.5, 46.5);
  const faraway = circle(45, 48, 0.1);

  it("evaluates unions operand by operand", () => {
    const u = union(c, b);
    expect([inBoth, inCircle, inBox].map((p) => contains(u, p))).toEqual([true, true, true]);
    expect(contains(u, inNeither)).toBe(false);
    expectOverlap(u, c, true);
    expectOverlap(u, faraway, false);
    expectOverlap(union(), c, false);
  });

  it("evaluates intersections conservatively, exactly against points", () => {
    const i = intersection(c, b);
    expect([inBoth, inCircle, inBox, inNeither].map((p) => contains(i, p))).toEqual([true, false, false, false]);
    expectOverlap(i, c, true);
    expectOverlap(i, faraway, false);
    expectOverlap(i, point(44, 45), false);
    expectOverlap(i, point(45, 45), true);
    // Two disjoint operands make an empty intersection.
    expectOverlap(intersection(c, faraway), circle(45, 46, 10), false);
    // The intersection of nothing is the whole sphere.
    expectOverlap(intersection(), point(1, 2), true);
  });

  it("bounds an ellipse by its bounding circle, as sphgeom's relate does", () => {
    const a = 0.3 - Math.PI / 2; // a circle-like ellipse of semi-axes 0.3 rad around +Z
    const e: Region = { kind: "ellipse", matrix: [1, 0, 0, 0, 1, 0, 0, 0, 1], a, b: a, gamma: 0, tana: Math.abs(Math.tan(a)), tanb: Math.abs(Math.tan(a)) };
    expectOverlap(e, point(0, 90 - 0.29 / DEG), true);
    expectOverlap(e, point(0, 90 - 0.31 / DEG), false);
    expectOverlap(e, circle(0, 90 - 0.5 / DEG, 0.21 / DEG), true);
    expectOverlap(e, circle(0, 90 - 0.5 / DEG, 0.19 / DEG), false);
    expect(boundingBox(e).lonMax).toBe(360);
    expect(boundingBox(e).latMin).toBeLessThan(90 - 0.3 / DEG);
  });
});

describe("overlaps is symmetric", () => {
  it("for every pair of a mixed set of regions", () => {
    const regions: Region[] = [
      point(0, 0),
      point(359.99, 0.01),
      point(12, 90),
      circle(0, 0, 1),
      circle(180, -89, 2),
      box(0, 0, 2, 2),
      boxFromRanges(0, 360, 80, 90),
      boxFromRanges(170, 190, -90, -85),
      polygon([[358, -1], [2, -1], [2, 1], [358, 1]]),
      polygon([[0, 88], [120, 88], [240, 88]]),
      polygon([[175, -86], [185, -86], [180, -80]]),
      union(circle(10, 10, 1), box(0, 0, 1, 1)),
      intersection(circle(0, 0, 2), box(1, 1, 2, 2)),
    ];
    for (const a of regions) for (const b of regions) expect(overlaps(a, b)).toBe(overlaps(b, a));
  });
});

// ---------------------------------------------------------------------------------------------
// Sampling helpers for the randomized checks
// ---------------------------------------------------------------------------------------------

function boundarySamples(r: Region, n: number): Vec3[] {
  const out: Vec3[] = [];
  if (r.kind === "circle") {
    const c = r.center;
    for (let i = 0; i < n; i++) out.push(walk(c, (2 * Math.PI * i) / n, r.openingAngle));
  } else if (r.kind === "polygon") {
    const vs = r.vertices;
    const k = Math.ceil(n / vs.length);
    for (let i = 0; i < vs.length; i++) for (let j = 0; j < k; j++) out.push(slerp(vs[i], vs[(i + 1) % vs.length], j / k));
  } else if (r.kind === "box") {
    const [l0, l1] = r.lon;
    const [a0, a1] = r.lat;
    const full = l0 === 0 && l1 === 2 * Math.PI;
    const width = full ? 2 * Math.PI : (((l1 - l0) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
    const k = Math.ceil(n / 4);
    for (let j = 0; j <= k; j++) {
      const lon = l0 + (width * j) / k;
      const lat = a0 + ((a1 - a0) * j) / k;
      out.push(fromLonLatRadians(lon, a0), fromLonLatRadians(lon, a1), fromLonLatRadians(l0, lat), fromLonLatRadians(l1, lat));
    }
  }
  return out;
}

function interiorSamples(r: Region, n: number, next: () => number): Vec3[] {
  const bb = boundingBox(r);
  const out: Vec3[] = [];
  const z0 = Math.sin(bb.latMin * DEG);
  const z1 = Math.sin(bb.latMax * DEG);
  let width = bb.lonMax - bb.lonMin;
  if (width < 0) width += 360;
  for (let i = 0; i < n * 30 && out.length < n; i++) {
    const lat = Math.asin(z0 + (z1 - z0) * next());
    const lon = (bb.lonMin + width * next()) * DEG;
    const p = fromLonLatRadians(lon, lat);
    if (contains(r, p)) out.push(p);
  }
  return out;
}

function randomRegion(center: Vec3, sizeDeg: number, next: () => number): Region {
  const [lon, lat] = toLonLatDegrees(center);
  const kind = Math.floor(next() * 3);
  if (kind === 0) return circle(lon, lat, sizeDeg * (0.2 + next()));
  if (kind === 1) return box(lon, lat, sizeDeg * (0.2 + 2 * next()), sizeDeg * (0.2 + 2 * next()));
  const pts: Vec3[] = [];
  const n = 3 + Math.floor(next() * 4);
  for (let i = 0; i < n; i++) pts.push(walk(center, next() * 2 * Math.PI, sizeDeg * (0.3 + next()) * DEG));
  return { kind: "polygon", vertices: convexHull(pts) };
}

function inBoundingBox(bb: ReturnType<typeof boundingBox>, p: Vec3): boolean {
  const [lon, lat] = toLonLatDegrees(p);
  if (lat < bb.latMin || lat > bb.latMax) return false;
  if (bb.lonMin === 0 && bb.lonMax === 360) return true;
  return bb.lonMin <= bb.lonMax ? lon >= bb.lonMin && lon <= bb.lonMax : lon >= bb.lonMin || lon <= bb.lonMax;
}

const CENTERS: Array<[number, number]> = [
  [0, 0],
  [359.9, 0.1],
  [0.05, -0.05],
  [120, 89.5],
  [200, -89.7],
  [45, 60],
  [10, 89.99],
];
const SIZES = [20, 2, 0.01, 1 / 3600];

describe("randomized checks against sampling", () => {
  it("never misses an overlap that sampling finds, and stays symmetric", () => {
    const next = seededRandom(2024);
    let agree = 0;
    let overlapping = 0;
    for (let i = 0; i < 400; i++) {
      const [clon, clat] = CENTERS[i % CENTERS.length];
      const size = SIZES[i % SIZES.length];
      const c = fromLonLatDegrees(clon, clat);
      const a = randomRegion(walk(c, next() * 6.3, next() * size * DEG), size, next);
      const b = randomRegion(walk(c, next() * 6.3, next() * size * DEG), size, next);
      const o = overlaps(a, b);
      expect(overlaps(b, a)).toBe(o);
      const pa = [...boundarySamples(a, 200), ...interiorSamples(a, 100, next)];
      const pb = [...boundarySamples(b, 200), ...interiorSamples(b, 100, next)];
      const sampled = pa.some((p) => contains(b, p)) || pb.some((p) => contains(a, p));
      if (sampled) expect(o).toBe(true);
      if (sampled === o) agree++;
      if (o) overlapping++;
    }
    // Both outcomes occur, and sampling finds nearly every overlap the exact test reports.
    expect(overlapping).toBeGreaterThan(100);
    expect(overlapping).toBeLessThan(380);
    expect(agree).toBeGreaterThan(390);
  });
});

describe("boundingBox", () => {
  it("gives tight boxes for small regions, wrapping through RA = 0", () => {
    const bb = boundingBox(circle(0, 0, 1));
    expect(bb.lonMin).toBeCloseTo(359, 6);
    expect(bb.lonMax).toBeCloseTo(1, 6);
    expect(bb.latMin).toBeCloseTo(-1, 6);
    expect(bb.latMax).toBeCloseTo(1, 6);
    expect(bb.lonMin).toBeLessThan(359);
    expect(bb.lonMax).toBeGreaterThan(1);

    const hi = boundingBox(circle(100, 60, 1));
    expect(hi.lonMax - hi.lonMin).toBeCloseTo(2 * Math.asin(Math.sin(1 * DEG) / Math.cos(60 * DEG)) / DEG, 6);

    const b = boundingBox(box(150, 2, 0.1, 0.2));
    expect(b.lonMin).toBeCloseTo(149.95, 7);
    expect(b.lonMax).toBeCloseTo(150.05, 7);
    expect(b.latMin).toBeCloseTo(1.9, 7);
    expect(b.latMax).toBeCloseTo(2.1, 7);

    const p = boundingBox(point(150.1, 2.2));
    expect(p.lonMin).toBeLessThanOrEqual(150.1);
    expect(p.lonMax).toBeGreaterThanOrEqual(150.1);
    expect(p.lonMax - p.lonMin).toBeLessThan(1e-6);

    const sq = boundingBox(polygon([[358, -1], [2, -1], [2, 1], [358, 1]]));
    expect(sq.lonMin).toBeCloseTo(358, 6);
    expect(sq.lonMax).toBeCloseTo(2, 6);
    // The edges bulge poleward between the corners: tan(top) = tan(1°) / cos(2°).
    const top = Math.atan(Math.tan(1 * DEG) / Math.cos(2 * DEG)) / DEG;
    expect(top).toBeGreaterThan(1.0006);
    expect(sq.latMax).toBeGreaterThanOrEqual(top);
    expect(sq.latMax).toBeLessThan(top + 1e-6);
    expect(sq.latMin).toBeLessThanOrEqual(-top);
  });

  it("covers all longitudes around a pole", () => {
    expect(boundingBox(circle(0, 89.5, 1))).toEqual({ lonMin: 0, lonMax: 360, latMin: expect.closeTo(88.5, 6), latMax: 90 });
    const around = boundingBox(polygon([[0, 88], [120, 88], [240, 88]]));
    expect(around.lonMin).toBe(0);
    expect(around.lonMax).toBe(360);
    expect(around.latMax).toBe(90);
    expect(boundingBox(boxFromRanges(10, 20, -90, -80))).toEqual({ lonMin: 0, lonMax: 360, latMin: -90, latMax: expect.closeTo(-80, 6) });
    expect(boundingBox(circle(0, 0, 180)).lonMax).toBe(360);
  });

  it("unions and intersects operand boxes, and marks empty regions", () => {
    const u = boundingBox(union(circle(350, 0, 1), circle(10, 0, 1)));
    expect(u.lonMin).toBeCloseTo(349, 6);
    expect(u.lonMax).toBeCloseTo(11, 6);
    const i = boundingBox(intersection(box(0, 0, 10, 10), circle(3, 3, 1)));
    const half = Math.asin(Math.sin(1 * DEG) / Math.cos(3 * DEG)) / DEG;
    expect(i.lonMin).toBeCloseTo(3 - half, 6);
    expect(i.lonMax).toBeCloseTo(3 + half, 6);
    expect(i.latMin).toBeCloseTo(2, 6);
    const empty = boundingBox(emptyCircle());
    expect(empty.latMin).toBeGreaterThan(empty.latMax);
    expect(boundingBox(union()).latMin).toBe(90);
  });

  it("contains every sampled point of random regions (never smaller than the region)", () => {
    const next = seededRandom(99);
    for (let i = 0; i < 300; i++) {
      const [clon, clat] = CENTERS[i % CENTERS.length];
      const size = SIZES[(i >> 1) % SIZES.length];
      const r = randomRegion(walk(fromLonLatDegrees(clon, clat), next() * 6.3, next() * size * DEG), size, next);
      const bb = boundingBox(r);
      expect(bb.latMin).toBeGreaterThanOrEqual(-90);
      expect(bb.latMax).toBeLessThanOrEqual(90);
      expect(bb.lonMin).toBeGreaterThanOrEqual(0);
      expect(bb.lonMax).toBeLessThanOrEqual(360);
      for (const p of [...boundarySamples(r, 200), ...interiorSamples(r, 50, next)]) {
        expect(inBoundingBox(bb, p)).toBe(true);
      }
    }
  });
});
