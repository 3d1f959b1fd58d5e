import {
  box,
  boxFromRanges,
  circle,
  convexHull,
  intersection,
  point,
  polygon,
  Region,
  RegionError,
  union,
  whereLanguageCircle,
} from "../../subgraphs/facility/sky/region";
import { fromLonLatDegrees, normalize, orientation, RAD_PER_DEG, Vec3 } from "../../subgraphs/facility/sky/vector";
import { as, errorOf } from "../support/sky";

const DEG = RAD_PER_DEG;

describe("point() and circle()", () => {
  it("builds POINT as sphgeom LonLat.fromDegrees", () => {
    const p = as(point(150.1, 2.2), "point");
    expect(p.v).toEqual(fromLonLatDegrees(150.1, 2.2));
  });

  it("rejects positions that are not on the sky, saying what is expected", () => {
    expect(errorOf(() => point(10, 91)).message).toMatch(/Dec 91 is outside \[-90, 90\]/);
    expect(errorOf(() => point(NaN, 0)).message).toMatch(/finite number of degrees/);
    expect(errorOf(() => circle(0, 0, Infinity)).message).toMatch(/radius/);
  });

  it("takes the circle radius in degrees as the opening angle, with sphgeom's squared chord length", () => {
    const c = as(circle(10, 20, 0.5), "circle");
    expect(c.center).toEqual(fromLonLatDegrees(10, 20));
    expect(c.openingAngle).toBe(0.5 * DEG);
    const s = Math.sin(0.5 * 0.5 * DEG);
    expect(c.squaredChordLength).toBe(4 * s * s);
    expect(as(circle(0, 0, 180), "circle").squaredChordLength).toBe(4);
    expect(as(circle(0, 0, 0), "circle").squaredChordLength).toBe(0);
  });

  it("rejects a negative radius", () => {
    expect(errorOf(() => circle(0, 0, -1)).message).toMatch(/radius must be >= 0/);
  });

  it("whereLanguageCircle reproduces daf_butler's CIRCLE, whose opening angle is twice the argument", () => {
    const c = as(whereLanguageCircle(10, 20, 0.5), "circle");
    expect(c.openingAngle).toBe(1.0 * DEG);
  });
});

describe("box(): daf_butler's BOX(ra, dec, width, height)", () => {
  it("is centered on (ra, dec) with full width and height", () => {
    const b = as(box(150, 2, 0.1, 0.2), "box");
    expect(b.lon[0]).toBeCloseTo(149.95 * DEG, 14);
    expect(b.lon[1]).toBeCloseTo(150.05 * DEG, 14);
    expect(b.lat[0]).toBeCloseTo(1.9 * DEG, 14);
    expect(b.lat[1]).toBeCloseTo(2.1 * DEG, 14);
    expect(b.lon[0]).toBe(150 * DEG - 0.05 * DEG);
  });

  it("wraps through RA = 0", () => {
    const b = as(box(0, 0, 2, 2), "box");
    expect(b.lon[0]).toBeCloseTo(359 * DEG, 14);
    expect(b.lon[1]).toBeCloseTo(1 * DEG, 14);
    expect(b.lon[0]).toBeGreaterThan(b.lon[1]);
    const c = as(box(359.5, 0, 2, 2), "box");
    expect(c.lon[0]).toBeCloseTo(358.5 * DEG, 13);
    expect(c.lon[1]).toBeCloseTo(0.5 * DEG, 13);
  });

  it("clips at the poles and becomes full in longitude at 360 degrees", () => {
    const b = as(box(10, 89, 4, 4), "box");
    expect(b.lat[0]).toBeCloseTo(87 * DEG, 14);
    expect(b.lat[1]).toBe(0.5 * Math.PI);
    const full = as(box(10, 0, 360, 2), "box");
    expect(full.lon).toEqual([0, 2 * Math.PI]);
    // Width 359 does not wrap onto itself: [10.5, 9.5] going east.
    const almost = as(box(10, 0, 359, 2), "box");
    expect(almost.lon[0]).toBeCloseTo(190.5 * DEG, 13);
    expect(almost.lon[1]).toBeCloseTo(189.5 * DEG, 13);
  });

  it("keeps zero width as a single meridian and rejects negative sizes", () => {
    const b = as(box(20, 0, 0, 1), "box");
    expect(b.lon[0]).toBe(b.lon[1]);
    expect(errorOf(() => box(0, 0, -1, 1)).message).toMatch(/width must be >= 0/);
    expect(errorOf(() => box(0, 0, 1, -1)).message).toMatch(/height must be >= 0/);
    expect(errorOf(() => box(0, 95, 1, 1)).message).toMatch(/Dec 95/);
  });

  it("boxFromRanges follows sphgeom Box(LonLat, LonLat): counter-clockwise from lon1 to lon2", () => {
    const b = as(boxFromRanges(350, 10, -5, 5), "box");
    expect(b.lon[0]).toBeCloseTo(350 * DEG, 13);
    expect(b.lon[1]).toBeCloseTo(10 * DEG, 13);
    expect(as(boxFromRanges(0, 360, -2, 2), "box").lon).toEqual([0, 2 * Math.PI]);
    expect(errorOf(() => boxFromRanges(0, 10, 5, -5)).message).toMatch(/low to high/);
  });
});

describe("polygon() and convexHull(): sphgeom ConvexPolygon", () => {
  const U = (x: number, y: number, z: number): Vec3 => normalize([x, y, z]);

  it("reproduces sphgeom's vertex order (tests/testConvexPolygon.cc Construction)", () => {
    const points: Vec3[] = [
      U(1, 2, 1), U(1, 2, 1), U(2, 1, 1), U(2, 1, 1), U(1, 1, 2), U(1, 1, 2), U(1, 1, 1),
      [0, 1, 0], U(1, 1, 0), U(0, 1, 1), U(1, 0, 1), [1, 0, 0], [0, 0, 1],
    ];
    expect(convexHull(points)).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    // Invariant under rotation of the input (as a set; sphgeom compares up to cyclic order).
    const rotated = [...points.slice(3), ...points.slice(0, 3)];
    expect(convexHull(rotated)).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it("orders the vertices counter-clockwise whatever the input order", () => {
    const ccw = as(polygon([[0, 0], [10, 0], [10, 10], [0, 10]]), "polygon");
    const cw = as(polygon([[0, 10], [10, 10], [10, 0], [0, 0]]), "polygon");
    for (const p of [ccw, cw]) {
      expect(p.vertices).toHaveLength(4);
      const n = p.vertices.length;
      for (let i = 0; i < n; i++) expect(orientation(p.vertices[i], p.vertices[(i + 1) % n], p.vertices[(i + 2) % n])).toBe(1);
    }
    // The first triangle is oriented by swapping its first two vertices (sphgeom findTriangle).
    expect(cw.vertices[0]).toEqual(fromLonLatDegrees(10, 10));
    expect(cw.vertices[1]).toEqual(fromLonLatDegrees(0, 10));
  });

  it("drops interior and duplicate points, and works across RA = 0 and around a pole", () => {
    const p = as(polygon([[359, -1], [1, -1], [0, 0], [1, 1], [359, 1], [0, 0.5]]), "polygon");
    expect(p.vertices).toHaveLength(4);
    const pole = as(polygon([[0, 80], [90, 80], [180, 80], [270, 80]]), "polygon");
    expect(pole.vertices).toHaveLength(4);
  });

  it("throws RegionError on degenerate input (sphgeom ConstructionFailure)", () => {
    expect(errorOf(() => convexHull([[0, 1, 0]])).message).toMatch(/at least 3 distinct vertices/);
    expect(errorOf(() => convexHull([[0, 1, 0], [1, 0, 0]])).message).toMatch(/at least 3 distinct/);
    expect(errorOf(() => convexHull([[0, 1, 0], [1, 0, 0], [0, 0, 1], U(-1, -1, -1)])).message).toMatch(/antipodal/);
    expect(errorOf(() => polygon([[0, 0], [0, 0], [0, 0]])).message).toMatch(/distinct/);
    expect(errorOf(() => polygon([[0, 0], [10, 0], [20, 0]])).message).toMatch(/great circle/);
    expect(errorOf(() => convexHull([[1, 0, 0], [-1, 0, 0], [0, 1, 0]])).message).toMatch(/antipodal/);
    expect(errorOf(() => polygon([[0, 10], [120, 10], [240, 10], [0, -10], [120, -10], [240, -10]])).message).toMatch(/hemisphere/);
    // sphgeom would silently drop (240, 0) here; it is reported instead.
    expect(errorOf(() => polygon([[0, 0], [120, 0], [240, 0], [0, 10]])).message).toMatch(/hemisphere/);
    expect(errorOf(() => polygon([[0, 0], [1, 1]])).message).toMatch(/at least 3/);
    expect(errorOf(() => polygon([[0, 0], [1, 1], [1, 100]])).message).toMatch(/vertex 3/);
  });
});

describe("union() and intersection()", () => {
  it("flatten nested operands of the same kind, as sphgeom does", () => {
    const a = circle(0, 0, 1);
    const b = circle(1, 0, 1);
    const c = circle(2, 0, 1);
    const u = union(union(a, b), c);
    expect(u).toEqual({ kind: "union", operands: [a, b, c] });
    const i = intersection(a, union(b, c));
    expect(i.kind).toBe("intersection");
    expect((i as { operands: Region[] }).operands).toHaveLength(2);
  });
});
