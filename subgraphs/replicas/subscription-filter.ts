import { invalidInput } from "../../lib/errors";
import { DID_TYPES, DidType } from "./did";
import { checkScope } from "./identifiers";
import { compileMetadataFilter, globToLike } from "./metadata-filter";
import { didRegionOf, parseSkyFootprint, SkyFootprint } from "./sky-footprint";

/**
 * A subscription's filter (Rucio's subscription `filter`, widened): which DIDs it takes.
 *
 *   { "scopes": ["raw"], "namePattern": "LSSTCam/raw/*", "excludedPattern": "*_test*",
 *     "didTypes": ["FILE"], "account": "summit-bot", "minBytes": 1, "maxBytes": 1e10,
 *     "metadata": { "datasetType": "raw", "instrument": { "in": ["LSSTCam"] } },
 *     "sky": { "polygon": [[…], …] } }
 *
 * Every part is optional and they are ANDed. Patterns are globs (`*`, `?`) on the DID name;
 * `metadata` is exactly `dids(metadata:)`'s filter (metadata-filter.ts); `sky` is a footprint
 * (sky-footprint.ts) on the DID's metadata ra/dec (or its `region`). Compiled to one SQL condition over `dids`;
 * a sky filter adds a declination/RA band on the stored `sky_dec`/`sky_ra` columns, and the
 * candidates are then confirmed exactly in TypeScript.
 */
export interface SubscriptionFilter {
  scopes?: string[];
  namePattern?: string;
  excludedPattern?: string;
  didTypes?: DidType[];
  account?: string;
  minBytes?: number;
  maxBytes?: number;
  metadata?: Record<string, unknown>;
  sky?: unknown;
}

const KEYS = ["scopes", "namePattern", "excludedPattern", "didTypes", "account", "minBytes", "maxBytes", "metadata", "sky"];

export interface CompiledSubscriptionFilter {
  filter: SubscriptionFilter;
  /** SQL conditions over the alias given to compile (ANDed). */
  sql: string[];
  params: unknown[];
  /** Present when the filter has a sky part: candidates must be confirmed with it. */
  sky: SkyFootprint | null;
}

function bad(field: string, message: string) {
  return invalidInput(`filter.${field}: ${message}`, { field: `filter.${field}` });
}

/** Validates a filter as given by a user (JSON); returns it with only the known keys. */
export function checkSubscriptionFilter(raw: unknown): SubscriptionFilter {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw invalidInput('filter must be a JSON object such as {"scopes": ["raw"], "metadata": {"datasetType": "raw"}}', { field: "filter" });
  }
  const f = raw as Record<string, unknown>;
  for (const k of Object.keys(f)) if (!KEYS.includes(k)) throw bad(k, `unknown key; a filter has ${KEYS.join(", ")}`);
  const out: SubscriptionFilter = {};
  if (f.scopes != null) {
    if (!Array.isArray(f.scopes) || !f.scopes.length) throw bad("scopes", "must be a non-empty list of scope names");
    out.scopes = f.scopes.map((s) => checkScope(s, { field: "filter.scopes" }));
  }
  for (const key of ["namePattern", "excludedPattern", "account"] as const) {
    if (f[key] == null) continue;
    if (typeof f[key] !== "string" || !(f[key] as string).length || (f[key] as string).length > 1000) throw bad(key, "must be a non-empty string");
    out[key] = f[key] as string;
  }
  if (f.didTypes != null) {
    if (!Array.isArray(f.didTypes) || !f.didTypes.length || !f.didTypes.every((t) => DID_TYPES.includes(t))) {
      throw bad("didTypes", "must be a non-empty list of FILE, DATASET, CONTAINER");
    }
    out.didTypes = f.didTypes as DidType[];
  }
  for (const key of ["minBytes", "maxBytes"] as const) {
    if (f[key] == null) continue;
    if (typeof f[key] !== "number" || !Number.isFinite(f[key]) || (f[key] as number) < 0) throw bad(key, "must be a number of bytes, 0 or more");
    out[key] = f[key] as number;
  }
  if (out.minBytes != null && out.maxBytes != null && out.minBytes > out.maxBytes) throw bad("minBytes", "must not exceed maxBytes");
  if (f.metadata != null) {
    compileMetadataFilter(f.metadata, "d.metadata", 1); // validates
    out.metadata = f.metadata as Record<string, unknown>;
  }
  if (f.sky != null) {
    parseSkyFootprint(f.sky); // validates
    out.sky = f.sky;
  }
  return out;
}

/**
 * The filter as SQL conditions over the dids table aliased `alias`, placeholders from
 * `$firstParam`. Validates as checkSubscriptionFilter does.
 */
export function compileSubscriptionFilter(raw: unknown, alias: string, firstParam: number): CompiledSubscriptionFilter {
  const filter = checkSubscriptionFilter(raw);
  const sql: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  // A DID a campaign removal retired is never matched again (re-evaluation would bring its rules back).
  sql.push(`NOT ${alias}.obsolete`);
  if (filter.scopes) sql.push(`${alias}.scope = ANY(${p(filter.scopes)}::text[])`);
  if (filter.namePattern) sql.push(`${alias}.name LIKE ${p(globToLike(filter.namePattern))}`);
  if (filter.excludedPattern) sql.push(`${alias}.name NOT LIKE ${p(globToLike(filter.excludedPattern))}`);
  if (filter.didTypes) sql.push(`${alias}.did_type = ANY(${p(filter.didTypes)}::did_type[])`);
  if (filter.account) sql.push(`${alias}.account = ${p(filter.account)}`);
  if (filter.minBytes != null) sql.push(`${alias}.bytes >= ${p(filter.minBytes)}::numeric`);
  if (filter.maxBytes != null) sql.push(`${alias}.bytes <= ${p(filter.maxBytes)}::numeric`);
  if (filter.metadata) {
    const meta = compileMetadataFilter(filter.metadata, `${alias}.metadata`, firstParam + params.length);
    sql.push(...meta.sql);
    params.push(...meta.params);
  }
  let sky: SkyFootprint | null = null;
  if (filter.sky) {
    sky = parseSkyFootprint(filter.sky);
    const b = sky.prefilter;
    const band = [`${alias}.sky_dec BETWEEN ${p(b.decMin)}::float8 AND ${p(b.decMax)}::float8`];
    if (!(b.raMin === 0 && b.raMax >= 360)) {
      const lo = p(b.raMin);
      const hi = p(b.raMax);
      band.push(
        b.raMin <= b.raMax ? `${alias}.sky_ra BETWEEN ${lo}::float8 AND ${hi}::float8` : `(${alias}.sky_ra >= ${lo}::float8 OR ${alias}.sky_ra <= ${hi}::float8)`,
      );
    }
    // DIDs with a region instead of ra/dec are confirmed in TypeScript only.
    sql.push(sky.takesRegions ? `((${band.join(" AND ")}) OR (${alias}.sky_dec IS NULL AND jsonb_typeof(${alias}.metadata -> 'region') = 'string'))` : band.join(" AND "));
  }
  return { filter, sql, params, sky };
}

/** Whether a candidate's position (ra/dec, else its metadata region) is inside the footprint. */
export function skyMatches(sky: SkyFootprint, row: { ra: number | null; dec: number | null; region: string | null }): boolean {
  if (row.ra !== null && row.dec !== null) return sky.contains(row.ra, row.dec);
  if (!sky.takesRegions) return false;
  const region = didRegionOf(row.region);
  return region !== null && sky.overlapsRegion(region);
}
