import { createHash } from "node:crypto";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { ADD_RULE, addSite, CLAIM, registerTree, REPORT, seedBackbone, Site } from "../support/replication";
import { waitFor } from "../support/wait-for";

/**
 * Deletion (subgraphs/replicas/deletion.ts): what no rule protects is handed to the facility's
 * agent; what a rule protects never is. Each test works at a facility of its own (addSite).
 */
let cat: TestCatalog;

const CLAIM_DEL = `mutation($f: String!, $n: Int!) { claimDeletions(facility: $f, limit: $n) { id lease path bytes file { name } rse { name } } }`;
const REPORT_DEL = `mutation($id: String!, $lease: String!, $o: DeletionOutcomeInput!) { reportDeletion(id: $id, lease: $lease, outcome: $o) }`;

beforeAll(async () => {
  cat = await startTestCatalog("deletion", { DBB_TOMBSTONE_DELAY_SECONDS: "3600", DBB_TRANSFER_BACKOFF_SECONDS: "600" });
  await seedBackbone(cat);
});
afterAll(() => cat.close());

const rule = (input: Record<string, unknown>) => cat.ok(ADD_RULE, { i: input }, cat.tokens.writer).then((d) => d.addRule);
const deleteRule = (id: string) => cat.ok(`mutation($id: String!) { deleteRule(id: $id) }`, { id }, cat.tokens.writer);
const claimDel = (site: Site, n: number, token = site.agents[0]) => cat.ok(CLAIM_DEL, { f: site.facility, n }, token).then((d) => d.claimDeletions as any[]);
const reportDel = (site: Site, d: any, o: Record<string, unknown> = { ok: true }) => cat.ok(REPORT_DEL, { id: d.id, lease: d.lease, o }, site.agents[0]);
const replicasAt = async (site: Site, prefix: string) =>
  (await cat.ok(`query($r: String!, $p: String!) { replicas(rse: $r, namePattern: $p, first: 10000) { nodes { name state lockCount tombstone } } }`, { r: site.rse, p: `${prefix}/*` }))
    .replicas.nodes as any[];
/** Rucio's deterministic path: <scope>/<md5[0:2]>/<md5[2:4]>/<name>, md5 over "scope:name". */
const deterministicPath = (scope: string, name: string) => {
  const h = createHash("md5").update(`${scope}:${name}`).digest("hex");
  return `${scope}/${h.slice(0, 2)}/${h.slice(2, 4)}/${name}`;
};

/** Completes every transfer queued for the site. */
async function transferAll(site: Site): Promise<void> {
  for (;;) {
    const batch = (await cat.ok(CLAIM, { f: site.facility, n: 1000 }, site.agents[0])).claimTransfers as any[];
    if (!batch.length) return;
    for (const t of batch) await cat.ok(REPORT, { id: t.id, lease: t.lease, o: { outcome: "DONE", bytes: t.file.bytes, adler32: t.file.adler32 } }, site.agents[0]);
  }
}

it("hands the replicas of a deleted purge rule to the facility's agent, and removes them when reported", async () => {
  const site = await addSite(cat, "PURGE");
  const t = await registerTree(cat, "purge", 1, 3, ["SUMMIT_DISK", site.rse]);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse, purgeReplicas: true });
  expect(r.state).toBe("OK");
  expect(await claimDel(site, 10)).toEqual([]);
  await deleteRule(r.id);
  const claimed = await claimDel(site, 10);
  expect(claimed.map((d) => [d.file.name, d.rse.name, d.path, d.bytes]).sort()).toEqual(
    t.files.map((f) => [f.name, site.rse, deterministicPath("raw", f.name), f.bytes]),
  );
  expect(await claimDel(site, 10)).toEqual([]);
  for (const d of claimed) expect((await reportDel(site, d)).reportDeletion).toBe(true);
  expect(await replicasAt(site, "purge")).toEqual([]);
  const done = await cat.ok(`{ events(types: ["deletion-done"], facility: "PURGE") { nodes { payload } } }`);
  expect(done.events.nodes.map((n: any) => n.payload.name).sort()).toEqual(t.files.map((f) => f.name));
  expect((await cat.errorOf(REPORT_DEL, { id: claimed[0].id, lease: claimed[0].lease, o: { ok: true } }, site.agents[0])).code).toBe("DELETION_NOT_FOUND");
});

it("keeps unprotected replicas for the tombstone delay when the rule does not purge", async () => {
  const site = await addSite(cat, "KEEP");
  const t = await registerTree(cat, "keep", 1, 2, ["SUMMIT_DISK", site.rse]);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse });
  await deleteRule(r.id);
  const reps = await replicasAt(site, "keep");
  expect(reps).toHaveLength(2);
  for (const rep of reps) {
    expect(rep.lockCount).toBe(0);
    expect(new Date(rep.tombstone).getTime()).toBeGreaterThan(Date.now() + 3500e3);
  }
  expect(await claimDel(site, 10)).toEqual([]);
});

it("never hands out a replica another rule still protects", async () => {
  const site = await addSite(cat, "SHARED");
  const t = await registerTree(cat, "shared", 1, 2, ["SUMMIT_DISK", site.rse]);
  const a = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse, purgeReplicas: true });
  await rule({ did: { scope: "raw", name: t.files[0].name }, rseExpression: site.rse });
  await deleteRule(a.id);
  const claimed = await claimDel(site, 10);
  expect(claimed.map((d) => d.file.name)).toEqual([t.files[1].name]);
  await reportDel(site, claimed[0]);
  expect((await replicasAt(site, "shared")).map((x) => [x.name, x.lockCount])).toEqual([[t.files[0].name, 1]]);
});

it("refuses other facilities' agents, stale leases, and retries a failed deletion later", async () => {
  const [site, elsewhere] = [await addSite(cat, "FAIL"), await addSite(cat, "FAILX")];
  const [intruder] = elsewhere.agents;
  const t = await registerTree(cat, "fail", 1, 1, ["SUMMIT_DISK", site.rse]);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse, purgeReplicas: true });
  await deleteRule(r.id);
  expect((await cat.errorOf(CLAIM_DEL, { f: site.facility, n: 10 }, intruder)).code).toBe("FORBIDDEN");
  const [d] = await claimDel(site, 10);
  // Another facility's replica is not found for this agent, exactly as an unknown id: nothing is revealed.
  const foreign = await cat.errorOf(REPORT_DEL, { id: d.id, lease: d.lease, o: { ok: true } }, intruder);
  const unknown = await cat.errorOf(REPORT_DEL, { id: "00000000-0000-4000-8000-000000000000", lease: d.lease, o: { ok: true } }, intruder);
  expect(foreign.code).toBe("DELETION_NOT_FOUND");
  expect(foreign.message.replace(d.id, "ID")).toBe(unknown.message.replace("00000000-0000-4000-8000-000000000000", "ID"));
  expect((await cat.errorOf(REPORT_DEL, { id: d.id, lease: "00000000-0000-0000-0000-000000000000", o: { ok: true } }, site.agents[0])).code).toBe("LEASE_LOST");
  await reportDel(site, d, { ok: false, error: "permission denied" });
  const [rep] = await replicasAt(site, "fail");
  expect(rep.state).toBe("BEING_DELETED");
  expect(new Date(rep.tombstone).getTime()).toBeGreaterThan(Date.now() + 500e3);
  expect(await claimDel(site, 10)).toEqual([]);
  const failed = await cat.ok(`{ events(types: ["deletion-failed"], facility: "FAIL") { nodes { payload } } }`);
  expect(failed.events.nodes.map((n: any) => n.payload)).toEqual([expect.objectContaining({ error: "permission denied", rse: site.rse, name: t.files[0].name })]);
});

it("protects replicas when a rule is added while deletions are being claimed", async () => {
  const site = await addSite(cat, "DRACE");
  const t = await registerTree(cat, "race", 4, 50, ["SUMMIT_DISK", site.rse]);
  const old = await rule({ did: { scope: "raw", name: t.container }, rseExpression: site.rse, purgeReplicas: true });
  await deleteRule(old.id);
  // 200 replicas are due. An agent claims them in small batches while a campaign adds a rule wanting them all.
  const claimed: any[] = [];
  const claimer = (async () => {
    for (;;) {
      const batch = await claimDel(site, 5);
      if (!batch.length) return;
      claimed.push(...batch);
    }
  })();
  // The rule comes once the agent is under way.
  await waitFor("the agent's first claim", () => claimed.length > 0, { intervalMs: 1 });
  const fresh = await rule({ did: { scope: "raw", name: t.container }, rseExpression: site.rse });
  await claimer;
  // The agent deletes what it was handed.
  for (const d of claimed) await reportDel(site, d);
  const reps = await replicasAt(site, "race");
  // Every file the new rule locks keeps its replica row. A copy claimed before the rule locked it
  // is on its way back through a transfer; a copy the rule locked first was never handed out.
  expect(reps).toHaveLength(200);
  expect(reps.every((x) => x.lockCount === 1 && x.tombstone === null)).toBe(true);
  expect(claimed.length + reps.filter((x) => x.state === "AVAILABLE").length).toBe(200);
  // Had a locked replica been handed out, its lock would be OK with no transfer to restore the
  // copy, and it would stay COPYING below.
  await transferAll(site);
  const final = await cat.ok(`query($id: String!) { rule(id: $id) { state locksOk } }`, { id: fresh.id });
  expect(final.rule).toEqual({ state: "OK", locksOk: 200 });
  expect((await replicasAt(site, "race")).every((x) => x.state === "AVAILABLE")).toBe(true);
});
