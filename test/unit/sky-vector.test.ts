import {
  angleBetween,
  cross,
  DEG_PER_RAD,
  dot,
  fromLonLatDegrees,
  fromLonLatRadians,
  normalize,
  orientation,
  RAD_PER_DEG,
  robustCross,
  toLonLatDegrees,
  Vec3,
} from "../../subgraphs/facility/sky/vector";
import { seededRandom } from "../../lib/seeded-random";

describe("sky/vector constants and conversions", () => {
  it("uses sphgeom's degree constants, which equal the JavaScript ones", () => {
    expect(RAD_PER_DEG).toBe(Math.PI / 180);
    expect(DEG_PER_RAD).toBe(180 / Math.PI);
    expect(360 * RAD_PER_DEG).toBe(2 * Math.PI);
    expect(90 * RAD_PER_DEG).toBe(0.5 * Math.PI);
  });

  it("builds unit vectors from lon/lat like sphgeom UnitVector3d(LonLat)", () => {
    expect(fromLonLatDegrees(0, 0)).toEqual([1, 0, 0]);
    const y = fromLonLatDegrees(90, 0);
    expect(y[0]).toBe(Math.cos(Math.PI / 2));
    expect(y[1]).toBe(1);
    expect(y[2]).toBe(0);
    expect(fromLonLatDegrees(0, 90)[2]).toBe(1);
    expect(fromLonLatDegrees(0, -90)[2]).toBe(-1);
    // Longitudes are normalized into [0, 360) first.
    const a = fromLonLatDegrees(-90, 10);
    const b = fromLonLatDegrees(270, 10);
    for (let i = 0; i < 3; i++) expect(a[i]).toBeCloseTo(b[i], 15);
    expect(fromLonLatDegrees(720 + 45, 0)).toEqual(fromLonLatRadians((720 + 45) * RAD_PER_DEG, 0));
  });

  it("rejects latitudes beyond the poles and non-finite input", () => {
    expect(() => fromLonLatDegrees(0, 90.000001)).toThrow(RangeError);
    expect(() => fromLonLatDegrees(0, -91)).toThrow(RangeError);
    expect(() => fromLonLatDegrees(NaN, 0)).toThrow(RangeError);
    expect(() => fromLonLatDegrees(0, Infinity)).toThrow(RangeError);
  });

  it("round-trips lon/lat, with lon in [0, 360) across RA = 0", () => {
    const next = seededRandom(1);
    for (let i = 0; i < 2000; i++) {
      const lon = next() * 360;
      const lat = next() * 179.9 - 89.95;
      const [lo, la] = toLonLatDegrees(fromLonLatDegrees(lon, lat));
      expect(la).toBeCloseTo(lat, 9);
      const dl = Math.abs(lo - lon);
      expect(Math.min(dl, 360 - dl)).toBeLessThan(1e-9);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(lo).toBeLessThan(360);
    }
    const [lo, la] = toLonLatDegrees(fromLonLatDegrees(-1e-12, 0));
    expect(lo).toBeGreaterThan(359.999);
    expect(lo).toBeLessThan(360);
    expect(la).toBe(0);
    expect(toLonLatDegrees([0, 0, 1])).toEqual([0, 90]);
    expect(toLonLatDegrees([0, 0, -2])).toEqual([0, -90]);
  });
});

describe("sky/vector arithmetic", () => {
  it("normalizes tiny, huge and ordinary vectors and refuses zero", () => {
    expect(normalize([3, 0, 4])).toEqual([0.6, 0, 0.8]);
    expect(normalize([1e-200, 0, 0])).toEqual([1, 0, 0]);
    const h = normalize([1e300, 1e300, 0]);
    expect(h[0]).toBeCloseTo(Math.SQRT1_2, 15);
    expect(h[1]).toBeCloseTo(Math.SQRT1_2, 15);
    expect(() => normalize([0, 0, 0])).toThrow(RangeError);
  });

  it("robustCross is twice the cross product (sphgeom: x.robustCross(y) == 2z)", () => {
    const plain = (v: Vec3) => v.map((x) => x + 0); // -0 → 0, as sphgeom's == treats them
    expect(plain(robustCross([1, 0, 0], [0, 1, 0]))).toEqual([0, 0, 2]);
    expect(plain(robustCross([0, 1, 0], [0, 0, 1]))).toEqual([2, 0, 0]);
    expect(plain(robustCross([0, 0, 1], [1, 0, 0]))).toEqual([0, 2, 0]);
  });

  it("measures tiny angles accurately", () => {
    const arcsec = RAD_PER_DEG / 3600;
    const a = fromLonLatDegrees(150, 2);
    const b = fromLonLatDegrees(150, 2 + 1 / 3600);
    expect(Math.abs(angleBetween(a, b) / arcsec - 1)).toBeLessThan(1e-9);
    const c = fromLonLatDegrees(150, 2 + 1e-6 / 3600); // one micro-arcsecond
    expect(Math.abs(angleBetween(a, c) / (1e-6 * arcsec) - 1)).toBeLessThan(1e-3);
    expect(angleBetween([1, 0, 0], [-1, 0, 0])).toBeCloseTo(Math.PI, 15);
    expect(angleBetween([1, 0, 0], [1, 0, 0])).toBe(0);
  });
});

describe("sky/vector orientation (exact)", () => {
  it("gives the sign of det[a b c]", () => {
    const X: Vec3 = [1, 0, 0];
    const Y: Vec3 = [0, 1, 0];
    const Z: Vec3 = [0, 0, 1];
    expect(orientation(X, Y, Z)).toBe(1);
    expect(orientation(Y, X, Z)).toBe(-1);
    expect(orientation(X, Y, normalize([1, 1, 0]))).toBe(0);
    expect(orientation(X, X, Y)).toBe(0);
    expect(orientation(X, [-1, 0, 0], Y)).toBe(0);
  });

  it("is exactly zero for vectors in a common plane through the origin", () => {
    const next = seededRandom(7);
    for (let i = 0; i < 500; i++) {
      // Two equal columns (x == y) make the determinant exactly zero.
      const ax = next();
      const bx = next() - 0.5;
      const cx = next() * 1e-9;
      const a: Vec3 = [ax, ax, next()];
      const b: Vec3 = [bx, bx, next() - 0.5];
      const c: Vec3 = [cx, cx, next()];
      expect(orientation(a, b, c)).toBe(0);
    }
  });

  it("is antisymmetric and cyclic even for nearly coplanar triples (where naive evaluation is not)", () => {
    const next = seededRandom(42);
    let naiveInconsistent = 0;
    for (let i = 0; i < 3000; i++) {
      const a = normalize([next() - 0.5, next() - 0.5, next() - 0.5]);
      const b = normalize([next() - 0.5, next() - 0.5, next() - 0.5]);
      // c on the great circle through a and b, perturbed by ~1 ulp.
      const t = next();
      const c: Vec3 = [a[0] * t + b[0] * (1 - t), a[1] * t + b[1] * (1 - t), a[2] * t + b[2] * (1 - t)];
      const o = orientation(a, b, c);
      expect(orientation(b, a, c)).toBe(-o);
      expect(orientation(b, c, a)).toBe(o);
      expect(orientation(c, a, b)).toBe(o);
      expect(orientation(a, c, b)).toBe(-o);
      const naive = (p: Vec3, q: Vec3, r: Vec3) => Math.sign(dot(p, cross(q, r)));
      if (naive(a, b, c) !== naive(b, c, a) || naive(a, b, c) !== -naive(b, a, c)) naiveInconsistent++;
    }
    // The construction really exercises the exact path.
    expect(naiveInconsistent).toBeGreaterThan(0);
  });
});
