import type { EntityManager } from "typeorm";
import { DEADLOCK_DETECTED, queryRows, sqlState } from "../../lib/database";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { keysetPage, SqlFilter } from "../../lib/keyset-page";
import { decodeCursor, Page } from "../../lib/pagination";
import { didNotFound, DidKey, getDid } from "./did";
import { appendEvent, appendEventsFrom } from "./event";
import { checkDidName, checkScope, isUuid } from "./identifiers";
import { applyRule, Candidate, Grouping, queueTransfers, RuleForEvaluation } from "./lock";
import { listRses } from "./rse";

export type RuleState = "OK" | "REPLICATING" | "STUCK" | "SUSPENDED";
export const GROUPINGS: readonly Grouping[] = ["ALL", "DATASET", "NONE"];

export interface RuleRow extends RuleForEvaluation {
  scope: string;
  name: string;
  rseExpression: string;
  sourceReplicaExpression: string | null;
  expiresAt: Date | null;
  purgeReplicas: boolean;
  locked: boolean;
  comment: string | null;
  state: RuleState;
  locksOk: number;
  locksReplicating: number;
  locksStuck: number;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** created_at at full (microsecond) precision, for cursors. */
  cursorAt: string;
  /** The subscription that created the rule, if one did. */
  subscriptionId: string | null;
}

export const RULE_COLUMNS = `ru.id, ru.scope, ru.name, ru.account, ru.rse_expression AS "rseExpression", ru.copies, ru.grouping,
  ru.source_replica_expression AS "sourceReplicaExpression", ru.source_rse_ids AS "sourceRseIds", ru.expires_at AS "expiresAt",
  ru.activity, ru.priority, ru.purge_replicas AS "purgeReplicas", ru.locked, ru.comment, ru.state,
  ru.locks_ok_cnt AS "locksOk", ru.locks_replicating_cnt AS "locksReplicating", ru.locks_stuck_cnt AS "locksStuck",
  ru.error, ru.created_at AS "createdAt", ru.updated_at AS "updatedAt", ru.created_at::text AS "cursorAt", ru.subscription_id AS "subscriptionId"`;

export interface AddRuleInput {
  did: DidKey;
  rseExpression: string;
  copies?: number | null;
  grouping?: Grouping | null;
  sourceReplicaExpression?: string | null;
  /** Seconds until the rule expires; none = forever. */
  lifetime?: number | null;
  activity?: string | null;
  priority?: number | null;
  purgeReplicas?: boolean | null;
  locked?: boolean | null;
  comment?: string | null;
}

function ruleNotFound(id: string): DbbError {
  return new DbbError(ErrorCode.RULE_NOT_FOUND, `rule ${id} does not exist`, { rule: id });
}

export function checkRuleId(id: string): string {
  if (!isUuid(id)) throw ruleNotFound(id);
  return id.toLowerCase();
}

export function checkLifetime(lifetime: number | null | undefined): number | null {
  if (lifetime === null || lifetime === undefined) return null;
  if (!Number.isInteger(lifetime) || lifetime < 1) throw invalidInput(`lifetime must be a whole number of seconds, 1 or more`, { field: "lifetime" });
  return lifetime;
}

export function checkPriority(priority: number | null | undefined): number {
  if (priority === null || priority === undefined) return 3;
  if (!Number.isInteger(priority) || priority < 1 || priority > 5) throw invalidInput(`priority must be 1 (lowest) to 5 (highest)`, { field: "priority" });
  return priority;
}

export function checkActivity(activity: string | null | undefined): string {
  if (activity === null || activity === undefined) return "default";
  if (!/^[A-Za-z0-9 _.\-]{1,64}$/.test(activity)) throw invalidInput(`activity must be 1-64 letters, digits, spaces, '_', '.', '-'`, { field: "activity" });
  return activity;
}

/**
 * The writable RSEs an expression selects: where a rule may place its copies.
 * INSUFFICIENT_TARGET_RSES when there are fewer than `copies`.
 */
export async function targetCandidates(tx: EntityManager, expression: string, copies: number): Promise<Candidate[]> {
  const candidates = (await listRses(tx, expression)).filter((r) => r.availabilityWrite).map((r) => ({ id: r.id, name: r.name }));
  if (candidates.length < copies) {
    throw new DbbError(
      ErrorCode.INSUFFICIENT_TARGET_RSES,
      `'${expression}' selects ${candidates.length} writable RSE(s) but the rule wants ${copies} copies`,
      { rseExpression: expression, copies, available: candidates.map((c) => c.name) },
    );
  }
  return candidates;
}

export async function getRule(db: EntityManager, id: string): Promise<RuleRow> {
  const rows: RuleRow[] = await db.query(`SELECT ${RULE_COLUMNS} FROM rules ru WHERE ru.id = $1`, [checkRuleId(id)]);
  if (!rows.length) throw ruleNotFound(id);
  return rows[0];
}

export async function rulesById(db: EntityManager, ids: readonly string[]): Promise<RuleRow[]> {
  return db.query(`SELECT ${RULE_COLUMNS} FROM rules ru WHERE ru.id = ANY($1::uuid[])`, [ids.filter((i) => isUuid(i))]);
}

/** A rule found for a DID: `forScope`/`forName` name the DID it was asked for. */
export type AssociatedRuleRow = RuleRow & { forScope: string; forName: string };

/**
 * The rules that concern each DID, oldest first: those made on the DID itself and those holding a
 * lock on it, so a file shows the rules made on its datasets and containers too (Rucio's
 * list_associated_rules_for_file). One statement for all the DIDs.
 */
export async function rulesOfDids(db: EntityManager, keys: readonly DidKey[]): Promise<AssociatedRuleRow[]> {
  return db.query(
    `WITH k AS (SELECT * FROM unnest($1::text[], $2::text[]) AS k(scope, name)),
     m AS (SELECT k.scope, k.name, ru.id FROM k JOIN rules ru ON ru.scope = k.scope AND ru.name = k.name
           UNION
           SELECT k.scope, k.name, l.rule_id FROM k JOIN locks l ON l.scope = k.scope AND l.name = k.name)
     SELECT m.scope AS "forScope", m.name AS "forName", ${RULE_COLUMNS} FROM m JOIN rules ru ON ru.id = m.id
     ORDER BY ru.created_at, ru.id`,
    [keys.map((k) => k.scope), keys.map((k) => k.name)],
  );
}

/** A rule that holds a lock on a transfer's destination replica; `forScope`/`forName`/`forRse` name it. */
export type ReplicaRuleRow = RuleRow & { forScope: string; forName: string; forRse: string };

/** The rules holding a lock on each replica (scope, name, RSE id), oldest first, in one statement. */
export async function rulesOfReplicas(db: EntityManager, keys: readonly { scope: string; name: string; rseId: string }[]): Promise<ReplicaRuleRow[]> {
  return db.query(
    `SELECT k.scope AS "forScope", k.name AS "forName", k.rse_id::text AS "forRse", ${RULE_COLUMNS}
     FROM unnest($1::text[], $2::text[], $3::uuid[]) AS k(scope, name, rse_id)
     JOIN locks l ON l.scope = k.scope AND l.name = k.name AND l.rse_id = k.rse_id
     JOIN rules ru ON ru.id = l.rule_id
     ORDER BY ru.created_at, ru.id`,
    [keys.map((k) => k.scope), keys.map((k) => k.name), keys.map((k) => k.rseId)],
  );
}

/**
 * Recomputes the lock counters and the state of rules (a SUSPENDED rule stays suspended) and
 * records rule-ok / rule-stuck / rule-replicating events for the rules whose state changed.
 */
export async function refreshRules(tx: EntityManager, ruleIdsSql: string, params: unknown[] = []): Promise<void> {
  // Lock the rules first (in id order, so concurrent refreshes cannot deadlock): the counts below
  // then come from a snapshot taken after any concurrent refresh of the same rules committed.
  await tx.query(`SELECT id FROM rules WHERE id IN (${ruleIdsSql}) ORDER BY id FOR UPDATE`, params);
  await tx.query(`DROP TABLE IF EXISTS rule_changes`);
  await tx.query(
    `CREATE TEMP TABLE rule_changes ON COMMIT DROP AS
     WITH counts AS (
       SELECT ru.id, ru.state AS old_state,
              count(l.*) FILTER (WHERE l.state = 'OK') AS ok,
              count(l.*) FILTER (WHERE l.state = 'REPLICATING') AS replicating,
              count(l.*) FILTER (WHERE l.state = 'STUCK') AS stuck
       FROM rules ru LEFT JOIN locks l ON l.rule_id = ru.id
       WHERE ru.id IN (${ruleIdsSql}) GROUP BY ru.id, ru.state),
     upd AS (
       UPDATE rules ru SET locks_ok_cnt = c.ok, locks_replicating_cnt = c.replicating, locks_stuck_cnt = c.stuck,
         state = CASE WHEN ru.state = 'SUSPENDED' THEN 'SUSPENDED'::rule_state
                      WHEN c.stuck > 0 THEN 'STUCK'::rule_state
                      WHEN c.replicating > 0 THEN 'REPLICATING'::rule_state
                      ELSE 'OK'::rule_state END,
         error = CASE WHEN c.stuck > 0 THEN ru.error ELSE NULL END,
         updated_at = now()
       FROM counts c WHERE ru.id = c.id
       RETURNING ru.id, ru.scope, ru.name, ru.state, ru.error)
     SELECT upd.*, c.old_state FROM upd JOIN counts c ON c.id = upd.id`,
    params,
  );
  for (const [state, type] of [
    ["OK", "rule-ok"],
    ["STUCK", "rule-stuck"],
    ["REPLICATING", "rule-replicating"],
  ] as const) {
    await appendEventsFrom(
      tx,
      type,
      `SELECT NULL::text AS facility, jsonb_build_object('rule', id, 'scope', scope, 'name', name, 'error', error) AS payload
       FROM rule_changes WHERE state = $1 AND old_state IS DISTINCT FROM state`,
      [state],
    );
  }
}

/**
 * Adds a replication rule: resolves the RSE expression over writable RSEs, places `copies`
 * copies per the grouping, locks every file below the DID, and queues transfers where no
 * AVAILABLE replica exists. All in one transaction.
 */
export async function addRule(db: EntityManager, account: string, input: AddRuleInput): Promise<RuleRow> {
  const did = { scope: checkScope(input.did?.scope, { field: "did.scope" }), name: checkDidName(input.did?.name, { field: "did.name" }) };
  const copies = input.copies ?? 1;
  if (!Number.isInteger(copies) || copies < 1 || copies > 100) throw invalidInput(`copies must be a whole number from 1 to 100`, { field: "copies" });
  const grouping = input.grouping ?? "DATASET";
  if (!GROUPINGS.includes(grouping)) throw invalidInput(`grouping must be ALL, DATASET or NONE`, { field: "grouping" });
  if (typeof input.rseExpression !== "string") throw invalidInput("rseExpression is required", { field: "rseExpression" });
  const lifetime = checkLifetime(input.lifetime);
  const priority = checkPriority(input.priority);
  const activity = checkActivity(input.activity);
  if (input.comment != null && input.comment.length > 1000) throw invalidInput("comment is limited to 1000 characters", { field: "comment" });
  return db.transaction(async (tx) => {
    await getDid(tx, did).catch((err) => {
      throw err instanceof DbbError ? didNotFound(did, { field: "did" }) : err;
    });
    const candidates = await targetCandidates(tx, input.rseExpression, copies);
    const sourceRseIds = input.sourceReplicaExpression ? (await listRses(tx, input.sourceReplicaExpression)).map((r) => r.id) : null;
    const [{ id }] = await tx.query(
      `INSERT INTO rules (scope, name, account, rse_expression, copies, grouping, source_replica_expression, source_rse_ids,
                          expires_at, activity, priority, purge_replicas, locked, comment)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), $10, $11, $12, $13, $14) RETURNING id`,
      [
        did.scope,
        did.name,
        account,
        input.rseExpression,
        copies,
        grouping,
        input.sourceReplicaExpression ?? null,
        sourceRseIds,
        lifetime,
        activity,
        priority,
        input.purgeReplicas ?? false,
        input.locked ?? false,
        input.comment ?? null,
      ],
    );
    const rule = await getRule(tx, id);
    await appendEvent(tx, "rule-created", null, { rule: id, scope: did.scope, name: did.name, account, rseExpression: rule.rseExpression });
    await applyRule(tx, rule, [did], candidates, { newRule: true });
    await refreshRules(tx, `SELECT $1::uuid`, [id]);
    return getRule(tx, id);
  });
}

/**
 * Extends the rules that cover `parent` (directly or through its ancestors) to files newly
 * attached below it. Called inside attachDids' transaction.
 */
export async function applyRulesToAttachment(tx: EntityManager, parent: DidKey & { type: string }, children: DidKey[]): Promise<void> {
  const rules: RuleRow[] = await tx.query(
    `WITH RECURSIVE up(scope, name) AS (
       SELECT $1::text, $2::text
       UNION
       SELECT a.parent_scope, a.parent_name FROM attachments a JOIN up ON a.child_scope = up.scope AND a.child_name = up.name)
     SELECT ${RULE_COLUMNS} FROM rules ru JOIN up ON ru.scope = up.scope AND ru.name = up.name ORDER BY ru.created_at`,
    [parent.scope, parent.name],
  );
  const group = parent.type === "DATASET" ? `${parent.scope}:${parent.name}` : null;
  for (const rule of rules) {
    const candidates = await targetCandidates(tx, rule.rseExpression, rule.copies);
    await applyRule(tx, rule, children.map((c) => ({ ...c, group })), candidates);
  }
  if (rules.length) await refreshRules(tx, `SELECT unnest($1::uuid[])`, [rules.map((r) => r.id)]);
}

export interface RuleFilter {
  state?: RuleState | null;
  account?: string | null;
  scope?: string | null;
  name?: string | null;
  activity?: string | null;
  /** The name of the subscription that created the rules. */
  subscription?: string | null;
  first?: number | null;
  after?: string | null;
}

/** Rules by state, account, DID, activity and creating subscription; newest first. */
export async function listRules(db: EntityManager, filter: RuleFilter): Promise<Page<RuleRow>> {
  const where = new SqlFilter();
  if (filter.state) where.add((p) => `ru.state = ${p}`, filter.state);
  if (filter.account) where.add((p) => `ru.account = ${p}`, filter.account);
  if (filter.scope) where.add((p) => `ru.scope = ${p}`, filter.scope);
  if (filter.name) where.add((p) => `ru.name = ${p}`, filter.name);
  if (filter.activity) where.add((p) => `ru.activity = ${p}`, filter.activity);
  if (filter.subscription) where.add((p) => `ru.subscription_id = (SELECT id FROM subscriptions WHERE name = ${p})`, filter.subscription);
  return keysetPage<RuleRow>(db, {
    select: `SELECT ${RULE_COLUMNS}`,
    from: "FROM rules ru",
    filter: where,
    orderBy: "ru.created_at DESC, ru.id DESC",
    after: filter.after ? { key: decodeCursor(filter.after, ["time", "uuid"]), sql: (at, id) => `(ru.created_at, ru.id) < (${at}::timestamptz, ${id}::uuid)` } : null,
    first: filter.first,
    keyOf: (r) => [r.cursorAt, r.id],
  });
}

export interface UpdateRuleInput {
  lifetime?: number | null;
  locked?: boolean | null;
  comment?: string | null;
  activity?: string | null;
  priority?: number | null;
}

/** Changes a rule's lifetime (from now), lock, comment, activity or priority; omitted ones stay. */
export async function updateRule(db: EntityManager, id: string, input: UpdateRuleInput): Promise<RuleRow> {
  const lifetime = checkLifetime(input.lifetime);
  const priority = input.priority != null ? checkPriority(input.priority) : null;
  const activity = input.activity != null ? checkActivity(input.activity) : null;
  return db.transaction(async (tx) => {
    const rows = await queryRows<{ id: string }>(
      tx,
      `UPDATE rules SET expires_at = CASE WHEN $2::int IS NULL THEN expires_at ELSE now() + make_interval(secs => $2::int) END,
         locked = COALESCE($3, locked), comment = COALESCE($4, comment), activity = COALESCE($5, activity),
         priority = COALESCE($6, priority), updated_at = now()
       WHERE id = $1 RETURNING id`,
      [checkRuleId(id), lifetime, input.locked ?? null, input.comment ?? null, activity, priority],
    );
    if (!rows.length) throw ruleNotFound(id);
    // Queued transfers follow the rule's new priority and activity.
    if (priority !== null || activity !== null) {
      await tx.query(
        `UPDATE transfer_requests SET priority = COALESCE($2, priority), activity = COALESCE($3, activity), updated_at = now()
         WHERE rule_id = $1 AND state = 'QUEUED'`,
        [id, priority, activity],
      );
    }
    return getRule(tx, id);
  });
}

/** Suspends a rule: its transfers are not handed to agents until it is resumed. */
export async function suspendRule(db: EntityManager, id: string): Promise<RuleRow> {
  return db.transaction(async (tx) => {
    const rule = await getRule(tx, id);
    if (rule.state !== "SUSPENDED") {
      await tx.query(`UPDATE rules SET state = 'SUSPENDED', updated_at = now() WHERE id = $1`, [rule.id]);
      await appendEvent(tx, "rule-suspended", null, { rule: rule.id, scope: rule.scope, name: rule.name });
    }
    return getRule(tx, id);
  });
}

export async function resumeRule(db: EntityManager, id: string): Promise<RuleRow> {
  return db.transaction(async (tx) => {
    const rule = await getRule(tx, id);
    if (rule.state === "SUSPENDED") {
      await tx.query(`UPDATE rules SET state = 'REPLICATING', updated_at = now() WHERE id = $1`, [rule.id]);
      await refreshRules(tx, `SELECT $1::uuid`, [rule.id]);
    }
    return getRule(tx, id);
  });
}

/** Re-queues the STUCK locks of a rule with fresh transfer requests (attempts start again). */
export async function retryRule(db: EntityManager, id: string): Promise<RuleRow> {
  return db.transaction(async (tx) => {
    const rule = await getRule(tx, id);
    await tx.query(`DROP TABLE IF EXISTS rule_retry`);
    await tx.query(
      `CREATE TEMP TABLE rule_retry ON COMMIT DROP AS
       WITH upd AS (UPDATE locks SET state = 'REPLICATING', updated_at = now() WHERE rule_id = $1 AND state = 'STUCK' RETURNING scope, name, rse_id)
       SELECT * FROM upd`,
      [rule.id],
    );
    await tx.query(`UPDATE rules SET error = NULL WHERE id = $1`, [rule.id]);
    await queueTransfers(tx, rule, `SELECT scope, name, rse_id FROM rule_retry`);
    await refreshRules(tx, `SELECT $1::uuid`, [rule.id]);
    return getRule(tx, id);
  });
}

/**
 * Deletes a rule: releases its locks; replicas left without any lock get a tombstone (due at
 * once with purge_replicas, else after the tombstone delay); live transfers nobody needs any
 * more are cancelled. A locked rule is refused (RULE_LOCKED); expiry skips locked rules.
 */
export async function deleteRule(
  db: EntityManager,
  id: string,
  options: { tombstoneDelaySeconds: number },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows: RuleRow[] = await tx.query(`SELECT ${RULE_COLUMNS} FROM rules ru WHERE ru.id = $1 FOR UPDATE`, [checkRuleId(id)]);
    if (!rows.length) throw ruleNotFound(id);
    const rule = rows[0];
    if (rule.locked) throw new DbbError(ErrorCode.RULE_LOCKED, `rule ${id} is locked; unlock it with updateRule(locked: false) first`, { rule: id });
    await removeRule(tx, rule, options.tombstoneDelaySeconds, "deleted");
    return true;
  });
}

/** Why rules go: a caller deleted them, they expired, or a campaign removal retired their DIDs. */
export type RuleRemovalReason = "deleted" | "expired" | "obsolete";

/** Removes a rule held FOR UPDATE by the transaction: releases its locks, deletes it, records why. */
async function removeRule(tx: EntityManager, rule: RuleRow, tombstoneDelaySeconds: number, reason: "deleted" | "expired"): Promise<void> {
  await removeRules(tx, `SELECT $1::uuid`, [rule.id], { tombstoneDelaySeconds, reason });
}

/**
 * Removes the rules `ruleIdsSql` selects (the caller holds them FOR UPDATE), set-based whatever
 * their number: releases their locks; a replica left without any lock gets a tombstone (due at
 * once where a released rule purges replicas, else after the tombstone delay); live transfers no
 * rule needs any more are cancelled; the rules are deleted with a `rule-deleted` (or
 * `rule-expired`) event each. Leaves the temporary table `rule_unprotected (scope, name, rse_id,
 * tombstone)` of the replicas it left unprotected, for the caller. Returns how many rules went.
 */
export async function removeRules(
  tx: EntityManager,
  ruleIdsSql: string,
  params: unknown[],
  options: { tombstoneDelaySeconds: number; reason: RuleRemovalReason; removal?: string | null },
): Promise<number> {
  await tx.query(`DROP TABLE IF EXISTS rule_gone`);
  await tx.query(`CREATE TEMP TABLE rule_gone ON COMMIT DROP AS SELECT id, scope, name, purge_replicas FROM rules WHERE id IN (${ruleIdsSql})`, params);
  await tx.query(`DROP TABLE IF EXISTS rule_released`);
  await tx.query(
    `CREATE TEMP TABLE rule_released ON COMMIT DROP AS
     WITH del AS (DELETE FROM locks l USING rule_gone g WHERE l.rule_id = g.id RETURNING l.scope, l.name, l.rse_id, l.rule_id, g.purge_replicas)
     SELECT scope, name, rse_id, count(*) AS n, bool_or(purge_replicas) AS purge, array_agg(rule_id) AS rules FROM del GROUP BY scope, name, rse_id`,
  );
  await tx.query(`DROP TABLE IF EXISTS rule_unprotected`);
  await tx.query(
    `CREATE TEMP TABLE rule_unprotected ON COMMIT DROP AS
     WITH upd AS (
       UPDATE replicas r SET lock_cnt = greatest(r.lock_cnt - l.n, 0),
         tombstone = CASE WHEN r.lock_cnt - l.n <= 0
                          THEN least(coalesce(r.tombstone, 'infinity'), now() + make_interval(secs => CASE WHEN l.purge THEN 0 ELSE $1 END))
                          ELSE r.tombstone END,
         updated_at = now()
       FROM rule_released l WHERE r.scope = l.scope AND r.name = l.name AND r.rse_id = l.rse_id
       RETURNING r.scope, r.name, r.rse_id, r.lock_cnt, r.tombstone, l.rules)
     SELECT * FROM upd WHERE lock_cnt = 0`,
    [options.tombstoneDelaySeconds],
  );
  await appendEventsFrom(
    tx,
    "deletion-queued",
    `SELECT s.facility, jsonb_build_object('scope', u.scope, 'name', u.name, 'rse', s.name, 'facility', s.facility, 'due', u.tombstone) AS payload
     FROM rule_unprotected u JOIN rses s ON s.id = u.rse_id`,
    [],
  );
  // Transfers to replicas that no rule protects any more are cancelled.
  await tx.query(`DROP TABLE IF EXISTS rule_cancelled`);
  await tx.query(
    `CREATE TEMP TABLE rule_cancelled ON COMMIT DROP AS
     WITH upd AS (
       UPDATE transfer_requests t SET state = 'FAILED', error_code = 'CANCELLED', last_error = 'cancelled: no rule needs this copy any more',
         lease = NULL, finished_at = now(), updated_at = now()
       FROM rule_unprotected u
       WHERE t.scope = u.scope AND t.name = u.name AND t.dest_rse_id = u.rse_id AND t.state IN ('QUEUED', 'SUBMITTED')
       RETURNING t.id, t.scope, t.name, t.dest_rse_id, u.rules)
     SELECT * FROM upd`,
  );
  await appendEventsFrom(
    tx,
    "transfer-cancelled",
    `SELECT s.facility, jsonb_build_object('request', c.id, 'scope', c.scope, 'name', c.name, 'rse', s.name, 'facility', s.facility,
                                           'rules', to_jsonb(c.rules)) AS payload
     FROM rule_cancelled c JOIN rses s ON s.id = c.dest_rse_id`,
    [],
  );
  const [{ count }] = await tx.query(`WITH d AS (DELETE FROM rules WHERE id IN (SELECT id FROM rule_gone) RETURNING 1) SELECT count(*)::int AS count FROM d`);
  const removal = options.removal ? `, 'removal', $1::text` : "";
  await appendEventsFrom(
    tx,
    options.reason === "expired" ? "rule-expired" : "rule-deleted",
    `SELECT NULL::text AS facility, jsonb_build_object('rule', id, 'scope', scope, 'name', name${options.reason === "obsolete" ? `, 'reason', 'obsolete'` : ""}${removal}) AS payload
     FROM rule_gone`,
    options.removal ? [options.removal] : [],
  );
  return count;
}

/**
 * Deletes expired rules that are not locked, up to `limit` in one round, one rule per
 * transaction; returns how many. Each rule is claimed with FOR UPDATE SKIP LOCKED, so several
 * catalog processes running this at once share the work and never take the same rule; a process
 * that dies mid-rule rolls back, and the rule is taken by the next round of any process.
 */
export async function expireRules(db: EntityManager, tombstoneDelaySeconds: number, limit = 1000): Promise<number> {
  let n = 0;
  let deadlocks = 0;
  while (n < limit) {
    const removed = await db
      .transaction(async (tx) => {
        const rows: RuleRow[] = await tx.query(
          `SELECT ${RULE_COLUMNS} FROM rules ru WHERE ru.expires_at <= now() AND NOT ru.locked ORDER BY ru.expires_at, ru.id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        );
        if (!rows.length) return false;
        await removeRule(tx, rows[0], tombstoneDelaySeconds, "expired");
        return true;
      })
      .catch((err) => {
        // Two processes releasing rules that share replicas can deadlock on those rows; Postgres
        // rolls one back, and its rule is simply taken again.
        if (sqlState(err) === DEADLOCK_DETECTED && ++deadlocks <= 3) return null;
        throw err;
      });
    if (removed === false) break;
    if (removed) n++;
  }
  return n;
}
