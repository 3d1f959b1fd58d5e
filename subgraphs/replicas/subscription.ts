import type { EntityManager } from "typeorm";
import { sqlState, UNIQUE_VIOLATION } from "../../lib/database";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { DidRow, DID_COLUMNS } from "./did";
import { isUuid } from "./identifiers";
import { addRulesInBatch, CheckedRuleTemplate, checkRuleTemplate } from "./rule-batch";
import { checkSubscriptionFilter, compileSubscriptionFilter, skyMatches, SubscriptionFilter } from "./subscription-filter";

/**
 * Subscriptions (Rucio's subscriptions, DMTN-198's policies): a filter over DIDs and rule
 * templates; every DID the filter takes gets one rule per template, exactly once — the row
 * (subscription, template, DID) in subscription_rules is the key, so restarts, repeated events,
 * several catalog processes and a re-evaluation running beside the matcher never make a second.
 *
 * The matcher follows the event log (did-registered, did-metadata-changed) with a cursor stored
 * in the database, a batch at a time, and commits the cursor with the rules it made. A DID whose
 * metadata arrives after it was registered is matched then. `reevaluateSubscription` applies a
 * subscription to the DIDs already there, as a job worked off in batches by the same loop.
 * Every step is set-based: a batch costs a fixed number of statements per subscription and
 * template, however many DIDs it holds.
 */
export interface SubscriptionRow {
  id: string;
  name: string;
  account: string;
  filter: SubscriptionFilter;
  rules: Array<CheckedRuleTemplate>;
  comment: string | null;
  active: boolean;
  state: SubscriptionState;
  matchedDids: number;
  rulesCreated: number;
  lastProcessed: Date | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** INACTIVE: switched off; REEVALUATING: a re-evaluation job is open; FAILING: the last batch failed (lastError); else ACTIVE. */
export type SubscriptionState = "ACTIVE" | "INACTIVE" | "REEVALUATING" | "FAILING";

export interface SubscriptionSettings {
  /** How often the matcher looks for new events and open jobs. */
  intervalSeconds: number;
  /** Events (matcher) or DIDs (re-evaluation) per transaction. */
  batchSize: number;
}

const COLUMNS = `s.id, s.name, s.account, s.filter, s.rules, s.comment, s.active,
  CASE WHEN NOT s.active THEN 'INACTIVE'
       WHEN EXISTS (SELECT 1 FROM subscription_jobs j WHERE j.subscription_id = s.id AND j.state IN ('QUEUED', 'RUNNING')) THEN 'REEVALUATING'
       WHEN s.last_error IS NOT NULL THEN 'FAILING' ELSE 'ACTIVE' END AS state,
  s.matched_dids::float8 AS "matchedDids", s.rules_created::float8 AS "rulesCreated", s.last_processed AS "lastProcessed",
  s.last_error AS "lastError", s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$/;

export function subscriptionNotFound(name: string): DbbError {
  return new DbbError(ErrorCode.SUBSCRIPTION_NOT_FOUND, `subscription '${name}' does not exist; list them with subscriptions { name }`, { subscription: name });
}

export interface SubscriptionInput {
  name: string;
  filter: unknown;
  rules: unknown[];
  comment?: string | null;
  active?: boolean | null;
}

export type SubscriptionPatch = Partial<Omit<SubscriptionInput, "name">>;

function checkName(name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw invalidInput("a subscription name is 1-100 letters, digits, '_', '.', '-', starting with a letter or digit", { field: "name" });
  }
  return name;
}

function checkTemplates(rules: unknown): Array<CheckedRuleTemplate> {
  if (!Array.isArray(rules) || !rules.length || rules.length > 20) throw invalidInput("rules must list 1 to 20 rule templates", { field: "rules" });
  return rules.map((r, i) => checkRuleTemplate(r, `rules[${i}]`));
}

function checkComment(comment: unknown): string | null {
  if (comment == null) return null;
  if (typeof comment !== "string" || comment.length > 1000) throw invalidInput("comment is a string of at most 1000 characters", { field: "comment" });
  return comment;
}

export async function getSubscription(db: EntityManager, name: string): Promise<SubscriptionRow> {
  const rows: SubscriptionRow[] = await db.query(`SELECT ${COLUMNS} FROM subscriptions s WHERE s.name = $1`, [name]);
  if (!rows.length) throw subscriptionNotFound(name);
  return rows[0];
}

export async function subscriptionsById(db: EntityManager, ids: readonly string[]): Promise<SubscriptionRow[]> {
  return db.query(`SELECT ${COLUMNS} FROM subscriptions s WHERE s.id = ANY($1::uuid[])`, [ids.filter(isUuid)]);
}

/** Every subscription (optionally one account's), by name. */
export async function listSubscriptions(db: EntityManager, filter: { account?: string | null } = {}): Promise<SubscriptionRow[]> {
  return db.query(`SELECT ${COLUMNS} FROM subscriptions s WHERE ($1::text IS NULL OR s.account = $1) ORDER BY s.name`, [filter.account ?? null]);
}

/** Adds a subscription; it matches DIDs registered or changed from now on (reevaluate for those already there). */
export async function addSubscription(db: EntityManager, account: string, input: SubscriptionInput): Promise<SubscriptionRow> {
  const name = checkName(input?.name);
  const filter = checkSubscriptionFilter(input.filter);
  const rules = checkTemplates(input.rules);
  const comment = checkComment(input.comment);
  if (input.active != null && typeof input.active !== "boolean") throw invalidInput("active must be true or false", { field: "active" });
  try {
    await db.query(`INSERT INTO subscriptions (name, account, filter, rules, comment, active) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6)`, [
      name,
      account,
      JSON.stringify(filter),
      JSON.stringify(rules),
      comment,
      input.active ?? true,
    ]);
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new DbbError(ErrorCode.SUBSCRIPTION_ALREADY_EXISTS, `subscription '${name}' already exists; change it with updateSubscription`, { subscription: name });
    }
    throw err;
  }
  return getSubscription(db, name);
}

/**
 * Changes a subscription's filter, templates, comment or active flag (omitted ones stay). The
 * change applies to DIDs matched from now on; rules already made stay. Templates are known by
 * their position: a DID that got a rule from template i does not get another from a changed i.
 */
export async function updateSubscription(db: EntityManager, name: string, patch: SubscriptionPatch): Promise<SubscriptionRow> {
  const filter = patch.filter != null ? JSON.stringify(checkSubscriptionFilter(patch.filter)) : null;
  const rules = patch.rules != null ? JSON.stringify(checkTemplates(patch.rules)) : null;
  const comment = patch.comment !== undefined ? checkComment(patch.comment) : undefined;
  if (patch.active != null && typeof patch.active !== "boolean") throw invalidInput("active must be true or false", { field: "active" });
  const rows = await db.query(
    `UPDATE subscriptions SET filter = COALESCE($2::jsonb, filter), rules = COALESCE($3::jsonb, rules),
       comment = CASE WHEN $4 THEN $5 ELSE comment END, active = COALESCE($6, active), last_error = NULL, updated_at = now()
     WHERE name = $1 RETURNING id`,
    [name, filter, rules, comment !== undefined, comment ?? null, patch.active ?? null],
  );
  if (!rows.length) throw subscriptionNotFound(name);
  return getSubscription(db, name);
}

/** Deletes a subscription; the rules it made stay (they no longer name it). */
export async function deleteSubscription(db: EntityManager, name: string): Promise<boolean> {
  const rows = await db.query(`DELETE FROM subscriptions WHERE name = $1 RETURNING id`, [name]);
  if (!rows.length) throw subscriptionNotFound(name);
  return true;
}

export interface MatchResult {
  /** DIDs that got their first rule from the subscription in this pass. */
  matched: number;
  rulesCreated: number;
}

/**
 * Applies a subscription to candidate DIDs (rows (scope, name) of `candidatesSql`) inside `tx`:
 * filters them in SQL (the sky band on the stored position), confirms a footprint exactly, and
 * makes one rule per template for each DID (or each dataset / file below it, by splitBy) that has
 * none from it yet. About 6 + 16 statements per template, whatever the number of candidates.
 */
export async function matchSubscription(tx: EntityManager, sub: Pick<SubscriptionRow, "id" | "account" | "filter" | "rules">, candidatesSql: string): Promise<MatchResult> {
  const compiled = compileSubscriptionFilter(sub.filter, "d", 1);
  const where = compiled.sql.length ? compiled.sql.join(" AND ") : "true";
  await tx.query(`DROP TABLE IF EXISTS sub_matched`);
  if (!compiled.sky) {
    await tx.query(
      `CREATE TEMP TABLE sub_matched ON COMMIT DROP AS
       SELECT d.scope, d.name, d.did_type FROM (${candidatesSql}) c JOIN dids d ON d.scope = c.scope AND d.name = c.name WHERE ${where}`,
      compiled.params,
    );
  } else {
    const rows: Array<{ scope: string; name: string; ra: number | null; dec: number | null; region: string | null }> = await tx.query(
      `SELECT d.scope, d.name, d.sky_ra AS ra, d.sky_dec AS dec, CASE WHEN d.sky_dec IS NULL THEN d.metadata ->> 'region' END AS region
       FROM (${candidatesSql}) c JOIN dids d ON d.scope = c.scope AND d.name = c.name WHERE ${where}`,
      compiled.params,
    );
    const inside = rows.filter((r) => skyMatches(compiled.sky!, r));
    await tx.query(
      `CREATE TEMP TABLE sub_matched ON COMMIT DROP AS
       SELECT d.scope, d.name, d.did_type FROM unnest($1::text[], $2::text[]) AS k(scope, name) JOIN dids d ON d.scope = k.scope AND d.name = k.name`,
      [inside.map((r) => r.scope), inside.map((r) => r.name)],
    );
  }
  await tx.query(`DROP TABLE IF EXISTS sub_touched`);
  await tx.query(`CREATE TEMP TABLE sub_touched (scope text, name text) ON COMMIT DROP`);
  let rulesCreated = 0;
  for (const [index, template] of sub.rules.entries()) {
    const targets =
      template.splitBy === "FILE" || template.splitBy === "DATASET"
        ? `WITH RECURSIVE tree(scope, name, did_type) AS (
             SELECT scope, name, did_type FROM sub_matched
             UNION
             SELECT c.scope, c.name, c.did_type FROM tree t
             JOIN attachments a ON a.parent_scope = t.scope AND a.parent_name = t.name
             JOIN dids c ON c.scope = a.child_scope AND c.name = a.child_name
             WHERE t.did_type <> 'FILE' ${template.splitBy === "DATASET" ? "AND t.did_type = 'CONTAINER'" : ""})
           SELECT DISTINCT scope, name FROM tree
           WHERE ${template.splitBy === "FILE" ? "did_type = 'FILE'" : "did_type <> 'CONTAINER'"}`
        : `SELECT scope, name FROM sub_matched`;
    await tx.query(`DROP TABLE IF EXISTS sub_new`);
    await tx.query(
      `CREATE TEMP TABLE sub_new ON COMMIT DROP AS
       WITH ins AS (
         INSERT INTO subscription_rules (subscription_id, template, scope, name, rule_id)
         SELECT $1, $2, t.scope, t.name, gen_random_uuid() FROM (${targets}) t
         ON CONFLICT DO NOTHING
         RETURNING rule_id, scope, name)
       SELECT * FROM ins`,
      [sub.id, index],
    );
    const [{ n: fresh }] = await tx.query(`SELECT count(*)::int AS n FROM sub_new`);
    if (!fresh) continue;
    rulesCreated += await addRulesInBatch(tx, sub.account, sub.id, template, `SELECT rule_id, scope, name FROM sub_new`);
    await tx.query(`INSERT INTO sub_touched SELECT scope, name FROM sub_new`);
  }
  const [{ n: matched }] = await tx.query(`SELECT count(*)::int AS n FROM (SELECT DISTINCT scope, name FROM sub_touched) t`);
  await tx.query(
    `UPDATE subscriptions SET matched_dids = matched_dids + $2, rules_created = rules_created + $3, last_processed = now(), last_error = NULL WHERE id = $1`,
    [sub.id, matched, rulesCreated],
  );
  return { matched, rulesCreated };
}

/**
 * Runs matchSubscription inside a savepoint: a template that cannot be placed (its RSEs are gone,
 * too few copies) records the error on the subscription (lastError, state FAILING) instead of
 * stopping the matcher for every other subscription. Other errors propagate.
 */
async function matchOrRecord(tx: EntityManager, sub: SubscriptionRow, candidatesSql: string): Promise<MatchResult & { error: string | null }> {
  await tx.query(`SAVEPOINT subscription_match`);
  try {
    const r = await matchSubscription(tx, sub, candidatesSql);
    await tx.query(`RELEASE SAVEPOINT subscription_match`);
    return { ...r, error: null };
  } catch (err) {
    await tx.query(`ROLLBACK TO SAVEPOINT subscription_match`);
    // A DbbError, or a value the database refuses (SQLSTATE class 22, data exception), belongs to
    // this subscription; anything else (the database going away) stops the round, to be retried.
    const dataException = sqlState(err)?.startsWith("22") ?? false;
    if (!(err instanceof DbbError) && !dataException) throw err;
    const error = err instanceof DbbError ? `${err.code}: ${err.message}` : `INVALID_INPUT: ${(err as Error).message}`;
    await tx.query(`UPDATE subscriptions SET last_error = $2, last_processed = now() WHERE id = $1`, [sub.id, error]);
    return { matched: 0, rulesCreated: 0, error };
  }
}

/** The events the matcher reads (a literal list, so the partial index events_did_txid serves the query). */
const DID_EVENTS = `'did-registered', 'did-metadata-changed'`;

export interface MatcherRound {
  /** False when another catalog process holds the matcher's cursor this round. */
  ran: boolean;
  events: number;
  matched: number;
  rulesCreated: number;
}

/**
 * One matcher batch: the next `batchSize` DID events after the stored cursor (only those of
 * transactions older than every running one, so an event committed late is never skipped),
 * matched against every active subscription, the cursor advanced — all in one transaction. The
 * cursor row is taken FOR UPDATE SKIP LOCKED: one process matches at a time, the others skip the
 * round; a process that dies mid-batch rolls back and the batch is matched again by whoever is next.
 */
export async function matchNewDids(db: EntityManager, settings: Pick<SubscriptionSettings, "batchSize">): Promise<MatcherRound> {
  return db.transaction(async (tx) => {
    const cursor: Array<{ txid: string; id: string }> = await tx.query(
      `SELECT after_txid::text AS txid, after_id::text AS id FROM subscription_matcher WHERE id = 1 FOR UPDATE SKIP LOCKED`,
    );
    if (!cursor.length) return { ran: false, events: 0, matched: 0, rulesCreated: 0 };
    await tx.query(`DROP TABLE IF EXISTS sub_events`);
    await tx.query(
      `CREATE TEMP TABLE sub_events ON COMMIT DROP AS
       SELECT e.txid, e.id, e.payload ->> 'scope' AS scope, e.payload ->> 'name' AS name FROM events e
       WHERE e.type IN (${DID_EVENTS}) AND (e.txid, e.id) > ($1::xid8, $2::bigint)
         AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY e.txid, e.id LIMIT $3`,
      [cursor[0].txid, cursor[0].id, settings.batchSize],
    );
    const last: Array<{ txid: string; id: string; n: number }> = await tx.query(
      `SELECT txid::text AS txid, id::text AS id, (SELECT count(*)::int FROM sub_events) AS n FROM sub_events ORDER BY txid DESC, id DESC LIMIT 1`,
    );
    if (!last.length) return { ran: true, events: 0, matched: 0, rulesCreated: 0 };
    const subs: SubscriptionRow[] = await tx.query(`SELECT ${COLUMNS} FROM subscriptions s WHERE s.active ORDER BY s.name`);
    let matched = 0;
    let rulesCreated = 0;
    if (subs.length) {
      await tx.query(`DROP TABLE IF EXISTS sub_candidates`);
      await tx.query(`CREATE TEMP TABLE sub_candidates ON COMMIT DROP AS SELECT DISTINCT scope, name FROM sub_events WHERE scope IS NOT NULL AND name IS NOT NULL`);
      for (const sub of subs) {
        const r = await matchOrRecord(tx, sub, `SELECT scope, name FROM sub_candidates`);
        matched += r.matched;
        rulesCreated += r.rulesCreated;
      }
    }
    await tx.query(`UPDATE subscription_matcher SET after_txid = $1::xid8, after_id = $2::bigint, updated_at = now() WHERE id = 1`, [last[0].txid, last[0].id]);
    return { ran: true, events: last[0].n, matched, rulesCreated };
  });
}

// ---------------------------------------------------------------------------------------------
// Re-evaluation (retroactive matching) as a background job
// ---------------------------------------------------------------------------------------------

export interface SubscriptionJobRow {
  id: string;
  subscriptionId: string;
  subscriptionName: string | null;
  account: string;
  state: "QUEUED" | "RUNNING" | "DONE" | "FAILED";
  /** DIDs the filter's SQL part selects (an upper bound of the matches when there is a footprint). */
  total: number | null;
  processed: number;
  matched: number;
  rulesCreated: number;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

const JOB_COLUMNS = `j.id, j.subscription_id AS "subscriptionId", (SELECT name FROM subscriptions s WHERE s.id = j.subscription_id) AS "subscriptionName",
  j.account, j.state, j.total::float8 AS total, j.processed::float8 AS processed, j.matched::float8 AS matched, j.rules_created::float8 AS "rulesCreated",
  j.error, j.created_at AS "createdAt", j.updated_at AS "updatedAt", j.finished_at AS "finishedAt"`;

export async function getSubscriptionJob(db: EntityManager, id: string): Promise<SubscriptionJobRow> {
  const rows: SubscriptionJobRow[] = isUuid(id) ? await db.query(`SELECT ${JOB_COLUMNS} FROM subscription_jobs j WHERE j.id = $1`, [id]) : [];
  if (!rows.length) throw new DbbError(ErrorCode.SUBSCRIPTION_JOB_NOT_FOUND, `subscription job ${id} does not exist`, { job: id });
  return rows[0];
}

/** The jobs of a subscription, newest first. */
export async function jobsOfSubscription(db: EntityManager, subscriptionId: string): Promise<SubscriptionJobRow[]> {
  return db.query(`SELECT ${JOB_COLUMNS} FROM subscription_jobs j WHERE j.subscription_id = $1 ORDER BY j.created_at DESC`, [subscriptionId]);
}

/**
 * Queues a re-evaluation of a subscription over every DID already registered; the matcher loop
 * works it off a batch per round (progress in the job). An open job of the same subscription is
 * returned instead of a second one.
 */
export async function reevaluateSubscription(db: EntityManager, account: string, name: string): Promise<SubscriptionJobRow> {
  return db.transaction(async (tx) => {
    const subs: Array<{ id: string }> = await tx.query(`SELECT id FROM subscriptions WHERE name = $1 FOR UPDATE`, [name]);
    if (!subs.length) throw subscriptionNotFound(name);
    const open: Array<{ id: string }> = await tx.query(`SELECT id FROM subscription_jobs WHERE subscription_id = $1 AND state IN ('QUEUED', 'RUNNING')`, [subs[0].id]);
    if (open.length) return getSubscriptionJob(tx, open[0].id);
    const [{ id }] = await tx.query(`INSERT INTO subscription_jobs (subscription_id, account) VALUES ($1, $2) RETURNING id`, [subs[0].id, account]);
    return getSubscriptionJob(tx, id);
  });
}

export interface JobRound {
  job: string | null;
  processed: number;
  matched: number;
  rulesCreated: number;
  done: boolean;
}

/**
 * One batch of the oldest open re-evaluation job: the next `batchSize` DIDs (in (scope, name)
 * order after the job's position) that the filter's SQL part selects, matched as the matcher
 * matches, the position and counts committed with the rules. Jobs are claimed FOR UPDATE SKIP
 * LOCKED, so several processes work different jobs at once.
 */
export async function runSubscriptionJobBatch(db: EntityManager, settings: Pick<SubscriptionSettings, "batchSize">): Promise<JobRound> {
  return db.transaction(async (tx) => {
    const jobs: Array<{ id: string; after_scope: string | null; after_name: string | null; total: string | null; subscription_id: string }> = await tx.query(
      `SELECT id, after_scope, after_name, total, subscription_id FROM subscription_jobs
       WHERE state IN ('QUEUED', 'RUNNING') ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    if (!jobs.length) return { job: null, processed: 0, matched: 0, rulesCreated: 0, done: false };
    const job = jobs[0];
    const [sub]: SubscriptionRow[] = await tx.query(`SELECT ${COLUMNS} FROM subscriptions s WHERE s.id = $1`, [job.subscription_id]);
    let compiled;
    try {
      compiled = compileSubscriptionFilter(sub.filter, "d", 1);
    } catch (err) {
      await tx.query(`UPDATE subscription_jobs SET state = 'FAILED', error = $2, finished_at = now(), updated_at = now() WHERE id = $1`, [job.id, (err as Error).message]);
      return { job: job.id, processed: 0, matched: 0, rulesCreated: 0, done: true };
    }
    const where = compiled.sql.length ? compiled.sql.join(" AND ") : "true";
    const n = compiled.params.length;
    if (job.total === null) {
      await tx.query(`UPDATE subscription_jobs SET total = (SELECT count(*) FROM dids d WHERE ${where}), state = 'RUNNING' WHERE id = $${n + 1}`, [...compiled.params, job.id]);
    }
    await tx.query(`DROP TABLE IF EXISTS sub_job_batch`);
    await tx.query(
      `CREATE TEMP TABLE sub_job_batch ON COMMIT DROP AS
       SELECT d.scope, d.name FROM dids d
       WHERE ${where} AND ($${n + 1}::text IS NULL OR (d.scope, d.name) > ($${n + 1}::text, $${n + 2}::text))
       ORDER BY d.scope, d.name LIMIT $${n + 3}`,
      [...compiled.params, job.after_scope, job.after_name, settings.batchSize],
    );
    const last: Array<{ scope: string; name: string; n: number }> = await tx.query(
      `SELECT scope, name, (SELECT count(*)::int FROM sub_job_batch) AS n FROM sub_job_batch ORDER BY scope DESC, name DESC LIMIT 1`,
    );
    const processed = last.length ? last[0].n : 0;
    const r = processed ? await matchOrRecord(tx, sub, `SELECT scope, name FROM sub_job_batch`) : { matched: 0, rulesCreated: 0, error: null };
    const done = processed < settings.batchSize || r.error !== null;
    await tx.query(
      `UPDATE subscription_jobs SET processed = processed + $2, matched = matched + $3, rules_created = rules_created + $4,
         after_scope = COALESCE($5, after_scope), after_name = COALESCE($6, after_name),
         state = CASE WHEN $8::text IS NOT NULL THEN 'FAILED'::subscription_job_state WHEN $7 THEN 'DONE'::subscription_job_state ELSE 'RUNNING'::subscription_job_state END,
         error = $8, finished_at = CASE WHEN $7 THEN now() END, updated_at = now()
       WHERE id = $1`,
      [job.id, processed, r.matched, r.rulesCreated, last[0]?.scope ?? null, last[0]?.name ?? null, done, r.error],
    );
    return { job: job.id, processed, matched: r.matched, rulesCreated: r.rulesCreated, done };
  });
}

export interface SubscriptionsRound {
  events: number;
  matched: number;
  rulesCreated: number;
  jobDids: number;
}

/** One round of the subscription loop: a matcher batch, then a batch of the oldest open job. */
export async function runSubscriptionsOnce(db: EntityManager, settings: SubscriptionSettings): Promise<SubscriptionsRound> {
  const m = await matchNewDids(db, settings);
  const j = await runSubscriptionJobBatch(db, settings);
  return { events: m.events, matched: m.matched + j.matched, rulesCreated: m.rulesCreated + j.rulesCreated, jobDids: j.processed };
}

/**
 * Runs subscription rounds until every DID event committed before the call is matched and no
 * job is open (for the demo, tests and `--once` tools; the loop does the same a round at a time).
 * An event becomes matchable once every transaction older than its own has ended — anywhere in
 * the Postgres cluster, since transaction ids are — so a round may find nothing yet: it then waits
 * a moment and tries again, for up to `timeoutMs`.
 */
export async function drainSubscriptions(db: EntityManager, settings: Pick<SubscriptionSettings, "batchSize">, timeoutMs = 60_000): Promise<SubscriptionsRound> {
  const total: SubscriptionsRound = { events: 0, matched: 0, rulesCreated: 0, jobDids: 0 };
  const [target] = await db.query(`SELECT txid::text AS txid, id::text AS id FROM events WHERE type IN (${DID_EVENTS}) ORDER BY txid DESC, id DESC LIMIT 1`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await matchNewDids(db, settings);
    const j = await runSubscriptionJobBatch(db, settings);
    total.events += m.events;
    total.matched += m.matched + j.matched;
    total.rulesCreated += m.rulesCreated + j.rulesCreated;
    total.jobDids += j.processed;
    if (m.events || j.job) continue;
    const [{ reached }] = await db.query(
      `SELECT $1::xid8 IS NULL OR (after_txid, after_id) >= ($1::xid8, $2::bigint) AS reached FROM subscription_matcher WHERE id = 1`,
      [target?.txid ?? null, target?.id ?? null],
    );
    if (reached || Date.now() > deadline) return total;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// Dry run
// ---------------------------------------------------------------------------------------------

export interface DryRunResult {
  /** How many DIDs the filter takes now. */
  matchedCount: number;
  /** The first `first` of them, by scope and name. */
  dids: DidRow[];
  /** The rules it would create for those DIDs: one per DID and template (before splitBy). */
  rules: Array<{ scope: string; name: string; template: number } & CheckedRuleTemplate>;
}

/** What a filter matches now and the rules its templates would make, without writing anything. */
export async function dryRunSubscription(db: EntityManager, filter: unknown, templates: unknown[] | null | undefined, first = 100): Promise<DryRunResult> {
  if (!Number.isInteger(first) || first < 0 || first > 1000) throw invalidInput("first must be 0 to 1000", { argument: "first" });
  const compiled = compileSubscriptionFilter(filter, "d", 1);
  const rules = templates?.length ? checkTemplates(templates) : [];
  const where = compiled.sql.length ? compiled.sql.join(" AND ") : "true";
  let matchedCount: number;
  let keys: Array<{ scope: string; name: string }>;
  if (!compiled.sky) {
    const [{ n }] = await db.query(`SELECT count(*)::float8 AS n FROM dids d WHERE ${where}`, compiled.params);
    matchedCount = n;
    keys = await db.query(`SELECT d.scope, d.name FROM dids d WHERE ${where} ORDER BY d.scope, d.name LIMIT ${first}`, compiled.params);
  } else {
    // The band narrows in SQL; positions only are fetched to confirm, never the rows.
    const rows: Array<{ scope: string; name: string; ra: number | null; dec: number | null; region: string | null }> = await db.query(
      `SELECT d.scope, d.name, d.sky_ra AS ra, d.sky_dec AS dec, CASE WHEN d.sky_dec IS NULL THEN d.metadata ->> 'region' END AS region
       FROM dids d WHERE ${where} ORDER BY d.scope, d.name`,
      compiled.params,
    );
    const inside = rows.filter((r) => skyMatches(compiled.sky!, r));
    matchedCount = inside.length;
    keys = inside.slice(0, first);
  }
  const dids: DidRow[] = keys.length
    ? await db.query(
        `SELECT ${DID_COLUMNS} FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(scope, name, ord) JOIN dids d ON d.scope = k.scope AND d.name = k.name ORDER BY k.ord`,
        [keys.map((k) => k.scope), keys.map((k) => k.name)],
      )
    : [];
  return { matchedCount, dids, rules: dids.flatMap((d) => rules.map((t, template) => ({ scope: d.scope, name: d.name, template, ...t }))) };
}
