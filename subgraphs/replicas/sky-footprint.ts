import { invalidInput } from "../../lib/errors";
import { healpixDecRange, healpixIndex, healpixOrder, nestedXyf } from "../facility/sky/healpix";
import { Moc, mocContains, mocDecRange, parseMoc } from "../facility/sky/moc";
import { boundingBox, contains, overlaps } from "../facility/sky/overlap";
import { parseIvoaPos, regionFromStored } from "../facility/sky/region-encoding";
import { boxFromRanges, circle, polygon, Region, RegionError } from "../facility/sky/region";
import { fromLonLatDegrees, Vec3 } from "../facility/sky/vector";

/**
 * The `sky` part of a subscription filter: where on the sky a DID's position (metadata `ra`,
 * `dec`, degrees) must be. One of
 *
 *   { "cone": { "ra": 10, "dec": -30, "radius": 2 } }                 a circle, radius in degrees
 *   { "box": { "raMin": 350, "raMax": 10, "decMin": -40, "decMax": -20 } } raMin > raMax wraps through 0
 *   { "polygon": [[ra, dec], …] }                                      a convex spherical polygon (great-circle edges)
 *   { "healpix": { "nside": 64, "nested": true, "pixels": [1, 2] } }  HEALPix pixels
 *   { "moc": "5/100-120 6/500" }                                       an IVOA MOC 2.0 ASCII string
 *   { "anyOf": [ …any of the above… ] }                                a union
 *
 * Geometry is sphgeom's (subgraphs/facility/sky/): exact across the RA wrap and at the poles, as
 * the where language's regions are. `prefilter` is a declination band and RA range that holds the
 * footprint, for an SQL condition on `dids.sky_dec` / `sky_ra`; `contains` confirms exactly.
 *
 * A DID without ra/dec may carry a `region` instead (metadata `region`: an IVOA POS string such as
 * "POLYGON 10 -30 11 -30 11 -29", or sphgeom's encoding as daf_butler stores it); it matches when
 * the region overlaps a cone, box or polygon of the footprint.
 */
export interface SkyFootprint {
  contains(raDeg: number, decDeg: number): boolean;
  /** Whether a DID's region meets the footprint's cone, box or polygon parts (HEALPix and MOC parts take positions only). */
  overlapsRegion(region: Region): boolean;
  /** Whether the footprint has parts that regions can meet (then region-only DIDs are candidates). */
  takesRegions: boolean;
  /** RA in [0, 360): raMin > raMax wraps; raMin = 0, raMax = 360 is every RA. */
  prefilter: { raMin: number; raMax: number; decMin: number; decMax: number };
}

type Part = { kind: "region"; region: Region } | { kind: "healpix"; nside: number; nested: boolean; pixels: Set<number> } | { kind: "moc"; moc: Moc };

const FIELD = "filter.sky";
const MAX_PIXELS = 1_000_000;
const MAX_VERTICES = 1000;

function bad(message: string, field = FIELD) {
  return invalidInput(`${field}: ${message}`, { field });
}

function num(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw bad("must be a finite number of degrees", field);
  return value;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad("must be an object", field);
  return value as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, keys: string[], field: string) {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(`unknown key '${k}'; expected ${keys.join(", ")}`, field);
}

/** Polygon vertices must all be corners of their convex hull: a concave outline would be silently filled in. */
function convexPolygon(value: unknown, field: string): Region {
  if (!Array.isArray(value) || value.length < 3 || value.length > MAX_VERTICES) throw bad(`needs 3 to ${MAX_VERTICES} [ra, dec] vertices`, field);
  const coords = value.map((v, i) => {
    if (!Array.isArray(v) || v.length !== 2) throw bad(`vertex ${i} must be [ra, dec]`, field);
    return [num(v[0], `${field}[${i}][0]`), num(v[1], `${field}[${i}][1]`)] as [number, number];
  });
  const region = polygon(coords);
  if (region.kind === "polygon" && region.vertices.length !== coords.length) {
    throw bad(`the polygon is not convex (or repeats a vertex): only ${region.vertices.length} of its ${coords.length} vertices are corners; split it into convex parts with anyOf, or give a MOC`, field);
  }
  return region;
}

function parsePart(raw: unknown, field: string, depth: number): Part[] {
  const o = object(raw, field);
  const keys = Object.keys(o);
  if (keys.length !== 1) throw bad("must have exactly one of cone, box, polygon, healpix, moc, anyOf", field);
  const [kind] = keys;
  const value = o[kind];
  const at = `${field}.${kind}`;
  try {
    switch (kind) {
      case "cone": {
        const c = object(value, at);
        onlyKeys(c, ["ra", "dec", "radius"], at);
        return [{ kind: "region", region: circle(num(c.ra, `${at}.ra`), num(c.dec, `${at}.dec`), num(c.radius, `${at}.radius`)) }];
      }
      case "box": {
        const b = object(value, at);
        onlyKeys(b, ["raMin", "raMax", "decMin", "decMax"], at);
        const decMin = num(b.decMin, `${at}.decMin`);
        const decMax = num(b.decMax, `${at}.decMax`);
        if (decMin > decMax) throw bad("decMin must not exceed decMax", at);
        return [{ kind: "region", region: boxFromRanges(num(b.raMin, `${at}.raMin`), num(b.raMax, `${at}.raMax`), decMin, decMax) }];
      }
      case "polygon":
        return [{ kind: "region", region: convexPolygon(value, at) }];
      case "healpix": {
        const h = object(value, at);
        onlyKeys(h, ["nside", "nested", "pixels"], at);
        const nside = h.nside;
        const nested = h.nested ?? true;
        if (typeof nested !== "boolean") throw bad("nested must be true or false", `${at}.nested`);
        if (typeof nside !== "number") throw bad("nside must be a number", `${at}.nside`);
        if (!Array.isArray(h.pixels) || !h.pixels.length || h.pixels.length > MAX_PIXELS) throw bad(`pixels must be a list of 1 to ${MAX_PIXELS} pixel numbers`, `${at}.pixels`);
        const npix = 12 * nside * nside;
        healpixIndex([1, 0, 0], nside, nested); // validates nside for the scheme
        for (const p of h.pixels) {
          if (!Number.isInteger(p) || p < 0 || p >= npix) throw bad(`pixel ${JSON.stringify(p)} is not a pixel number 0 … ${npix - 1} of nside ${nside}`, `${at}.pixels`);
        }
        return [{ kind: "healpix", nside, nested, pixels: new Set(h.pixels as number[]) }];
      }
      case "moc":
        if (typeof value !== "string") throw bad("must be a MOC 2.0 ASCII string such as \"5/100-120 6/500\"", at);
        return [{ kind: "moc", moc: parseMoc(value) }];
      case "anyOf":
        if (depth > 0) throw bad("anyOf may not nest", at);
        if (!Array.isArray(value) || !value.length || value.length > 100) throw bad("must be a list of 1 to 100 footprints", at);
        return value.flatMap((v, i) => parsePart(v, `${at}[${i}]`, depth + 1));
      default:
        throw bad(`unknown footprint '${kind}'; use cone, box, polygon, healpix, moc or anyOf`, field);
    }
  } catch (err) {
    if (err instanceof RegionError) throw bad(err.message, at);
    throw err;
  }
}

function partContains(p: Part, v: Vec3): boolean {
  switch (p.kind) {
    case "region":
      return contains(p.region, v);
    case "healpix":
      return p.pixels.has(healpixIndex(v, p.nside, p.nested));
    case "moc":
      return mocContains(p.moc, v);
  }
}

/** A declination band, and an RA range when the part gives one cheaply. */
function partBounds(p: Part): { raMin: number; raMax: number; decMin: number; decMax: number } {
  if (p.kind === "region") {
    const b = boundingBox(p.region);
    return { raMin: b.lonMin, raMax: b.lonMax, decMin: b.latMin, decMax: b.latMax };
  }
  if (p.kind === "moc") {
    const [decMin, decMax] = mocDecRange(p.moc);
    return { raMin: 0, raMax: 360, decMin, decMax };
  }
  if (!p.nested) return { raMin: 0, raMax: 360, decMin: -90, decMax: 90 };
  healpixOrder(p.nside);
  let decMin = 90;
  let decMax = -90;
  for (const pixel of p.pixels) {
    const [lo, hi] = healpixDecRange(p.nside, nestedXyf(p.nside, pixel));
    decMin = Math.min(decMin, lo);
    decMax = Math.max(decMax, hi);
  }
  return { raMin: 0, raMax: 360, decMin, decMax };
}

/** Validates a `sky` filter and builds its footprint; INVALID_INPUT naming the field otherwise. */
export function parseSkyFootprint(raw: unknown): SkyFootprint {
  const parts = parsePart(raw, FIELD, 0);
  const bounds = parts.map(partBounds);
  const decMin = Math.min(...bounds.map((b) => b.decMin));
  const decMax = Math.max(...bounds.map((b) => b.decMax));
  // One RA range for all parts: exact when there is one; every RA for a union (the band still narrows).
  const ra = bounds.length === 1 ? bounds[0] : { raMin: 0, raMax: 360 };
  const shapes = parts.flatMap((p) => (p.kind === "region" ? [p.region] : []));
  return {
    prefilter: { raMin: ra.raMin, raMax: ra.raMax, decMin, decMax },
    takesRegions: shapes.length > 0,
    overlapsRegion: (region: Region) => shapes.some((r) => overlaps(r, region)),
    contains(raDeg: number, decDeg: number): boolean {
      if (!Number.isFinite(raDeg) || !Number.isFinite(decDeg) || Math.abs(decDeg) > 90) return false;
      const v = fromLonLatDegrees(raDeg, decDeg);
      return parts.some((p) => partContains(p, v));
    },
  };
}

/** A DID's metadata `region` as a region, or null when it is not one (such a DID has no sky position). */
export function didRegionOf(value: unknown): Region | null {
  if (typeof value !== "string" || !value.trim()) return null;
  try {
    return /^\s*(CIRCLE|RANGE|POLYGON)\b/.test(value) ? parseIvoaPos(value) : regionFromStored(value);
  } catch (err) {
    if (err instanceof RegionError) return null;
    throw err;
  }
}
