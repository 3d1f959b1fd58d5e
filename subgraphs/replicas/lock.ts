import type { EntityManager } from "typeorm";
import { sqlState, UNIQUE_VIOLATION } from "../../lib/database";
import { appendEventsFrom } from "./event";
import { keepFilesWantedByRules } from "./removal-guard";
import { replicaPathSql } from "./replica";

/**
 * Rule evaluation, set-based: which files a rule covers, where their copies go, and the locks,
 * replicas and transfer requests that follow. Everything happens in SQL over temporary tables
 * (INSERT … SELECT), so a rule on a container of 100,000 files costs a fixed number of
 * statements and bounded memory here, with no per-file loop in JavaScript.
 */

export type Grouping = "ALL" | "DATASET" | "NONE";

export interface RuleForEvaluation {
  id: string;
  account: string;
  grouping: Grouping;
  copies: number;
  sourceRseIds: string[] | null;
  activity: string;
  priority: number;
}

export interface Candidate {
  id: string;
  name: string;
}

/** A starting point of the file walk; `group` is the dataset it was reached through, if any. */
export interface Root {
  scope: string;
  name: string;
  group?: string | null;
}

/** A new replica's path: the DID's own (an LFA object key), else the deterministic one (replica.ts). */
const PATH_SQL = replicaPathSql;

/**
 * Fills the temporary table `rule_files (scope, name, bytes, path, g)`: every file below the
 * roots, with its size and own path (dids.path) and `g` the placement group the rule's grouping
 * puts it in (ALL: one group; DATASET: the nearest dataset above the file, or the file itself;
 * NONE: the file).
 */
async function collectFiles(tx: EntityManager, roots: Root[], grouping: Grouping): Promise<void> {
  await tx.query(`DROP TABLE IF EXISTS rule_files`);
  const group =
    grouping === "ALL" ? `''` : grouping === "NONE" ? `f.scope || ':' || f.name` : `coalesce(f.grp, f.scope || ':' || f.name)`;
  // The walk carries each DID's size and path, so the files need no second lookup in dids.
  await tx.query(
    `CREATE TEMP TABLE rule_files ON COMMIT DROP AS
     WITH RECURSIVE tree(scope, name, did_type, bytes, path, grp) AS (
       SELECT d.scope, d.name, d.did_type, d.bytes, d.path, CASE WHEN d.did_type = 'DATASET' THEN d.scope || ':' || d.name ELSE k.grp END
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(scope, name, grp)
       JOIN dids d ON d.scope = k.scope AND d.name = k.name
       UNION
       SELECT c.scope, c.name, c.did_type, c.bytes, c.path, CASE WHEN c.did_type = 'DATASET' THEN c.scope || ':' || c.name ELSE t.grp END
       FROM tree t
       JOIN attachments a ON a.parent_scope = t.scope AND a.parent_name = t.name
       JOIN dids c ON c.scope = a.child_scope AND c.name = a.child_name
       WHERE t.did_type <> 'FILE')
     SELECT f.scope, f.name, f.bytes, f.path, ${group} AS g
     FROM (SELECT DISTINCT ON (scope, name) scope, name, bytes, path, grp FROM tree WHERE did_type = 'FILE' ORDER BY scope, name, grp) f`,
    [roots.map((r) => r.scope), roots.map((r) => r.name), roots.map((r) => r.group ?? null)],
  );
  await tx.query(`CREATE INDEX ON rule_files (scope, name)`);
  await tx.query(`ANALYZE rule_files`);
}

/**
 * Chooses `copies` RSEs per group into `rule_placement (g, rse_id)`. Preference: RSEs this rule
 * already placed the group on (files attached later follow their group), then RSEs holding more
 * of the group's files, then a deterministic hash of group and RSE name, which spreads groups
 * evenly over equal RSEs and gives the same answer every time.
 */
async function place(tx: EntityManager, rule: RuleForEvaluation, candidates: Candidate[]): Promise<void> {
  await tx.query(`DROP TABLE IF EXISTS rule_placement`);
  const ruleGroup =
    rule.grouping === "ALL"
      ? `SELECT '' AS g, l.rse_id, count(*) AS n FROM locks l WHERE l.rule_id = $4 GROUP BY l.rse_id`
      : rule.grouping === "DATASET"
        ? `SELECT a.parent_scope || ':' || a.parent_name AS g, l.rse_id, count(*) AS n
           FROM locks l JOIN attachments a ON a.child_scope = l.scope AND a.child_name = l.name
           WHERE l.rule_id = $4 GROUP BY 1, 2`
        : `SELECT NULL::text AS g, NULL::uuid AS rse_id, 0::bigint AS n WHERE $4::uuid IS NULL`;
  await tx.query(
    `CREATE TEMP TABLE rule_placement ON COMMIT DROP AS
     WITH cand AS (SELECT * FROM unnest($1::uuid[], $2::text[]) AS c(rse_id, rse_name)),
     groups AS (SELECT DISTINCT g FROM rule_files),
     held AS (
       SELECT f.g, r.rse_id, count(*) AS n FROM rule_files f
       JOIN replicas r ON r.scope = f.scope AND r.name = f.name
       WHERE r.rse_id = ANY($1::uuid[]) AND r.state IN ('AVAILABLE', 'COPYING')
       GROUP BY f.g, r.rse_id),
     placed AS (${ruleGroup}),
     ranked AS (
       SELECT gr.g, c.rse_id,
              row_number() OVER (PARTITION BY gr.g
                                 ORDER BY coalesce(p.n, 0) DESC, coalesce(h.n, 0) DESC, md5(gr.g || '@' || c.rse_name), c.rse_name) AS rn
       FROM groups gr CROSS JOIN cand c
       LEFT JOIN held h ON h.g = gr.g AND h.rse_id = c.rse_id
       LEFT JOIN placed p ON p.g = gr.g AND p.rse_id = c.rse_id)
     SELECT g, rse_id FROM ranked WHERE rn <= $3`,
    [candidates.map((c) => c.id), candidates.map((c) => c.name), rule.copies, rule.id],
  );
}

export interface Evaluation {
  locks: number;
  transfersQueued: number;
}

/**
 * Applies a rule to the files below `roots`: locks each on its group's RSEs, creates COPYING
 * replicas and QUEUED transfer requests where no AVAILABLE replica exists, raises lock counts
 * and clears tombstones of the replicas it now protects. Idempotent: existing locks are kept.
 *
 * `newRule`: the rule was made in this transaction, so it has no locks and no other transaction
 * can lock for it; its rows are then written without ON CONFLICT (which makes an INSERT of
 * 100,000 rows half as slow again), under a savepoint: should another transaction register one
 * of the same replicas or requests meanwhile, the statements are run again with conflict handling.
 */
export async function applyRule(
  tx: EntityManager,
  rule: RuleForEvaluation,
  roots: Root[],
  candidates: Candidate[],
  options: { newRule?: boolean } = {},
): Promise<Evaluation> {
  // The file walk's DISTINCT sorts every file: in memory, not on disk, for a container of 100,000.
  await tx.query(`SET LOCAL work_mem = '64MB'`);
  await collectFiles(tx, roots, rule.grouping);
  await place(tx, rule, candidates);
  // Lock the affected replica rows first: a concurrent deletion claim either finished before us
  // (we then see BEING_DELETED and re-transfer) or skips these rows (SKIP LOCKED) until we commit.
  await tx.query(
    `SELECT 1 FROM replicas r JOIN rule_files f ON r.scope = f.scope AND r.name = f.name
     JOIN rule_placement p ON p.g = f.g AND p.rse_id = r.rse_id
     ORDER BY r.scope, r.name, r.rse_id FOR UPDATE OF r`,
  );
  // rule_new_locks: each lock made, with the state of the replica it found (NULL: none).
  await tx.query(`DROP TABLE IF EXISTS rule_new_locks`);
  const wanted = `
       SELECT f.scope, f.name, p.rse_id,
              CASE WHEN r.state = 'AVAILABLE' THEN 'OK'::lock_state ELSE 'REPLICATING'::lock_state END AS state,
              coalesce(f.bytes, 0) AS bytes, f.path, r.state AS replica_state
       FROM rule_files f
       JOIN rule_placement p ON p.g = f.g
       LEFT JOIN replicas r ON r.scope = f.scope AND r.name = f.name AND r.rse_id = p.rse_id`;
  if (options.newRule) {
    await tx.query(`CREATE TEMP TABLE rule_new_locks ON COMMIT DROP AS ${wanted}`);
    await tx.query(`INSERT INTO locks (rule_id, scope, name, rse_id, state, bytes) SELECT $1, scope, name, rse_id, state, bytes FROM rule_new_locks`, [
      rule.id,
    ]);
  } else {
    await tx.query(
      `CREATE TEMP TABLE rule_new_locks ON COMMIT DROP AS
       WITH w AS (${wanted}),
       ins AS (
         INSERT INTO locks (rule_id, scope, name, rse_id, state, bytes)
         SELECT $1, scope, name, rse_id, state, bytes FROM w
         ON CONFLICT DO NOTHING
         RETURNING scope, name, rse_id)
       SELECT w.* FROM ins JOIN w USING (scope, name, rse_id)`,
      [rule.id],
    );
  }
  await keepFilesWantedByRules(tx, `SELECT scope, name, $1::uuid AS rule_id FROM rule_new_locks`, [rule.id]);
  const [{ n: locks }] = await tx.query(`SELECT count(*) AS n FROM rule_new_locks`);
  if (!options.newRule) return { locks, transfersQueued: await writeReplicasAndRequests(tx, rule, true) };
  await tx.query(`SAVEPOINT rule_rows`);
  try {
    const transfersQueued = await writeReplicasAndRequests(tx, rule, false);
    await tx.query(`RELEASE SAVEPOINT rule_rows`);
    return { locks, transfersQueued };
  } catch (err) {
    if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
    await tx.query(`ROLLBACK TO SAVEPOINT rule_rows`);
    return { locks, transfersQueued: await writeReplicasAndRequests(tx, rule, true) };
  }
}

/**
 * For the locks in rule_new_locks: a COPYING replica (written with its one lock) where the file
 * had none on that RSE, one more lock counted (and the tombstone lifted) on each replica that was
 * there, and a transfer request for each REPLICATING lock. `conflicts`: whether rows another
 * transaction wrote meanwhile are skipped (ON CONFLICT DO NOTHING) rather than failing the INSERT.
 */
async function writeReplicasAndRequests(tx: EntityManager, rule: RuleForEvaluation, conflicts: boolean): Promise<number> {
  await tx.query(
    `INSERT INTO replicas (scope, name, rse_id, state, bytes, path, account, lock_cnt)
     SELECT l.scope, l.name, l.rse_id, 'COPYING', l.bytes, ${PATH_SQL("l.scope", "l.name", "l.path")}, $1, 1
     FROM rule_new_locks l WHERE l.replica_state IS NULL
     ${conflicts ? "ON CONFLICT (scope, name, rse_id) DO NOTHING" : ""}`,
    [rule.account],
  );
  await tx.query(
    `UPDATE replicas r SET lock_cnt = r.lock_cnt + 1, tombstone = NULL, updated_at = now()
     FROM rule_new_locks l WHERE l.replica_state IS NOT NULL AND r.scope = l.scope AND r.name = l.name AND r.rse_id = l.rse_id`,
  );
  // Where the file had no replica on the RSE it had no live request there either (but for a
  // concurrent writer, which the conflict handling or the caller's savepoint covers).
  return queueTransfers(tx, rule, `SELECT scope, name, rse_id, bytes, replica_state IS NULL AS fresh FROM rule_new_locks WHERE state = 'REPLICATING'`, [], {
    conflicts,
  });
}

/**
 * Queues a transfer request for each (scope, name, rse_id) that `needSql` yields and that has no
 * live request yet. The source is chosen when an agent claims the request, among AVAILABLE
 * replicas on the rule's source RSEs (any RSE when the rule names none).
 *
 * With `conflicts: false`, `needSql` also yields `bytes` and `fresh` (the file had no replica on
 * that RSE, so no live request can exist), and the INSERT has no ON CONFLICT: only rows that are
 * not fresh are checked for a live request, and a request written meanwhile by another
 * transaction fails the statement (the caller holds a savepoint for that).
 */
export async function queueTransfers(
  tx: EntityManager,
  rule: RuleForEvaluation,
  needSql: string,
  params: unknown[] = [],
  options: { conflicts?: boolean } = {},
): Promise<number> {
  const base = params.length;
  const conflicts = options.conflicts ?? true;
  await tx.query(`DROP TABLE IF EXISTS rule_new_requests`);
  await tx.query(
    `CREATE TEMP TABLE rule_new_requests ON COMMIT DROP AS
     WITH ins AS (
       INSERT INTO transfer_requests (scope, name, dest_rse_id, rule_id, source_rse_ids, bytes, activity, priority)
       ${
         conflicts
           ? `SELECT n.scope, n.name, n.rse_id, $${base + 1}::uuid, $${base + 2}::uuid[], coalesce(d.bytes, 0), $${base + 3}, $${base + 4}
              FROM (${needSql}) n JOIN dids d ON d.scope = n.scope AND d.name = n.name
              ON CONFLICT (scope, name, dest_rse_id) WHERE state IN ('QUEUED', 'SUBMITTED') DO NOTHING`
           : `SELECT n.scope, n.name, n.rse_id, $${base + 1}::uuid, $${base + 2}::uuid[], n.bytes, $${base + 3}, $${base + 4}
              FROM (${needSql}) n
              WHERE n.fresh OR NOT EXISTS (SELECT 1 FROM transfer_requests t
                                           WHERE t.scope = n.scope AND t.name = n.name AND t.dest_rse_id = n.rse_id AND t.state IN ('QUEUED', 'SUBMITTED'))`
       }
       RETURNING id, scope, name, dest_rse_id)
     SELECT * FROM ins`,
    [...params, rule.id, rule.sourceRseIds, rule.activity, rule.priority],
  );
  await appendEventsFrom(
    tx,
    "transfer-queued",
    `SELECT s.facility, jsonb_build_object('request', q.id, 'scope', q.scope, 'name', q.name, 'rse', s.name, 'facility', s.facility, 'rule', $1::uuid,
                                           'rules', jsonb_build_array($1::uuid)) AS payload
     FROM rule_new_requests q JOIN rses s ON s.id = q.dest_rse_id`,
    [rule.id],
  );
  const [{ n }] = await tx.query(`SELECT count(*) AS n FROM rule_new_requests`);
  return n;
}

export interface LockRow {
  ruleId: string;
  scope: string;
  name: string;
  rseId: string;
  state: "OK" | "REPLICATING" | "STUCK";
  bytes: number;
  createdAt: Date;
  updatedAt: Date;
}

const LOCK_COLUMNS = `l.rule_id AS "ruleId", l.scope, l.name, l.rse_id AS "rseId", l.state, l.bytes, l.created_at AS "createdAt", l.updated_at AS "updatedAt"`;

/** The locks on many files, in one statement. */
export async function locksOfDids(db: EntityManager, keys: readonly { scope: string; name: string }[]): Promise<LockRow[]> {
  return db.query(
    `SELECT ${LOCK_COLUMNS} FROM unnest($1::text[], $2::text[]) AS k(scope, name)
     JOIN locks l ON l.scope = k.scope AND l.name = k.name ORDER BY l.created_at`,
    [keys.map((k) => k.scope), keys.map((k) => k.name)],
  );
}

/** One page of the locks of each of many rules, ordered by (scope, name, rse), in one statement. */
export async function locksOfRules(db: EntityManager, ruleIds: readonly string[], limit: number, after: [string, string, string] | null): Promise<LockRow[]> {
  return db.query(
    `SELECT * FROM (
       SELECT ${LOCK_COLUMNS}, row_number() OVER (PARTITION BY l.rule_id ORDER BY l.scope, l.name, l.rse_id) AS rn
       FROM locks l WHERE l.rule_id = ANY($1::uuid[])
         AND ($2::text IS NULL OR (l.scope, l.name, l.rse_id) > ($2::text, $3::text, $4::uuid))) x
     WHERE rn <= $5 ORDER BY scope, name, "rseId"`,
    [ruleIds, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit + 1],
  );
}

/** Locks by (rule, file, RSE name), in one statement. */
export async function locksByKey(db: EntityManager, keys: readonly { ruleId: string; scope: string; name: string; rse: string }[]): Promise<Array<LockRow & { rseName: string }>> {
  return db.query(
    `SELECT ${LOCK_COLUMNS}, s.name AS "rseName" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(rule_id, scope, name, rse)
     JOIN rses s ON s.name = k.rse AND NOT s.deleted
     JOIN locks l ON l.rule_id::text = k.rule_id AND l.scope = k.scope AND l.name = k.name AND l.rse_id = s.id`,
    [keys.map((k) => k.ruleId), keys.map((k) => k.scope), keys.map((k) => k.name), keys.map((k) => k.rse)],
  );
}
