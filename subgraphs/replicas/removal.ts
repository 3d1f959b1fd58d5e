import type { EntityManager } from "typeorm";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { keysetPage, SqlFilter } from "../../lib/keyset-page";
import { decodeCursor, Page } from "../../lib/pagination";
import { DidKey, didNotFound } from "./did";
import { appendEvent, appendEventsFrom } from "./event";
import { checkDidName, checkFacilityCode, checkScope, isUuid } from "./identifiers";
import { removeRules } from "./rule";

/**
 * Campaign removal (DMTN-198: deciding that data is no longer needed is the campaign tools' call;
 * the Data Backbone executes it across every replica and every registry). A removal names Butler
 * runs and collections (each facility says which files they hold), and catalog DIDs, at some or
 * all facilities. Planning, in one transaction and set-based:
 *
 *   - the files named or resolved are the removal's candidates; a dataset or container is
 *     retired when it was named or when every child of it is retired (computed bottom-up);
 *   - rules made on retired DIDs are removed, unless locked (reported, untouched) or holding
 *     copies at facilities outside the removal (kept: they still want those files);
 *   - every replica of a candidate at the removal's facilities is then PLANNED (tombstoned as
 *     OBSOLETE, due at once, and marked with the removal) or KEPT with the reason: attached to a
 *     dataset that is kept, wanted or protected by a rule that stays, or wanted by a rule added
 *     after the removal began (a concurrent addRule wins: see removal-guard.ts).
 *
 * The facilities' agents delete what is planned (deletion.ts counts it toward the removal),
 * remove the Butler datasets of the deleted files and the runs they empty, then finish their
 * facility's part (named collections left empty) and report. A facility that cannot be reached
 * is retried by the judge: the removal finishes when it comes back.
 */

export type RemovalState = "PLANNED" | "RUNNING" | "DONE" | "CANCELLED";
export type RemovalFacilityState = "DELETING" | "FINISHING" | "DONE" | "CANCELLED";
export type RemovalFileState = "PLANNED" | "DELETED" | "KEPT" | "CANCELLED";

export interface MarkObsoleteInput {
  runs?: string[] | null;
  collections?: string[] | null;
  dids?: DidKey[] | null;
  facilities?: string[] | null;
  reason?: string | null;
  dryRun?: boolean | null;
}

/** A file a facility's Butler holds in the named runs or collections, or the dataset recorded for a file. */
export interface ButlerFile {
  scope: string;
  name: string;
  datasetId: string | null;
}

/**
 * How the catalog asks a facility's Butler registry (through the gateway; removal-lookup.ts).
 * Each call throws a DbbError when the facility does not answer.
 */
export interface ButlerLookup {
  /** The files of the datasets the runs and collections (names or globs) select at a facility. */
  filesOf(facility: string, runs: string[], collections: string[]): Promise<ButlerFile[]>;
  /** The datasets a facility recorded for these files (a dry run's count of what would go). */
  datasetsOf(facility: string, files: DidKey[]): Promise<ButlerFile[]>;
}

export interface RemovalSettings {
  tombstoneDelaySeconds: number;
  /** First retry of a facility that did not answer; doubles each time, up to 64 times as long (an hour at most). */
  resolveRetrySeconds: number;
}

export interface RemovalFacilityView {
  facility: string;
  state: RemovalFacilityState;
  resolved: boolean;
  filesPlanned: number;
  filesDeleted: number;
  datasetsRemoved: number | null;
  collectionsRemoved: number;
  bytesFreed: number;
  kept: number;
  errors: number;
  lastError: string | null;
}

/** A removal as the API shows it: its row, with its parts per facility (a dry run's files too). */
export type RemovalView = Omit<RemovalRow, "id" | "cursorAt"> & {
  /** Null for a dry run. */
  id: string | null;
  dryRun: boolean;
  perFacility: RemovalFacilityView[];
  /** A dry run's files, listed in the answer because nothing is stored. */
  dryRunFiles?: RemovalFileRow[];
};

export interface RemovalFileRow {
  scope: string;
  name: string;
  rseId: string;
  rseName: string;
  facility: string;
  bytes: number;
  state: RemovalFileState;
  reason: string | null;
  ruleId: string | null;
  attempts: number;
  lastError: string | null;
  updatedAt: Date;
}

/** What may be named in one removal; more: split it. */
export const MAX_REMOVAL_NAMES = 1000;
export const MAX_REMOVAL_DIDS = 10000;
/** Rucio's OBSOLETE tombstone: the epoch, so the replica is due before anything else. */
const OBSOLETE = "1970-01-01T00:00:00Z";

export function removalNotFound(id: string): DbbError {
  return new DbbError(ErrorCode.REMOVAL_NOT_FOUND, `removal ${id} does not exist`, { removal: id });
}

interface CheckedInput {
  runs: string[];
  collections: string[];
  dids: DidKey[];
  facilities: string[] | null;
  reason: string;
  dryRun: boolean;
}

function checkNames(list: unknown, field: string): string[] {
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) throw invalidInput(`${field} must be a list of collection names`, { field });
  if (list.length > MAX_REMOVAL_NAMES) throw invalidInput(`at most ${MAX_REMOVAL_NAMES} ${field} per removal`, { field });
  const out = list.map((n, item) => {
    if (typeof n !== "string" || !n.trim() || n.length > 1024) throw invalidInput(`${field} item ${item}: a collection name or glob (1 to 1024 characters) is needed`, { field, item });
    return n.trim();
  });
  return [...new Set(out)];
}

/** Validates a removal request at the edge: what it names, where, and why. */
async function checkInput(db: EntityManager, input: MarkObsoleteInput): Promise<CheckedInput> {
  const reason = typeof input.reason === "string" ? input.reason.trim() : "";
  if (!reason) throw invalidInput("reason is required: say why the data is no longer needed (it is recorded with the removal)", { field: "reason" });
  if (reason.length > 1000) throw invalidInput("reason is limited to 1000 characters", { field: "reason" });
  const runs = checkNames(input.runs, "runs");
  const collections = checkNames(input.collections, "collections");
  const didList = input.dids ?? [];
  if (!Array.isArray(didList)) throw invalidInput("dids must be a list of {scope, name}", { field: "dids" });
  if (didList.length > MAX_REMOVAL_DIDS) throw invalidInput(`at most ${MAX_REMOVAL_DIDS} dids per removal; name their dataset or container instead`, { field: "dids" });
  const seen = new Set<string>();
  const dids: DidKey[] = [];
  didList.forEach((d, item) => {
    const key = { scope: checkScope(d?.scope, { field: "dids", item }), name: checkDidName(d?.name, { field: "dids", item }) };
    const k = `${key.scope}:${key.name}`;
    if (!seen.has(k)) dids.push(key);
    seen.add(k);
  });
  if (!runs.length && !collections.length && !dids.length) throw invalidInput("name something to remove: runs, collections or dids", { field: "input" });
  if (dids.length) {
    const found: Array<{ scope: string; name: string }> = await db.query(
      `SELECT d.scope, d.name FROM unnest($1::text[], $2::text[]) AS k(scope, name) JOIN dids d ON d.scope = k.scope AND d.name = k.name`,
      [dids.map((d) => d.scope), dids.map((d) => d.name)],
    );
    const have = new Set(found.map((f) => `${f.scope}:${f.name}`));
    const missing = dids.findIndex((d) => !have.has(`${d.scope}:${d.name}`));
    if (missing >= 0) throw didNotFound(dids[missing], { field: "dids", item: missing });
  }
  let facilities: string[] | null = null;
  if (input.facilities !== null && input.facilities !== undefined) {
    if (!Array.isArray(input.facilities) || !input.facilities.length) throw invalidInput("facilities must list at least one facility code (omit it for every facility)", { field: "facilities" });
    const codes = input.facilities.map((c, item) => checkFacilityCode(c, { field: "facilities", item }));
    const rows: Array<{ code: string; wanted: string }> = await db.query(
      `SELECT f.code, k.wanted FROM unnest($1::text[]) AS k(wanted) JOIN facilities f ON lower(f.code) = lower(k.wanted)`,
      [codes],
    );
    const known = new Map(rows.map((r) => [r.wanted, r.code]));
    const unknown = codes.findIndex((c) => !known.has(c));
    if (unknown >= 0) throw new DbbError(ErrorCode.FACILITY_NOT_FOUND, `facility '${codes[unknown]}' does not exist`, { field: "facilities", item: unknown, facility: codes[unknown] });
    facilities = [...new Set(codes.map((c) => known.get(c)!))].sort();
  }
  return { runs, collections, dids, facilities, reason, dryRun: input.dryRun ?? false };
}

/** The facilities a removal acts at: those named, or every facility with a live RSE. */
async function targetFacilities(db: EntityManager, facilities: string[] | null): Promise<string[]> {
  if (facilities) return facilities;
  const rows: Array<{ facility: string }> = await db.query(`SELECT DISTINCT facility FROM rses WHERE NOT deleted ORDER BY facility`);
  return rows.map((r) => r.facility);
}

type Resolution = { facility: string; files: ButlerFile[] } | { facility: string; error: DbbError };

/** Asks each facility's Butler which files the runs and collections hold, concurrently; a facility that fails is reported, not thrown. */
async function resolveButler(lookup: ButlerLookup, facilities: string[], runs: string[], collections: string[]): Promise<Resolution[]> {
  return Promise.all(
    facilities.map(async (facility): Promise<Resolution> => {
      try {
        return { facility, files: await lookup.filesOf(facility, runs, collections) };
      } catch (err) {
        const e = err instanceof DbbError ? err : new DbbError(ErrorCode.FACILITY_UNAVAILABLE, (err as Error).message);
        return { facility, error: e };
      }
    }),
  );
}

/** Adds files to a removal's candidates (set-based); returns how many were new. */
async function addCandidates(tx: EntityManager, id: string, files: DidKey[]): Promise<number> {
  if (!files.length) return 0;
  const [{ n }] = await tx.query(
    `WITH ins AS (
       INSERT INTO removal_candidates (removal_id, scope, name)
       SELECT $1, k.scope, k.name FROM unnest($2::text[], $3::text[]) AS k(scope, name)
       JOIN dids d ON d.scope = k.scope AND d.name = k.name AND d.did_type = 'FILE'
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [id, files.map((f) => f.scope), files.map((f) => f.name)],
  );
  return n;
}

/** Every file below the named DIDs (recursively) becomes a candidate of the removal. */
async function addCandidatesBelow(tx: EntityManager, id: string, dids: DidKey[]): Promise<void> {
  if (!dids.length) return;
  await tx.query(
    `WITH RECURSIVE tree(scope, name, did_type) AS (
       SELECT d.scope, d.name, d.did_type FROM unnest($2::text[], $3::text[]) AS k(scope, name)
       JOIN dids d ON d.scope = k.scope AND d.name = k.name
       UNION
       SELECT c.scope, c.name, c.did_type FROM tree t
       JOIN attachments a ON a.parent_scope = t.scope AND a.parent_name = t.name
       JOIN dids c ON c.scope = a.child_scope AND c.name = a.child_name
       WHERE t.did_type <> 'FILE')
     INSERT INTO removal_candidates (removal_id, scope, name)
     SELECT $1, scope, name FROM tree WHERE did_type = 'FILE' ON CONFLICT DO NOTHING`,
    [id, dids.map((d) => d.scope), dids.map((d) => d.name)],
  );
}

async function recordResolution(tx: EntityManager, id: string, r: Resolution, settings: RemovalSettings): Promise<void> {
  if ("files" in r) {
    await addCandidates(tx, id, r.files);
    await tx.query(
      `UPDATE removal_facilities SET resolved = true, next_resolve_at = NULL, updated_at = now() WHERE removal_id = $1 AND facility = $2`,
      [id, r.facility],
    );
  } else {
    await tx.query(
      `UPDATE removal_facilities SET resolve_attempts = resolve_attempts + 1, errors = errors + 1,
         last_error = $3, last_error_at = now(), updated_at = now(),
         next_resolve_at = now() + make_interval(secs => least(3600, $4 * 2 ^ least(resolve_attempts, 6)))
       WHERE removal_id = $1 AND facility = $2`,
      [id, r.facility, `${r.error.code}: its Butler could not say which files the runs and collections hold: ${r.error.message}`.slice(0, 2000), settings.resolveRetrySeconds],
    );
  }
}

export interface RemovalRow {
  id: string;
  requestedBy: string;
  reason: string;
  origin: "request" | "expiry";
  state: RemovalState;
  runs: string[];
  collections: string[];
  dids: DidKey[];
  facilities: string[] | null;
  rulesRemoved: number;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  cursorAt: string;
}

const REMOVAL_COLUMNS = `rm.id, rm.requested_by AS "requestedBy", rm.reason, rm.origin, rm.state, rm.runs, rm.collections, rm.dids,
  rm.facilities, rm.rules_removed AS "rulesRemoved", rm.created_at AS "createdAt", rm.updated_at AS "updatedAt",
  rm.finished_at AS "finishedAt", rm.created_at::text AS "cursorAt"`;

/**
 * Records a removal and its facilities' parts, with the named DIDs' files as candidates; a
 * facility's part is resolved at once when no runs or collections are named.
 */
async function insertRemoval(tx: EntityManager, account: string, input: CheckedInput, facilities: string[], origin: "request" | "expiry"): Promise<string> {
  const [{ id }] = await tx.query(
    `INSERT INTO removals (requested_by, reason, origin, runs, collections, dids, facilities)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id`,
    [account, input.reason, origin, input.runs, input.collections, JSON.stringify(input.dids), input.facilities],
  );
  const needsButler = input.runs.length > 0 || input.collections.length > 0;
  await tx.query(
    `INSERT INTO removal_facilities (removal_id, facility, resolved, next_resolve_at)
     SELECT $1, f, $3, CASE WHEN $3 THEN NULL ELSE now() END FROM unnest($2::text[]) AS f`,
    [id, facilities, !needsButler],
  );
  await addCandidatesBelow(tx, id, input.dids);
  await appendEvent(tx, "removal-requested", null, {
    removal: id,
    requestedBy: account,
    reason: input.reason,
    origin,
    runs: input.runs,
    collections: input.collections,
    dids: input.dids,
    facilities: input.facilities,
  });
  return id;
}

/**
 * Plans (or re-plans, after a facility answered late) a removal held FOR UPDATE: retired DIDs,
 * rules removed, each replica at its facilities PLANNED or KEPT with the reason. Idempotent and
 * set-based: a replica already deleted stays DELETED, one planned stays planned.
 */
async function planRemoval(tx: EntityManager, removal: RemovalRow, facilities: string[], settings: RemovalSettings): Promise<void> {
  const id = removal.id;
  const lowered = facilities.map((f) => f.toLowerCase());
  await tx.query(`DROP TABLE IF EXISTS rm_retired`);
  await tx.query(`CREATE TEMP TABLE rm_retired (scope text NOT NULL, name text NOT NULL, PRIMARY KEY (scope, name)) ON COMMIT DROP`);
  await tx.query(`INSERT INTO rm_retired SELECT scope, name FROM removal_candidates WHERE removal_id = $1 ON CONFLICT DO NOTHING`, [id]);
  await tx.query(
    `INSERT INTO rm_retired SELECT d.scope, d.name FROM removals rm, jsonb_to_recordset(rm.dids) AS x(scope text, name text)
     JOIN dids d ON d.scope = x.scope AND d.name = x.name WHERE rm.id = $1 ON CONFLICT DO NOTHING`,
    [id],
  );
  await tx.query(`ANALYZE rm_retired`);
  // Bottom-up: a dataset or container all of whose children are retired is retired too.
  for (let level = 0; level < 32; level++) {
    const [{ n }] = await tx.query(
      `WITH ins AS (
         INSERT INTO rm_retired
         SELECT DISTINCT a.parent_scope, a.parent_name FROM attachments a
         JOIN rm_retired r ON r.scope = a.child_scope AND r.name = a.child_name
         WHERE NOT EXISTS (SELECT 1 FROM rm_retired x WHERE x.scope = a.parent_scope AND x.name = a.parent_name)
           AND NOT EXISTS (SELECT 1 FROM attachments c WHERE c.parent_scope = a.parent_scope AND c.parent_name = a.parent_name
                             AND NOT EXISTS (SELECT 1 FROM rm_retired y WHERE y.scope = c.child_scope AND y.name = c.child_name))
         ON CONFLICT DO NOTHING RETURNING 1)
       SELECT count(*)::int AS n FROM ins`,
    );
    if (!n) break;
  }

  // Rules on retired DIDs: locked ones stay (reported), ones with copies beyond the removal's facilities stay; the rest go.
  await tx.query(`SELECT ru.id FROM rules ru JOIN rm_retired r ON ru.scope = r.scope AND ru.name = r.name ORDER BY ru.id FOR UPDATE OF ru`);
  await tx.query(`DROP TABLE IF EXISTS rm_rules`);
  await tx.query(
    `CREATE TEMP TABLE rm_rules ON COMMIT DROP AS
     SELECT ru.id, ru.locked,
            EXISTS (SELECT 1 FROM locks l JOIN rses s ON s.id = l.rse_id WHERE l.rule_id = ru.id AND NOT (lower(s.facility) = ANY($1::text[]))) AS beyond
     FROM rules ru JOIN rm_retired r ON ru.scope = r.scope AND ru.name = r.name`,
    [lowered],
  );
  const removed = await removeRules(tx, `SELECT id FROM rm_rules WHERE NOT locked AND NOT beyond`, [], {
    tombstoneDelaySeconds: settings.tombstoneDelaySeconds,
    reason: "obsolete",
    removal: id,
  });

  // Each replica of a candidate at the removal's facilities: planned, or kept with the reason.
  await tx.query(`DROP TABLE IF EXISTS rm_replicas`);
  await tx.query(
    `CREATE TEMP TABLE rm_replicas ON COMMIT DROP AS
     SELECT x.*,
       CASE WHEN x.kept_parent IS NOT NULL THEN 'attached to ' || x.kept_parent || ', which is kept: retire it too, or detach the file'
            WHEN x.rule_here IS NOT NULL AND x.here_locked THEN 'protected by locked rule ' || x.rule_here
            WHEN x.rule_here IS NOT NULL THEN 'wanted by rule ' || x.rule_here
            WHEN x.rule_since IS NOT NULL THEN 'wanted by rule ' || x.rule_since || ', added during the removal' END AS reason
     FROM (
       SELECT r.scope, r.name, r.rse_id, s.facility, r.bytes,
         (SELECT a.parent_scope || ':' || a.parent_name FROM attachments a
          WHERE a.child_scope = r.scope AND a.child_name = r.name
            AND NOT EXISTS (SELECT 1 FROM rm_retired p WHERE p.scope = a.parent_scope AND p.name = a.parent_name)
          ORDER BY 1 LIMIT 1) AS kept_parent,
         h.rule_id AS rule_here, h.locked AS here_locked,
         (SELECT l.rule_id FROM locks l JOIN rules ru ON ru.id = l.rule_id
          WHERE l.scope = r.scope AND l.name = r.name AND ru.created_at > $3 ORDER BY ru.created_at LIMIT 1) AS rule_since
       FROM removal_candidates c
       JOIN replicas r ON r.scope = c.scope AND r.name = c.name
       JOIN rses s ON s.id = r.rse_id
       LEFT JOIN LATERAL (
         SELECT l.rule_id, ru.locked FROM locks l JOIN rules ru ON ru.id = l.rule_id
         WHERE l.scope = r.scope AND l.name = r.name AND l.rse_id = r.rse_id ORDER BY ru.locked DESC, ru.created_at LIMIT 1) h ON true
       WHERE c.removal_id = $1 AND lower(s.facility) = ANY($2::text[])) x`,
    [id, lowered, removal.createdAt],
  );
  await tx.query(
    `INSERT INTO removal_files (removal_id, scope, name, rse_id, facility, bytes, state, reason, rule_id)
     SELECT $1, scope, name, rse_id, facility, bytes, CASE WHEN reason IS NULL THEN 'PLANNED' ELSE 'KEPT' END, reason, coalesce(rule_here, rule_since)
     FROM rm_replicas
     ON CONFLICT (removal_id, scope, name, rse_id) DO UPDATE
       SET state = EXCLUDED.state, reason = EXCLUDED.reason, rule_id = EXCLUDED.rule_id, updated_at = now()
       WHERE removal_files.state IN ('PLANNED', 'KEPT')
         AND (removal_files.state, removal_files.reason) IS DISTINCT FROM (EXCLUDED.state, EXCLUDED.reason)`,
    [id],
  );
  // Planned replicas are due at once (Rucio's OBSOLETE tombstone) and carry the removal; one
  // another removal already holds, or one an agent is deleting, is left as it is.
  await tx.query(`DROP TABLE IF EXISTS rm_queued`);
  await tx.query(
    `CREATE TEMP TABLE rm_queued ON COMMIT DROP AS
     WITH upd AS (
       UPDATE replicas r SET tombstone = $2::timestamptz, removal_id = $1, updated_at = now()
       FROM removal_files f
       WHERE f.removal_id = $1 AND f.state = 'PLANNED' AND r.scope = f.scope AND r.name = f.name AND r.rse_id = f.rse_id
         AND r.lock_cnt = 0 AND r.state <> 'BEING_DELETED' AND (r.removal_id IS NULL OR r.removal_id = $1)
         AND r.tombstone IS DISTINCT FROM $2::timestamptz
       RETURNING r.scope, r.name, r.rse_id)
     SELECT * FROM upd`,
    [id, OBSOLETE],
  );
  await appendEventsFrom(
    tx,
    "deletion-queued",
    `SELECT s.facility, jsonb_build_object('scope', q.scope, 'name', q.name, 'rse', s.name, 'facility', s.facility, 'due', $1::timestamptz, 'removal', $2::text) AS payload
     FROM rm_queued q JOIN rses s ON s.id = q.rse_id`,
    [OBSOLETE, id],
  );
  // Kept replicas the rules' removal left unprotected are kept indeed (no tombstone), and one this
  // removal had planned and now keeps is released.
  await tx.query(
    `UPDATE replicas r SET tombstone = NULL, removal_id = NULL, updated_at = now()
     FROM removal_files f
     WHERE f.removal_id = $1 AND f.state = 'KEPT' AND r.scope = f.scope AND r.name = f.name AND r.rse_id = f.rse_id
       AND r.state <> 'BEING_DELETED'
       AND (r.removal_id = $1 OR (r.removal_id IS NULL AND r.lock_cnt = 0
            AND EXISTS (SELECT 1 FROM rule_unprotected u WHERE u.scope = r.scope AND u.name = r.name AND u.rse_id = r.rse_id)))`,
    [id],
  );
  if (!removal.facilities) {
    // Retired everywhere: the DIDs are obsolete (subscriptions no longer match them), but not a file kept anywhere.
    await tx.query(
      `UPDATE dids d SET obsolete = true, updated_at = now() FROM rm_retired r
       WHERE d.scope = r.scope AND d.name = r.name AND NOT d.obsolete
         AND NOT EXISTS (SELECT 1 FROM removal_files f WHERE f.removal_id = $1 AND f.scope = d.scope AND f.name = d.name AND f.state = 'KEPT')`,
      [id],
    );
  }
  const [{ planned, kept }] = await tx.query(
    `SELECT count(*) FILTER (WHERE state = 'PLANNED')::int AS planned, count(*) FILTER (WHERE state = 'KEPT')::int AS kept FROM removal_files WHERE removal_id = $1`,
    [id],
  );
  await tx.query(
    `UPDATE removals SET state = CASE WHEN state = 'PLANNED' THEN 'RUNNING'::removal_state ELSE state END,
       rules_removed = rules_removed + $2, updated_at = now() WHERE id = $1`,
    [id, removed],
  );
  const [{ locked, beyond }] = await tx.query(
    `SELECT count(*) FILTER (WHERE locked)::int AS locked, count(*) FILTER (WHERE beyond AND NOT locked)::int AS beyond FROM rm_rules`,
  );
  await appendEvent(tx, "removal-planned", null, { removal: id, rulesRemoved: removed, lockedRulesKept: locked, rulesBeyondKept: beyond, filesPlanned: planned, filesKept: kept });
  await advanceParts(tx, `SELECT $1::uuid`, [id]);
}

/**
 * Moves facility parts on: DELETING → FINISHING once every facility said what its runs hold and
 * nothing planned is left at the facility (its agent then finishes the Butler side and reports).
 */
export async function advanceParts(tx: EntityManager, removalIdsSql: string, params: unknown[]): Promise<void> {
  // A planned replica that is gone by any other way counts as deleted.
  await tx.query(
    `UPDATE removal_files f SET state = 'DELETED', updated_at = now()
     WHERE f.removal_id IN (${removalIdsSql}) AND f.state = 'PLANNED'
       AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.scope = f.scope AND r.name = f.name AND r.rse_id = f.rse_id)`,
    params,
  );
  await tx.query(
    `UPDATE removal_facilities p SET state = 'FINISHING', updated_at = now()
     FROM removals rm
     WHERE rm.id = p.removal_id AND rm.state = 'RUNNING' AND p.removal_id IN (${removalIdsSql}) AND p.state = 'DELETING'
       AND NOT EXISTS (SELECT 1 FROM removal_facilities o WHERE o.removal_id = p.removal_id AND NOT o.resolved)
       AND NOT EXISTS (SELECT 1 FROM removal_files f WHERE f.removal_id = p.removal_id AND f.facility = p.facility AND f.state = 'PLANNED')`,
    params,
  );
}

async function lockRemoval(tx: EntityManager, id: string): Promise<RemovalRow> {
  const rows: RemovalRow[] = await tx.query(`SELECT ${REMOVAL_COLUMNS} FROM removals rm WHERE rm.id = $1 FOR UPDATE`, [id]);
  if (!rows.length) throw removalNotFound(id);
  return rows[0];
}

/** Rolls a dry run's transaction back, carrying what it computed. */
class DryRunRollback extends Error {
  constructor(readonly view: RemovalView) {
    super("dry run");
  }
}

/**
 * Marks runs, collections and DIDs obsolete and starts their removal (or, with dryRun, returns
 * what it would do and writes nothing). Facilities that cannot say which files their runs hold
 * are retried by the judge; the removal carries on with what is known.
 */
export async function markObsolete(db: EntityManager, account: string, input: MarkObsoleteInput, lookup: ButlerLookup, settings: RemovalSettings): Promise<RemovalView> {
  const checked = await checkInput(db, input);
  const facilities = await targetFacilities(db, checked.facilities);
  const resolutions = checked.runs.length || checked.collections.length ? await resolveButler(lookup, facilities, checked.runs, checked.collections) : [];
  if (checked.dryRun) return dryRun(db, account, checked, facilities, resolutions, lookup, settings);
  const id = await db.transaction((tx) => insertRemoval(tx, account, checked, facilities, "request"));
  await db.transaction(async (tx) => {
    const removal = await lockRemoval(tx, id);
    for (const r of resolutions) await recordResolution(tx, id, r, settings);
    await planRemoval(tx, removal, facilities, settings);
  });
  return getRemoval(db, id);
}

async function dryRun(
  db: EntityManager,
  account: string,
  checked: CheckedInput,
  facilities: string[],
  resolutions: Resolution[],
  lookup: ButlerLookup,
  settings: RemovalSettings,
): Promise<RemovalView> {
  let view: RemovalView;
  try {
    await db.transaction(async (tx) => {
      const id = await insertRemoval(tx, account, checked, facilities, "request");
      const removal = await lockRemoval(tx, id);
      for (const r of resolutions) await recordResolution(tx, id, r, settings);
      await planRemoval(tx, removal, facilities, settings);
      const v = await getRemoval(tx, id);
      v.dryRunFiles = await tx.query(`${FILE_SELECT} WHERE f.removal_id = $1 ORDER BY f.facility, f.scope, f.name`, [id]);
      throw new DryRunRollback(v);
    });
    throw new Error("unreachable: a dry run always rolls back");
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
    view = err.view;
  }
  view.id = null;
  view.dryRun = true;
  view.state = "PLANNED";
  // What each facility's Butler would lose: the datasets recorded for its planned files.
  await Promise.all(
    view.perFacility.map(async (p) => {
      const files = (view.dryRunFiles ?? []).filter((f) => f.facility === p.facility && f.state === "PLANNED");
      if (!files.length) {
        p.datasetsRemoved = 0;
        return;
      }
      try {
        const found = await lookup.datasetsOf(p.facility, files);
        p.datasetsRemoved = new Set(found.filter((f) => f.datasetId).map((f) => f.datasetId)).size;
      } catch (err) {
        p.datasetsRemoved = null;
        p.errors += 1;
        p.lastError = `${(err as DbbError).code ?? ErrorCode.FACILITY_UNAVAILABLE}: ${(err as Error).message}`;
      }
    }),
  );
  return view;
}

const FILE_SELECT = `SELECT f.scope, f.name, f.rse_id AS "rseId", s.name AS "rseName", f.facility, f.bytes, f.state, f.reason,
  f.rule_id AS "ruleId", f.attempts, f.last_error AS "lastError", f.updated_at AS "updatedAt"
  FROM removal_files f JOIN rses s ON s.id = f.rse_id`;

function facilityViews(rows: Array<Record<string, any>>): RemovalFacilityView[] {
  return rows.map((r) => ({
    facility: r.facility,
    state: r.state,
    resolved: r.resolved,
    filesPlanned: Number(r.planned),
    filesDeleted: Number(r.deleted),
    datasetsRemoved: r.datasetsRemoved === null ? null : Number(r.datasetsRemoved),
    collectionsRemoved: Number(r.collectionsRemoved),
    bytesFreed: Number(r.bytesFreed),
    kept: Number(r.kept),
    errors: Number(r.errors),
    lastError: r.lastError,
  }));
}

/** Per facility of each removal, its counts, in one statement. */
export async function removalFacilities(db: EntityManager, ids: readonly string[]): Promise<Map<string, RemovalFacilityView[]>> {
  const rows: Array<Record<string, any>> = await db.query(
    `SELECT p.removal_id AS "removalId", p.facility, p.state, p.resolved, p.datasets_removed AS "datasetsRemoved",
            p.collections_removed AS "collectionsRemoved", p.errors + coalesce(c.failures, 0) AS errors, p.last_error AS "lastError",
            coalesce(c.planned, 0) AS planned, coalesce(c.deleted, 0) AS deleted, coalesce(c.kept, 0) AS kept, coalesce(c.freed, 0) AS "bytesFreed"
     FROM removal_facilities p
     LEFT JOIN (
       SELECT removal_id, facility,
              count(*) FILTER (WHERE state IN ('PLANNED', 'DELETED')) AS planned,
              count(*) FILTER (WHERE state = 'DELETED') AS deleted,
              count(*) FILTER (WHERE state = 'KEPT') AS kept,
              sum(bytes) FILTER (WHERE state = 'DELETED') AS freed,
              sum(attempts) AS failures
       FROM removal_files WHERE removal_id = ANY($1::uuid[]) GROUP BY removal_id, facility) c
       ON c.removal_id = p.removal_id AND c.facility = p.facility
     WHERE p.removal_id = ANY($1::uuid[])
     ORDER BY p.facility`,
    [ids.filter(isUuid)],
  );
  const out = new Map<string, RemovalFacilityView[]>();
  for (const id of ids) out.set(id, []);
  for (const r of rows) out.get(r.removalId)?.push(...facilityViews([r]));
  return out;
}

function toView(row: RemovalRow, perFacility: RemovalFacilityView[]): RemovalView {
  return { ...row, dryRun: false, perFacility };
}

export async function getRemoval(db: EntityManager, id: string): Promise<RemovalView> {
  if (!isUuid(id)) throw removalNotFound(id);
  const rows: RemovalRow[] = await db.query(`SELECT ${REMOVAL_COLUMNS} FROM removals rm WHERE rm.id = $1`, [id]);
  if (!rows.length) throw removalNotFound(id);
  return toView(rows[0], (await removalFacilities(db, [rows[0].id])).get(rows[0].id) ?? []);
}

export interface RemovalFilter {
  state?: RemovalState | null;
  requestedBy?: string | null;
  first?: number | null;
  after?: string | null;
}

/** Removals, newest first (their per-facility counts are loaded when asked for). */
export async function listRemovals(db: EntityManager, filter: RemovalFilter): Promise<Page<RemovalRow & { dryRun: false }>> {
  const where = new SqlFilter();
  if (filter.state) where.add((p) => `rm.state = ${p}::removal_state`, filter.state);
  if (filter.requestedBy) where.add((p) => `rm.requested_by = ${p}`, filter.requestedBy);
  const page = await keysetPage<RemovalRow>(db, {
    select: `SELECT ${REMOVAL_COLUMNS}`,
    from: "FROM removals rm",
    filter: where,
    orderBy: "rm.created_at DESC, rm.id DESC",
    after: filter.after ? { key: decodeCursor(filter.after, ["time", "uuid"]), sql: (at, id) => `(rm.created_at, rm.id) < (${at}::timestamptz, ${id}::uuid)` } : null,
    first: filter.first,
    keyOf: (r) => [r.cursorAt, r.id],
  });
  return { ...page, nodes: page.nodes.map((r) => ({ ...r, dryRun: false as const })) };
}

export interface RemovalFileFilter {
  facility?: string | null;
  state?: RemovalFileState | null;
  first?: number | null;
  after?: string | null;
}

/** A removal's files (per replica): what it deletes, deleted, and kept with the reason. */
export async function listRemovalFiles(db: EntityManager, id: string, filter: RemovalFileFilter): Promise<Page<RemovalFileRow>> {
  const where = new SqlFilter();
  where.add((p) => `f.removal_id = ${p}::uuid`, id);
  if (filter.facility) where.add((p) => `lower(f.facility) = lower(${p})`, filter.facility);
  if (filter.state) where.add((p) => `f.state = ${p}`, filter.state);
  return keysetPage<RemovalFileRow>(db, {
    select: FILE_SELECT.split(" FROM ")[0],
    from: "FROM removal_files f JOIN rses s ON s.id = f.rse_id",
    filter: where,
    orderBy: "f.scope, f.name, f.rse_id",
    after: filter.after ? { key: decodeCursor(filter.after, ["text", "text", "uuid"]), sql: (a, b, c) => `(f.scope, f.name, f.rse_id) > (${a}, ${b}, ${c}::uuid)` } : null,
    first: filter.first,
    keyOf: (r) => [r.scope, r.name, r.rseId],
  });
}

/**
 * Cancels a removal while files are still pending: what is not yet handed to an agent is kept
 * (its OBSOLETE tombstone lifted), what an agent is deleting finishes. The rules it removed stay
 * removed (their ids are in its rule-deleted events). REMOVAL_FINISHED once it is DONE.
 */
export async function cancelRemoval(db: EntityManager, id: string, account: string): Promise<RemovalView> {
  if (!isUuid(id)) throw removalNotFound(id);
  await db.transaction(async (tx) => {
    const removal = await lockRemoval(tx, id);
    if (removal.state === "CANCELLED") return;
    if (removal.state === "DONE") {
      throw new DbbError(ErrorCode.REMOVAL_FINISHED, `removal ${id} is DONE: nothing is pending any more`, { removal: id, state: removal.state });
    }
    await tx.query(`DROP TABLE IF EXISTS rm_released`);
    await tx.query(
      `CREATE TEMP TABLE rm_released ON COMMIT DROP AS
       WITH upd AS (
         UPDATE replicas r SET tombstone = NULL, removal_id = NULL, updated_at = now()
         WHERE r.removal_id = $1 AND r.state <> 'BEING_DELETED' RETURNING r.scope, r.name, r.rse_id)
       SELECT * FROM upd`,
      [id],
    );
    await tx.query(
      `UPDATE removal_files f SET state = 'CANCELLED', updated_at = now() FROM rm_released x
       WHERE f.removal_id = $1 AND f.state = 'PLANNED' AND f.scope = x.scope AND f.name = x.name AND f.rse_id = x.rse_id`,
      [id],
    );
    // A file with a copy left is not obsolete after all.
    await tx.query(
      `UPDATE dids d SET obsolete = false, updated_at = now()
       WHERE d.obsolete AND (d.scope, d.name) IN (SELECT scope, name FROM rm_released)`,
    );
    await tx.query(`UPDATE removal_facilities SET state = 'CANCELLED', updated_at = now() WHERE removal_id = $1 AND state <> 'DONE'`, [id]);
    await tx.query(`UPDATE removals SET state = 'CANCELLED', cancelled_by = $2, updated_at = now(), finished_at = now() WHERE id = $1`, [id, account]);
    const [{ n }] = await tx.query(`SELECT count(*)::int AS n FROM rm_released`);
    await appendEvent(tx, "removal-cancelled", null, { removal: id, cancelledBy: account, filesKept: n });
  });
  return getRemoval(db, id);
}

/** A facility's part of a removal that its agent should finish: the Butler side of what was deleted. */
export interface RemovalWork {
  id: string;
  runs: string[];
  collections: string[];
  state: RemovalFacilityState;
}

/** The removals whose part at `facility` waits for its agent to finish it (state FINISHING). */
export async function removalWork(db: EntityManager, facility: string): Promise<RemovalWork[]> {
  return db.query(
    `SELECT rm.id, rm.runs, rm.collections, p.state FROM removal_facilities p JOIN removals rm ON rm.id = p.removal_id
     WHERE lower(p.facility) = lower($1) AND p.state = 'FINISHING' AND rm.state = 'RUNNING' ORDER BY rm.created_at LIMIT 100`,
    [facility],
  );
}

export interface RemovalProgress {
  datasetsRemoved: number;
  collectionsRemoved: number;
  /** The facility finished its part (FINISHING → DONE). */
  finished: boolean;
}

/**
 * An agent's report of its facility's Butler side: the totals its registry removed for the removal
 * so far; with `finished`, the facility's part is DONE (only from FINISHING), and the removal is
 * DONE when every part is.
 */
export async function reportRemovalProgress(db: EntityManager, id: string, facility: string, progress: RemovalProgress): Promise<RemovalView> {
  if (!isUuid(id)) throw removalNotFound(id);
  for (const [field, v] of [["datasetsRemoved", progress.datasetsRemoved], ["collectionsRemoved", progress.collectionsRemoved]] as const) {
    if (!Number.isInteger(v) || v < 0) throw invalidInput(`${field} must be a whole number, 0 or more`, { field });
  }
  await db.transaction(async (tx) => {
    const removal = await lockRemoval(tx, id);
    const parts: Array<{ state: RemovalFacilityState; facility: string }> = await tx.query(
      `SELECT state, facility FROM removal_facilities WHERE removal_id = $1 AND lower(facility) = lower($2) FOR UPDATE`,
      [id, facility],
    );
    if (!parts.length) throw removalNotFound(id);
    const part = parts[0];
    if (progress.finished && part.state !== "FINISHING" && part.state !== "DONE") {
      throw new DbbError(
        ErrorCode.REMOVAL_NOT_READY,
        `removal ${id} is ${part.state} at ${part.facility}: files are still to be deleted there, or another facility has not said what its runs hold`,
        { removal: id, facility: part.facility, state: part.state },
      );
    }
    await tx.query(
      `UPDATE removal_facilities SET datasets_removed = $3, collections_removed = $4, updated_at = now(),
         state = CASE WHEN $5 AND state = 'FINISHING' THEN 'DONE' ELSE state END,
         finished_at = CASE WHEN $5 AND state = 'FINISHING' THEN now() ELSE finished_at END
       WHERE removal_id = $1 AND facility = $2`,
      [id, part.facility, progress.datasetsRemoved, progress.collectionsRemoved, progress.finished],
    );
    if (progress.finished && part.state === "FINISHING") {
      await appendEvent(tx, "removal-facility-done", part.facility, { removal: id, facility: part.facility, datasetsRemoved: progress.datasetsRemoved });
      const [{ open }] = await tx.query(`SELECT count(*)::int AS open FROM removal_facilities WHERE removal_id = $1 AND state <> 'DONE'`, [id]);
      if (!open && removal.state === "RUNNING") {
        await tx.query(`UPDATE removals SET state = 'DONE', finished_at = now(), updated_at = now() WHERE id = $1`, [id]);
        await appendEvent(tx, "removal-done", null, { removal: id, requestedBy: removal.requestedBy, reason: removal.reason });
      }
    }
  });
  return getRemoval(db, id);
}

/**
 * The judge's part: asks again the facilities that did not answer (when due) and re-plans with
 * what they said; moves parts on; turns DIDs past their lifetime into removals. Safe in several
 * catalog processes at once (claims with SKIP LOCKED).
 */
export async function advanceRemovals(db: EntityManager, lookup: ButlerLookup, settings: RemovalSettings, limit = 20): Promise<{ resolved: number; expired: number }> {
  // Claim due resolutions by pushing their next attempt out, so another process does not ask too.
  const due: Array<{ removalId: string; facility: string; runs: string[]; collections: string[] }> = await db.transaction((tx) =>
    tx.query(
      `WITH picked AS (
         SELECT p.removal_id, p.facility FROM removal_facilities p JOIN removals rm ON rm.id = p.removal_id
         WHERE NOT p.resolved AND p.next_resolve_at <= now() AND rm.state IN ('PLANNED', 'RUNNING')
         ORDER BY p.next_resolve_at LIMIT $1 FOR UPDATE OF p SKIP LOCKED),
       upd AS (
         UPDATE removal_facilities p SET next_resolve_at = now() + interval '5 minutes' FROM picked k
         WHERE p.removal_id = k.removal_id AND p.facility = k.facility RETURNING p.removal_id, p.facility)
       SELECT u.removal_id AS "removalId", u.facility, rm.runs, rm.collections FROM upd u JOIN removals rm ON rm.id = u.removal_id`,
      [limit],
    ),
  );
  let resolved = 0;
  for (const d of due) {
    const [r] = await resolveButler(lookup, [d.facility], d.runs, d.collections);
    await db.transaction(async (tx) => {
      const removal = await lockRemoval(tx, d.removalId);
      if (removal.state !== "PLANNED" && removal.state !== "RUNNING") return;
      await recordResolution(tx, d.removalId, r, settings);
      if ("files" in r) {
        resolved++;
        await planRemoval(tx, removal, await targetFacilities(tx, removal.facilities), settings);
      }
    });
  }
  await db.transaction((tx) => advanceParts(tx, `SELECT id FROM removals WHERE state = 'RUNNING'`, []));
  const expired = await expireDids(db, settings);
  return { resolved, expired };
}

/** DIDs past their lifetime (Rucio's expired_at) are removed the same way, everywhere, by one removal a round. */
export async function expireDids(db: EntityManager, settings: RemovalSettings, limit = 10000): Promise<number> {
  return db.transaction(async (tx) => {
    const rows: Array<{ scope: string; name: string }> = await tx.query(
      `SELECT d.scope, d.name FROM dids d
       WHERE d.expired_at <= now() AND NOT d.obsolete
         AND NOT EXISTS (SELECT 1 FROM removal_candidates c JOIN removals rm ON rm.id = c.removal_id
                         WHERE c.scope = d.scope AND c.name = d.name AND rm.origin = 'expiry' AND rm.state IN ('PLANNED', 'RUNNING', 'DONE'))
       ORDER BY d.expired_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED`,
      [limit],
    );
    if (!rows.length) return 0;
    const input: CheckedInput = { runs: [], collections: [], dids: rows, facilities: null, reason: "lifetime expired", dryRun: false };
    const facilities = await targetFacilities(tx, null);
    const id = await insertRemoval(tx, "judge", input, facilities, "expiry");
    // A dataset or container past its lifetime is a candidate itself, so that one with no files is not expired again.
    await tx.query(
      `INSERT INTO removal_candidates (removal_id, scope, name) SELECT $1, k.scope, k.name FROM unnest($2::text[], $3::text[]) AS k(scope, name) ON CONFLICT DO NOTHING`,
      [id, rows.map((r) => r.scope), rows.map((r) => r.name)],
    );
    await planRemoval(tx, await lockRemoval(tx, id), facilities, settings);
    return rows.length;
  });
}
