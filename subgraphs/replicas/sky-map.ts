import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { healpixBoundary, healpixCentre, healpixIndex } from "../facility/sky/healpix";
import { fromLonLatDegrees } from "../facility/sky/vector";
import { compileMetadataFilter } from "./metadata-filter";
import { SCOPE_PATTERN } from "./identifiers";

/**
 * Where on the sky the files are, and which facilities hold them: HEALPix counts (NESTED scheme)
 * of the files a filter selects (scopes, metadata as in `dids(metadata:)`), by their position
 * (metadata `ra`, `dec`, kept by Postgres in `dids.sky_ra`, `sky_dec`), each cell with how many
 * of its files each facility holds AVAILABLE. One statement: Postgres groups the files by
 * position (a night of LSSTCam raws has ~1,000 pointings for its ~200,000 files), the HEALPix
 * pixel of each position is computed here (healpix.ts, exact as healpy's), so the browser gets a
 * few thousand cells at most, never the files.
 */
export const SKY_MAP_MAX_NSIDE = 32;
/** 12 · 32²: the most cells a map can have. */
export const SKY_MAP_MAX_CELLS = 12 * SKY_MAP_MAX_NSIDE * SKY_MAP_MAX_NSIDE;

export interface SkyCell {
  /** NESTED pixel number at the map's nside. */
  pixel: number;
  /** The pixel's centre, degrees. */
  ra: number;
  dec: number;
  /** The pixel's outline, [RA, Dec] degrees, two points a side, counter-clockwise. */
  boundary: Array<[number, number]>;
  files: number;
  /** Files held AVAILABLE by each facility, in the order of SkyMap.facilities. */
  held: number[];
}

export interface SkyMap {
  nside: number;
  /** Every facility, by code: the columns of SkyCell.held. */
  facilities: string[];
  /** Files the filter selects, with a position or not. */
  files: number;
  /** Files the filter selects that have no position (no numeric ra/dec in their metadata). */
  withoutPosition: number;
  /** Cells that hold at least one file, by pixel. */
  cells: SkyCell[];
}

export interface SkyMapOptions {
  nside: number;
  scopes?: string[] | null;
  metadata?: Record<string, unknown> | null;
}

function checkNside(nside: number): number {
  if (!Number.isInteger(nside) || nside < 1 || nside > SKY_MAP_MAX_NSIDE || (nside & (nside - 1)) !== 0) {
    throw invalidInput(`nside must be a power of two from 1 to ${SKY_MAP_MAX_NSIDE}, got ${nside}`, { argument: "nside" });
  }
  return nside;
}

export async function skyMap(db: EntityManager, opts: SkyMapOptions): Promise<SkyMap> {
  const nside = checkNside(opts.nside);
  const params: unknown[] = [];
  const conditions = ["d.did_type = 'FILE'"];
  if (opts.scopes) {
    if (!opts.scopes.length || opts.scopes.length > 100 || !opts.scopes.every((s) => typeof s === "string" && SCOPE_PATTERN.test(s))) {
      throw invalidInput("scopes must be a list of 1 to 100 scope names", { argument: "scopes" });
    }
    params.push(opts.scopes);
    conditions.push(`d.scope = ANY($${params.length}::text[])`);
  }
  const filter = compileMetadataFilter(opts.metadata, "d.metadata", params.length + 1);
  params.push(...filter.params);
  conditions.push(...filter.sql);
  // Rows: (position, null, files) per position, null position for files without one;
  // (position, facility, held) per position and facility; (null, facility, 0) per facility.
  const rows: Array<{ ra: number | null; dec: number | null; facility: string | null; n: number }> = await db.query(
    `WITH f AS (SELECT d.scope, d.name, d.sky_ra, d.sky_dec FROM dids d WHERE ${conditions.join(" AND ")})
     SELECT f.sky_ra AS ra, f.sky_dec AS dec, NULL::text AS facility, count(*)::float8 AS n FROM f GROUP BY f.sky_ra, f.sky_dec
     UNION ALL
     SELECT f.sky_ra, f.sky_dec, s.facility, count(DISTINCT (f.scope, f.name))::float8 FROM f
       JOIN replicas r ON r.scope = f.scope AND r.name = f.name AND r.state = 'AVAILABLE'
       JOIN rses s ON s.id = r.rse_id
      WHERE f.sky_dec IS NOT NULL
      GROUP BY f.sky_ra, f.sky_dec, s.facility
     UNION ALL
     SELECT NULL, NULL, code, 0 FROM facilities`,
    params,
  );
  const facilities = rows.filter((r) => r.ra === null && r.facility !== null).map((r) => r.facility!);
  facilities.sort((a, b) => a.localeCompare(b));
  const column = new Map(facilities.map((f, i) => [f, i]));
  const cells = new Map<number, SkyCell>();
  let files = 0;
  let withoutPosition = 0;
  for (const r of rows) {
    if (r.ra === null || r.dec === null) {
      if (r.facility === null) {
        withoutPosition += r.n;
        files += r.n;
      }
      continue;
    }
    const pixel = healpixIndex(fromLonLatDegrees(r.ra, r.dec), nside, true);
    let cell = cells.get(pixel);
    if (!cell) {
      const [ra, dec] = healpixCentre(nside, pixel);
      cell = { pixel, ra, dec, boundary: healpixBoundary(nside, pixel, 2), files: 0, held: new Array<number>(facilities.length).fill(0) };
      cells.set(pixel, cell);
    }
    if (r.facility === null) {
      cell.files += r.n;
      files += r.n;
    } else {
      cell.held[column.get(r.facility)!] += r.n;
    }
  }
  return { nside, facilities, files, withoutPosition, cells: [...cells.values()].sort((a, b) => a.pixel - b.pixel) };
}
