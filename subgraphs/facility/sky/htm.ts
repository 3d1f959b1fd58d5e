/**
 * The Hierarchical Triangular Mesh, compatible with LSST sphgeom's HtmPixelization
 * (lsst/sphgeom src/HtmPixelization.cc, include/lsst/sphgeom/HtmPixelization.h), which daf_butler's
 * htm* skypix dimensions use.
 *
 * Facts followed:
 * - Root triangles, index 8 + r (S0..S3 = 8..11, N0..N3 = 12..15), vertices (v0, v1, v2):
 *   S0 (x, −z, y), S1 (y, −z, −x), S2 (−x, −z, −y), S3 (−y, −z, x),
 *   N0 (x, z, −y), N1 (−y, z, −x), N2 (−x, z, y), N3 (y, z, x).
 * - Subdivision: with midpoints m01 = ‖v0 + v1‖, m12 = ‖v1 + v2‖, m20 = ‖v2 + v0‖ (sphgeom's
 *   UnitVector3d normalization), child 0 = (v0, m01, m20), 1 = (v1, m12, m01), 2 = (v2, m20, m12),
 *   3 = (m12, m20, m01); a child's index is 4 · parent + child, so a level-L index has 4 + 2L bits.
 * - index(p): the root from the signs of p's coordinates (z < 0: south; ties on y = 0 broken as
 *   sphgeom does), then at each level the first child c ∈ (0, 1, 2) whose "inner" edge has p on or
 *   to its left by the exact orientation test (orientation(p, m01, m20) ≥ 0 → 0,
 *   orientation(p, m12, m01) ≥ 0 → 1, orientation(p, m20, m12) ≥ 0 → 2), else 3.
 * - Levels 0 … 24 (MAX_LEVEL); indices stay below 2^52, so plain numbers hold them exactly.
 * - pixel(i) is ConvexPolygon(v0, v1, v2) of the triangle, in that vertex order.
 * `htmEnvelope` lists every pixel that `overlaps` (overlap.ts) reports as meeting the region — a
 * superset of the pixels that truly intersect it, and usually tighter than sphgeom's envelope, which
 * uses relate() bounds and range coarsening.
 */
import { containsPolygon, overlaps } from "./overlap";
import { midpoint, Region, RegionError } from "./region";
import { isFiniteVec, isZero, orientation, Vec3 } from "./vector";

export const HTM_MAX_LEVEL = 24;

const PX: Vec3 = [1, 0, 0];
const PY: Vec3 = [0, 1, 0];
const PZ: Vec3 = [0, 0, 1];
const NX: Vec3 = [-1, 0, 0];
const NY: Vec3 = [0, -1, 0];
const NZ: Vec3 = [0, 0, -1];

const ROOTS: ReadonlyArray<readonly [Vec3, Vec3, Vec3]> = [
  [PX, NZ, PY], // S0
  [PY, NZ, NX], // S1
  [NX, NZ, NY], // S2
  [NY, NZ, PX], // S3
  [PX, PZ, NY], // N0
  [NY, PZ, NX], // N1
  [NX, PZ, PY], // N2
  [PY, PZ, PX], // N3
];

type Triangle = readonly [Vec3, Vec3, Vec3];

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > HTM_MAX_LEVEL) {
    throw new RegionError(`an HTM level must be an integer in [0, ${HTM_MAX_LEVEL}], got ${level}`);
  }
}

/** The child triangle `c` (0-3) of a triangle. */
function child(t: Triangle, c: number): Triangle {
  const [v0, v1, v2] = t;
  switch (c) {
    case 0:
      return [v0, midpoint(v0, v1), midpoint(v2, v0)];
    case 1:
      return [v1, midpoint(v1, v2), midpoint(v0, v1)];
    case 2:
      return [v2, midpoint(v2, v0), midpoint(v1, v2)];
    default:
      return [midpoint(v1, v2), midpoint(v2, v0), midpoint(v0, v1)];
  }
}

/** The root triangle (0-7) containing p, as sphgeom's HtmPixelization::index chooses it. */
function rootOf(p: Vec3): number {
  const [x, y, z] = p;
  if (z < 0) {
    if (y > 0) return x > 0 ? 0 : 1;
    if (y === 0) return x >= 0 ? 0 : 2;
    return x < 0 ? 2 : 3;
  }
  if (y > 0) return x > 0 ? 7 : 6;
  if (y === 0) return x >= 0 ? 7 : 5;
  return x < 0 ? 5 : 4;
}

/** sphgeom HtmPixelization(level).index(p): the index of the level-`level` trixel containing p. */
export function htmIndex(p: Vec3, level: number): number {
  checkLevel(level);
  if (!isFiniteVec(p) || isZero(p)) throw new RegionError("an HTM index needs a finite, non-zero position vector");
  const r = rootOf(p);
  let [v0, v1, v2] = ROOTS[r];
  let index = r + 8;
  for (let l = 0; l < level; l++) {
    const m01 = midpoint(v0, v1);
    const m20 = midpoint(v2, v0);
    index *= 4;
    if (orientation(p, m01, m20) >= 0) {
      v1 = m01;
      v2 = m20;
      continue;
    }
    const m12 = midpoint(v1, v2);
    if (orientation(p, m12, m01) >= 0) {
      v0 = v1;
      v1 = m12;
      v2 = m01;
      index += 1;
    } else if (orientation(p, m20, m12) >= 0) {
      v0 = v2;
      v1 = m20;
      v2 = m12;
      index += 2;
    } else {
      v0 = m12;
      v1 = m20;
      v2 = m01;
      index += 3;
    }
  }
  return index;
}

/** The level of an HTM index (sphgeom HtmPixelization::level), or -1 when it is not a valid index. */
export function htmLevel(index: number): number {
  if (!Number.isSafeInteger(index) || index < 8) return -1;
  let msb = 0;
  for (let x = index; x >= 2; x = Math.floor(x / 2)) msb++;
  if (msb % 2 === 0) return -1;
  const level = (msb - 3) / 2;
  return level <= HTM_MAX_LEVEL ? level : -1;
}

/** The triangle of an HTM index, vertices counter-clockwise as sphgeom's HtmPixelization::triangle. */
function triangleOf(index: number): Triangle {
  const level = htmLevel(index);
  if (level < 0) throw new RegionError(`${index} is not an HTM index (root 8-15 followed by 2 bits per level, up to level ${HTM_MAX_LEVEL})`);
  const scale = 4 ** level;
  let t: Triangle = ROOTS[Math.floor(index / scale) - 8];
  for (let l = level - 1; l >= 0; l--) {
    const digit = Math.floor(index / 4 ** l) % 4;
    t = child(t, digit);
  }
  return t;
}

/** sphgeom HtmPixelization.triangle(index) / pixel(index): the trixel as a convex polygon. */
export function htmPixel(index: number): Region {
  const [v0, v1, v2] = triangleOf(index);
  return { kind: "polygon", vertices: [v0, v1, v2] };
}

/**
 * Sorted indices of every level-`level` trixel that may overlap `r` (all that do, plus possibly a
 * few that only come within ~1e-14 rad of it, or that meet the conservative bounds of an ellipse or
 * intersection). RegionError when there are more than `maxPixels`.
 */
export function htmEnvelope(r: Region, level: number, maxPixels = 100000): number[] {
  checkLevel(level);
  if (!(maxPixels >= 0)) throw new RegionError(`maxPixels must be a non-negative number, got ${maxPixels}`);
  const tooMany = () =>
    new RegionError(`the region covers more than ${maxPixels} level-${level} HTM pixels; use a smaller region or a coarser HTM level`);
  const meets = (t: Triangle) => overlaps({ kind: "polygon", vertices: [t[0], t[1], t[2]] }, r);
  // Breadth first, in index order. A pending trixel meets the region, so it holds at least one
  // overlapping pixel; a trixel inside the region holds all of its pixels. Their sum bounds the
  // result from below, which stops huge regions early.
  type Item = { t: Triangle; index: number } | { first: number; count: number };
  let items: Item[] = [];
  for (let root = 0; root < 8; root++) if (meets(ROOTS[root])) items.push({ t: ROOTS[root], index: root + 8 });
  for (let l = 0; l < level; l++) {
    const next: Item[] = [];
    let bound = 0;
    for (const item of items) {
      if (!("t" in item)) {
        next.push(item);
        bound += item.count;
      } else if (containsPolygon(r, item.t)) {
        const count = 4 ** (level - l);
        next.push({ first: item.index * count, count });
        bound += count;
      } else {
        for (let c = 0; c < 4; c++) {
          const t = child(item.t, c);
          if (meets(t)) {
            next.push({ t, index: item.index * 4 + c });
            bound += 1;
          }
        }
      }
      if (bound > maxPixels) throw tooMany();
    }
    items = next;
  }
  const out: number[] = [];
  for (const item of items) {
    if ("t" in item) out.push(item.index);
    else for (let i = 0; i < item.count; i++) out.push(item.first + i);
    if (out.length > maxPixels) throw tooMany();
  }
  return out;
}
