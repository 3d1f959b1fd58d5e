/**
 * Unit vectors on the sphere, the coordinate system of every region in sky/ (as in LSST sphgeom,
 * where regions are stored and tested as 3-vectors, never as RA/Dec).
 *
 * Conventions follow sphgeom so that values computed here match what daf_butler stores:
 * - `fromLonLatDegrees(lon, lat)` is sphgeom's `UnitVector3d(LonLat.fromDegrees(lon, lat))`:
 *   degrees → radians by multiplying with RAD_PER_DEG (the same double as sphgeom's constant), the
 *   longitude normalized into [0, 2π) as `NormalizedAngle` does (fmod), then
 *   (cos lon · cos lat, sin lon · cos lat, sin lat) without renormalization (src/UnitVector3d.cc).
 *   JavaScript's Math.sin/cos may differ from the C library's by an ulp, rarely.
 * - `toLonLat*` are `LonLat::longitudeOf` / `latitudeOf` (src/LonLat.cc): atan2 based, lon in [0, 2π),
 *   lon = 0 at the poles.
 * - `normalize` is `Vector3d::normalize` (src/Vector3d.cc), including its rescaling of tiny and huge
 *   vectors; HTM midpoints `UnitVector3d(v0 + v1)` depend on it bit for bit.
 * - `robustCross(a, b)` is sphgeom's `a.robustCross(b)` = (b + a) × (b − a) = 2 a × b, accurate even
 *   for nearly identical or antipodal inputs (include/lsst/sphgeom/UnitVector3d.h).
 * - `orientation(a, b, c)` is the sign of det[a b c] = a · (b × c), computed exactly as sphgeom's
 *   `orientation` (src/orientation.cc): a floating-point filter and, when that is inconclusive, exact
 *   arithmetic (here with BigInt) on the 6 triple products.
 */

/** A 3-vector; regions hold unit vectors. */
export type Vec3 = readonly [number, number, number];

/** sphgeom's RAD_PER_DEG (0.0174532925199432957692369), which is exactly Math.PI / 180 as a double. */
export const RAD_PER_DEG = 0.0174532925199432957692369;
/** sphgeom's DEG_PER_RAD (57.2957795130823208767981548141), exactly 180 / Math.PI as a double. */
export const DEG_PER_RAD = 57.2957795130823208767981548141;

export const X: Vec3 = [1, 0, 0];
export const Y: Vec3 = [0, 1, 0];
export const Z: Vec3 = [0, 0, 1];

export function vec(x: number, y: number, z: number): Vec3 {
  return [x, y, z];
}

export function add(a: Vec3, b: Vec3): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

export function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

export function scale(a: Vec3, s: number): Vec3 {
  return [a[0] * s, a[1] * s, a[2] * s];
}

export function neg(a: Vec3): Vec3 {
  return [-a[0], -a[1], -a[2]];
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/** (b + a) × (b − a) = 2 (a × b), almost orthogonal to a and b even when they nearly coincide. */
export function robustCross(a: Vec3, b: Vec3): Vec3 {
  return cross(add(b, a), sub(b, a));
}

export function squaredNorm(a: Vec3): number {
  return dot(a, a);
}

export function norm(a: Vec3): number {
  return Math.sqrt(dot(a, a));
}

/** Exact component equality (sphgeom's operator==; -0 equals 0). */
export function vecEquals(a: Vec3, b: Vec3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

export function isZero(a: Vec3): boolean {
  return a[0] === 0 && a[1] === 0 && a[2] === 0;
}

export function isFiniteVec(a: Vec3): boolean {
  return Number.isFinite(a[0]) && Number.isFinite(a[1]) && Number.isFinite(a[2]);
}

/**
 * The unit vector along `a`, as sphgeom's Vector3d::normalize computes it (rescaling vectors whose
 * squared norm underflows or overflows). Throws RangeError for the zero vector or non-finite input.
 */
export function normalize(a: Vec3): Vec3 {
  let s = 1.0;
  let n2 = dot(a, a);
  if (n2 < 4.008336720017946e-292) {
    s = 3.019169939857233e169; // 2^563
    n2 = squaredNorm(scale(a, s));
    if (n2 === 0) throw new RangeError("cannot normalize the zero vector");
  } else if (n2 === Infinity) {
    s = 3.7291703656001034e-155; // 2^-513
    n2 = squaredNorm(scale(a, s));
  }
  if (!Number.isFinite(n2)) throw new RangeError("cannot normalize a vector with non-finite components");
  const n = Math.sqrt(n2);
  return [(a[0] * s) / n, (a[1] * s) / n, (a[2] * s) / n];
}

/** The angle between two (not necessarily unit) vectors, in radians, in [0, π]; accurate for tiny angles. */
export function angleBetween(a: Vec3, b: Vec3): number {
  const c = cross(a, b);
  const s = Math.sqrt(dot(c, c));
  const d = dot(a, b);
  if (s === 0 && d === 0) return 0;
  return Math.atan2(s, d);
}

/** sphgeom's NormalizedAngle(double): an angle in radians reduced into [0, 2π] (2π itself is kept). */
export function normalizeLonRadians(a: number): number {
  const twoPi = 2.0 * Math.PI;
  if (a < 0.0) return (a % twoPi) + twoPi;
  if (a > twoPi) return a % twoPi;
  return a;
}

/** UnitVector3d(lon, lat) of sphgeom, angles in radians (lon is normalized first). */
export function fromLonLatRadians(lon: number, lat: number): Vec3 {
  if (!(Math.abs(lat) <= 0.5 * Math.PI)) throw new RangeError(`latitude ${lat} rad is not in [-π/2, π/2]`);
  if (!Number.isFinite(lon)) throw new RangeError(`longitude ${lon} is not a finite number`);
  const l = normalizeLonRadians(lon);
  const sinLon = Math.sin(l);
  const cosLon = Math.cos(l);
  const sinLat = Math.sin(lat);
  const cosLat = Math.cos(lat);
  return [cosLon * cosLat, sinLon * cosLat, sinLat];
}

/** sphgeom's UnitVector3d(LonLat.fromDegrees(lon, lat)). RangeError when |lat| > 90 or a value is not finite. */
export function fromLonLatDegrees(lon: number, lat: number): Vec3 {
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) throw new RangeError(`(${lon}, ${lat}) is not a pair of finite numbers`);
  return fromLonLatRadians(lon * RAD_PER_DEG, lat * RAD_PER_DEG);
}

/** LonLat::latitudeOf: radians in [-π/2, π/2]. */
export function latitudeOf(v: Vec3): number {
  const d2 = v[0] * v[0] + v[1] * v[1];
  if (v[2] === 0) return 0;
  const lat = Math.atan2(v[2], Math.sqrt(d2));
  return Math.abs(lat) > 0.5 * Math.PI ? Math.sign(lat) * 0.5 * Math.PI : lat;
}

/** LonLat::longitudeOf: radians in [0, 2π); 0 on the z axis. */
export function longitudeOf(v: Vec3): number {
  const d2 = v[0] * v[0] + v[1] * v[1];
  if (d2 === 0) return 0;
  let lon = Math.atan2(v[1], v[0]);
  if (lon < 0) lon += 2 * Math.PI;
  return lon >= 2 * Math.PI ? 0 : lon;
}

/** [lon, lat] in radians, lon in [0, 2π). */
export function toLonLatRadians(v: Vec3): [number, number] {
  return [longitudeOf(v), latitudeOf(v)];
}

/** [lon, lat] in degrees, lon in [0, 360), lat in [-90, 90]. */
export function toLonLatDegrees(v: Vec3): [number, number] {
  let lon = longitudeOf(v) * DEG_PER_RAD;
  if (lon >= 360) lon -= 360;
  return [lon, latitudeOf(v) * DEG_PER_RAD];
}

// ---------------------------------------------------------------------------------------------
// Exact orientation
// ---------------------------------------------------------------------------------------------

const scratch = new DataView(new ArrayBuffer(8));

/** d = m · 2^e exactly, with m an integer (BigInt); null for 0. */
function splitDouble(d: number): { m: bigint; e: number } | null {
  if (d === 0) return null;
  scratch.setFloat64(0, d);
  const bits = scratch.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const expBits = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & 0xfffffffffffffn;
  const m = expBits === 0 ? frac : frac | 0x10000000000000n;
  const e = expBits === 0 ? -1074 : expBits - 1075;
  return { m: negative ? -m : m, e };
}

/** The exact sign of Σ sign_i · p_i · q_i · r_i for the six terms of det[a b c]. */
function orientationExact(a: Vec3, b: Vec3, c: Vec3): number {
  const terms: Array<[number, number, number, bigint]> = [
    [a[0], b[1], c[2], 1n],
    [a[0], b[2], c[1], -1n],
    [a[1], b[2], c[0], 1n],
    [a[1], b[0], c[2], -1n],
    [a[2], b[0], c[1], 1n],
    [a[2], b[1], c[0], -1n],
  ];
  const products: Array<{ m: bigint; e: number }> = [];
  for (const [p, q, r, s] of terms) {
    const sp = splitDouble(p);
    const sq = splitDouble(q);
    const sr = splitDouble(r);
    if (!sp || !sq || !sr) continue;
    products.push({ m: s * sp.m * sq.m * sr.m, e: sp.e + sq.e + sr.e });
  }
  if (products.length === 0) return 0;
  const eMin = Math.min(...products.map((p) => p.e));
  let sum = 0n;
  for (const p of products) sum += p.m << BigInt(p.e - eMin);
  return sum > 0n ? 1 : sum < 0n ? -1 : 0;
}

/**
 * The sign (1, 0 or -1) of det[a b c] = a · (b × c): 1 when c is to the left of the great circle
 * from a to b (counter-clockwise), 0 when coplanar. Exact for all finite inputs.
 */
export function orientation(a: Vec3, b: Vec3, c: Vec3): number {
  const bycz = b[1] * c[2];
  const bzcy = b[2] * c[1];
  const bzcx = b[2] * c[0];
  const bxcz = b[0] * c[2];
  const bxcy = b[0] * c[1];
  const bycx = b[1] * c[0];
  const det = a[0] * (bycz - bzcy) + a[1] * (bzcx - bxcz) + a[2] * (bxcy - bycx);
  const permanent =
    Math.abs(a[0]) * (Math.abs(bycz) + Math.abs(bzcy)) +
    Math.abs(a[1]) * (Math.abs(bzcx) + Math.abs(bxcz)) +
    Math.abs(a[2]) * (Math.abs(bxcy) + Math.abs(bycx));
  // 8 ε bounds the rounding error of this evaluation relative to the permanent (sphgeom uses
  // 5.6e-16 for unit vectors); the absolute term covers underflow.
  const maxError = 8.9e-16 * permanent + 4.0e-307;
  if (det > maxError) return 1;
  if (det < -maxError) return -1;
  return orientationExact(a, b, c);
}
