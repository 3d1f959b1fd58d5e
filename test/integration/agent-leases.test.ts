import { Client } from "pg";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { startTestFacility, TestFacility } from "../support/facility";
import { ADD_RULE, CLAIM, registerTree, REPORT, seedBackbone } from "../support/replication";

/**
 * What a lease means: only its holder may report or heartbeat it, and only until it runs out;
 * agent scopes are checked before any id is looked up, and facility codes in them match
 * regardless of case in the catalog and in the facilities.
 */
let cat: TestCatalog;
let usdf: string;
let usdf2: string;

const CLAIM_DEL = `mutation($f: String!, $n: Int!) { claimDeletions(facility: $f, limit: $n) { id lease } }`;
const REPORT_DEL = `mutation($id: String!, $lease: String!, $o: DeletionOutcomeInput!) { reportDeletion(id: $id, lease: $lease, outcome: $o) }`;
const HEARTBEAT = `mutation($l: [String!]!) { heartbeat(leases: $l) }`;

beforeAll(async () => {
  cat = await startTestCatalog("leases", { DBB_TRANSFER_LEASE_SECONDS: "1", DBB_TRANSFER_BACKOFF_SECONDS: "0", DBB_TOMBSTONE_DELAY_SECONDS: "0" });
  await seedBackbone(cat);
  usdf = await cat.token("usdf-agent-1", ["agent:USDF"]);
  usdf2 = await cat.token("usdf-agent-2", ["agent:USDF"]);
});
afterAll(() => cat.close());

const rule = (input: Record<string, unknown>) => cat.ok(ADD_RULE, { i: input }, cat.tokens.writer).then((d) => d.addRule);
const claim = (n: number, token: string) => cat.ok(CLAIM, { f: "USDF", n }, token).then((d) => d.claimTransfers as any[]);
const good = (t: any) => ({ outcome: "DONE", bytes: t.file.bytes, adler32: t.file.adler32 });

/** Waits until the database's clock has passed a lease's end (no reaper runs: the judge is idle). */
async function untilExpired(table: "transfer_requests" | "replicas", id: string): Promise<void> {
  const column = table === "replicas" ? "deletion_lease_expires_at" : "lease_expires_at";
  const db = new Client({ connectionString: cat.config.database.url });
  await db.connect();
  try {
    for (;;) {
      const [row] = (await db.query(`SELECT ${column} < clock_timestamp() AS expired FROM ${table} WHERE id = $1`, [id])).rows;
      if (row.expired) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await db.end();
  }
}

it("refuses a report after the lease ran out with LEASE_LOST, though nobody re-claimed the request", async () => {
  const t = await registerTree(cat, "expired", 1, 1);
  await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
  const [c] = await claim(10, usdf);
  await untilExpired("transfer_requests", c.id);
  const err = await cat.errorOf(REPORT, { id: c.id, lease: c.lease, o: good(c) }, usdf);
  expect(err.code).toBe("LEASE_LOST");
  expect(err.message).toMatch(/ran out/);
  // Nor may it be kept alive any more.
  expect((await cat.ok(HEARTBEAT, { l: [c.lease] }, usdf)).heartbeat).toEqual([]);
});

it("lets only the agent holding a lease report or heartbeat it", async () => {
  const t = await registerTree(cat, "holder", 1, 1);
  await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
  const [c] = await claim(10, usdf);
  expect((await cat.ok(HEARTBEAT, { l: [c.lease] }, usdf2)).heartbeat).toEqual([]);
  const err = await cat.errorOf(REPORT, { id: c.id, lease: c.lease, o: good(c) }, usdf2);
  expect(err.code).toBe("LEASE_LOST");
  expect(err.message).toMatch(/another agent/);
  expect((await cat.ok(REPORT, { id: c.id, lease: c.lease, o: good(c) }, usdf)).reportTransfer.state).toBe("DONE");
});

it("refuses a heartbeat without an agent scope (FORBIDDEN)", async () => {
  const err = await cat.errorOf(HEARTBEAT, { l: ["00000000-0000-0000-0000-000000000000"] }, cat.tokens.writer);
  expect(err.code).toBe("FORBIDDEN");
});

it("tells a token without an agent scope FORBIDDEN for known and unknown ids alike", async () => {
  const t = await registerTree(cat, "probe", 1, 1);
  await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
  const [c] = await claim(10, usdf);
  const known = await cat.errorOf(REPORT, { id: c.id, lease: c.lease, o: good(c) }, cat.tokens.writer);
  const unknown = await cat.errorOf(REPORT, { id: "00000000-0000-0000-0000-000000000000", lease: c.lease, o: good(c) }, cat.tokens.writer);
  expect([known.code, unknown.code]).toEqual(["FORBIDDEN", "FORBIDDEN"]);
  const delKnown = await cat.errorOf(REPORT_DEL, { id: c.id, lease: c.lease, o: { ok: true } }, cat.tokens.writer);
  expect(delKnown.code).toBe("FORBIDDEN");
  await cat.ok(REPORT, { id: c.id, lease: c.lease, o: good(c) }, usdf);
});

it("refuses a deletion report after its lease ran out, or from another agent, with LEASE_LOST", async () => {
  const t = await registerTree(cat, "dellease", 1, 2, ["SUMMIT_DISK", "USDF_DISK"]);
  const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK", purgeReplicas: true });
  await cat.ok(`mutation($id: String!) { deleteRule(id: $id) }`, { id: r.id }, cat.tokens.writer);
  const [a, b] = (await cat.ok(CLAIM_DEL, { f: "USDF", n: 10 }, usdf)).claimDeletions;
  expect((await cat.errorOf(REPORT_DEL, { id: a.id, lease: a.lease, o: { ok: true } }, usdf2)).code).toBe("LEASE_LOST");
  expect((await cat.ok(HEARTBEAT, { l: [a.lease] }, usdf2)).heartbeat).toEqual([]);
  await untilExpired("replicas", b.id);
  expect((await cat.errorOf(REPORT_DEL, { id: b.id, lease: b.lease, o: { ok: true } }, usdf)).code).toBe("LEASE_LOST");
});

describe("agent scopes at a facility", () => {
  let fac: TestFacility;
  beforeAll(async () => {
    fac = await startTestFacility("agent_scope_case", "FrDF");
  });
  afterAll(() => fac.close());

  it("accepts agent:frdf for FrDF's registry, as the catalog does", async () => {
    const { signToken } = await import("../../lib/auth");
    // The facility verifies tokens with its own key.
    const token = await signToken(fac.config, { subject: "frdf-lower", scopes: ["agent:frdf"], ttlSeconds: 600 });
    const res = await fac.raw(`mutation { registerCollection(name: "u/case/run", type: RUN) { name } }`, {}, token);
    expect(res.errors).toBeUndefined();
    expect((res.data as any).registerCollection.name).toBe("u/case/run");
  });
});
