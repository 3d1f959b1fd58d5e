import { runJudgeOnce } from "../../subgraphs/replicas/judge";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { ADD_RULE, addSite, CLAIM, registerTree, RULE, seedBackbone } from "../support/replication";
import { waitFor } from "../support/wait-for";

/** The catalog's judge (subgraphs/replicas/judge.ts), one round at a time through runJudgeOnce: rule expiry and lapsed leases. */
let cat: TestCatalog;

beforeAll(async () => {
  cat = await startTestCatalog("judge", { DBB_TRANSFER_LEASE_SECONDS: "1" });
  await seedBackbone(cat);
});
afterAll(() => cat.close());

const judge = () => runJudgeOnce(cat.service.database.dataSource.manager, { ...cat.config.transfers });
const rule = (input: Record<string, unknown>) => cat.ok(ADD_RULE, { i: input }, cat.tokens.writer).then((d) => d.addRule);

it("expires rules past their lifetime, except locked ones", async () => {
  const site = await addSite(cat, "EXPIRY");
  const t = await registerTree(cat, "exp", 1, 1, ["SUMMIT_DISK", site.rse]);
  const short = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse, lifetime: 1 });
  const kept = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse, lifetime: 1, locked: true });
  let expired = 0;
  await waitFor("a judge round to expire the rule", async () => (expired += (await judge()).expiredRules) > 0);
  expect(expired).toBe(1);
  expect((await cat.errorOf(RULE, { id: short.id })).code).toBe("RULE_NOT_FOUND");
  // The locked rule is past its lifetime too, and stays.
  expect((await judge()).expiredRules).toBe(0);
  expect((await cat.ok(RULE, { id: kept.id })).rule.state).toBe("OK");
  const ev = await cat.ok(`{ events(types: ["rule-expired"]) { nodes { payload } } }`);
  expect(ev.events.nodes.map((n: any) => n.payload.rule)).toEqual([short.id]);
});

it("returns requests whose lease lapsed to the queue, with an event", async () => {
  const site = await addSite(cat, "REAP");
  const t = await registerTree(cat, "reap", 1, 2);
  await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse });
  const claimed = (await cat.ok(CLAIM, { f: site.facility, n: 10 }, site.agents[0])).claimTransfers as any[];
  expect(claimed).toHaveLength(2);
  let requeued = 0;
  await waitFor("a judge round to requeue both lapsed leases", async () => (requeued += (await judge()).requeued) >= 2);
  expect(requeued).toBe(2);
  const states = await cat.ok(`{ transfers(filter: {facility: "REAP"}) { nodes { id state claimedBy leaseExpiresAt } } }`);
  expect(states.transfers.nodes.map((n: any) => [n.state, n.claimedBy, n.leaseExpiresAt])).toEqual([
    ["QUEUED", null, null],
    ["QUEUED", null, null],
  ]);
  const ev = await cat.ok(`{ events(types: ["transfer-lease-expired"], facility: "REAP") { nodes { payload } } }`);
  expect(ev.events.nodes.map((n: any) => n.payload.request).sort()).toEqual(claimed.map((c) => c.id).sort());
});
