/**
 * HEALPix (Górski et al. 2005, ApJ 622, 759): the equal-area pixelization that MOCs (moc.ts)
 * and survey footprints are expressed in. Point → pixel follows healpix_base's `loc2pix`
 * (healpix_cxx src/healpix_base.cc) step for step, for the RING and the NESTED scheme:
 * - equatorial zone |z| ≤ 2/3: the ascending and descending edge-line indices
 *   jp = ⌊nside (½ + tt) − ¾ nside z⌋, jm = ⌊nside (½ + tt) + ¾ nside z⌋ with tt = φ / (π/2) in [0, 4);
 * - polar caps: tmp = nside √(3 (1 − |z|)) (computed from sin θ near the pole, as loc2pix does,
 *   so a point within 1e-8 rad of the pole keeps its precision), jp = ⌊tp · tmp⌋, jm = ⌊(1 − tp) tmp⌋.
 * NESTED indices are face · nside² + the bits of (ix, iy) interleaved (x in the even bits), so a
 * pixel's parent at the next coarser order is its index ≫ 2 — what a MOC relies on.
 * Orders 0 … 29 (nside = 2^order) as MOC 2.0 allows; NESTED indices above order 24 exceed 2^53 and
 * are BigInt (`nestedIndexBig`); `healpixIndex` (plain numbers) takes nside ≤ 2^24.
 */
import { RegionError } from "./region";
import { Vec3 } from "./vector";

export const HEALPIX_MAX_ORDER = 29;
/** The largest nside whose pixel numbers are exact in a double. */
export const HEALPIX_MAX_NUMBER_NSIDE = 2 ** 24;

/** A pixel's nested-scheme coordinates at some nside: base face 0 … 11 and (ix, iy) in [0, nside). */
export interface HealpixXyf {
  face: number;
  ix: number;
  iy: number;
}

const TWO_THIRDS = 2 / 3;
const INV_HALF_PI = 2 / Math.PI;

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0 && n <= 2 ** 30;
}

/** The order of a power-of-two nside; RegionError otherwise. */
export function healpixOrder(nside: number): number {
  if (!isPowerOfTwo(nside) || nside > 2 ** HEALPIX_MAX_ORDER) {
    throw new RegionError(`HEALPix nside must be a power of two from 1 to 2^${HEALPIX_MAX_ORDER} for the NESTED scheme, got ${nside}`);
  }
  return Math.round(Math.log2(nside));
}

function checkNside(nside: number, nested: boolean): void {
  if (nested) {
    healpixOrder(nside);
    if (nside > HEALPIX_MAX_NUMBER_NSIDE) throw new RegionError(`HEALPix nside above 2^24 is supported in MOCs only, got ${nside}`);
  } else if (!Number.isInteger(nside) || nside < 1 || nside > HEALPIX_MAX_NUMBER_NSIDE) {
    throw new RegionError(`HEALPix nside must be a whole number from 1 to 2^24, got ${nside}`);
  }
}

export function healpixPixelCount(nside: number): number {
  return 12 * nside * nside;
}

/** z, φ (in [0, 2π) as tt = φ/(π/2) in [0, 4)) and sin θ of a non-zero vector. */
function loc(v: Vec3): { z: number; tt: number; sth: number } {
  const r = Math.hypot(v[0], v[1], v[2]);
  if (!(r > 0) || !Number.isFinite(r)) throw new RegionError("a position must be a finite, non-zero vector");
  const z = v[2] / r;
  const sth = Math.hypot(v[0], v[1]) / r;
  let tt = Math.atan2(v[1], v[0]) * INV_HALF_PI;
  if (tt < 0) tt += 4;
  if (tt >= 4) tt -= 4;
  return { z, tt, sth };
}

/** nside √(3 (1 − |z|)), from sin θ near the poles (loc2pix's have_sth branch). */
function polarTmp(nside: number, za: number, sth: number): number {
  return za < 0.99 ? nside * Math.sqrt(3 * (1 - za)) : (nside * sth) / Math.sqrt((1 + za) / 3);
}

/** The NESTED (face, ix, iy) of the pixel holding `v`, at a power-of-two nside up to 2^29. */
export function healpixXyf(v: Vec3, nside: number): HealpixXyf {
  healpixOrder(nside);
  const { z, tt, sth } = loc(v);
  const za = Math.abs(z);
  if (za <= TWO_THIRDS) {
    const temp1 = nside * (0.5 + tt);
    const temp2 = nside * (z * 0.75);
    const jp = Math.floor(temp1 - temp2);
    const jm = Math.floor(temp1 + temp2);
    const ifp = Math.floor(jp / nside);
    const ifm = Math.floor(jm / nside);
    const face = ifp === ifm ? ifp | 4 : ifp < ifm ? ifp : ifm + 8;
    const ix = jm % nside;
    const iy = nside - (jp % nside) - 1;
    return { face, ix, iy };
  }
  const ntt = Math.min(3, Math.floor(tt));
  const tp = tt - ntt;
  const tmp = polarTmp(nside, za, sth);
  const jp = Math.min(nside - 1, Math.floor(tp * tmp));
  const jm = Math.min(nside - 1, Math.floor((1 - tp) * tmp));
  return z >= 0 ? { face: ntt, ix: nside - jm - 1, iy: nside - jp - 1 } : { face: ntt + 8, ix: jp, iy: jm };
}

/** Interleaves the bits of x (< 2^29) into the even bit positions, as a number (exact below 2^53). */
function spread(x: number): number {
  let out = 0;
  let bit = 1;
  while (x > 0) {
    if (x & 1) out += bit;
    x = x >>> 1;
    bit *= 4;
  }
  return out;
}

/** The NESTED index of (face, ix, iy) at nside ≤ 2^24. */
export function nestedIndex(nside: number, p: HealpixXyf): number {
  return p.face * nside * nside + spread(p.ix) + 2 * spread(p.iy);
}

/** The NESTED index of (face, ix, iy) at any order up to 29, as a BigInt. */
export function nestedIndexBig(order: number, p: HealpixXyf): bigint {
  return (BigInt(p.face) << BigInt(2 * order)) + BigInt(spread(p.ix)) + 2n * BigInt(spread(p.iy));
}

/** The RING index of the pixel holding `v`, for any nside up to 2^24 (loc2pix's RING branch). */
function ringIndex(v: Vec3, nside: number): number {
  const { z, tt, sth } = loc(v);
  const za = Math.abs(z);
  const ncap = 2 * nside * (nside - 1);
  const npix = healpixPixelCount(nside);
  if (za <= TWO_THIRDS) {
    const nl4 = 4 * nside;
    const temp1 = nside * (0.5 + tt);
    const temp2 = nside * z * 0.75;
    const jp = Math.floor(temp1 - temp2);
    const jm = Math.floor(temp1 + temp2);
    const ir = nside + 1 + jp - jm; // ring number counted from z = 2/3, 1 … 2 nside + 1
    const kshift = 1 - (ir & 1);
    const t1 = jp + jm - nside + kshift + 1 + nl4 + nl4;
    const ip = Math.floor(t1 / 2) % nl4;
    return ncap + (ir - 1) * nl4 + ip;
  }
  const tp = tt - Math.floor(tt);
  const tmp = polarTmp(nside, za, sth);
  const jp = Math.floor(tp * tmp);
  const jm = Math.floor((1 - tp) * tmp);
  const ir = jp + jm + 1; // ring number counted from the nearer pole
  let ip = Math.floor(tt * ir);
  ip = ((ip % (4 * ir)) + 4 * ir) % (4 * ir);
  return z > 0 ? 2 * ir * (ir - 1) + ip : npix - 2 * ir * (ir + 1) + ip;
}

/**
 * The index of the pixel holding `v` (healpy's `vec2pix(nside, x, y, z, nest)`): NESTED for a
 * power-of-two nside ≤ 2^24, RING for any nside ≤ 2^24.
 */
export function healpixIndex(v: Vec3, nside: number, nested: boolean): number {
  checkNside(nside, nested);
  return nested ? nestedIndex(nside, healpixXyf(v, nside)) : ringIndex(v, nside);
}

/** The z of the centre of ring `i` (0 = the north pole, 4 nside = the south pole). */
function ringZ(nside: number, i: number): number {
  const k = Math.max(0, Math.min(4 * nside, i));
  if (k < nside) return 1 - (k * k) / (3 * nside * nside);
  if (k <= 3 * nside) return ((2 * nside - k) * 2) / (3 * nside);
  const s = 4 * nside - k;
  return -(1 - (s * s) / (3 * nside * nside));
}

/** healpix_base's jrll: face f's centre lies on ring jrll[f] · nside. */
const JRLL = [2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4];

/**
 * A declination range (degrees) that contains the NESTED pixel (face, ix, iy) at `nside`: the
 * pixel spans rings jr − 1 … jr + 1 around its centre ring jr = jrll · nside − ix − iy − 1; one
 * ring more on each side keeps the range safe against rounding. For an SQL prefilter.
 */
export function healpixDecRange(nside: number, p: HealpixXyf): [number, number] {
  const jr = JRLL[p.face] * nside - p.ix - p.iy - 1;
  const zMax = ringZ(nside, jr - 2);
  const zMin = ringZ(nside, jr + 2);
  const deg = (z: number) => (Math.asin(Math.max(-1, Math.min(1, z))) * 180) / Math.PI;
  return [deg(zMin), deg(zMax)];
}

/** (face, ix, iy) of a NESTED index at nside ≤ 2^24 (the inverse of nestedIndex). */
export function nestedXyf(nside: number, index: number): HealpixXyf {
  const npface = nside * nside;
  const face = Math.floor(index / npface);
  let rest = index - face * npface;
  let ix = 0;
  let iy = 0;
  for (let bit = 1; rest > 0; bit *= 2) {
    const two = rest % 4;
    if (two & 1) ix += bit;
    if (two & 2) iy += bit;
    rest = Math.floor(rest / 4);
  }
  return { face, ix, iy };
}

/** healpix_base's jpll: face f's centre lies at φ = jpll[f] · π/4. */
const JPLL = [1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7];

/**
 * The position (RA, Dec in degrees) of the point (x, y) ∈ [0, 1]² of base face `face`: healpix_base's
 * `xyf2loc` (the inverse of the face projection), with sin θ near the poles so points stay exact there.
 */
function faceToRaDec(x: number, y: number, face: number): [number, number] {
  const jr = JRLL[face] - x - y;
  let nr: number;
  let z: number;
  let sth: number | undefined;
  if (jr < 1) {
    nr = jr;
    const tmp = (nr * nr) / 3;
    z = 1 - tmp;
    if (z > 0.99) sth = Math.sqrt(tmp * (2 - tmp));
  } else if (jr > 3) {
    nr = 4 - jr;
    const tmp = (nr * nr) / 3;
    z = tmp - 1;
    if (z < -0.99) sth = Math.sqrt(tmp * (2 - tmp));
  } else {
    nr = 1;
    z = ((2 - jr) * 2) / 3;
  }
  let t = JPLL[face] * nr + x - y;
  if (t < 0) t += 8;
  if (t >= 8) t -= 8;
  const phi = nr < 1e-15 ? 0 : (Math.PI / 4) * (t / nr);
  const dec = sth === undefined ? Math.asin(Math.max(-1, Math.min(1, z))) : Math.sign(z) * Math.acos(sth);
  let ra = (phi * 180) / Math.PI;
  if (ra >= 360) ra -= 360;
  return [ra, (dec * 180) / Math.PI];
}

/** The centre of a NESTED pixel at nside ≤ 2^24, as [RA, Dec] in degrees (healpy's `pix2ang(nside, p, nest=True, lonlat=True)`). */
export function healpixCentre(nside: number, index: number): [number, number] {
  const p = nestedXyf(nside, index);
  return faceToRaDec((p.ix + 0.5) / nside, (p.iy + 0.5) / nside, p.face);
}

/**
 * The outline of a NESTED pixel, `step` points per side, counter-clockwise from its east corner,
 * as [RA, Dec] in degrees: healpix_base's `boundaries` (healpy's `boundaries(nside, p, step, nest=True)`).
 * Pixel edges are not great circles; a few points per side draw them closely enough at display sizes.
 */
export function healpixBoundary(nside: number, index: number, step = 1): Array<[number, number]> {
  const p = nestedXyf(nside, index);
  const xc = (p.ix + 0.5) / nside;
  const yc = (p.iy + 0.5) / nside;
  const dc = 0.5 / nside;
  const d = 1 / (step * nside);
  const out: Array<[number, number]> = new Array(4 * step);
  for (let i = 0; i < step; i++) {
    out[i] = faceToRaDec(xc + dc - i * d, yc + dc, p.face);
    out[i + step] = faceToRaDec(xc - dc, yc + dc - i * d, p.face);
    out[i + 2 * step] = faceToRaDec(xc - dc + i * d, yc - dc, p.face);
    out[i + 3 * step] = faceToRaDec(xc + dc, yc - dc + i * d, p.face);
  }
  return out;
}
