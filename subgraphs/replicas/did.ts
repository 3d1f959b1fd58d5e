import type { EntityManager } from "typeorm";
import { analyzeAfterBulkWrite, queryRows, sqlState, UNIQUE_VIOLATION } from "../../lib/database";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { keysetPage, SqlFilter } from "../../lib/keyset-page";
import { decodeCursor, Page } from "../../lib/pagination";
import { checkAdler32, checkBytes, checkDidName, checkMd5, checkMetadata, checkScope, DID_NAME_PATTERN, SCOPE_PATTERN } from "./identifiers";
import { compileMetadataFilter, globToLike } from "./metadata-filter";
import { requireScopes } from "./scope";

export type DidType = "FILE" | "DATASET" | "CONTAINER";
export const DID_TYPES: readonly DidType[] = ["FILE", "DATASET", "CONTAINER"];

export interface DidKey {
  scope: string;
  name: string;
}

export interface DidRow extends DidKey {
  type: DidType;
  account: string;
  bytes: number | null;
  adler32: string | null;
  md5: string | null;
  metadata: Record<string, unknown>;
  /** The path its replicas take on every RSE (an LFA object key); null: Rucio's deterministic path. */
  path: string | null;
  isOpen: boolean;
  expiredAt: Date | null;
  obsolete: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const DID_COLUMNS = `d.scope, d.name, d.did_type AS type, d.account, d.bytes, d.adler32, d.md5, d.metadata, d.path,
  d.is_open AS "isOpen", d.expired_at AS "expiredAt", d.obsolete, d.created_at AS "createdAt", d.updated_at AS "updatedAt"`;

export const didKey = (k: DidKey) => `${k.scope}:${k.name}`;

export function didNotFound(k: DidKey, details: Record<string, unknown> = {}): DbbError {
  return new DbbError(ErrorCode.DID_NOT_FOUND, `DID ${k.scope}:${k.name} does not exist`, { scope: k.scope, name: k.name, ...details });
}

export interface AddDidInput extends DidKey {
  type: DidType;
  bytes?: number | null;
  adler32?: string | null;
  md5?: string | null;
  metadata?: unknown;
  open?: boolean | null;
}

/** Validates one item of a bulk call; errors name the item's index. */
function checkNewDid(input: AddDidInput, item: number) {
  const at = { item };
  const scope = checkScope(input.scope, at);
  const name = checkDidName(input.name, { ...at, scope });
  const where = { ...at, scope, name };
  if (!DID_TYPES.includes(input.type)) throw invalidInput(`item ${item}: type must be FILE, DATASET or CONTAINER`, where);
  const isFile = input.type === "FILE";
  if (isFile && (input.bytes === null || input.bytes === undefined)) throw invalidInput(`item ${item} (${scope}:${name}): a FILE needs bytes`, where);
  if (!isFile && (input.bytes != null || input.adler32 != null || input.md5 != null)) {
    throw invalidInput(`item ${item} (${scope}:${name}): bytes and checksums belong to files, not to a ${input.type}`, where);
  }
  return {
    scope,
    name,
    type: input.type,
    bytes: isFile ? checkBytes(input.bytes, where) : null,
    adler32: input.adler32 != null ? checkAdler32(input.adler32, where) : null,
    md5: input.md5 != null ? checkMd5(input.md5, where) : null,
    metadata: JSON.stringify(checkMetadata(input.metadata, where)),
    open: isFile ? false : (input.open ?? true),
  };
}

/** Thrown inside a bulk write's transaction when its one INSERT did not write every item: rolls it back to find out why. */
const INCOMPLETE = Symbol("incomplete bulk write");

/**
 * Registers DIDs in one transaction and one INSERT … SELECT FROM unnest(…), whatever their
 * number. Nothing is written unless every item is valid; the error names the first bad item.
 * The INSERT skips DIDs that exist (ON CONFLICT DO NOTHING) instead of a lookup of every item
 * before it; when it wrote fewer rows than asked, the transaction is rolled back and only then is
 * the first existing item looked up, so a valid call reads each item once.
 */
export async function addDids(db: EntityManager, account: string, inputs: AddDidInput[]): Promise<number> {
  if (!inputs.length) return 0;
  const items = inputs.map(checkNewDid);
  const seen = new Map<string, number>();
  items.forEach((d, i) => {
    const k = didKey(d);
    if (seen.has(k)) throw invalidInput(`item ${i} (${k}) repeats item ${seen.get(k)}`, { item: i, scope: d.scope, name: d.name });
    seen.set(k, i);
  });
  const col = <K extends keyof (typeof items)[number]>(key: K) => items.map((d) => d[key]);
  const scopes = col("scope");
  const names = col("name");
  const added = await db
    .transaction(async (tx) => {
      await requireScopes(tx, scopes);
      const result: Array<{ n: number }> = await tx.query(
        `WITH ins AS (
           INSERT INTO dids (scope, name, did_type, account, bytes, adler32, md5, metadata, is_open)
           SELECT scope, name, did_type, $9, bytes, adler32, md5, metadata::jsonb, is_open
           FROM unnest($1::text[], $2::text[], $3::did_type[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::boolean[])
                AS i(scope, name, did_type, bytes, adler32, md5, metadata, is_open)
           RETURNING scope, name, did_type),
         ev AS (
           INSERT INTO events (type, facility, payload)
           SELECT 'did-registered', NULL, jsonb_build_object('scope', scope, 'name', name, 'type', did_type) FROM ins)
         SELECT count(*) AS n FROM ins`,
        [scopes, names, col("type"), col("bytes"), col("adler32"), col("md5"), col("metadata"), col("open"), account],
      );
      if (result[0].n !== items.length) throw INCOMPLETE;
      return result[0].n;
    })
    .catch((err) => {
      // A DID that exists already fails the INSERT (no ON CONFLICT: it made a bulk call half as slow
      // again, and the call is all or nothing anyway); which one is looked up after the rollback.
      if (err === INCOMPLETE || sqlState(err) === UNIQUE_VIOLATION) return null;
      throw err;
    });
  if (added === null) {
    const existing: Array<{ scope: string; name: string; ord: number }> = await db.query(
      `SELECT i.scope, i.name, i.ord FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(scope, name, ord)
       JOIN dids d ON d.scope = i.scope AND d.name = i.name ORDER BY i.ord LIMIT 1`,
      [scopes, names],
    );
    if (!existing.length) throw registeredConcurrently();
    const { scope, name, ord } = existing[0];
    throw new DbbError(ErrorCode.DID_ALREADY_EXISTS, `DID ${scope}:${name} already exists (item ${ord - 1})`, { scope, name, item: ord - 1 });
  }
  // The replicas, attachments and locks of these DIDs come next: their foreign-key checks on dids must see its new size.
  await analyzeAfterBulkWrite(db, "dids", added);
  return added;
}

function registeredConcurrently(): DbbError {
  return new DbbError(ErrorCode.DID_ALREADY_EXISTS, "some of these DIDs were registered concurrently; nothing was written, retry the call");
}

export async function didsByKey(db: EntityManager, keys: readonly DidKey[]): Promise<DidRow[]> {
  return db.query(
    `SELECT ${DID_COLUMNS} FROM unnest($1::text[], $2::text[]) AS k(scope, name) JOIN dids d ON d.scope = k.scope AND d.name = k.name`,
    [keys.map((k) => k.scope), keys.map((k) => k.name)],
  );
}

/** How many DIDs one didsByRefs call may ask for. */
export const MAX_DID_REFS = 10000;

/**
 * The DIDs of a list of references, in the order asked, null for one that does not exist (a
 * reference that is not even a valid name cannot exist, so it is null too). One statement.
 */
export async function didsByRefs(db: EntityManager, refs: readonly DidKey[]): Promise<Array<DidRow | null>> {
  if (refs.length > MAX_DID_REFS) {
    throw invalidInput(`didsByRefs takes at most ${MAX_DID_REFS} refs per call, got ${refs.length}: send them in chunks`, { argument: "refs", limit: MAX_DID_REFS });
  }
  const wanted = new Map<string, DidKey>();
  for (const r of refs) if (SCOPE_PATTERN.test(r.scope) && DID_NAME_PATTERN.test(r.name)) wanted.set(didKey(r), r);
  const rows = wanted.size ? await didsByKey(db, [...wanted.values()]) : [];
  const found = new Map(rows.map((r) => [didKey(r), r]));
  return refs.map((r) => found.get(didKey(r)) ?? null);
}

export async function getDid(db: EntityManager, key: DidKey): Promise<DidRow> {
  const rows = await didsByKey(db, [key]);
  if (!rows.length) throw didNotFound(key);
  return rows[0];
}

export { globToLike };

export interface DidFilter {
  scope: string;
  namePattern?: string | null;
  type?: DidType | null;
  metadata?: unknown;
  first?: number | null;
  after?: string | null;
}

/** DIDs of a scope, by name pattern, type and metadata filter; ordered by name. */
export async function listDids(db: EntityManager, filter: DidFilter): Promise<Page<DidRow>> {
  const where = new SqlFilter().add((p) => `d.scope = ${p}`, checkScope(filter.scope, { argument: "scope" }));
  if (filter.namePattern) where.add((p) => `d.name LIKE ${p}`, globToLike(filter.namePattern));
  if (filter.type) where.add((p) => `d.did_type = ${p}`, filter.type);
  const meta = compileMetadataFilter(filter.metadata, "d.metadata", where.params.length + 1);
  where.conditions.push(...meta.sql);
  where.params.push(...meta.params);
  return keysetPage<DidRow>(db, {
    select: `SELECT ${DID_COLUMNS}`,
    from: "FROM dids d",
    filter: where,
    orderBy: "d.name",
    after: filter.after ? { key: decodeCursor(filter.after, ["text"]), sql: (name) => `d.name > ${name}` } : null,
    first: filter.first,
    keyOf: (r) => [r.name],
  });
}

/**
 * Merges `metadata` into the DID's metadata; a key set to null is removed. With `replace`, the
 * DID's metadata becomes exactly `metadata` (nulls dropped).
 */
export async function setDidMetadata(db: EntityManager, key: DidKey, metadata: unknown, replace = false): Promise<DidRow> {
  const patch = checkMetadata(metadata, { argument: "metadata" });
  // The event is written by the same statement, so it commits with the change (the matcher's input).
  const rows = await queryRows<{ scope: string }>(db,
    `WITH upd AS (
       UPDATE dids SET metadata = jsonb_strip_nulls(${replace ? "" : "metadata || "}$3::jsonb), updated_at = now()
       WHERE scope = $1 AND name = $2 RETURNING scope, name),
     ev AS (
       INSERT INTO events (type, facility, payload)
       SELECT 'did-metadata-changed', NULL, jsonb_build_object('scope', scope, 'name', name, 'keys', $4::jsonb) FROM upd)
     SELECT scope FROM upd`,
    [key.scope, key.name, JSON.stringify(patch), JSON.stringify(Object.keys(patch))],
  );
  if (!rows.length) throw didNotFound(key);
  return getDid(db, key);
}

/** Opens or closes a dataset or container; a closed one takes no new attachments. */
export async function setDidStatus(db: EntityManager, key: DidKey, open: boolean): Promise<DidRow> {
  const did = await getDid(db, key);
  if (did.type === "FILE") throw invalidInput(`${key.scope}:${key.name} is a file; only datasets and containers are opened or closed`);
  await db.query(`UPDATE dids SET is_open = $3, updated_at = now() WHERE scope = $1 AND name = $2`, [key.scope, key.name, open]);
  return getDid(db, key);
}

/** Sets or clears a DID's lifetime (Rucio's expired_at): past it, the judge removes the DID as obsolete. */
export async function setDidLifetime(db: EntityManager, key: DidKey, lifetime: number | null): Promise<DidRow> {
  const scope = checkScope(key.scope, { field: "scope" });
  const name = checkDidName(key.name, { field: "name" });
  if (lifetime !== null && (!Number.isInteger(lifetime) || lifetime < 0)) throw invalidInput("lifetime must be a whole number of seconds, 0 or more (null clears it)", { field: "lifetime" });
  const rows = await db.query(
    `UPDATE dids SET expired_at = CASE WHEN $3::int IS NULL THEN NULL ELSE now() + make_interval(secs => $3::int) END, updated_at = now()
     WHERE scope = $1 AND name = $2 RETURNING 1`,
    [scope, name, lifetime],
  );
  if (!rows.length) throw didNotFound({ scope, name }, { field: "did" });
  return getDid(db, { scope, name });
}
