import { runJudgeOnce } from "../../subgraphs/replicas/judge";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { ADD_RULE, CLAIM, registerTree, REPORT, RULE, seedBackbone } from "../support/replication";

/** The agents' side: claims with leases, reports, verification, retries, STUCK, and facility scopes. */
let cat: TestCatalog;
let usdf: string;
let usdf2: string;
let frdf: string;

beforeAll(async () => {
  cat = await startTestCatalog("transfers", {
    DBB_TRANSFER_MAX_ATTEMPTS: "3",
    DBB_TRANSFER_BACKOFF_SECONDS: "0",
    DBB_TRANSFER_LEASE_SECONDS: "2",
    DBB_JUDGE_INTERVAL_SECONDS: "3600",
  });
  await seedBackbone(cat);
  usdf = await cat.token("usdf-agent-1", ["agent:USDF"]);
  usdf2 = await cat.token("usdf-agent-2", ["agent:USDF"]);
  frdf = await cat.token("frdf-agent", ["agent:FrDF"]);
});
afterAll(() => cat.close());

const rule = (input: Record<string, unknown>) => cat.ok(ADD_RULE, { i: input }, cat.tokens.writer).then((d) => d.addRule);
const claim = (facility: string, n: number, token: string) => cat.ok(CLAIM, { f: facility, n }, token).then((d) => d.claimTransfers as any[]);
const report = (t: any, o: Record<string, unknown>, token: string) => cat.ok(REPORT, { id: t.id, lease: t.lease, o }, token).then((d) => d.reportTransfer);
const good = (t: any) => ({ outcome: "DONE", bytes: t.file.bytes, adler32: t.file.adler32 });
const drain = async (facility: string, token: string) => {
  for (;;) {
    const batch = await claim(facility, 1000, token);
    if (!batch.length) return;
    for (const t of batch) await report(t, good(t), token);
  }
};

it("hands a request to the destination's agent, which reports it DONE: the replica is AVAILABLE and the rule OK", async () => {
  const t = await registerTree(cat, "flow", 1, 3);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
  const claimed = await claim("USDF", 10, usdf);
  expect(claimed).toHaveLength(3);
  expect(claimed[0]).toMatchObject({ source: { name: "SUMMIT_DISK" }, destination: { name: "USDF_DISK" }, file: { scope: "raw" } });
  expect(claimed[0].lease).toMatch(/^[0-9a-f-]{36}$/);
  // Nothing left for anybody else.
  expect(await claim("USDF", 10, usdf2)).toEqual([]);
  for (const c of claimed) expect(await report(c, good(c), usdf)).toMatchObject({ state: "DONE", attempts: 0 });
  const done = (await cat.ok(RULE, { id: r.id })).rule;
  expect(done).toMatchObject({ state: "OK", locksOk: 3, locksReplicating: 0 });
  const rep = await cat.ok(`query($n: String!) { did(scope: "raw", name: $n) { replicas { rse { name } state } } }`, { n: t.files[0].name });
  expect(rep.did.replicas).toEqual([
    { rse: { name: "SUMMIT_DISK" }, state: "AVAILABLE" },
    { rse: { name: "USDF_DISK" }, state: "AVAILABLE" },
  ]);
  const ev = await cat.ok(`{ events(types: ["transfer-done", "rule-ok"], first: 100) { nodes { type facility payload } } }`);
  expect(ev.events.nodes.filter((e: any) => e.type === "transfer-done")).toHaveLength(3);
  expect(ev.events.nodes.find((e: any) => e.type === "rule-ok").payload.rule).toBe(r.id);
  // A report with a stale lease is refused.
  expect((await cat.errorOf(REPORT, { id: claimed[0].id, lease: claimed[0].lease, o: good(claimed[0]) }, usdf)).code).toBe("LEASE_LOST");
});

it("never makes a replica AVAILABLE on a checksum or size mismatch", async () => {
  const t = await registerTree(cat, "bad", 1, 1);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
  const [c] = await claim("USDF", 10, usdf);
  const res = await report(c, { outcome: "DONE", bytes: c.file.bytes, adler32: "deadbeef" }, usdf);
  expect(res).toMatchObject({ state: "QUEUED", attempts: 1, errorCode: "CHECKSUM_MISMATCH" });
  expect(res.lastError).toMatch(/adler32 deadbeef/);
  const [again] = await claim("USDF", 10, usdf);
  expect((await report(again, { outcome: "DONE", bytes: 1, adler32: again.file.adler32 }, usdf)).errorCode).toBe("CHECKSUM_MISMATCH");
  const rep = await cat.ok(`{ replicas(rse: "USDF_DISK", namePattern: "bad/*") { nodes { state } } }`);
  expect(rep.replicas.nodes).toEqual([{ state: "COPYING" }]);
  expect((await cat.ok(RULE, { id: r.id })).rule.state).toBe("REPLICATING");
  // A correct copy on the next attempt completes it.
  const [third] = await claim("USDF", 10, usdf);
  expect(await report(third, good(third), usdf)).toMatchObject({ state: "DONE", attempts: 2 });
  expect((await cat.ok(RULE, { id: r.id })).rule.state).toBe("OK");
});

it("retries with backoff up to the attempt limit, then the lock and rule go STUCK keeping the error; retryRule re-queues", async () => {
  const t = await registerTree(cat, "stuck", 1, 1);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK" });
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [c] = await claim("FrDF", 10, frdf);
    expect(c).toBeDefined();
    const res = await report(c, { outcome: "FAILED", error: `connection reset (${attempt})` }, frdf);
    expect(res).toMatchObject({ attempts: attempt, state: attempt < 3 ? "QUEUED" : "FAILED", errorCode: "TRANSFER_ERROR" });
  }
  expect(await claim("FrDF", 10, frdf)).toEqual([]);
  const stuck = (await cat.ok(RULE, { id: r.id })).rule;
  expect(stuck).toMatchObject({ state: "STUCK", locksStuck: 1 });
  expect(stuck.error).toMatch(/connection reset \(3\)/);
  const listed = await cat.ok(`{ rules(filter: {state: STUCK}) { nodes { id } } }`);
  expect(listed.rules.nodes.map((n: any) => n.id)).toContain(r.id);
  const retried = await cat.ok(`mutation($id: String!) { retryRule(id: $id) { state locksReplicating locksStuck error } }`, { id: r.id }, cat.tokens.writer);
  expect(retried.retryRule).toEqual({ state: "REPLICATING", locksReplicating: 1, locksStuck: 0, error: null });
  const [c] = await claim("FrDF", 10, frdf);
  expect(await report(c, good(c), frdf)).toMatchObject({ state: "DONE" });
  expect((await cat.ok(RULE, { id: r.id })).rule.state).toBe("OK");
});

it("waits for a source allowed by the source expression, and takes it from there", async () => {
  const t = await registerTree(cat, "src", 1, 2);
  // UKDF is fed from FrDF only; the files are only at the Summit so far.
  const uk = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "UKDF_DISK", sourceReplicaExpression: "FRDF_DISK" });
  const ukdf = await cat.token("ukdf-agent", ["agent:UKDF"]);
  expect(await claim("UKDF", 10, ukdf)).toEqual([]);
  await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK" });
  await drain("FrDF", frdf);
  const claimed = await claim("UKDF", 10, ukdf);
  expect(claimed.map((c) => c.source.name)).toEqual(["FRDF_DISK", "FRDF_DISK"]);
  for (const c of claimed) await report(c, good(c), ukdf);
  expect((await cat.ok(RULE, { id: uk.id })).rule.state).toBe("OK");
});

it("returns a request whose lease lapsed to the queue; heartbeats keep a lease alive", async () => {
  const t = await registerTree(cat, "lease", 1, 2);
  await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
  const [a, b] = await claim("USDF", 10, usdf);
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 900));
    const kept = (await cat.ok(`mutation($l: [String!]!) { heartbeat(leases: $l) }`, { l: [a.lease] }, usdf)).heartbeat;
    expect(kept).toEqual([a.lease]);
  }
  // b was not kept alive: it is handed to the other agent, a is not.
  const second = await claim("USDF", 10, usdf2);
  expect(second.map((c) => c.id)).toEqual([b.id]);
  expect((await cat.errorOf(REPORT, { id: b.id, lease: b.lease, o: good(b) }, usdf)).code).toBe("LEASE_LOST");
  expect((await report(second[0], good(second[0]), usdf2)).state).toBe("DONE");
  expect((await report(a, good(a), usdf)).state).toBe("DONE");
  const lapsed = await cat.ok(`{ events(types: ["transfer-lease-expired"]) { totalCount } }`);
  expect(lapsed.events.totalCount).toBeGreaterThanOrEqual(1);
});

it("never gives two concurrent agents the same request", async () => {
  const t = await registerTree(cat, "race", 4, 50);
  await rule({ did: { scope: "raw", name: t.container }, rseExpression: "USDF_DISK" });
  const take = async (token: string) => {
    const got: string[] = [];
    for (;;) {
      const batch = await claim("USDF", 7, token);
      if (!batch.length) return got;
      got.push(...batch.map((c) => c.id));
    }
  };
  const [one, two] = await Promise.all([take(usdf), take(usdf2)]);
  const all = [...one, ...two];
  expect(new Set(all).size).toBe(all.length);
  expect(all).toHaveLength(200);
  expect(one.length).toBeGreaterThan(0);
  expect(two.length).toBeGreaterThan(0);
});

it("refuses an agent of one facility for another facility's work", async () => {
  const t = await registerTree(cat, "scope", 1, 1);
  await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
  expect((await cat.errorOf(CLAIM, { f: "USDF", n: 10 }, frdf)).code).toBe("FORBIDDEN");
  expect((await cat.errorOf(CLAIM, { f: "USDF", n: 10 }, cat.tokens.admin)).code).toBe("FORBIDDEN");
  expect((await cat.errorOf(CLAIM, { f: "USDF", n: 10 }, "")).code).toBe("UNAUTHENTICATED");
  expect((await cat.errorOf(CLAIM, { f: "MOON", n: 10 }, frdf)).code).toBe("FACILITY_NOT_FOUND");
  const [c] = await claim("usdf", 10, usdf);
  expect((await cat.errorOf(REPORT, { id: c.id, lease: c.lease, o: good(c) }, frdf)).code).toBe("FORBIDDEN");
  expect((await cat.ok(`mutation($l: [String!]!) { heartbeat(leases: $l) }`, { l: [c.lease] }, frdf)).heartbeat).toEqual([]);
  expect((await report(c, good(c), usdf)).state).toBe("DONE");
  expect((await cat.errorOf(REPORT, { id: "00000000-0000-0000-0000-000000000000", lease: c.lease, o: good(c) }, usdf)).code).toBe("TRANSFER_NOT_FOUND");
});

it("does not hand out the transfers of a suspended rule until it is resumed", async () => {
  const t = await registerTree(cat, "susp", 1, 2);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
  await cat.ok(`mutation($id: String!) { suspendRule(id: $id) { state } }`, { id: r.id }, cat.tokens.writer);
  expect(await claim("USDF", 10, usdf)).toEqual([]);
  await cat.ok(`mutation($id: String!) { resumeRule(id: $id) { state } }`, { id: r.id }, cat.tokens.writer);
  expect(await claim("USDF", 10, usdf)).toHaveLength(2);
});

it("expires rules past their lifetime, except locked ones", async () => {
  const t = await registerTree(cat, "exp", 1, 1, ["SUMMIT_DISK", "UKDF_DISK"]);
  const short = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "UKDF_DISK", lifetime: 1 });
  const kept = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "UKDF_DISK", lifetime: 1, locked: true });
  await new Promise((r) => setTimeout(r, 1100));
  const round = await runJudgeOnce(cat.service.database.dataSource.manager, { ...cat.config.transfers });
  expect(round.expiredRules).toBe(1);
  expect((await cat.errorOf(RULE, { id: short.id })).code).toBe("RULE_NOT_FOUND");
  expect((await cat.ok(RULE, { id: kept.id })).rule.state).toBe("OK");
  const ev = await cat.ok(`{ events(types: ["rule-expired"]) { nodes { payload } } }`);
  expect(ev.events.nodes.map((n: any) => n.payload.rule)).toEqual([short.id]);
});
