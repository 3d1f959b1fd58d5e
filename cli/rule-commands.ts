import type { Command } from "commander";
import { choiceOption, clientAction, clientOptions, fieldLines, ClientOptions, didRef, DidRef, duration, emit, formatDid, gatewayOf, integer, parseDid, table } from "./options";

/**
 * `dbb rule add|list|show|retry|delete|suspend|resume`: replication rules in the catalog, through
 * the gateway (rules need a token with catalog:write; changing one needs its owner or catalog:admin).
 */

const RULE_FIELDS = `id account did { scope name } rseExpression copies grouping sourceReplicaExpression expiresAt activity priority
  purgeReplicas locked comment state locksOk locksReplicating locksStuck error createdAt updatedAt`;

export interface RuleView {
  id: string;
  account: string;
  did: DidRef;
  rseExpression: string;
  copies: number;
  grouping: string;
  sourceReplicaExpression: string | null;
  expiresAt: string | null;
  activity: string;
  priority: number;
  purgeReplicas: boolean;
  locked: boolean;
  comment: string | null;
  state: string;
  locksOk: number;
  locksReplicating: number;
  locksStuck: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

const locksOf = (r: RuleView) => `${r.locksOk}/${r.locksReplicating}/${r.locksStuck}`;

function ruleLines(r: RuleView): string[] {
  const rows: Array<[string, string | number | boolean | null]> = [
    ["id", r.id],
    ["did", formatDid(r.did)],
    ["state", r.state],
    ["rse expression", r.rseExpression],
    ["copies", r.copies],
    ["grouping", r.grouping],
    ["source", r.sourceReplicaExpression],
    ["account", r.account],
    ["activity", r.activity],
    ["priority", r.priority],
    ["expires", r.expiresAt ?? "never"],
    ["locked", r.locked],
    ["purge replicas", r.purgeReplicas],
    ["locks ok/replicating/stuck", locksOf(r)],
    ["comment", r.comment],
    ["error", r.error],
    ["created", r.createdAt],
    ["updated", r.updatedAt],
  ];
  return fieldLines(rows);
}

const RULE_STATES = ["OK", "REPLICATING", "STUCK", "SUSPENDED"];

interface AddOptions extends ClientOptions {
  copies?: number;
  lifetime?: number;
  source?: string;
  grouping?: string;
  activity?: string;
  priority?: number;
  comment?: string;
  locked?: boolean;
  purgeReplicas?: boolean;
}

interface ListOptions extends ClientOptions {
  state?: string;
  subscription?: string;
  did?: DidRef;
  account?: string;
  activity?: string;
  limit?: number;
}

/** `rule retry|delete|suspend|resume ID`: one mutation on one rule. */
function ruleChange(rule: Command, name: string, description: string, mutation: string, done: string) {
  clientOptions(rule.command(name).description(description).argument("<id>", "the rule's id")).action(
    clientAction(async (id: string, opts: ClientOptions) => {
      const gw = gatewayOf(opts);
      gw.requireToken("catalog:write");
      if (mutation === "deleteRule") {
        await gw.client.request<{ deleteRule: boolean }>(`mutation($id: String!) { deleteRule(id: $id) }`, { id });
        return emit(opts, { id, deleted: true }, () => `deleted rule ${id}`);
      }
      const data = await gw.client.request<Record<string, RuleView>>(`mutation($id: String!) { r: ${mutation}(id: $id) { ${RULE_FIELDS} } }`, { id });
      emit(opts, data.r, () => `${done} rule ${id}: ${data.r.state}, locks ok/replicating/stuck ${locksOf(data.r)}`);
    }),
  );
}

export function registerRuleCommands(program: Command): void {
  const rule = program.command("rule").description("replication rules: N copies of a DID's files on the RSEs an expression selects");

  clientOptions(
    rule
      .command("add")
      .description("add a rule and queue the transfers it needs (token with catalog:write)")
      .argument("<did>", "the DID as SCOPE:NAME (a file, dataset or container)")
      .argument("<rse-expression>", "where the copies go, e.g. FRDF_DISK, 'facility=UKDF', 'tier=1&type=DISK'"),
  )
    .option("--copies <n>", "how many copies (default 1)", integer(1, 100))
    .option("--lifetime <duration>", "expire after this long: 3600, 30m, 12h, 30d, 2w (default never)", duration)
    .option("--source <rse-expression>", "copy only from AVAILABLE replicas on these RSEs")
    .addOption(choiceOption("--grouping <grouping>", "ALL: the same RSEs for all files; DATASET (default): per dataset; NONE: per file", ["ALL", "DATASET", "NONE"]))
    .option("--activity <name>", "the transfer activity, e.g. 'User Subscriptions'")
    .option("--priority <n>", "1 (lowest) to 5 (highest), default 3", integer(1, 5))
    .option("--comment <text>", "why the rule exists")
    .option("--locked", "a locked rule cannot be deleted and does not expire")
    .option("--purge-replicas", "on deletion, make unprotected replicas due for deletion at once")
    .action(
      clientAction(async (did: string, expression: string, opts: AddOptions) => {
        const ref = parseDid(did);
        const gw = gatewayOf(opts);
        gw.requireToken("catalog:write");
        const input = {
          did: ref,
          rseExpression: expression,
          copies: opts.copies,
          lifetime: opts.lifetime,
          sourceReplicaExpression: opts.source,
          grouping: opts.grouping,
          activity: opts.activity,
          priority: opts.priority,
          comment: opts.comment,
          locked: opts.locked,
          purgeReplicas: opts.purgeReplicas,
        };
        const data = await gw.client.request<{ addRule: RuleView }>(`mutation($i: AddRuleInput!) { addRule(input: $i) { ${RULE_FIELDS} } }`, { i: input });
        const r = data.addRule;
        emit(opts, r, () => [`${r.id}`, ...ruleLines(r).slice(1).map((l) => `  ${l}`)]);
      }),
    );

  clientOptions(rule.command("list").description("rules by state, DID, account, activity and subscription, newest first"))
    .addOption(choiceOption("--state <state>", "OK, REPLICATING, STUCK or SUSPENDED", RULE_STATES))
    .option("--did <did>", "rules made on this DID (SCOPE:NAME)", didRef)
    .option("--account <account>", "rules made by this account")
    .option("--activity <name>", "rules of this activity")
    .option("--subscription <name>", "rules this subscription made")
    .option("--limit <n>", "at most this many (default all)", integer(1, 10_000_000))
    .action(
      clientAction(async (opts: ListOptions) => {
        const gw = gatewayOf(opts);
        const filter = { state: opts.state, account: opts.account, activity: opts.activity, subscription: opts.subscription, scope: opts.did?.scope, name: opts.did?.name };
        const rules: RuleView[] = [];
        let after: string | null = null;
        let total = 0;
        for (;;) {
          const want = Math.min(1000, (opts.limit ?? Infinity) - rules.length);
          const data: { rules: { totalCount: number; nodes: RuleView[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gw.client.request(
            `query($f: RuleFilterInput, $first: Int, $after: String) { rules(filter: $f, first: $first, after: $after) {
               totalCount nodes { ${RULE_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
            { f: filter, first: want, after },
          );
          total = data.rules.totalCount;
          rules.push(...data.rules.nodes);
          if (!data.rules.pageInfo.hasNextPage || rules.length >= (opts.limit ?? Infinity)) break;
          after = data.rules.pageInfo.endCursor;
        }
        emit(opts, { totalCount: total, rules }, () => [
          ...table(
            ["ID", "STATE", "DID", "RSE EXPRESSION", "COPIES", "LOCKS OK/REPL/STUCK", "ACCOUNT", "EXPIRES"],
            rules.map((r) => [r.id, r.state, formatDid(r.did), r.rseExpression, String(r.copies), locksOf(r), r.account, r.expiresAt ?? "never"]),
          ),
          ...(total > rules.length ? [`(${rules.length} of ${total}; raise --limit for more)`] : []),
        ]);
      }),
    );

  clientOptions(rule.command("show").description("one rule: expression, state, locks, last error").argument("<id>", "the rule's id"))
    .option("--locks", "also list the rule's locks (file, RSE, state; the first 1000)")
    .action(
      clientAction(async (id: string, opts: ClientOptions & { locks?: boolean }) => {
        const gw = gatewayOf(opts);
        const locks = opts.locks ? `locks(first: 1000) { totalCount nodes { scope name rse { name } state bytes } }` : "";
        const data = await gw.client.request<{ rule: RuleView & { locks?: { totalCount: number; nodes: Array<{ scope: string; name: string; rse: { name: string }; state: string; bytes: number }> } } }>(
          `query($id: String!) { rule(id: $id) { ${RULE_FIELDS} ${locks} } }`,
          { id },
        );
        const r = data.rule;
        emit(opts, r, () => [
          ...ruleLines(r),
          ...(r.locks ? ["", ...table(["FILE", "RSE", "STATE", "BYTES"], r.locks.nodes.map((l) => [`${l.scope}:${l.name}`, l.rse.name, l.state, String(l.bytes)]))] : []),
        ]);
      }),
    );

  ruleChange(rule, "retry", "re-queue a rule's STUCK locks with fresh transfer requests (owner or catalog:admin)", "retryRule", "retried");
  ruleChange(rule, "delete", "delete a rule, releasing its locks (owner or catalog:admin; not a locked rule)", "deleteRule", "deleted");
  ruleChange(rule, "suspend", "stop handing a rule's transfers to agents (owner or catalog:admin)", "suspendRule", "suspended");
  ruleChange(rule, "resume", "resume a suspended rule (owner or catalog:admin)", "resumeRule", "resumed");
}
