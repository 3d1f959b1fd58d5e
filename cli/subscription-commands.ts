import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { checkRuleTemplate } from "../subgraphs/replicas/rule-batch";
import { checkSubscriptionFilter } from "../subgraphs/replicas/subscription-filter";
import { Progress, progressBar } from "./progress";
import { collect, clientAction, clientOptions, fieldLines, ClientOptions, emit, gatewayOf, integer, note, table, UsageError } from "./options";

/**
 * `dbb subscription add|list|show|reevaluate|dry-run`: the catalog's subscriptions (policies),
 * one at a time, through the gateway; `dbb policy apply` loads a whole file of them. Filters and
 * rule templates are given as JSON or YAML flow text and checked here before anything is sent.
 */

const TEMPLATE_FIELDS = "rseExpression copies lifetime sourceReplicaExpression activity priority grouping locked purgeReplicas comment splitBy";
const SUBSCRIPTION_FIELDS = `name account filter comment active state lastProcessed matchedDids rulesCreated lastError createdAt updatedAt rules { ${TEMPLATE_FIELDS} }`;

interface Template {
  rseExpression: string;
  copies: number;
  lifetime: number | null;
  sourceReplicaExpression: string | null;
  activity: string | null;
  grouping: string | null;
  splitBy: string | null;
  locked: boolean | null;
}

interface SubscriptionView {
  name: string;
  account: string;
  filter: Record<string, unknown>;
  comment: string | null;
  active: boolean;
  state: string;
  lastProcessed: string | null;
  matchedDids: number;
  rulesCreated: number;
  lastError: string | null;
  createdAt: string;
  rules: Template[];
}

/** A filter or template given on the command line: JSON or YAML flow text, checked as the catalog checks it. */
function structured<T>(text: string, what: string, check: (v: unknown) => T): T {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${what} is neither JSON nor YAML: ${(err as Error).message}`);
  }
  try {
    return check(value);
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
}

const filterOf = (text: string) => structured(text, "--filter", checkSubscriptionFilter);
const templatesOf = (texts: string[]) => texts.map((t, i) => structured(t, `--rule ${i + 1}`, (v) => checkRuleTemplate(v, `rules[${i}]`)));

const describeTemplate = (t: Template) =>
  [t.rseExpression, t.copies > 1 ? `×${t.copies}` : "", t.sourceReplicaExpression ? `from ${t.sourceReplicaExpression}` : "", t.splitBy ? `per ${t.splitBy.toLowerCase()}` : "", t.locked ? "locked" : ""]
    .filter(Boolean)
    .join(" ");

function subscriptionLines(s: SubscriptionView): string[] {
  const rows: Array<[string, string | number | null]> = [
    ["name", s.name],
    ["state", s.state + (s.active ? "" : " (inactive)")],
    ["account", s.account],
    ["filter", JSON.stringify(s.filter)],
    ...s.rules.map((t, i): [string, string] => [`rule ${i + 1}`, describeTemplate(t)]),
    ["matched DIDs", s.matchedDids],
    ["rules created", s.rulesCreated],
    ["last processed", s.lastProcessed],
    ["last error", s.lastError],
    ["comment", s.comment],
    ["created", s.createdAt],
  ];
  return fieldLines(rows);
}

export function registerSubscriptionCommands(program: Command): void {
  const sub = program.command("subscription").description("subscriptions (policies): a filter over DIDs and the rules each matching DID gets, exactly once");

  clientOptions(
    sub
      .command("add")
      .description("add a subscription; it matches DIDs registered or changed from now on (token with catalog:write; `reevaluate` for those already there)")
      .argument("<name>", "its name, e.g. raw-to-frdf"),
  )
    .requiredOption("--filter <json|yaml>", `which DIDs: '{scopes: [raw], didTypes: [FILE], metadata: {datasetType: raw}, sky: {cone: [ra, dec, radius]}}'`)
    .requiredOption("--rule <json|yaml>", `a rule template, e.g. '{rseExpression: FRDF_DISK, sourceReplicaExpression: USDF_DISK}' (repeatable)`, collect, [])
    .option("--comment <text>", "why it exists")
    .option("--inactive", "add it switched off")
    .action(
      clientAction(async (name: string, opts: ClientOptions & { filter: string; rule: string[]; comment?: string; inactive?: boolean }) => {
        const input = { name, filter: filterOf(opts.filter), rules: templatesOf(opts.rule), comment: opts.comment ?? null, active: !opts.inactive };
        const gw = gatewayOf(opts);
        gw.requireToken("catalog:write");
        const data = await gw.client.request<{ addSubscription: SubscriptionView }>(`mutation($i: AddSubscriptionInput!) { addSubscription(input: $i) { ${SUBSCRIPTION_FIELDS} } }`, { i: input });
        emit(opts, data.addSubscription, () => subscriptionLines(data.addSubscription));
      }),
    );

  clientOptions(sub.command("list").description("every subscription (or one account's), by name"))
    .option("--account <account>", "only this account's")
    .action(
      clientAction(async (opts: ClientOptions & { account?: string }) => {
        const gw = gatewayOf(opts);
        const data = await gw.client.request<{ subscriptions: SubscriptionView[] }>(`query($a: String) { subscriptions(account: $a) { ${SUBSCRIPTION_FIELDS} } }`, { a: opts.account ?? null });
        emit(opts, data.subscriptions, () =>
          table(
            ["NAME", "STATE", "ACCOUNT", "MATCHED", "RULES", "TEMPLATES", "LAST ERROR"],
            data.subscriptions.map((s) => [s.name, s.state + (s.active ? "" : " (inactive)"), s.account, String(s.matchedDids), String(s.rulesCreated), s.rules.map(describeTemplate).join("; "), s.lastError ?? ""]),
          ),
        );
      }),
    );

  clientOptions(sub.command("show").description("one subscription: filter, templates, what it matched and made").argument("<name>", "the subscription"))
    .option("--rules <n>", "also list the newest rules it made (up to n)", integer(1, 10000))
    .action(
      clientAction(async (name: string, opts: ClientOptions & { rules?: number }) => {
        const gw = gatewayOf(opts);
        const data = await gw.client.request<{ subscription: SubscriptionView; rules: { totalCount: number; nodes: Array<{ id: string; state: string; did: { scope: string; name: string }; rseExpression: string }> } }>(
          `query($n: String!, $first: Int) { subscription(name: $n) { ${SUBSCRIPTION_FIELDS} }
             rules(filter: {subscription: $n}, first: $first) { totalCount nodes { id state did { scope name } rseExpression } } }`,
          { n: name, first: opts.rules ?? 0 },
        );
        const value = opts.rules ? { ...data.subscription, madeRules: data.rules } : data.subscription;
        emit(opts, value, () => [
          ...subscriptionLines(data.subscription),
          ...(opts.rules
            ? ["", ...table(["RULE", "STATE", "DID", "RSE EXPRESSION"], data.rules.nodes.map((r) => [r.id, r.state, `${r.did.scope}:${r.did.name}`, r.rseExpression])),
               ...(data.rules.totalCount > data.rules.nodes.length ? [`(${data.rules.nodes.length} of ${data.rules.totalCount})`] : [])]
            : []),
        ]);
      }),
    );

  clientOptions(
    sub
      .command("reevaluate")
      .description("apply a subscription to the DIDs already registered, as a background job in the catalog (owner or catalog:admin)")
      .argument("<name>", "the subscription"),
  )
    .option("--wait", "follow the job until it ends (a progress bar on a terminal)")
    .option("--interval <seconds>", "with --wait: how often to ask (default 1)", integer(1, 3600))
    .action(
      clientAction(async (name: string, opts: ClientOptions & { wait?: boolean; interval?: number }) => {
        const gw = gatewayOf(opts);
        gw.requireToken("catalog:write");
        const JOB = "id state total processed progress matched rulesCreated error";
        let job = (await gw.client.request<{ reevaluateSubscription: any }>(`mutation($n: String!) { reevaluateSubscription(name: $n) { ${JOB} } }`, { n: name })).reevaluateSubscription;
        if (opts.wait) {
          // The bar appears once the job knows its total (a terminal only); it advances by what was processed since.
          let bar: Progress | null = null;
          let shown = 0;
          while (job.state === "QUEUED" || job.state === "RUNNING") {
            if (!bar && job.total !== null) bar = progressBar(`re-evaluating ${name}`, job.total);
            bar?.advance(job.processed - shown);
            shown = job.processed;
            await new Promise((r) => setTimeout(r, (opts.interval ?? 1) * 1000));
            job = (await gw.client.request<{ subscriptionJob: any }>(`query($id: String!) { subscriptionJob(id: $id) { ${JOB} } }`, { id: job.id })).subscriptionJob;
          }
          bar?.stop();
          if (job.state === "FAILED") note(`the re-evaluation failed: ${job.error}`);
        }
        emit(opts, job, () => `job ${job.id}: ${job.state}, ${job.processed}${job.total !== null ? `/${job.total}` : ""} DIDs, ${job.matched} matched, ${job.rulesCreated} rules made${job.error ? `; ${job.error}` : ""}`);
        return job.state === "FAILED" ? 1 : 0;
      }),
    );

  clientOptions(
    sub
      .command("dry-run")
      .description("what a filter matches now and the rules its templates would make, writing nothing: a subscription's (by name) or one given with --filter/--rule")
      .argument("[name]", "an existing subscription"),
  )
    .option("--filter <json|yaml>", "a filter to try instead")
    .option("--rule <json|yaml>", "a rule template to try (repeatable)", collect, [])
    .option("--first <n>", "DIDs listed (default 20, at most 1000)", integer(1, 1000))
    .action(
      clientAction(async (name: string | undefined, opts: ClientOptions & { filter?: string; rule: string[]; first?: number }) => {
        const gw = gatewayOf(opts);
        let filter: unknown;
        let rules: unknown[] = templatesOf(opts.rule);
        if (opts.filter) filter = filterOf(opts.filter);
        else if (name) {
          const s = (await gw.client.request<{ subscription: SubscriptionView }>(`query($n: String!) { subscription(name: $n) { filter rules { ${TEMPLATE_FIELDS} } } }`, { n: name })).subscription;
          filter = s.filter;
          if (!rules.length) rules = s.rules.map((t) => Object.fromEntries(Object.entries(t).filter(([, v]) => v !== null)));
        } else throw new UsageError("give a subscription's name, or --filter (and --rule) to try");
        const data = await gw.client.request<{ dryRun: { matchedCount: number; dids: Array<{ scope: string; name: string }>; rules: Array<{ did: { scope: string; name: string }; template: number; rseExpression: string }> } }>(
          `query($f: JSONObject!, $r: [SubscriptionRuleInput!], $first: Int) { dryRun(filter: $f, rules: $r, first: $first) {
             matchedCount dids { scope name } rules { did { scope name } template rseExpression } } }`,
          { f: filter, r: rules.length ? rules : null, first: opts.first ?? 20 },
        );
        const d = data.dryRun;
        emit(opts, d, () => [
          `${d.matchedCount} DIDs match now${d.dids.length < d.matchedCount ? ` (the first ${d.dids.length}:)` : ":"}`,
          ...d.dids.map((x) => `  ${x.scope}:${x.name}`),
          ...(d.rules.length ? ["", ...table(["DID", "TEMPLATE", "RSE EXPRESSION"], d.rules.map((r) => [`${r.did.scope}:${r.did.name}`, String(r.template + 1), r.rseExpression]))] : []),
        ]);
      }),
    );
}
