import { createHash } from "node:crypto";
import { Client } from "pg";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { ADD_RULE, addSite, registerTree, RULE, seedBackbone } from "../support/replication";

/** Rules: placement per grouping, copies, preference for existing replicas, later attachments, lifecycle. */
let cat: TestCatalog;

beforeAll(async () => {
  cat = await startTestCatalog("rules");
  await seedBackbone(cat);
});
afterAll(() => cat.close());

async function locksByRse(id: string): Promise<Map<string, string[]>> {
  const rule = (await cat.ok(RULE, { id })).rule;
  const by = new Map<string, string[]>();
  for (const l of rule.locks.nodes) by.set(l.rse.name, [...(by.get(l.rse.name) ?? []), l.name]);
  return by;
}

const rule = (input: Record<string, unknown>, token = cat.tokens.writer) => cat.ok(ADD_RULE, { i: input }, token).then((d) => d.addRule);

describe("placement", () => {
  it("grouping ALL puts every file of a container on the same RSE", async () => {
    const t = await registerTree(cat, "all", 3, 4);
    const r = await rule({ did: { scope: "raw", name: t.container }, rseExpression: "tier=1", grouping: "ALL" });
    expect(r).toMatchObject({ state: "REPLICATING", locksReplicating: 12, locksOk: 0 });
    const by = await locksByRse(r.id);
    expect(by.size).toBe(1);
    expect([...by.values()][0]).toHaveLength(12);
  });

  it("grouping DATASET keeps each dataset together and spreads datasets", async () => {
    const t = await registerTree(cat, "dsg", 8, 3);
    const r = await rule({ did: { scope: "raw", name: t.container }, rseExpression: "USDF_DISK|FRDF_DISK|UKDF_DISK", grouping: "DATASET" });
    const by = await locksByRse(r.id);
    for (const ds of t.datasets) {
      const holders = [...by.entries()].filter(([, names]) => names.some((n) => n.startsWith(ds + "/")));
      expect(holders).toHaveLength(1);
      expect(holders[0][1].filter((n) => n.startsWith(ds + "/"))).toHaveLength(3);
    }
    expect(by.size).toBeGreaterThan(1);
  });

  it("grouping NONE places each file on its own, spread over the RSEs", async () => {
    const t = await registerTree(cat, "none", 1, 30);
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK|FRDF_DISK", grouping: "NONE" });
    const by = await locksByRse(r.id);
    expect([...by.values()].flat().sort()).toEqual(t.files.map((f) => f.name).sort());
    expect(by.size).toBe(2);
  });

  it("copies=2 over three RSEs locks each file on two different RSEs, preferring RSEs that hold replicas", async () => {
    const t = await registerTree(cat, "two", 2, 5, ["SUMMIT_DISK", "UKDF_DISK"]);
    const r = await rule({ did: { scope: "raw", name: t.container }, rseExpression: "USDF_DISK|FRDF_DISK|UKDF_DISK", copies: 2, grouping: "DATASET" });
    const rows = (await cat.ok(RULE, { id: r.id })).rule.locks.nodes as Array<{ name: string; rse: { name: string }; state: string }>;
    expect(rows).toHaveLength(20);
    for (const f of t.files) {
      const rses = rows.filter((l) => l.name === f.name).map((l) => l.rse.name);
      expect(new Set(rses).size).toBe(2);
      expect(rses).toContain("UKDF_DISK");
    }
    // The copies already at UKDF are locked OK at once; the others are on their way.
    expect(rows.filter((l) => l.rse.name === "UKDF_DISK").every((l) => l.state === "OK")).toBe(true);
    expect((await cat.ok(RULE, { id: r.id })).rule).toMatchObject({ locksOk: 10, locksReplicating: 10, state: "REPLICATING" });
  });

  it("a rule whose copies all exist is OK at once and queues nothing", async () => {
    const t = await registerTree(cat, "done", 1, 3, ["USDF_DISK"]);
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
    expect(r).toMatchObject({ state: "OK", locksOk: 3, locksReplicating: 0 });
    const q = await cat.ok(`query($id: String!) { transfers(filter: {ruleId: $id}) { totalCount } }`, { id: r.id });
    expect(q.transfers.totalCount).toBe(0);
    const d = await cat.ok(`query($n: String!) { did(scope: "raw", name: $n) { rules { id } locks { state rse { name } } replicas { rse { name } lockCount } } }`, {
      n: t.files[0].name,
    });
    expect(d.did.locks).toEqual([{ state: "OK", rse: { name: "USDF_DISK" } }]);
    expect(d.did.replicas.find((x: any) => x.rse.name === "USDF_DISK").lockCount).toBe(1);
  });

  it("queues one transfer and one COPYING replica per missing copy", async () => {
    const t = await registerTree(cat, "queue", 1, 4);
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK" });
    const q = await cat.ok(`query($id: String!) { transfers(filter: {ruleId: $id}) { totalCount nodes { state destination { name } file { name } } } }`, { id: r.id });
    expect(q.transfers.totalCount).toBe(4);
    expect(q.transfers.nodes.every((n: any) => n.state === "QUEUED" && n.destination.name === "FRDF_DISK")).toBe(true);
    const rep = await cat.ok(`{ replicas(rse: "FRDF_DISK", state: COPYING, namePattern: "queue/*") { totalCount } }`);
    expect(rep.replicas.totalCount).toBe(4);
    // A second rule wanting the same copies shares the live requests.
    const again = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK" });
    const q2 = await cat.ok(`{ transfers(filter: {scope: "raw", destinationRse: "FRDF_DISK", state: QUEUED}) { totalCount } }`);
    expect(again.locksReplicating).toBe(4);
    expect(q2.transfers.totalCount).toBeGreaterThanOrEqual(4);
    const perFile = await cat.ok(`query($n: String!) { transfers(filter: {name: $n}) { totalCount } }`, { n: t.files[0].name });
    expect(perFile.transfers.totalCount).toBe(1);
  });

  it("makes a rule whose replica another transaction registers meanwhile: that copy is kept, not written twice, and the rule still queues the rest", async () => {
    const t = await registerTree(cat, "race", 1, 3);
    const db = new Client({ connectionString: cat.config.database.url });
    await db.connect();
    try {
      // Another writer registers one of the copies the rule is about to make, and commits only
      // once the rule's INSERT waits on its row (the rule wrote its plan without seeing it).
      const [{ id: rse }] = (await db.query(`SELECT id FROM rses WHERE name = 'FRDF_DISK'`)).rows;
      await db.query("BEGIN");
      await db.query(`INSERT INTO replicas (scope, name, rse_id, state, bytes, path, account) VALUES ('raw', $1, $2, 'AVAILABLE', $3, 'elsewhere', 'other')`, [
        t.files[0].name,
        rse,
        t.files[0].bytes,
      ]);
      const made = rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "FRDF_DISK" });
      for (let i = 0; i < 100; i++) {
        const waiting = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
        if (waiting.rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await db.query("COMMIT");
      const r = await made;
      expect(r.locksReplicating + r.locksOk).toBe(3);
      const reps = (
        await db.query(`SELECT name, state, path FROM replicas WHERE rse_id = $1 AND name LIKE 'race/%' ORDER BY name`, [rse])
      ).rows;
      expect(reps.map((x) => [x.name, x.state])).toEqual(t.files.map((f, i) => [f.name, i === 0 ? "AVAILABLE" : "COPYING"]));
      expect(reps[0].path).toBe("elsewhere");
      const q = await cat.ok(`query($id: String!) { transfers(filter: {ruleId: $id}) { nodes { file { name } } } }`, { id: r.id });
      expect(q.transfers.nodes.map((n: any) => n.file.name).sort()).toEqual(t.files.map((f) => f.name).sort());
    } finally {
      await db.query("ROLLBACK").catch(() => undefined);
      await db.end();
    }
  });

  it("never places a copy on an RSE closed for writing", async () => {
    const [open, closed] = [await addSite(cat, "WOPEN"), await addSite(cat, "WCLOSED")];
    await cat.ok(`mutation($r: String!) { setRseAvailability(rse: $r, write: false) { name } }`, { r: closed.rse }, cat.tokens.admin);
    const t = await registerTree(cat, "closed", 1, 20);
    const expression = `${open.rse}|${closed.rse}`;
    // 20 files placed one by one: without the filter about half would land on the closed RSE.
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: expression, grouping: "NONE" });
    const by = await locksByRse(r.id);
    expect([...by.keys()]).toEqual([open.rse]);
    expect(by.get(open.rse)).toHaveLength(20);
    const two = await cat.errorOf(ADD_RULE, { i: { did: { scope: "raw", name: t.datasets[0] }, rseExpression: expression, copies: 2 } }, cat.tokens.writer);
    expect(two).toMatchObject({ code: "INSUFFICIENT_TARGET_RSES", extensions: { available: [open.rse], copies: 2 } });
    expect(two.message).toBe(`'${expression}' selects 1 writable RSE(s) but the rule wants 2 copies`);
  });

  it("places each dataset by the stable hash md5('<scope>:<dataset>@<RSE>'), the same every time, spreading datasets", async () => {
    const sites = [await addSite(cat, "HASHA"), await addSite(cat, "HASHB"), await addSite(cat, "HASHC")];
    const rses = sites.map((s) => s.rse);
    const t = await registerTree(cat, "hash", 12, 2);
    const r = await rule({ did: { scope: "raw", name: t.container }, rseExpression: rses.join("|"), grouping: "DATASET" });
    // Nothing is held anywhere yet, so the hash alone decides: the RSE with the smallest md5 of "<group>@<RSE>".
    const md5 = (s: string) => createHash("md5").update(s).digest("hex");
    const expected = new Map(t.datasets.map((ds) => [ds, [...rses].sort((a, b) => (md5(`raw:${ds}@${a}`) < md5(`raw:${ds}@${b}`) ? -1 : 1))[0]]));
    const by = await locksByRse(r.id);
    const placed = new Map(t.datasets.map((ds) => [ds, [...by.entries()].filter(([, names]) => names.some((n) => n.startsWith(ds + "/"))).map(([rse]) => rse)]));
    expect(Object.fromEntries(placed)).toEqual(Object.fromEntries(t.datasets.map((ds) => [ds, [expected.get(ds)]])));
    // These 12 datasets spread over all three RSEs.
    expect(new Set(expected.values()).size).toBe(3);
  });

  it("locks files attached later to a ruled dataset or container", async () => {
    const t = await registerTree(cat, "later", 1, 2);
    const r = await rule({ did: { scope: "raw", name: t.container }, rseExpression: "USDF_DISK|FRDF_DISK", grouping: "DATASET" });
    const before = await locksByRse(r.id);
    expect(before.size).toBe(1);
    const [rse] = [...before.keys()];
    await cat.ok(`mutation { addDids(input: [{scope: "raw", name: "later/ds0/f9.fits", type: FILE, bytes: 5}, {scope: "raw", name: "later/ds1", type: DATASET},
      {scope: "raw", name: "later/ds1/f0.fits", type: FILE, bytes: 6}]) { count } }`);
    await cat.ok(`mutation { attachDids(parent: {scope: "raw", name: "later/ds0"}, children: [{scope: "raw", name: "later/ds0/f9.fits"}]) { count } }`);
    await cat.ok(`mutation { attachDids(parent: {scope: "raw", name: "later/ds1"}, children: [{scope: "raw", name: "later/ds1/f0.fits"}]) { count } }`);
    await cat.ok(`mutation { attachDids(parent: {scope: "raw", name: "later/all"}, children: [{scope: "raw", name: "later/ds1"}]) { count } }`);
    const after = await cat.ok(RULE, { id: r.id });
    expect(after.rule.locksReplicating + after.rule.locksOk).toBe(4);
    // The new file of ds0 follows its dataset's RSE.
    expect((await locksByRse(r.id)).get(rse)).toContain("later/ds0/f9.fits");
  });
});

describe("validation", () => {
  it("refuses too few RSEs, unknown DIDs, bad expressions and bad values with coded errors", async () => {
    await registerTree(cat, "val", 1, 1);
    const e = (i: Record<string, unknown>) => cat.errorOf(ADD_RULE, { i });
    expect((await e({ did: { scope: "raw", name: "val/ds0" }, rseExpression: "tier=1", copies: 3 })).code).toBe("INSUFFICIENT_TARGET_RSES");
    expect((await e({ did: { scope: "raw", name: "ghost" }, rseExpression: "tier=1" })).code).toBe("DID_NOT_FOUND");
    expect((await e({ did: { scope: "raw", name: "val/ds0" }, rseExpression: "tier=(1" })).code).toBe("INVALID_RSE_EXPRESSION");
    expect((await e({ did: { scope: "raw", name: "val/ds0" }, rseExpression: "tier=1", sourceReplicaExpression: "nowhere" })).code).toBe("INVALID_RSE_EXPRESSION");
    expect((await e({ did: { scope: "raw", name: "val/ds0" }, rseExpression: "tier=1", priority: 9 })).code).toBe("INVALID_INPUT");
    expect((await e({ did: { scope: "raw", name: "val/ds0" }, rseExpression: "tier=1", lifetime: 0 })).code).toBe("INVALID_INPUT");
    expect((await cat.errorOf(RULE, { id: "00000000-0000-0000-0000-000000000000" })).code).toBe("RULE_NOT_FOUND");
    // Nothing was written by the refused calls.
    expect((await cat.ok(`{ rules(filter: {name: "val/ds0"}) { totalCount } }`)).rules.totalCount).toBe(0);
  });

  it("refuses rules without catalog:write, and changes to another account's rule without catalog:admin", async () => {
    const t = await registerTree(cat, "own", 1, 1);
    expect((await cat.errorOf(ADD_RULE, { i: { did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" } }, cat.tokens.reader)).code).toBe("FORBIDDEN");
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" });
    const other = await cat.token("someone-else", ["catalog:write"]);
    expect((await cat.errorOf(`mutation($id: String!) { deleteRule(id: $id) }`, { id: r.id }, other)).code).toBe("FORBIDDEN");
    expect((await cat.ok(`mutation($id: String!) { deleteRule(id: $id) }`, { id: r.id }, cat.tokens.admin)).deleteRule).toBe(true);
  });
});

describe("lifecycle", () => {
  it("updates, suspends and resumes a rule; a locked rule cannot be deleted", async () => {
    const t = await registerTree(cat, "life", 1, 2);
    const r = await rule({ did: { scope: "raw", name: t.datasets[0] }, rseExpression: "UKDF_DISK", locked: true, comment: "keep" });
    const upd = await cat.ok(`mutation($id: String!) { updateRule(id: $id, input: {priority: 5, comment: "campaign 7", lifetime: 3600}) { priority comment expiresAt locked } }`, { id: r.id }, cat.tokens.writer);
    expect(upd.updateRule).toMatchObject({ priority: 5, comment: "campaign 7", locked: true });
    expect(new Date(upd.updateRule.expiresAt).getTime()).toBeGreaterThan(Date.now() + 3500e3);
    expect((await cat.errorOf(`mutation($id: String!) { deleteRule(id: $id) }`, { id: r.id }, cat.tokens.writer)).code).toBe("RULE_LOCKED");
    expect((await cat.ok(`mutation($id: String!) { suspendRule(id: $id) { state } }`, { id: r.id }, cat.tokens.writer)).suspendRule.state).toBe("SUSPENDED");
    expect((await cat.ok(`mutation($id: String!) { resumeRule(id: $id) { state } }`, { id: r.id }, cat.tokens.writer)).resumeRule.state).toBe("REPLICATING");
    await cat.ok(`mutation($id: String!) { updateRule(id: $id, input: {locked: false}) { locked } }`, { id: r.id }, cat.tokens.writer);
    expect((await cat.ok(`mutation($id: String!) { deleteRule(id: $id) }`, { id: r.id }, cat.tokens.writer)).deleteRule).toBe(true);
    // Its queued transfers were cancelled and the COPYING replicas it created are due for deletion later.
    const q = await cat.ok(`{ transfers(filter: {destinationRse: "UKDF_DISK", name: "life/ds0/f0.fits"}) { nodes { state errorCode } } }`);
    expect(q.transfers.nodes).toEqual([{ state: "FAILED", errorCode: "CANCELLED" }]);
  });

  it("lists rules by state and account, a page at a time, and follows them through events", async () => {
    const pager = await cat.token("pager", ["catalog:write"]);
    const t = await registerTree(cat, "pages", 5, 1);
    const ids: string[] = [];
    for (const ds of t.datasets) ids.push((await rule({ did: { scope: "raw", name: ds }, rseExpression: "UKDF_DISK" }, pager)).id);
    const LIST = `query($a: String) { rules(filter: {state: REPLICATING, account: "pager"}, first: 2, after: $a) {
      totalCount pageInfo { hasNextPage endCursor } nodes { id state did { name } } } }`;
    const all = (await cat.ok(`{ rules(filter: {account: "pager"}, first: 100) { nodes { id } } }`)).rules.nodes.map((n: any) => n.id);
    expect([...all].sort()).toEqual([...ids].sort());
    const pages: string[][] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await cat.ok(LIST, { a: after })).rules;
      expect(page.totalCount).toBe(5);
      pages.push(page.nodes.map((n: any) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    // Each page continues exactly where the last one ended.
    expect(pages).toEqual([all.slice(0, 2), all.slice(2, 4), all.slice(4)]);
    const created = await cat.ok(`{ events(types: ["rule-created"], first: 1000) { edges { cursor node { id payload } } } }`);
    const mine = created.events.edges.filter((e: any) => ids.includes(e.node.payload.rule));
    expect(mine.map((e: any) => e.node.payload.rule)).toEqual(ids);
    expect(mine[0].node.payload).toMatchObject({ scope: "raw", name: t.datasets[0], rule: ids[0] });
    const EVENTS = `query($a: String) { events(after: $a, types: ["rule-created"], first: 2) { nodes { id } pageInfo { endCursor } } }`;
    const second = (await cat.ok(EVENTS, { a: mine[0].cursor })).events;
    expect(second.nodes.map((n: any) => n.id)).toEqual([mine[1].node.id, mine[2].node.id]);
    const third = (await cat.ok(EVENTS, { a: second.pageInfo.endCursor })).events;
    expect(third.nodes.map((n: any) => n.id)).toEqual([mine[3].node.id, mine[4].node.id]);
    // The facility filter matches codes regardless of case.
    const queued = await cat.ok(`{ events(types: ["transfer-queued"], facility: "ukdf", first: 1000) { nodes { facility payload } } }`);
    const files = new Set(t.files.map((f) => f.name));
    const ours = queued.events.nodes.filter((n: any) => files.has(n.payload.name));
    expect(ours).toHaveLength(5);
    for (const n of ours) expect(n).toMatchObject({ facility: "UKDF", payload: { rse: "UKDF_DISK", facility: "UKDF" } });
    expect((await cat.errorOf(`{ events(types: ["nonsense"]) { totalCount } }`)).code).toBe("INVALID_INPUT");
  });
});
