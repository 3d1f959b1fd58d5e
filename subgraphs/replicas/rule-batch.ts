import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { appendEventsFrom } from "./event";
import { Grouping } from "./lock";
import { keepFilesWantedByRules } from "./removal-guard";
import { replicaPathSql } from "./replica";
import { listRses } from "./rse";
import { parseRseExpression } from "./rse-expression";
import { checkActivity, checkLifetime, checkPriority, GROUPINGS, refreshRules, targetCandidates } from "./rule";

/**
 * Many new rules of one template at once (what a subscription makes for a night of raws): one
 * INSERT for the rules and one pass of rule evaluation over all of them, so 5,000 DIDs cost the
 * same number of statements as 5. The evaluation is lock.ts's applyRule with a rule id on every
 * row (files, placement, locks, replicas, transfer requests, events), for rules that are new:
 * nothing was placed by them before.
 */
export type SplitBy = "DATASET" | "FILE";
export const SPLIT_BYS: readonly SplitBy[] = ["DATASET", "FILE"];

/** A rule as a subscription makes it for each DID it matches (Rucio's `replication_rules` entry). */
export interface RuleTemplate {
  rseExpression: string;
  copies?: number | null;
  grouping?: Grouping | null;
  sourceReplicaExpression?: string | null;
  lifetime?: number | null;
  activity?: string | null;
  priority?: number | null;
  purgeReplicas?: boolean | null;
  locked?: boolean | null;
  comment?: string | null;
  /** DATASET: one rule per dataset in a matched container; FILE: one rule per file below a matched DID. */
  splitBy?: SplitBy | null;
}

const MAX_LIFETIME_SECONDS = 100 * 365 * 86400;
const TEMPLATE_KEYS = ["rseExpression", "copies", "grouping", "sourceReplicaExpression", "lifetime", "activity", "priority", "purgeReplicas", "locked", "comment", "splitBy"];

/** Validates a template (as addRule validates its input) and returns it with defaults filled in. */
/** A template as stored: every field present (null where unset). */
export type CheckedRuleTemplate = { [K in keyof RuleTemplate]-?: Exclude<RuleTemplate[K], undefined> } & { copies: number; grouping: Grouping; activity: string; priority: number };

export function checkRuleTemplate(raw: unknown, at: string): CheckedRuleTemplate {
  const bad = (field: string, why: string) => invalidInput(`${at}.${field}: ${why}`, { field: `${at}.${field}` });
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw invalidInput(`${at} must be an object with at least rseExpression`, { field: at });
  const t = raw as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!TEMPLATE_KEYS.includes(k)) throw bad(k, `unknown key; a rule template has ${TEMPLATE_KEYS.join(", ")}`);
  if (typeof t.rseExpression !== "string" || !t.rseExpression.trim()) throw bad("rseExpression", "is required");
  // Syntax now (INVALID_RSE_EXPRESSION); which RSEs it selects is known only when a rule is made.
  parseRseExpression(t.rseExpression);
  if (typeof t.sourceReplicaExpression === "string") parseRseExpression(t.sourceReplicaExpression);
  if (t.lifetime != null && (typeof t.lifetime !== "number" || t.lifetime > MAX_LIFETIME_SECONDS)) throw bad("lifetime", `must be at most ${MAX_LIFETIME_SECONDS} seconds (100 years)`);
  const copies = t.copies ?? 1;
  if (!Number.isInteger(copies) || (copies as number) < 1 || (copies as number) > 100) throw bad("copies", "must be a whole number from 1 to 100");
  const grouping = (t.grouping ?? "DATASET") as Grouping;
  if (!GROUPINGS.includes(grouping)) throw bad("grouping", "must be ALL, DATASET or NONE");
  const splitBy = (t.splitBy ?? null) as SplitBy | null;
  if (splitBy !== null && !SPLIT_BYS.includes(splitBy)) throw bad("splitBy", "must be DATASET or FILE");
  for (const k of ["purgeReplicas", "locked"]) if (t[k] != null && typeof t[k] !== "boolean") throw bad(k, "must be true or false");
  for (const k of ["sourceReplicaExpression", "comment"]) if (t[k] != null && typeof t[k] !== "string") throw bad(k, "must be a string");
  if (typeof t.comment === "string" && t.comment.length > 1000) throw bad("comment", "is limited to 1000 characters");
  const wrap = <T>(field: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw bad(field, (err as Error).message);
    }
  };
  return {
    rseExpression: t.rseExpression,
    copies: copies as number,
    grouping,
    sourceReplicaExpression: (t.sourceReplicaExpression as string | null) ?? null,
    lifetime: wrap("lifetime", () => checkLifetime(t.lifetime as number | null)),
    activity: wrap("activity", () => checkActivity(t.activity as string | null)),
    priority: wrap("priority", () => checkPriority(t.priority as number | null)),
    purgeReplicas: (t.purgeReplicas as boolean | null) ?? false,
    locked: (t.locked as boolean | null) ?? false,
    comment: (t.comment as string | null) ?? null,
    splitBy,
  };
}

/**
 * Creates the rules listed by `newRulesSql` — rows (rule_id, scope, name): the id each new rule
 * gets and its DID — from one template, evaluates them and queues their transfers. Runs inside
 * the caller's transaction; INSUFFICIENT_TARGET_RSES or INVALID_RSE_EXPRESSION when the template
 * cannot be placed. Returns the number of rules made.
 */
export async function addRulesInBatch(
  tx: EntityManager,
  account: string,
  subscriptionId: string | null,
  template: CheckedRuleTemplate,
  newRulesSql: string,
): Promise<number> {
  const candidates = await targetCandidates(tx, template.rseExpression, template.copies);
  const sourceRseIds = template.sourceReplicaExpression ? (await listRses(tx, template.sourceReplicaExpression)).map((r) => r.id) : null;
  await tx.query(`DROP TABLE IF EXISTS batch_rules`);
  await tx.query(
    `CREATE TEMP TABLE batch_rules ON COMMIT DROP AS
     WITH ins AS (
       INSERT INTO rules (id, scope, name, account, rse_expression, copies, grouping, source_replica_expression, source_rse_ids,
                          expires_at, activity, priority, purge_replicas, locked, comment, subscription_id)
       SELECT n.rule_id, n.scope, n.name, $1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8, $9, $10, $11, $12, $13
       FROM (${newRulesSql}) n
       RETURNING id AS rule_id, scope, name)
     SELECT * FROM ins`,
    [
      account,
      template.rseExpression,
      template.copies,
      template.grouping,
      template.sourceReplicaExpression,
      sourceRseIds,
      template.lifetime,
      template.activity,
      template.priority,
      template.purgeReplicas,
      template.locked,
      template.comment,
      subscriptionId,
    ],
  );
  const [{ n }] = await tx.query(`SELECT count(*)::int AS n FROM batch_rules`);
  if (!n) return 0;
  await appendEventsFrom(
    tx,
    "rule-created",
    `SELECT NULL::text AS facility,
            jsonb_build_object('rule', rule_id, 'scope', scope, 'name', name, 'account', $1::text, 'rseExpression', $2::text, 'subscription', $3::uuid) AS payload
     FROM batch_rules`,
    [account, template.rseExpression, subscriptionId],
  );

  // Files below each new rule's DID, with the placement group its grouping puts them in.
  const group =
    template.grouping === "ALL" ? `''` : template.grouping === "NONE" ? `f.scope || ':' || f.name` : `coalesce(f.grp, f.scope || ':' || f.name)`;
  await tx.query(`DROP TABLE IF EXISTS batch_files`);
  await tx.query(
    `CREATE TEMP TABLE batch_files ON COMMIT DROP AS
     WITH RECURSIVE tree(rule_id, scope, name, did_type, grp) AS (
       SELECT b.rule_id, d.scope, d.name, d.did_type, CASE WHEN d.did_type = 'DATASET' THEN d.scope || ':' || d.name END
       FROM batch_rules b JOIN dids d ON d.scope = b.scope AND d.name = b.name
       UNION
       SELECT t.rule_id, c.scope, c.name, c.did_type, CASE WHEN c.did_type = 'DATASET' THEN c.scope || ':' || c.name ELSE t.grp END
       FROM tree t
       JOIN attachments a ON a.parent_scope = t.scope AND a.parent_name = t.name
       JOIN dids c ON c.scope = a.child_scope AND c.name = a.child_name
       WHERE t.did_type <> 'FILE')
     SELECT f.rule_id, f.scope, f.name, d.bytes, ${group} AS g
     FROM (SELECT DISTINCT ON (rule_id, scope, name) rule_id, scope, name, grp FROM tree WHERE did_type = 'FILE' ORDER BY rule_id, scope, name, grp) f
     JOIN dids d ON d.scope = f.scope AND d.name = f.name`,
  );
  await tx.query(`CREATE INDEX ON batch_files (scope, name)`);
  await tx.query(`ANALYZE batch_files`);
  // Placement as lock.ts's place(): RSEs holding more of the group first, then a hash of group and RSE.
  await tx.query(`DROP TABLE IF EXISTS batch_placement`);
  await tx.query(
    `CREATE TEMP TABLE batch_placement ON COMMIT DROP AS
     WITH cand AS (SELECT * FROM unnest($1::uuid[], $2::text[]) AS c(rse_id, rse_name)),
     groups AS (SELECT DISTINCT rule_id, g FROM batch_files),
     held AS (
       SELECT f.rule_id, f.g, r.rse_id, count(*) AS n FROM batch_files f
       JOIN replicas r ON r.scope = f.scope AND r.name = f.name
       WHERE r.rse_id = ANY($1::uuid[]) AND r.state IN ('AVAILABLE', 'COPYING')
       GROUP BY f.rule_id, f.g, r.rse_id),
     ranked AS (
       SELECT gr.rule_id, gr.g, c.rse_id,
              row_number() OVER (PARTITION BY gr.rule_id, gr.g ORDER BY coalesce(h.n, 0) DESC, md5(gr.g || '@' || c.rse_name), c.rse_name) AS rn
       FROM groups gr CROSS JOIN cand c
       LEFT JOIN held h ON h.rule_id = gr.rule_id AND h.g = gr.g AND h.rse_id = c.rse_id)
     SELECT rule_id, g, rse_id FROM ranked WHERE rn <= $3`,
    [candidates.map((c) => c.id), candidates.map((c) => c.name), template.copies],
  );
  await tx.query(
    `SELECT 1 FROM replicas r JOIN batch_files f ON r.scope = f.scope AND r.name = f.name
     JOIN batch_placement p ON p.rule_id = f.rule_id AND p.g = f.g AND p.rse_id = r.rse_id
     ORDER BY r.scope, r.name, r.rse_id FOR UPDATE OF r`,
  );
  await tx.query(`DROP TABLE IF EXISTS batch_locks`);
  await tx.query(
    `CREATE TEMP TABLE batch_locks ON COMMIT DROP AS
     WITH ins AS (
       INSERT INTO locks (rule_id, scope, name, rse_id, state, bytes)
       SELECT f.rule_id, f.scope, f.name, p.rse_id,
              CASE WHEN r.state = 'AVAILABLE' THEN 'OK'::lock_state ELSE 'REPLICATING'::lock_state END, coalesce(f.bytes, 0)
       FROM batch_files f
       JOIN batch_placement p ON p.rule_id = f.rule_id AND p.g = f.g
       LEFT JOIN replicas r ON r.scope = f.scope AND r.name = f.name AND r.rse_id = p.rse_id
       ON CONFLICT DO NOTHING
       RETURNING rule_id, scope, name, rse_id, state, bytes)
     SELECT * FROM ins`,
  );
  await tx.query(
    `INSERT INTO replicas (scope, name, rse_id, state, bytes, path, account)
     SELECT DISTINCT ON (l.scope, l.name, l.rse_id) l.scope, l.name, l.rse_id, 'COPYING', l.bytes,
            ${replicaPathSql("l.scope", "l.name")}, $1
     FROM batch_locks l WHERE l.state = 'REPLICATING'
     ON CONFLICT (scope, name, rse_id) DO NOTHING`,
    [account],
  );
  await keepFilesWantedByRules(tx, `SELECT scope, name, rule_id FROM batch_locks`);
  // Several new rules may lock one replica: it gains one count per lock.
  await tx.query(
    `UPDATE replicas r SET lock_cnt = r.lock_cnt + l.n, tombstone = NULL, updated_at = now()
     FROM (SELECT scope, name, rse_id, count(*) AS n FROM batch_locks GROUP BY scope, name, rse_id) l
     WHERE r.scope = l.scope AND r.name = l.name AND r.rse_id = l.rse_id`,
  );
  await tx.query(`DROP TABLE IF EXISTS batch_requests`);
  await tx.query(
    `CREATE TEMP TABLE batch_requests ON COMMIT DROP AS
     WITH ins AS (
       INSERT INTO transfer_requests (scope, name, dest_rse_id, rule_id, source_rse_ids, bytes, activity, priority)
       SELECT DISTINCT ON (l.scope, l.name, l.rse_id) l.scope, l.name, l.rse_id, l.rule_id, $1::uuid[], coalesce(d.bytes, 0), $2, $3
       FROM batch_locks l JOIN dids d ON d.scope = l.scope AND d.name = l.name
       WHERE l.state = 'REPLICATING'
       ORDER BY l.scope, l.name, l.rse_id, l.rule_id
       ON CONFLICT (scope, name, dest_rse_id) WHERE state IN ('QUEUED', 'SUBMITTED') DO NOTHING
       RETURNING id, scope, name, dest_rse_id, rule_id)
     SELECT * FROM ins`,
    [sourceRseIds, template.activity, template.priority],
  );
  await appendEventsFrom(
    tx,
    "transfer-queued",
    `SELECT s.facility, jsonb_build_object('request', q.id, 'scope', q.scope, 'name', q.name, 'rse', s.name, 'facility', s.facility, 'rule', q.rule_id,
                                           'rules', jsonb_build_array(q.rule_id)) AS payload
     FROM batch_requests q JOIN rses s ON s.id = q.dest_rse_id`,
    [],
  );
  await refreshRules(tx, `SELECT rule_id FROM batch_rules`);
  return n;
}
