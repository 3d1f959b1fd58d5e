import { startTestCatalog, TestCatalog } from "../support/catalog";
import { ADD_RULE, CLAIM, registerTree, REPORT, seedBackbone } from "../support/replication";

/** Deletion: what no rule protects is handed to the facility's agent; what a rule protects never is. */
let cat: TestCatalog;
let frdf: string;

const CLAIM_DEL = `mutation($f: String!, $n: Int!) { claimDeletions(facility: $f, limit: $n) { id lease path bytes file { name } rse { name } } }`;
const REPORT_DEL = `mutation($id: String!, $lease: String!, $o: DeletionOutcomeInput!) { reportDeletion(id: $id, lease: $lease, outcome: $o) }`;

beforeAll(async () => {
  cat = await startTestCatalog("deletion", { DBB_TOMBSTONE_DELAY_SECONDS: "3600", DBB_TRANSFER_BACKOFF_SECONDS: "600" });
  await seedBackbone(cat);
  frdf = await cat.token("frdf-agent", ["agent:FrDF"]);
});
afterAll(() => cat.close());

const rule = (input: Record<string, unknown>) => cat.ok(ADD_RULE, { i: input }, cat.tokens.writer).then((d) => d.addRule);
const deleteRule = (id: string) => cat.ok(`mutation($id: String!) { deleteRule(id: $id) }`, { id }, cat.tokens.writer);
const claimDel = (n: number, token = frdf) => cat.ok(CLAIM_DEL, { f: "FrDF", n }, token).then((d) => d.claimDeletions as any[]);
const reportDel = (d: any, o: Record<string, unknown> = { ok: true }) => cat.ok(REPORT_DEL, { id: d.id, lease: d.lease, o }, frdf);
const replicasAt = async (prefix: string) =>
  (await cat.ok(`query($p: String!) { replicas(rse: "FRDF_DISK", namePattern: $p, first: 10000) { nodes { name state lockCount tombstone } } }`, { p: `${prefix}/*` })).replicas
    .nodes as any[];

/** Completes every transfer queued for FrDF. */
async function transferAll(): Promise<void> {
  for (;;) {
    const batch = (await cat.ok(CLAIM, { f: "FrDF", n: 1000 }, frdf)).claimTransfers as any[];
    if (!batch.length) return;
    for (const t of batch) await cat.ok(REPORT, { id: t.id, lease: t.lease, o: { outcome: "DONE", bytes: t.file.bytes, adler32: t.file.adler32 } }, frdf);
  }
}

it("hands the replicas of a deleted purge rule to the facility's agent, and removes them when reported", async () => {
  const t = await registerTree(cat, "purge", 1, 3, ["SUMMIT_DISK", "FRDF_DISK"]);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK", purgeReplicas: true });
  expect(r.state).toBe("OK");
  expect(await claimDel(10)).toEqual([]);
  await deleteRule(r.id);
  const claimed = await claimDel(10);
  expect(claimed).toHaveLength(3);
  expect(claimed[0]).toMatchObject({ rse: { name: "FRDF_DISK" }, path: expect.stringMatching(/^raw\/..\/..\/purge\/ds0\/f\d\.fits$/) });
  expect(await claimDel(10)).toEqual([]);
  for (const d of claimed) expect((await reportDel(d)).reportDeletion).toBe(true);
  expect(await replicasAt("purge")).toEqual([]);
  const done = await cat.ok(`{ events(types: ["deletion-done"], facility: "FrDF") { totalCount } }`);
  expect(done.events.totalCount).toBe(3);
  expect((await cat.errorOf(REPORT_DEL, { id: claimed[0].id, lease: claimed[0].lease, o: { ok: true } }, frdf)).code).toBe("DELETION_NOT_FOUND");
});

it("keeps unprotected replicas for the tombstone delay when the rule does not purge", async () => {
  const t = await registerTree(cat, "keep", 1, 2, ["SUMMIT_DISK", "FRDF_DISK"]);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK" });
  await deleteRule(r.id);
  const reps = await replicasAt("keep");
  expect(reps).toHaveLength(2);
  for (const rep of reps) {
    expect(rep.lockCount).toBe(0);
    expect(new Date(rep.tombstone).getTime()).toBeGreaterThan(Date.now() + 3500e3);
  }
  expect(await claimDel(10)).toEqual([]);
});

it("never hands out a replica another rule still protects", async () => {
  const t = await registerTree(cat, "shared", 1, 2, ["SUMMIT_DISK", "FRDF_DISK"]);
  const a = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK", purgeReplicas: true });
  await rule({ did: { scope: "raw", name: t.files[0].name }, rseExpression: "FRDF_DISK" });
  await deleteRule(a.id);
  const claimed = await claimDel(10);
  expect(claimed.map((d) => d.file.name)).toEqual([t.files[1].name]);
  await reportDel(claimed[0]);
  expect((await replicasAt("shared")).map((x) => [x.name, x.lockCount])).toEqual([[t.files[0].name, 1]]);
});

it("refuses other facilities' agents, stale leases, and retries a failed deletion later", async () => {
  const t = await registerTree(cat, "fail", 1, 1, ["SUMMIT_DISK", "FRDF_DISK"]);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK", purgeReplicas: true });
  await deleteRule(r.id);
  const usdf = await cat.token("usdf-agent", ["agent:USDF"]);
  expect((await cat.errorOf(CLAIM_DEL, { f: "FrDF", n: 10 }, usdf)).code).toBe("FORBIDDEN");
  const [d] = await claimDel(10);
  expect((await cat.errorOf(REPORT_DEL, { id: d.id, lease: d.lease, o: { ok: true } }, usdf)).code).toBe("FORBIDDEN");
  expect((await cat.errorOf(REPORT_DEL, { id: d.id, lease: "00000000-0000-0000-0000-000000000000", o: { ok: true } }, frdf)).code).toBe("LEASE_LOST");
  await reportDel(d, { ok: false, error: "permission denied" });
  const [rep] = await replicasAt("fail");
  expect(rep.state).toBe("BEING_DELETED");
  expect(new Date(rep.tombstone).getTime()).toBeGreaterThan(Date.now() + 500e3);
  expect(await claimDel(10)).toEqual([]);
  const failed = await cat.ok(`{ events(types: ["deletion-failed"]) { nodes { payload } } }`);
  expect(failed.events.nodes[0].payload).toMatchObject({ error: "permission denied", rse: "FRDF_DISK" });
});

it("protects replicas when a rule is added while deletions are being claimed", async () => {
  const t = await registerTree(cat, "race", 4, 50, ["SUMMIT_DISK", "FRDF_DISK"]);
  const old = await rule({ did: { scope: "raw", name: t.container }, rseExpression: "FRDF_DISK", purgeReplicas: true });
  await deleteRule(old.id);
  // 200 replicas are due. An agent claims them in small batches while a campaign adds a rule wanting them all.
  const claimed: any[] = [];
  const claimer = (async () => {
    for (;;) {
      const batch = await claimDel(5);
      if (!batch.length) return;
      claimed.push(...batch);
    }
  })();
  await new Promise((r) => setTimeout(r, 20));
  const fresh = await rule({ did: { scope: "raw", name: t.container }, rseExpression: "FRDF_DISK" });
  await claimer;
  // The agent deletes what it was handed.
  for (const d of claimed) await reportDel(d);
  const reps = await replicasAt("race");
  // Every file the new rule locks keeps its replica row. A copy claimed before the rule locked it
  // is on its way back through a transfer; a copy the rule locked first was never handed out.
  expect(claimed.length).toBeGreaterThan(0);
  expect(reps).toHaveLength(200);
  expect(reps.every((x) => x.lockCount === 1 && x.tombstone === null)).toBe(true);
  expect(claimed.length + reps.filter((x) => x.state === "AVAILABLE").length).toBe(200);
  // Had a locked replica been handed out, its lock would be OK with no transfer to restore the
  // copy, and it would stay COPYING below.
  await transferAll();
  const final = await cat.ok(`query($id: String!) { rule(id: $id) { state locksOk } }`, { id: fresh.id });
  expect(final.rule).toEqual({ state: "OK", locksOk: 200 });
  expect((await replicasAt("race")).every((x) => x.state === "AVAILABLE")).toBe(true);
});
