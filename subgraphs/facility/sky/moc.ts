/**
 * Multi-Order Coverage maps (IVOA MOC 2.0, 2022, §4.3.2 "ASCII serialization"), spatial only:
 * a set of NESTED HEALPix cells (healpix.ts) at orders 0 … 29, written as
 * `order/ipix ipix-ipix … order/…`, e.g. `3/3 10 4/16-18 22 5/19-20`. A cell at order o covers its
 * four children at o + 1; a point is inside when the cell holding it at some listed order is listed.
 * Separators are spaces, commas or new lines; a trailing `29/` (an order with no cells, which MOC
 * 2.0 uses to state the maximum order) is accepted. Cell numbers are BigInt: above order 24 they
 * exceed 2^53.
 */
import { HEALPIX_MAX_ORDER, healpixDecRange, healpixXyf, nestedIndexBig, nestedXyf } from "./healpix";
import { RegionError } from "./region";
import { Vec3 } from "./vector";

export interface Moc {
  /** Per order, sorted, non-overlapping inclusive ranges of cell numbers. */
  orders: Map<number, Array<[bigint, bigint]>>;
}

/** How many MOC cells the parser accepts, counting a range as its two ends. */
const MAX_MOC_TOKENS = 100000;

/** Parses a MOC 2.0 ASCII string; RegionError with the offending token otherwise. */
export function parseMoc(text: string): Moc {
  if (typeof text !== "string" || !text.trim()) throw new RegionError('a MOC must be a non-empty ASCII string such as "3/3 10 4/16-18"');
  const tokens = text.trim().split(/[\s,]+/);
  if (tokens.length > MAX_MOC_TOKENS) throw new RegionError(`a MOC may have at most ${MAX_MOC_TOKENS} tokens, got ${tokens.length}`);
  const orders = new Map<number, Array<[bigint, bigint]>>();
  let order: number | null = null;
  for (const token of tokens) {
    let cells = token;
    const slash = token.indexOf("/");
    if (slash >= 0) {
      const o = token.slice(0, slash);
      if (!/^\d{1,2}$/.test(o) || Number(o) > HEALPIX_MAX_ORDER) throw new RegionError(`MOC order '${o}' in '${token}' must be 0 to ${HEALPIX_MAX_ORDER}`);
      order = Number(o);
      cells = token.slice(slash + 1);
      if (!cells) continue;
    }
    if (order === null) throw new RegionError(`MOC cell '${token}' comes before any 'order/'`);
    const m = /^(\d{1,20})(?:-(\d{1,20}))?$/.exec(cells);
    if (!m) throw new RegionError(`MOC cell '${cells}' must be a number or a range a-b`);
    const lo = BigInt(m[1]);
    const hi = m[2] !== undefined ? BigInt(m[2]) : lo;
    const count = 12n << BigInt(2 * order);
    if (hi < lo || hi >= count) throw new RegionError(`MOC cell '${cells}' at order ${order} must lie in 0 … ${count - 1n} with a ≤ b`);
    if (!orders.has(order)) orders.set(order, []);
    orders.get(order)!.push([lo, hi]);
  }
  for (const [o, ranges] of orders) {
    ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: Array<[bigint, bigint]> = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1] + 1n) last[1] = r[1] > last[1] ? r[1] : last[1];
      else merged.push([r[0], r[1]]);
    }
    orders.set(o, merged);
  }
  if (!orders.size) throw new RegionError("the MOC lists no cells");
  return { orders };
}

function inRanges(ranges: Array<[bigint, bigint]>, x: bigint): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (x < ranges[mid][0]) hi = mid - 1;
    else if (x > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Whether the MOC covers the point `v`. */
export function mocContains(moc: Moc, v: Vec3): boolean {
  const max = Math.max(...moc.orders.keys());
  const p = healpixXyf(v, 2 ** max);
  for (const [o, ranges] of moc.orders) {
    const shift = max - o;
    const cell = nestedIndexBig(o, { face: p.face, ix: p.ix >>> shift, iy: p.iy >>> shift });
    if (inRanges(ranges, cell)) return true;
  }
  return false;
}

/**
 * A declination range (degrees) containing the MOC, for an SQL prefilter: the union of its cells'
 * ranges; the whole sky when a range holds more than `maxCells` cells (not worth enumerating).
 */
export function mocDecRange(moc: Moc, maxCells = 100000): [number, number] {
  let lo = 90;
  let hi = -90;
  let seen = 0;
  for (const [o, ranges] of moc.orders) {
    for (const [a, b] of ranges) {
      seen += Number(b - a + 1n);
      if (seen > maxCells || o > 24) return [-90, 90];
      const nside = 2 ** o;
      for (let i = Number(a); i <= Number(b); i++) {
        const [d0, d1] = healpixDecRange(nside, nestedXyf(nside, i));
        lo = Math.min(lo, d0);
        hi = Math.max(hi, d1);
      }
    }
  }
  return [lo, hi];
}
