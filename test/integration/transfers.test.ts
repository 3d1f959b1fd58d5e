import { startTestCatalog, TestCatalog } from "../support/catalog";
import { ADD_RULE, addSite, CLAIM, registerTree, REPORT, RULE, seedBackbone, Site } from "../support/replication";
import { waitFor } from "../support/wait-for";

/**
 * Transfer requests (subgraphs/replicas/transfer.ts), the agents' side: claims with leases,
 * heartbeats, reports, verification, retries with backoff, STUCK, and facility scopes. Each test
 * works at a facility of its own (addSite), so no test sees another's requests.
 */
let cat: TestCatalog;

beforeAll(async () => {
  cat = await startTestCatalog("transfers", {
    DBB_TRANSFER_MAX_ATTEMPTS: "3",
    DBB_TRANSFER_BACKOFF_SECONDS: "0",
    DBB_TRANSFER_LEASE_SECONDS: "300",
  });
  await seedBackbone(cat);
});
afterAll(() => cat.close());

const rule = (input: Record<string, unknown>) => cat.ok(ADD_RULE, { i: input }, cat.tokens.writer).then((d) => d.addRule);
const claim = (facility: string, n: number, token: string) => cat.ok(CLAIM, { f: facility, n }, token).then((d) => d.claimTransfers as any[]);
const report = (t: any, o: Record<string, unknown>, token: string) => cat.ok(REPORT, { id: t.id, lease: t.lease, o }, token).then((d) => d.reportTransfer);
const good = (t: any) => ({ outcome: "DONE", bytes: t.file.bytes, adler32: t.file.adler32, md5: t.file.md5 });
const drain = async (site: Site) => {
  for (;;) {
    const batch = await claim(site.facility, 1000, site.agents[0]);
    if (!batch.length) return;
    for (const t of batch) await report(t, good(t), site.agents[0]);
  }
};
const TRANSFER = `query($id: String!) { transfer(id: $id) { state attempts nextAttemptAt updatedAt leaseExpiresAt } }`;

describe("claims and reports", () => {
  it("hands a request to the destination's agent, which reports it DONE: the replica is AVAILABLE and the rule OK", async () => {
    const site = await addSite(cat, "FLOW");
    const [agent, other] = site.agents;
    const t = await registerTree(cat, "flow", 1, 3);
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse });
    const claimed = await claim(site.facility, 10, agent);
    expect(claimed.map((c) => c.file.name).sort()).toEqual(t.files.map((f) => f.name));
    expect(claimed[0]).toMatchObject({ source: { name: "SUMMIT_DISK" }, destination: { name: site.rse }, file: { scope: "raw" } });
    expect(claimed[0].lease).toMatch(/^[0-9a-f-]{36}$/);
    // Nothing left for anybody else.
    expect(await claim(site.facility, 10, other)).toEqual([]);
    for (const c of claimed) expect(await report(c, good(c), agent)).toMatchObject({ state: "DONE", attempts: 0 });
    expect((await cat.ok(RULE, { id: r.id })).rule).toMatchObject({ state: "OK", locksOk: 3, locksReplicating: 0 });
    const rep = await cat.ok(`query($n: String!) { did(scope: "raw", name: $n) { replicas { rse { name } state } } }`, { n: t.files[0].name });
    expect(rep.did.replicas).toEqual([
      { rse: { name: site.rse }, state: "AVAILABLE" },
      { rse: { name: "SUMMIT_DISK" }, state: "AVAILABLE" },
    ]);
    const done = await cat.ok(`{ events(types: ["transfer-done"], facility: "FLOW", first: 100) { nodes { payload } } }`);
    expect(done.events.nodes.map((e: any) => e.payload.name).sort()).toEqual(t.files.map((f) => f.name));
    const ok = await cat.ok(`{ events(types: ["rule-ok"], first: 1000) { nodes { payload } } }`);
    expect(ok.events.nodes.filter((e: any) => e.payload.rule === r.id)).toHaveLength(1);
    // A report with a stale lease is refused.
    expect((await cat.errorOf(REPORT, { id: claimed[0].id, lease: claimed[0].lease, o: good(claimed[0]) }, agent)).code).toBe("LEASE_LOST");
  });

  it("waits for a source allowed by the source expression, and takes it from there", async () => {
    const [from, to] = [await addSite(cat, "SRCA"), await addSite(cat, "SRCB")];
    const t = await registerTree(cat, "src", 1, 2);
    // SRCB is fed from SRCA only; the files are only at the Summit so far.
    const fed = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: to.rse, sourceReplicaExpression: from.rse });
    expect(await claim(to.facility, 10, to.agents[0])).toEqual([]);
    await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: from.rse });
    await drain(from);
    const claimed = await claim(to.facility, 10, to.agents[0]);
    expect(claimed.map((c) => c.source.name)).toEqual([from.rse, from.rse]);
    for (const c of claimed) await report(c, good(c), to.agents[0]);
    expect((await cat.ok(RULE, { id: fed.id })).rule.state).toBe("OK");
  });

  it("never gives two concurrent agents the same request", async () => {
    const site = await addSite(cat, "RACE");
    const t = await registerTree(cat, "race", 4, 50);
    await rule({ did: { scope: "raw", name: t.container }, rseExpression: site.rse });
    const take = async (token: string) => {
      const got: string[] = [];
      for (;;) {
        const batch = await claim(site.facility, 7, token);
        if (!batch.length) return got;
        got.push(...batch.map((c) => c.id));
      }
    };
    const [one, two] = await Promise.all(site.agents.map(take));
    const all = [...one, ...two];
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(200);
    expect(one.length).toBeGreaterThan(0);
    expect(two.length).toBeGreaterThan(0);
  });

  it("refuses an agent of one facility for another facility's work", async () => {
    const [site, elsewhere] = [await addSite(cat, "OWNS"), await addSite(cat, "OTHER")];
    const [agent] = site.agents;
    const [intruder] = elsewhere.agents;
    const t = await registerTree(cat, "scope", 1, 1);
    await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse });
    expect((await cat.errorOf(CLAIM, { f: "OWNS", n: 10 }, intruder)).code).toBe("FORBIDDEN");
    expect((await cat.errorOf(CLAIM, { f: "OWNS", n: 10 }, cat.tokens.admin)).code).toBe("FORBIDDEN");
    expect((await cat.errorOf(CLAIM, { f: "OWNS", n: 10 }, "")).code).toBe("UNAUTHENTICATED");
    expect((await cat.errorOf(CLAIM, { f: "MOON", n: 10 }, intruder)).code).toBe("FACILITY_NOT_FOUND");
    // Facility codes match regardless of case.
    const [c] = await claim("owns", 10, agent);
    // Another facility's request is not found for this agent, exactly as an unknown id: nothing is revealed.
    const foreign = await cat.errorOf(REPORT, { id: c.id, lease: c.lease, o: good(c) }, intruder);
    const unknown = await cat.errorOf(REPORT, { id: "00000000-0000-4000-8000-000000000000", lease: c.lease, o: good(c) }, intruder);
    expect(foreign.code).toBe("TRANSFER_NOT_FOUND");
    expect(foreign.message.replace(c.id, "ID")).toBe(unknown.message.replace("00000000-0000-4000-8000-000000000000", "ID"));
    expect((await cat.ok(`mutation($l: [String!]!) { heartbeat(leases: $l) }`, { l: [c.lease] }, intruder)).heartbeat).toEqual([]);
    expect((await report(c, good(c), agent)).state).toBe("DONE");
    expect((await cat.errorOf(REPORT, { id: "00000000-0000-0000-0000-000000000000", lease: c.lease, o: good(c) }, agent)).code).toBe("TRANSFER_NOT_FOUND");
  });

  it("does not hand out the transfers of a suspended rule until it is resumed", async () => {
    const site = await addSite(cat, "SUSP");
    const t = await registerTree(cat, "susp", 1, 2);
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse });
    await cat.ok(`mutation($id: String!) { suspendRule(id: $id) { state } }`, { id: r.id }, cat.tokens.writer);
    expect(await claim(site.facility, 10, site.agents[0])).toEqual([]);
    await cat.ok(`mutation($id: String!) { resumeRule(id: $id) { state } }`, { id: r.id }, cat.tokens.writer);
    expect((await claim(site.facility, 10, site.agents[0])).map((c) => c.file.name).sort()).toEqual(t.files.map((f) => f.name));
  });
});

describe("reports in batches (reportTransfers)", () => {
  const REPORTS = `mutation($r: [TransferReportInput!]!) { reportTransfers(reports: $r) { id request { state attempts errorCode lastError } error { code message } } }`;
  const item = (t: any, outcome: Record<string, unknown>) => ({ id: t.id, lease: t.lease, outcome });

  it("takes or refuses each report on its own, in the order given, in one call: DONE, a failure, a checksum mismatch, a stale lease, another agent's, another facility's, an unknown id", async () => {
    const [site, elsewhere] = [await addSite(cat, "BATCH"), await addSite(cat, "BATCHX")];
    const [agent, other] = site.agents;
    const t = await registerTree(cat, "batch", 1, 6);
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse });
    const claimed = await claim(site.facility, 4, agent);
    const [theirs] = await claim(site.facility, 1, other);
    const u = await registerTree(cat, "batchx", 1, 1);
    await rule({ did: { scope: "raw", name: u.datasets[0] }, rseExpression: elsewhere.rse });
    const [foreign] = await claim(elsewhere.facility, 1, elsewhere.agents[0]);
    const [done, failed, corrupt, stale] = claimed;
    expect((await report(stale, good(stale), agent)).state).toBe("DONE");
    const unknown = "00000000-0000-4000-8000-000000000000";
    const answers = (
      await cat.ok(
        REPORTS,
        {
          r: [
            item(done, good(done)),
            item(failed, { outcome: "FAILED", error: "the source has no such object (HTTP 404)", errorCode: "SOURCE_MISSING" }),
            item(corrupt, { ...good(corrupt), adler32: "deadbeef" }),
            item(stale, good(stale)),
            item(theirs, good(theirs)),
            item(foreign, good(foreign)),
            { id: unknown, lease: done.lease, outcome: good(done) },
          ],
        },
        agent,
      )
    ).reportTransfers;
    expect(answers.map((a: any) => a.id)).toEqual([done.id, failed.id, corrupt.id, stale.id, theirs.id, foreign.id, unknown]);
    expect(answers[0]).toMatchObject({ request: { state: "DONE", attempts: 0 }, error: null });
    expect(answers[1]).toMatchObject({ request: { state: "QUEUED", attempts: 1, errorCode: "SOURCE_MISSING" }, error: null });
    expect(answers[2]).toMatchObject({ request: { state: "QUEUED", attempts: 1, errorCode: "CHECKSUM_MISMATCH", lastError: `CHECKSUM_MISMATCH: adler32 deadbeef != ${corrupt.file.adler32}` } });
    expect(answers[3]).toMatchObject({ request: null, error: { code: "LEASE_LOST" } });
    expect(answers[4]).toMatchObject({ request: null, error: { code: "LEASE_LOST", message: expect.stringMatching(/another agent holds it/) } });
    // Another facility's request is not found, exactly as an unknown id.
    expect(answers[5]).toMatchObject({ request: null, error: { code: "TRANSFER_NOT_FOUND" } });
    expect(answers[5].error.message.replace(foreign.id, "ID")).toBe(answers[6].error.message.replace(unknown, "ID"));
    // What the agent of another facility held stays its own to report.
    expect((await report(foreign, good(foreign), elsewhere.agents[0])).state).toBe("DONE");
    expect((await report(theirs, good(theirs), other)).state).toBe("DONE");
    // The rule counts the batch's DONE; the transfer-done events carry Rucio's fields.
    expect((await cat.ok(RULE, { id: r.id })).rule).toMatchObject({ state: "REPLICATING", locksOk: 3, locksReplicating: 3 });
    const events = await cat.ok(`{ events(types: ["transfer-done"], facility: "BATCH", first: 100) { nodes { payload } } }`);
    const payload = events.events.nodes.find((e: any) => e.payload["request-id"] === done.id).payload;
    expect(payload).toMatchObject({ scope: "raw", name: done.file.name, "dst-rse": site.rse, "src-rse": "SUMMIT_DISK", bytes: done.file.bytes, "checksum-adler": done.file.adler32, "rule-ids": [r.id] });
  });

  it("refuses the whole call, writing nothing, when one item is malformed or a request comes twice; an empty call does nothing", async () => {
    const site = await addSite(cat, "BATCHBAD");
    const [agent] = site.agents;
    const t = await registerTree(cat, "batchbad", 1, 2);
    await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse });
    const [a, b] = await claim(site.facility, 2, agent);
    const badCode = await cat.errorOf(REPORTS, { r: [item(a, good(a)), item(b, { outcome: "FAILED", errorCode: "ON_FIRE" })] }, agent);
    expect(badCode).toMatchObject({ code: "INVALID_INPUT", message: expect.stringMatching(/^item 1: errorCode must be one of SOURCE_MISSING/) });
    const twice = await cat.errorOf(REPORTS, { r: [item(a, good(a)), item(a, good(a))] }, agent);
    expect(twice).toMatchObject({ code: "INVALID_INPUT", message: expect.stringMatching(/^item 1: request .* is reported twice/) });
    expect((await cat.ok(REPORTS, { r: [] }, agent)).reportTransfers).toEqual([]);
    // Nothing was taken: both are still held and can be reported.
    const answers = (await cat.ok(REPORTS, { r: [item(a, good(a)), item(b, good(b))] }, agent)).reportTransfers;
    expect(answers.map((x: any) => x.request?.state)).toEqual(["DONE", "DONE"]);
    expect((await cat.errorOf(REPORTS, { r: [item(a, good(a))] }, cat.tokens.admin)).code).toBe("FORBIDDEN");
  });
});

describe("verification of a DONE report", () => {
  /** A file registered with size, adler32 and md5, at the Summit, ruled to the site: its claimed request. */
  async function claimOne(site: Site, name: string) {
    const file = { scope: "raw", name, type: "FILE", bytes: 4096, adler32: "0a1b2c3d", md5: "9e107d9d372bb6826bd81d3542a419d6" };
    await cat.ok(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: [file] });
    await cat.ok(`mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "SUMMIT_DISK", replicas: $r) { count } }`, { r: [{ scope: "raw", name }] });
    const r = await rule({ did: { scope: "raw", name }, rseExpression: site.rse });
    const [c] = await claim(site.facility, 10, site.agents[0]);
    expect(c.file).toEqual({ scope: "raw", name, bytes: 4096, adler32: "0a1b2c3d", md5: "9e107d9d372bb6826bd81d3542a419d6" });
    return { c, ruleId: r.id };
  }
  const replicaState = async (site: Site, name: string) =>
    (await cat.ok(`query($n: String!) { did(scope: "raw", name: $n) { replicas { rse { name } state } } }`, { n: name })).did.replicas.find((x: any) => x.rse.name === site.rse)
      .state;

  it("keeps the agent's failure reason as the request's errorCode, and refuses a reason that is not one of the agent's", async () => {
    const site = await addSite(cat, "WHY");
    const [agent] = site.agents;
    const { c } = await claimOne(site, "why/f.fits");
    const bad = await cat.errorOf(REPORT, { id: c.id, lease: c.lease, o: { outcome: "FAILED", error: "disk on fire", errorCode: "ON_FIRE" } }, agent);
    expect(bad.code).toBe("INVALID_INPUT");
    expect(bad.message).toMatch(/SOURCE_MISSING, SOURCE_DENIED, DESTINATION_DENIED, DESTINATION_FULL, CHECKSUM_MISMATCH, NETWORK, TIMEOUT/);
    const res = await report(c, { outcome: "FAILED", error: "the source has no such object (HTTP 404)", errorCode: "SOURCE_MISSING" }, agent);
    expect(res).toMatchObject({ state: "QUEUED", attempts: 1, errorCode: "SOURCE_MISSING", lastError: "the source has no such object (HTTP 404)" });
    const [again] = await claim(site.facility, 10, agent);
    // Without a reason the failure is TRANSFER_ERROR, as before agents gave reasons.
    expect(await report(again, { outcome: "FAILED", error: "?" }, agent)).toMatchObject({ errorCode: "TRANSFER_ERROR" });
  });

  it("never makes a replica AVAILABLE on an adler32 or size mismatch", async () => {
    const site = await addSite(cat, "BAD");
    const [agent] = site.agents;
    const { c, ruleId } = await claimOne(site, "bad/f.fits");
    const res = await report(c, { ...good(c), adler32: "deadbeef" }, agent);
    expect(res).toMatchObject({ state: "QUEUED", attempts: 1, errorCode: "CHECKSUM_MISMATCH" });
    expect(res.lastError).toBe("CHECKSUM_MISMATCH: adler32 deadbeef != 0a1b2c3d");
    const [again] = await claim(site.facility, 10, agent);
    const wrongSize = await report(again, { ...good(again), bytes: 1 }, agent);
    expect(wrongSize).toMatchObject({ errorCode: "CHECKSUM_MISMATCH", lastError: "CHECKSUM_MISMATCH: size 1 != 4096" });
    expect(await replicaState(site, "bad/f.fits")).toBe("COPYING");
    expect((await cat.ok(RULE, { id: ruleId })).rule.state).toBe("REPLICATING");
    // A correct copy on the next attempt completes it.
    const [third] = await claim(site.facility, 10, agent);
    expect(await report(third, good(third), agent)).toMatchObject({ state: "DONE", attempts: 2 });
    expect((await cat.ok(RULE, { id: ruleId })).rule.state).toBe("OK");
  });

  it("refuses a DONE report whose md5 differs from the registered md5, or that gives none", async () => {
    const site = await addSite(cat, "MDFIVE");
    const [agent] = site.agents;
    const { c } = await claimOne(site, "md5/f.fits");
    const wrong = await report(c, { ...good(c), md5: "00000000000000000000000000000000" }, agent);
    expect(wrong).toMatchObject({ state: "QUEUED", attempts: 1, errorCode: "CHECKSUM_MISMATCH" });
    expect(wrong.lastError).toBe("CHECKSUM_MISMATCH: md5 00000000000000000000000000000000 != 9e107d9d372bb6826bd81d3542a419d6");
    const [again] = await claim(site.facility, 10, agent);
    const none = await report(again, { outcome: "DONE", bytes: 4096, adler32: "0a1b2c3d" }, agent);
    expect(none).toMatchObject({ state: "QUEUED", attempts: 2, errorCode: "CHECKSUM_MISMATCH", lastError: "CHECKSUM_MISMATCH: md5 (none) != 9e107d9d372bb6826bd81d3542a419d6" });
    expect(await replicaState(site, "md5/f.fits")).toBe("COPYING");
    // Checksums compare regardless of case.
    const [third] = await claim(site.facility, 10, agent);
    expect(await report(third, { ...good(third), md5: "9E107D9D372BB6826BD81D3542A419D6" }, agent)).toMatchObject({ state: "DONE" });
    expect(await replicaState(site, "md5/f.fits")).toBe("AVAILABLE");
  });

  it("refuses a DONE report that gives no size", async () => {
    const site = await addSite(cat, "NOSIZE");
    const [agent] = site.agents;
    const { c } = await claimOne(site, "nosize/f.fits");
    const res = await report(c, { outcome: "DONE", adler32: c.file.adler32, md5: c.file.md5 }, agent);
    expect(res).toMatchObject({ state: "QUEUED", attempts: 1, errorCode: "CHECKSUM_MISMATCH", lastError: "CHECKSUM_MISMATCH: no size reported (expected 4096)" });
    expect(await replicaState(site, "nosize/f.fits")).toBe("COPYING");
  });
});

describe("failures", () => {
  it("retries up to the attempt limit, then the lock and rule go STUCK keeping the error; retryRule re-queues", async () => {
    const site = await addSite(cat, "STUCK");
    const [agent] = site.agents;
    const t = await registerTree(cat, "stuck", 1, 1);
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [c] = await claim(site.facility, 10, agent);
      expect(c).toBeDefined();
      const res = await report(c, { outcome: "FAILED", error: `connection reset (${attempt})` }, agent);
      expect(res).toMatchObject({ attempts: attempt, state: attempt < 3 ? "QUEUED" : "FAILED", errorCode: "TRANSFER_ERROR" });
    }
    expect(await claim(site.facility, 10, agent)).toEqual([]);
    const stuck = (await cat.ok(RULE, { id: r.id })).rule;
    expect(stuck).toMatchObject({ state: "STUCK", locksStuck: 1 });
    expect(stuck.error).toMatch(/connection reset \(3\)/);
    const listed = await cat.ok(`{ rules(filter: {state: STUCK}) { nodes { id } } }`);
    expect(listed.rules.nodes.map((n: any) => n.id)).toContain(r.id);
    const retried = await cat.ok(`mutation($id: String!) { retryRule(id: $id) { state locksReplicating locksStuck error } }`, { id: r.id }, cat.tokens.writer);
    expect(retried.retryRule).toEqual({ state: "REPLICATING", locksReplicating: 1, locksStuck: 0, error: null });
    const [c] = await claim(site.facility, 10, agent);
    expect(await report(c, good(c), agent)).toMatchObject({ state: "DONE" });
    expect((await cat.ok(RULE, { id: r.id })).rule.state).toBe("OK");
  });
});

describe("with a backoff of 60 s and 4 attempts", () => {
  let slow: TestCatalog;
  beforeAll(async () => {
    slow = await startTestCatalog("transfers_backoff", { DBB_TRANSFER_MAX_ATTEMPTS: "4", DBB_TRANSFER_BACKOFF_SECONDS: "60", DBB_TRANSFER_LEASE_SECONDS: "300" });
    await seedBackbone(slow);
  });
  afterAll(() => slow.close());

  it("waits backoffSeconds · 2^(attempt-1) after failed attempt n, and hands the request out only when it is due", async () => {
    const site = await addSite(slow, "BACKOFF");
    const [agent] = site.agents;
    const t = await registerTree(slow, "backoff", 1, 1);
    await slow.ok(ADD_RULE, { i: { did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse } }, slow.tokens.writer);
    const db = slow.service.database.dataSource.manager;
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [c] = (await slow.ok(CLAIM, { f: site.facility, n: 10 }, agent)).claimTransfers;
      expect(c).toBeDefined();
      await slow.ok(REPORT, { id: c.id, lease: c.lease, o: { outcome: "FAILED", error: "timeout" } }, agent);
      const req = (await slow.ok(TRANSFER, { id: c.id })).transfer;
      expect(req).toMatchObject({ state: "QUEUED", attempts: attempt });
      // The report set both in one statement: the wait is exact.
      waits.push((Date.parse(req.nextAttemptAt) - Date.parse(req.updatedAt)) / 1000);
      // Not due yet: nobody gets it.
      expect((await slow.ok(CLAIM, { f: site.facility, n: 10 }, agent)).claimTransfers).toEqual([]);
      // The wait passes (the test moves the due time instead of waiting minutes).
      await db.query(`UPDATE transfer_requests SET next_attempt_at = now() WHERE id = $1`, [c.id]);
    }
    expect(waits).toEqual([60, 120, 240]);
  });
});

describe("leases", () => {
  let short: TestCatalog;
  beforeAll(async () => {
    short = await startTestCatalog("transfers_leases", { DBB_TRANSFER_LEASE_SECONDS: "2" });
    await seedBackbone(short);
  });
  afterAll(() => short.close());

  it("returns a request whose lease lapsed to the queue; heartbeats keep a lease alive", async () => {
    const site = await addSite(short, "LEASE");
    const [first, second] = site.agents;
    const t = await registerTree(short, "lease", 1, 2);
    await short.ok(ADD_RULE, { i: { did: { scope: "raw", name: t.datasets[0] }, rseExpression: site.rse } }, short.tokens.writer);
    const [a, b] = (await short.ok(CLAIM, { f: site.facility, n: 10 }, first)).claimTransfers;
    const heartbeat = async (leases: string[], token: string) => (await short.ok(`mutation($l: [String!]!) { heartbeat(leases: $l) }`, { l: leases }, token)).heartbeat;
    // The first agent keeps a alive and lets b lapse; the second agent gets b once its lease ran out, never a.
    const handedOver = await waitFor("b's lease to lapse", async () => {
      expect(await heartbeat([a.lease], first)).toEqual([a.lease]);
      const got = (await short.ok(CLAIM, { f: site.facility, n: 10 }, second)).claimTransfers as any[];
      return got.length ? got : undefined;
    });
    expect(handedOver.map((c) => c.id)).toEqual([b.id]);
    expect(await heartbeat([b.lease], first)).toEqual([]);
    const good2 = (c: any) => ({ outcome: "DONE", bytes: c.file.bytes, adler32: c.file.adler32 });
    expect((await short.errorOf(REPORT, { id: b.id, lease: b.lease, o: good2(b) }, first)).code).toBe("LEASE_LOST");
    expect((await short.ok(REPORT, { id: b.id, lease: handedOver[0].lease, o: good2(b) }, second)).reportTransfer.state).toBe("DONE");
    expect((await short.ok(REPORT, { id: a.id, lease: a.lease, o: good2(a) }, first)).reportTransfer.state).toBe("DONE");
    const lapsed = await short.ok(`{ events(types: ["transfer-lease-expired"], facility: "LEASE") { nodes { payload } } }`);
    expect(lapsed.events.nodes.map((n: any) => n.payload.request)).toEqual([b.id]);
  });
});
