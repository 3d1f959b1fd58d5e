import { parse as parseYaml } from "yaml";
import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { CheckedRuleTemplate, checkRuleTemplate } from "./rule-batch";
import { addSubscription, deleteSubscription, listSubscriptions, SubscriptionRow, updateSubscription } from "./subscription";
import { checkSubscriptionFilter, SubscriptionFilter } from "./subscription-filter";

/**
 * Policies as configuration: a YAML file of subscriptions, applied idempotently (what
 * `dbb policy apply FILE` does over GraphQL, and what the demo loads through `loadPolicies`).
 *
 * ```yaml
 * subscriptions:
 *   - name: raw-to-usdf
 *     comment: every raw to the USDF
 *     filter: { scopes: [raw], didTypes: [FILE], metadata: { datasetType: raw } }
 *     rules:
 *       - { rseExpression: USDF_DISK, activity: T0 Raw }
 * ```
 */
export interface PolicyFile {
  subscriptions: Array<{ name: string; filter: SubscriptionFilter; rules: CheckedRuleTemplate[]; comment: string | null; active: boolean }>;
}

const KEYS = ["name", "comment", "active", "filter", "rules"];

/** Parses and validates a policy file; INVALID_INPUT naming the subscription and field otherwise. */
export function parsePolicyFile(text: string): PolicyFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw invalidInput(`the policy file is not valid YAML: ${(err as Error).message}`);
  }
  const subs = (doc as { subscriptions?: unknown } | null)?.subscriptions;
  if (!Array.isArray(subs)) throw invalidInput("a policy file is a YAML mapping with a list `subscriptions:`");
  const seen = new Set<string>();
  return {
    subscriptions: subs.map((raw, i) => {
      const at = `subscriptions[${i}]`;
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw invalidInput(`${at} must be a mapping`, { field: at });
      const s = raw as Record<string, unknown>;
      for (const k of Object.keys(s)) if (!KEYS.includes(k)) throw invalidInput(`${at}.${k}: unknown key; a subscription has ${KEYS.join(", ")}`, { field: `${at}.${k}` });
      if (typeof s.name !== "string" || !s.name) throw invalidInput(`${at}.name is required`, { field: `${at}.name` });
      if (seen.has(s.name)) throw invalidInput(`${at}: subscription '${s.name}' appears twice`, { field: `${at}.name` });
      seen.add(s.name);
      const where = (err: unknown) => invalidInput(`subscription '${s.name}': ${(err as Error).message}`, { field: at, subscription: s.name });
      try {
        const filter = checkSubscriptionFilter(s.filter ?? {});
        if (!Array.isArray(s.rules) || !s.rules.length) throw invalidInput("rules must list at least one rule template");
        const rules = s.rules.map((r, j) => checkRuleTemplate(r, `rules[${j}]`));
        if (s.active != null && typeof s.active !== "boolean") throw invalidInput("active must be true or false");
        if (s.comment != null && typeof s.comment !== "string") throw invalidInput("comment must be a string");
        return { name: s.name, filter, rules, comment: (s.comment as string | undefined) ?? null, active: (s.active as boolean | undefined) ?? true };
      } catch (err) {
        throw where(err);
      }
    }),
  };
}

/** The fields a policy file sets, in a form that compares equal when nothing changed. */
export function policyKey(s: { filter: unknown; rules: unknown; comment: string | null; active: boolean }): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as any)[k])])) : v;
  return JSON.stringify(sorted({ filter: s.filter, rules: s.rules, comment: s.comment ?? null, active: s.active }));
}

export interface PolicyPlan {
  add: string[];
  update: string[];
  unchanged: string[];
  remove: string[];
}

/** What applying `file` to the existing subscriptions does (removals only with prune). */
export function planPolicies(file: PolicyFile, existing: Array<Pick<SubscriptionRow, "name" | "filter" | "rules" | "comment" | "active">>, prune: boolean): PolicyPlan {
  const byName = new Map(existing.map((e) => [e.name, e]));
  const plan: PolicyPlan = { add: [], update: [], unchanged: [], remove: [] };
  for (const s of file.subscriptions) {
    const e = byName.get(s.name);
    if (!e) plan.add.push(s.name);
    else if (policyKey(e) !== policyKey(s)) plan.update.push(s.name);
    else plan.unchanged.push(s.name);
  }
  if (prune) {
    const wanted = new Set(file.subscriptions.map((s) => s.name));
    plan.remove = existing.filter((e) => !wanted.has(e.name)).map((e) => e.name);
  }
  return plan;
}

/**
 * Applies a policy file in the catalog, as `account`: adds the new subscriptions, updates the
 * changed ones, leaves the rest (applying twice changes nothing); with `prune`, deletes those not
 * in the file. The demo calls this with cli/demo/policies.yaml before registering its raws.
 */
export async function loadPolicies(db: EntityManager, account: string, yamlText: string, options: { prune?: boolean } = {}): Promise<PolicyPlan> {
  const file = parsePolicyFile(yamlText);
  const plan = planPolicies(file, await listSubscriptions(db), options.prune ?? false);
  for (const s of file.subscriptions) {
    if (plan.add.includes(s.name)) await addSubscription(db, account, s);
    else if (plan.update.includes(s.name)) await updateSubscription(db, s.name, s);
  }
  for (const name of plan.remove) await deleteSubscription(db, name);
  return plan;
}
