import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { GraphqlClient } from "../lib/graphql-client";
import { planPolicies, parsePolicyFile } from "../subgraphs/replicas/policy";

const TEMPLATE_FIELDS = "rseExpression copies lifetime sourceReplicaExpression activity priority grouping locked purgeReplicas comment splitBy";
const LIST = `{ subscriptions { name filter comment active rules { ${TEMPLATE_FIELDS} } } }`;
const ADD = `mutation($i: AddSubscriptionInput!) { addSubscription(input: $i) { name } }`;
const UPDATE = `mutation($n: String!, $i: UpdateSubscriptionInput!) { updateSubscription(name: $n, input: $i) { name } }`;
const DELETE = `mutation($n: String!) { deleteSubscription(name: $n) }`;

/** `dbb policy apply FILE`: the Data Backbone's policies (subscriptions) from a YAML file, over GraphQL. */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command("policy").description("policies: subscriptions that make rules for the DIDs they match");
  policy
    .command("apply")
    .description(
      "add or update the subscriptions of a YAML file (applying twice changes nothing); --prune also deletes subscriptions not in the file. " +
        "Talks to the gateway or catalog at --url with the token in DBB_TOKEN (catalog:write; catalog:admin to change others')",
    )
    .argument("<file>", "YAML file with `subscriptions:` (see README, Policies)")
    .option("--prune", "delete subscriptions that the file does not list")
    .option("--dry-run", "print what would change, change nothing")
    .option("--url <url>", "GraphQL endpoint", process.env.DBB_URL ?? "http://127.0.0.1:4000/graphql")
    .action(async (file: string, opts: { prune?: boolean; dryRun?: boolean; url: string }) => {
      const policies = parsePolicyFile(readFileSync(file, "utf8"));
      const client = new GraphqlClient({ url: opts.url, token: () => process.env.DBB_TOKEN, userAgent: "dbb policy apply" });
      const { subscriptions } = await client.request<{ subscriptions: any[] }>(LIST);
      const plan = planPolicies(policies, subscriptions, opts.prune ?? false);
      if (!opts.dryRun) {
        for (const s of policies.subscriptions) {
          const input = { filter: s.filter, rules: s.rules, comment: s.comment, active: s.active };
          if (plan.add.includes(s.name)) await client.request(ADD, { i: { name: s.name, ...input } });
          else if (plan.update.includes(s.name)) await client.request(UPDATE, { n: s.name, i: input });
        }
        for (const name of plan.remove) await client.request(DELETE, { n: name });
      }
      process.stdout.write(JSON.stringify(plan) + "\n");
    });
}
