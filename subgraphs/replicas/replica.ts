import { createHash } from "node:crypto";
import type { EntityManager } from "typeorm";
import { analyzeAfterBulkWrite, queryRows, sqlState, UNIQUE_VIOLATION } from "../../lib/database";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { keysetPage, SqlFilter } from "../../lib/keyset-page";
import { decodeCursor, Page } from "../../lib/pagination";
import { DidKey, globToLike } from "./did";
import { checkBytes, checkDidName, checkScope } from "./identifiers";
import { getRse, RseRow } from "./rse";

export type ReplicaState = "AVAILABLE" | "COPYING" | "UNAVAILABLE" | "BEING_DELETED" | "BAD";
export const REPLICA_STATES: readonly ReplicaState[] = ["AVAILABLE", "COPYING", "UNAVAILABLE", "BEING_DELETED", "BAD"];

export interface ReplicaRow extends DidKey {
  rseId: string;
  rseName: string;
  facilityCode: string;
  state: ReplicaState;
  bytes: number;
  path: string;
  lockCount: number;
  tombstone: Date | null;
  account: string;
  createdAt: Date;
  updatedAt: Date;
}

const REPLICA_COLUMNS = `r.scope, r.name, r.rse_id AS "rseId", s.name AS "rseName", s.facility AS "facilityCode", r.state, r.bytes, r.path,
  r.lock_cnt AS "lockCount", r.tombstone, r.account, r.created_at AS "createdAt", r.updated_at AS "updatedAt"`;

/**
 * The deterministic path of a file on an RSE, as Rucio's default "hash" lfn2pfn algorithm:
 * `<scope>/<md5[0:2]>/<md5[2:4]>/<name>` with md5 over "scope:name". Every facility computes
 * the same path for the same DID without asking anyone.
 */
export function deterministicPath(scope: string, name: string): string {
  const h = createHash("md5").update(`${scope}:${name}`).digest("hex");
  return `${scope}/${h.slice(0, 2)}/${h.slice(2, 4)}/${name}`;
}

/**
 * The path a new replica of the file (s, n) takes on any RSE, as SQL over two column expressions:
 * the DID's own path when it has one (a Large File Annex object keeps its object key at every
 * destination, `dids.path`), else the deterministic path above. Every place that chooses a
 * replica's path uses it: rule evaluation (lock.ts, rule-batch.ts) and addReplicas.
 */
export function replicaPathSql(s: string, n: string, ownPath?: string): string {
  const h = `md5(${s} || ':' || ${n})`;
  // `ownPath`: the DID's path where the statement has already read its row (saves a lookup a row).
  const own = ownPath ?? `(SELECT own.path FROM dids own WHERE own.scope = ${s} AND own.name = ${n})`;
  return `coalesce(${own}, ${s} || '/' || substr(${h}, 1, 2) || '/' || substr(${h}, 3, 2) || '/' || ${n})`;
}

export interface AddReplicaInput extends DidKey {
  bytes?: number | null;
  path?: string | null;
  state?: ReplicaState | null;
}

function checkState(state: unknown, details: Record<string, unknown> = {}): ReplicaState {
  if (!REPLICA_STATES.includes(state as ReplicaState)) throw invalidInput(`state must be one of ${REPLICA_STATES.join(", ")}`, details);
  return state as ReplicaState;
}

/** Thrown inside addReplicas' transaction when its INSERT did not write every item: rolls it back to find out why. */
const INCOMPLETE = Symbol("incomplete bulk write");

/** The error of the first item of a refused addReplicas call, looked up after its rollback. */
async function firstBadReplica(db: EntityManager, rse: RseRow, scopes: string[], names: string[], bytes: Array<number | null>): Promise<DbbError> {
  const problems: Array<{ ord: number; scope: string; name: string; type: string | null; didBytes: number | null; bytes: number | null; exists: boolean }> =
    await db.query(
      `SELECT k.ord, k.scope, k.name, d.did_type AS type, d.bytes AS "didBytes", k.bytes,
              EXISTS (SELECT 1 FROM replicas r WHERE r.scope = k.scope AND r.name = k.name AND r.rse_id = $4) AS exists
       FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS k(scope, name, bytes, ord)
       LEFT JOIN dids d ON d.scope = k.scope AND d.name = k.name
       WHERE d.did_type IS DISTINCT FROM 'FILE' OR (k.bytes IS NOT NULL AND k.bytes <> d.bytes)
          OR EXISTS (SELECT 1 FROM replicas r WHERE r.scope = k.scope AND r.name = k.name AND r.rse_id = $4)
       ORDER BY k.ord LIMIT 1`,
      [scopes, names, bytes, rse.id],
    );
  if (!problems.length) {
    return new DbbError(ErrorCode.REPLICA_ALREADY_EXISTS, `some of these replicas on ${rse.name} were registered concurrently; nothing was written, retry the call`, { rse: rse.name });
  }
  const p = problems[0];
  const where = { item: p.ord - 1, scope: p.scope, name: p.name, rse: rse.name };
  const label = `item ${p.ord - 1} (${p.scope}:${p.name})`;
  if (p.type === null) return new DbbError(ErrorCode.DID_NOT_FOUND, `${label}: no such DID; register it with addDids first`, where);
  if (p.type !== "FILE") return invalidInput(`${label}: is a ${p.type}; only files have replicas`, where);
  if (p.exists) return new DbbError(ErrorCode.REPLICA_ALREADY_EXISTS, `${label}: already has a replica on ${rse.name}`, where);
  return invalidInput(`${label}: bytes ${p.bytes} differ from the file's ${p.didBytes}`, where);
}

/**
 * Registers replicas of existing files on one RSE, set-based, in one transaction. The file must
 * exist and be a FILE; a given size must match the DID's; a path defaults to the DID's own path,
 * else the deterministic one. Nothing is written unless every item is valid.
 */
/**
 * Registers replicas on an RSE, all or nothing. As Rucio's add_replicas, an RSE that is not
 * available for writing refuses them (RSE_WRITE_BLOCKED) unless `ignoreAvailability` is set (an
 * operator recording files that are already there).
 */
export async function addReplicas(
  db: EntityManager,
  account: string,
  rseName: string,
  inputs: AddReplicaInput[],
  options: { ignoreAvailability?: boolean } = {},
): Promise<number> {
  const items = inputs.map((r, item) => {
    const scope = checkScope(r.scope, { item });
    const name = checkDidName(r.name, { item, scope });
    const where = { item, scope, name };
    if (r.path != null && (!r.path.length || r.path.length > 1024 || r.path.startsWith("/") || r.path.split("/").includes(".."))) {
      throw invalidInput(`item ${item}: path must be relative to the RSE root or prefix, without '..'`, where);
    }
    return {
      scope,
      name,
      bytes: r.bytes != null ? checkBytes(r.bytes, where) : null,
      // null: the DID's own path, else the deterministic one (replicaPathSql).
      path: r.path ?? null,
      state: r.state != null ? checkState(r.state, where) : "AVAILABLE",
    };
  });
  const seen = new Map<string, number>();
  items.forEach((r, i) => {
    const k = `${r.scope}:${r.name}`;
    if (seen.has(k)) throw invalidInput(`item ${i} (${k}) repeats item ${seen.get(k)}`, { item: i, scope: r.scope, name: r.name });
    seen.set(k, i);
  });
  const col = <K extends keyof (typeof items)[number]>(key: K) => items.map((r) => r[key]);
  let rse: RseRow | undefined;
  // One INSERT of the valid items (files, of the DID's size, without a replica there yet); when it
  // wrote fewer rows than asked, the transaction is rolled back and the first bad item looked up
  // then, so a valid call reads each item once.
  const added = await db
    .transaction(async (tx) => {
      rse = await getRse(tx, rseName);
      if (!rse.availabilityWrite && !options.ignoreAvailability) {
        throw new DbbError(ErrorCode.RSE_WRITE_BLOCKED, `RSE ${rse.name} is not available for writing; an admin may pass ignoreAvailability`, { rse: rse.name });
      }
      if (!items.length) return 0;
      const [{ n }] = await tx.query(
        `WITH ins AS (
           INSERT INTO replicas (scope, name, rse_id, state, bytes, path, account)
           SELECT k.scope, k.name, $6, k.state, coalesce(d.bytes, 0), coalesce(k.path, ${replicaPathSql("k.scope", "k.name", "d.path")}), $7
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::replica_state[]) AS k(scope, name, bytes, path, state)
           JOIN dids d ON d.scope = k.scope AND d.name = k.name AND d.did_type = 'FILE' AND (k.bytes IS NULL OR k.bytes = d.bytes)
           RETURNING 1)
         SELECT count(*) AS n FROM ins`,
        [col("scope"), col("name"), col("bytes"), col("path"), col("state"), rse.id, account],
      );
      if (n !== items.length) throw INCOMPLETE;
      return n as number;
    })
    .catch((err) => {
      // A replica that exists already fails the INSERT (no ON CONFLICT, which made the bulk call
      // half as slow again); the first bad item is looked up after the rollback.
      if (err === INCOMPLETE || sqlState(err) === UNIQUE_VIOLATION) return null;
      throw err;
    });
  if (added === null) throw await firstBadReplica(db, rse!, col("scope"), col("name"), col("bytes"));
  // Rules evaluated next join these replicas: plan them on the table's new size.
  await analyzeAfterBulkWrite(db, "replicas", added);
  return added;
}

export async function setReplicaState(db: EntityManager, key: DidKey, rseName: string, state: ReplicaState): Promise<ReplicaRow> {
  checkState(state, { argument: "state" });
  const rse = await getRse(db, rseName);
  const rows = await queryRows(db,
    `UPDATE replicas SET state = $4, updated_at = now() WHERE scope = $1 AND name = $2 AND rse_id = $3 RETURNING 1`,
    [key.scope, key.name, rse.id, state],
  );
  if (!rows.length) {
    throw new DbbError(ErrorCode.REPLICA_NOT_FOUND, `${key.scope}:${key.name} has no replica on ${rseName}`, { ...key, rse: rseName });
  }
  const [replica] = await replicasOfDids(db, [key], rse.id);
  return replica;
}

/** Replicas of many DIDs in one statement (optionally on one RSE), ordered by RSE name. */
export async function replicasOfDids(db: EntityManager, keys: readonly DidKey[], rseId?: string): Promise<ReplicaRow[]> {
  return db.query(
    `SELECT ${REPLICA_COLUMNS} FROM unnest($1::text[], $2::text[]) AS k(scope, name)
     JOIN replicas r ON r.scope = k.scope AND r.name = k.name
     JOIN rses s ON s.id = r.rse_id
     WHERE $3::uuid IS NULL OR r.rse_id = $3
     ORDER BY s.name`,
    [keys.map((k) => k.scope), keys.map((k) => k.name), rseId ?? null],
  );
}

export interface ReplicaKey extends DidKey {
  rse: string;
}

export async function replicasByKey(db: EntityManager, keys: readonly ReplicaKey[]): Promise<ReplicaRow[]> {
  return db.query(
    `SELECT ${REPLICA_COLUMNS} FROM unnest($1::text[], $2::text[], $3::text[]) AS k(scope, name, rse)
     JOIN rses s ON s.name = k.rse AND NOT s.deleted
     JOIN replicas r ON r.scope = k.scope AND r.name = k.name AND r.rse_id = s.id`,
    [keys.map((k) => k.scope), keys.map((k) => k.name), keys.map((k) => k.rse)],
  );
}

export interface ReplicaFilter {
  rse?: string | null;
  state?: ReplicaState | null;
  scope?: string | null;
  namePattern?: string | null;
  first?: number | null;
  after?: string | null;
}

/** Replicas by RSE, state, scope and name pattern, ordered by (RSE, scope, name). */
export async function listReplicas(db: EntityManager, filter: ReplicaFilter): Promise<Page<ReplicaRow>> {
  const where = new SqlFilter();
  if (filter.rse) where.add((p) => `s.name = ${p} AND NOT s.deleted`, (await getRse(db, filter.rse)).name);
  if (filter.state) where.add((p) => `r.state = ${p}`, checkState(filter.state, { argument: "state" }));
  if (filter.scope) where.add((p) => `r.scope = ${p}`, checkScope(filter.scope, { argument: "scope" }));
  if (filter.namePattern) where.add((p) => `r.name LIKE ${p}`, globToLike(filter.namePattern));
  return keysetPage<ReplicaRow>(db, {
    select: `SELECT ${REPLICA_COLUMNS}`,
    from: "FROM replicas r JOIN rses s ON s.id = r.rse_id",
    filter: where,
    orderBy: "s.name, r.scope, r.name",
    after: filter.after ? { key: decodeCursor(filter.after, ["text", "text", "text"]), sql: (rse, scope, name) => `(s.name, r.scope, r.name) > (${rse}, ${scope}, ${name})` } : null,
    first: filter.first,
    keyOf: (r) => [r.rseName, r.scope, r.name],
  });
}
