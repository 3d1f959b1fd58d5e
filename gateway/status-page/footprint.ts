/**
 * A subscription's sky filter (see subgraphs/replicas/sky-footprint.ts: cone, box, polygon,
 * healpix, moc, anyOf) as GeoJSON for the status page's sky map, RA as longitude and Dec as
 * latitude in degrees. Rings follow d3-geo's rule, clockwise as seen from outside the sphere (so
 * the polygon is the small side, not the rest of the sky); polygon edges are great circles, as the
 * filter's are, and d3-geo draws them so. A box's parallels are small circles, drawn through
 * points 2° apart. HEALPix and MOC footprints are not drawn (the map says so). Plain code without
 * d3, so the tests run it in Node.
 */
export type Ring = Array<[number, number]>;
export interface FootprintGeometry {
  type: "MultiPolygon";
  /** Each polygon: one ring, closed (first point repeated last). */
  coordinates: Ring[][];
}

export interface Footprint {
  geometry: FootprintGeometry | null;
  /** Parts of the filter that are not drawn (healpix, moc, or a malformed part). */
  notDrawn: string[];
}

type Vec = [number, number, number];
const RAD = Math.PI / 180;

function vec(ra: number, dec: number): Vec {
  return [Math.cos(dec * RAD) * Math.cos(ra * RAD), Math.cos(dec * RAD) * Math.sin(ra * RAD), Math.sin(dec * RAD)];
}

function det(a: Vec, b: Vec, c: Vec): number {
  return a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
}

/** Longitude as d3 expects it: (-180, 180]. */
function lon(ra: number): number {
  const r = ((ra % 360) + 360) % 360;
  return r > 180 ? r - 360 : r;
}

function close(ring: Ring): Ring {
  return [...ring, ring[0]];
}

/**
 * The ring of a convex (or star-shaped) spherical polygon smaller than a hemisphere, clockwise as
 * seen from outside the sphere, closed. The winding is read from the sum of det(centre, vᵢ, vᵢ₊₁)
 * over all edges (negative: clockwise), not from three vertices, which may lie nearly on one line
 * (a HEALPix pixel's outline has points along its sides).
 */
export function convexRing(vertices: Array<[number, number]>): Ring {
  const ring: Ring = vertices.map(([ra, dec]) => [lon(ra), dec]);
  const v = vertices.map(([ra, dec]) => vec(ra, dec));
  const centre: Vec = [0, 1, 2].map((k) => v.reduce((s, p) => s + p[k], 0)) as Vec;
  let turn = 0;
  for (let i = 0; i < v.length; i++) turn += det(centre, v[i], v[(i + 1) % v.length]);
  return close(turn > 0 ? ring.reverse() : ring);
}

function coneRing(ra: number, dec: number, radius: number): Ring {
  const c = vec(ra, dec);
  // Two unit vectors perpendicular to the centre (east and north of it, or any pair at a pole).
  const east: Vec = Math.abs(c[2]) > 0.999999 ? [1, 0, 0] : [-Math.sin(ra * RAD), Math.cos(ra * RAD), 0];
  const north: Vec = [c[1] * east[2] - c[2] * east[1], c[2] * east[0] - c[0] * east[2], c[0] * east[1] - c[1] * east[0]];
  const r = Math.min(180, Math.max(0, radius)) * RAD;
  const points: Array<[number, number]> = [];
  for (let i = 0; i < 72; i++) {
    const t = (-i * 2 * Math.PI) / 72;
    const p = [0, 1, 2].map((k) => Math.cos(r) * c[k] + Math.sin(r) * (Math.cos(t) * east[k] + Math.sin(t) * north[k]));
    points.push([Math.atan2(p[1], p[0]) / RAD, Math.asin(Math.max(-1, Math.min(1, p[2]))) / RAD]);
  }
  return convexRing(points);
}

function boxRing(raMin: number, raMax: number, decMin: number, decMax: number): Ring {
  const width = ((raMax - raMin) % 360 + 360) % 360 || 360;
  const steps = Math.max(2, Math.ceil(width / 2));
  const ring: Ring = [];
  // Clockwise seen from outside (east to the right, north up): east along the top, down, west along the bottom, up.
  for (let i = 0; i <= steps; i++) ring.push([lon(raMin + (width * i) / steps), decMax]);
  for (let i = steps; i >= 0; i--) ring.push([lon(raMin + (width * i) / steps), decMin]);
  return close(ring);
}

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function parts(sky: unknown, notDrawn: string[]): Ring[][] {
  if (!sky || typeof sky !== "object" || Array.isArray(sky)) {
    notDrawn.push("?");
    return [];
  }
  const [kind, value] = Object.entries(sky as Record<string, unknown>)[0] ?? [];
  const v = value as Record<string, unknown>;
  switch (kind) {
    case "polygon":
      if (Array.isArray(value) && value.length >= 3 && value.every((p) => Array.isArray(p) && finite(p[0]) && finite(p[1]))) {
        return [[convexRing(value as Array<[number, number]>)]];
      }
      break;
    case "cone":
      if (v && finite(v.ra) && finite(v.dec) && finite(v.radius)) return [[coneRing(v.ra, v.dec, v.radius)]];
      break;
    case "box":
      if (v && finite(v.raMin) && finite(v.raMax) && finite(v.decMin) && finite(v.decMax)) return [[boxRing(v.raMin, v.raMax, v.decMin, v.decMax)]];
      break;
    case "anyOf":
      if (Array.isArray(value)) return value.flatMap((p) => parts(p, notDrawn));
      break;
  }
  notDrawn.push(kind ?? "?");
  return [];
}

/** The drawable part of a subscription's `filter.sky`. */
export function footprintOf(sky: unknown): Footprint {
  const notDrawn: string[] = [];
  const polygons = parts(sky, notDrawn);
  return { geometry: polygons.length ? { type: "MultiPolygon", coordinates: polygons } : null, notDrawn };
}
