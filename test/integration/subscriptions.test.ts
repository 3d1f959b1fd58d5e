import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { EntityManager } from "typeorm";
import { openCatalogDatabase, startReplicasService } from "../../subgraphs/replicas/service";
import { waitFor } from "../support/wait-for";
import { addDids, setDidMetadata } from "../../subgraphs/replicas/did";
import { addSubscription, drainSubscriptions, matchNewDids, reevaluateSubscription, runSubscriptionJobBatch } from "../../subgraphs/replicas/subscription";
import { seededRandom } from "../../lib/seeded-random";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { DBB } from "../support/processes";

/**
 * Subscriptions through the catalog: the GraphQL shapes scripts rely on, footprints that pick
 * exactly the DIDs inside them (across RA 0, at a pole, along a polygon edge), late metadata,
 * exactly one rule per (DID, subscription, template) whatever the restarts and concurrent
 * matchers, and `dbb policy apply`.
 */
let cat: TestCatalog;
let db: EntityManager;
const batch = { batchSize: 500 };

const ADD = `mutation($i: AddSubscriptionInput!) { addSubscription(input: $i) { name state active matchedDids rulesCreated lastError } }`;

beforeAll(async () => {
  cat = await startTestCatalog("subscriptions");
  db = cat.service.database.dataSource.manager;
  await cat.ok(`mutation { addScope(name: "sky") { name } }`);
  for (const [i, f] of ["USDF", "FrDF", "UKDF"].entries()) {
    await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name: `${f.toUpperCase()}_DISK`, facility: f, kind: "POSIX", protocol: { root: `/d/${i}` } } });
  }
}, 60_000);
afterAll(() => cat.close());

async function ruleNames(subscription: string): Promise<string[]> {
  const rows = await db.query(`SELECT ru.name FROM rules ru JOIN subscriptions s ON s.id = ru.subscription_id WHERE s.name = $1 ORDER BY ru.name`, [subscription]);
  return rows.map((r: { name: string }) => r.name);
}

describe("the GraphQL API", () => {
  it("adds, shows, lists, changes and deletes a subscription in the shapes scripts use, and links its rules back", async () => {
    await cat.ok(`mutation { addDids(input: [{scope: "sky", name: "api-1", type: FILE, bytes: 5, metadata: {datasetType: "calexp"}}]) { count } }`);
    await drainSubscriptions(db, batch); // the matcher has seen the DID before the subscription exists
    const added = await cat.ok(ADD, {
      i: { name: "api-sub", filter: { scopes: ["sky"], namePattern: "api-*", metadata: { datasetType: "calexp" } }, rules: [{ rseExpression: "USDF_DISK", lifetime: 3600 }], comment: "test" },
    });
    expect(added.addSubscription).toEqual({ name: "api-sub", state: "ACTIVE", active: true, matchedDids: 0, rulesCreated: 0, lastError: null });
    // Registered before the subscription: only a re-evaluation takes it.
    await drainSubscriptions(db, batch);
    expect(await ruleNames("api-sub")).toEqual([]);
    const job = await cat.ok(`mutation { reevaluateSubscription(name: "api-sub") { id state } }`);
    await drainSubscriptions(db, batch);
    const after = await cat.ok(`query($id: String!) {
      subscriptionJob(id: $id) { state processed progress rulesCreated subscription { name } }
      subscription(name: "api-sub") { state lastProcessed matchedDids rulesCreated lastError rules { rseExpression lifetime copies splitBy } }
      rules(filter: {subscription: "api-sub"}) { nodes { did { name } expiresAt subscription { name } } }
      subscriptions { name } }`, { id: job.reevaluateSubscription.id });
    expect(after.subscriptionJob).toEqual({ state: "DONE", processed: 1, progress: 1, rulesCreated: 1, subscription: { name: "api-sub" } });
    expect(after.subscription).toMatchObject({ state: "ACTIVE", matchedDids: 1, rulesCreated: 1, lastError: null, rules: [{ rseExpression: "USDF_DISK", lifetime: 3600, copies: 1, splitBy: null }] });
    expect(after.subscription.lastProcessed).not.toBeNull();
    expect(after.rules.nodes).toEqual([{ did: { name: "api-1" }, expiresAt: expect.any(String), subscription: { name: "api-sub" } }]);
    expect(after.subscriptions.map((s: any) => s.name)).toContain("api-sub");

    const dry = await cat.ok(`{ dryRun(filter: {scopes: ["sky"], namePattern: "api-*"}, rules: [{rseExpression: "FRDF_DISK"}]) { matchedCount dids { name } rules { did { name } template rseExpression } } }`);
    expect(dry.dryRun).toEqual({ matchedCount: 1, dids: [{ name: "api-1" }], rules: [{ did: { name: "api-1" }, template: 0, rseExpression: "FRDF_DISK" }] });

    const updated = await cat.ok(`mutation { updateSubscription(name: "api-sub", input: {active: false}) { state active } }`);
    expect(updated.updateSubscription).toEqual({ state: "INACTIVE", active: false });
    expect(await cat.ok(`mutation { deleteSubscription(name: "api-sub") }`)).toEqual({ deleteSubscription: true });
    expect((await cat.errorOf(`{ subscription(name: "api-sub") { name } }`)).code).toBe("SUBSCRIPTION_NOT_FOUND");
    // The rule stays, no longer naming a subscription.
    expect((await cat.ok(`{ rules(filter: {scope: "sky", name: "api-1"}) { nodes { subscription { name } } } }`)).rules.nodes).toEqual([{ subscription: null }]);
  });

  it("filters by name globs, type, size and metadata predicates (glob, in, numeric and ISO-time ranges, exists), as dryRun shows", async () => {
    await addDids(db, "test", [
      { scope: "sky", name: "flt/a.fits", type: "FILE", bytes: 10, metadata: { obs_id: "MC_O_20250601_000001", band: "g", day_obs: 20250601, date: "2025-06-01T03:00:00Z" } },
      { scope: "sky", name: "flt/b.fits", type: "FILE", bytes: 2000, metadata: { obs_id: "MC_O_20250602_000001", band: "r", day_obs: 20250602, date: "2025-06-02T03:00:00Z" } },
      { scope: "sky", name: "flt/c_test.fits", type: "FILE", bytes: 10, metadata: { obs_id: "MC_O_20250601_000002", band: "g", day_obs: 20250601, note: "x" } },
      { scope: "sky", name: "flt/ds", type: "DATASET" },
    ]);
    const names = async (filter: Record<string, unknown>) =>
      (await cat.ok(`query($f: JSONObject!) { dryRun(filter: $f) { dids { name } } }`, { f: { scopes: ["sky"], namePattern: "flt/*", ...filter } })).dryRun.dids.map((d: any) => d.name);
    expect(await names({})).toEqual(["flt/a.fits", "flt/b.fits", "flt/c_test.fits", "flt/ds"]);
    expect(await names({ excludedPattern: "*_test*", didTypes: ["FILE"] })).toEqual(["flt/a.fits", "flt/b.fits"]);
    expect(await names({ minBytes: 100, maxBytes: 1e20 })).toEqual(["flt/b.fits"]);
    expect(await names({ metadata: { obs_id: { glob: "MC_O_20250601_*" } } })).toEqual(["flt/a.fits", "flt/c_test.fits"]);
    expect(await names({ metadata: { band: { in: ["r", "i"] }, day_obs: { gte: 20250602 } } })).toEqual(["flt/b.fits"]);
    expect(await names({ metadata: { date: { lt: "2025-06-02T00:00:00Z" } } })).toEqual(["flt/a.fits"]);
    expect(await names({ metadata: { note: { exists: true } } })).toEqual(["flt/c_test.fits"]);
  });

  it("refuses bad filters and templates with INVALID_INPUT naming the field, a taken name, and callers without the right scope or ownership", async () => {
    const bad = async (i: Record<string, unknown>) => cat.errorOf(ADD, { i: { name: "bad", rules: [{ rseExpression: "USDF_DISK" }], filter: {}, ...i } });
    expect(await bad({ filter: { colour: "red" } })).toMatchObject({ code: "INVALID_INPUT", extensions: { field: "filter.colour" } });
    expect(await bad({ filter: { sky: { cone: { ra: 0, dec: 95, radius: 1 } } } })).toMatchObject({ code: "INVALID_INPUT" });
    expect(await bad({ filter: { sky: { polygon: [[0, 0], [10, 0], [5, 2], [10, 10], [0, 10]] } } })).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("not convex") });
    expect(await bad({ filter: { sky: { moc: "3/x" } } })).toMatchObject({ code: "INVALID_INPUT", extensions: { field: "filter.sky.moc" } });
    expect(await bad({ filter: { metadata: { band: { like: "g" } } } })).toMatchObject({ code: "INVALID_INPUT" });
    expect(await bad({ rules: [{ rseExpression: "USDF_DISK", copies: 0 }] })).toMatchObject({ code: "INVALID_INPUT", extensions: { field: "rules[0].copies" } });
    await expect(addSubscription(db, "test", { name: "long", filter: {}, rules: [{ rseExpression: "USDF_DISK", lifetime: 1e12 }] })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { field: "rules[0].lifetime" },
    });
    expect((await bad({ rules: [{ rseExpression: "USDF_DISK &&& (" }] })).code).toBe("INVALID_RSE_EXPRESSION");
    await cat.ok(ADD, { i: { name: "owned", filter: { scopes: ["nothing"] }, rules: [{ rseExpression: "USDF_DISK" }] } }, cat.tokens.writer);
    expect((await cat.errorOf(ADD, { i: { name: "owned", filter: {}, rules: [{ rseExpression: "USDF_DISK" }] } })).code).toBe("SUBSCRIPTION_ALREADY_EXISTS");
    const other = await cat.token("someone-else", ["catalog:write"]);
    expect((await cat.errorOf(`mutation { deleteSubscription(name: "owned") }`, {}, other)).code).toBe("FORBIDDEN");
    expect((await cat.errorOf(`mutation { deleteSubscription(name: "owned") }`, {}, cat.tokens.reader)).code).toBe("FORBIDDEN");
    expect(await cat.ok(`mutation { deleteSubscription(name: "owned") }`, {}, cat.tokens.writer)).toEqual({ deleteSubscription: true });
  });
});

describe("footprints", () => {
  // A generated sky: a grid every 2.5° with jitter, plus points hugging the pole, RA 0 and a polygon edge.
  const random = seededRandom(7);
  const points: Array<{ name: string; ra: number; dec: number }> = [];
  for (let dec = -88.75; dec < 90; dec += 2.5) for (let ra = 0.3; ra < 360; ra += 2.5) points.push({ name: "", ra: ra + random() * 0.5, dec: dec + random() * 0.5 });
  for (let i = 0; i < 60; i++) points.push({ name: "", ra: random() * 360, dec: -89.9 + random() * 0.5 }); // the south pole
  for (let d = -20; d <= 20; d += 1) points.push({ name: "", ra: 359.9999, dec: d }, { name: "", ra: 0.0001, dec: d }); // RA wrap
  // The polygon (10,10)-(30,10)-(30,30)-(10,30): its west edge is the meridian ra = 10 from dec 10 to 30.
  for (let d = 11; d < 30; d += 1) points.push({ name: "", ra: 10 + 1e-6, dec: d }, { name: "", ra: 10 - 1e-6, dec: d });
  points.forEach((p, i) => (p.name = `p${String(i).padStart(5, "0")}`));

  const rad = Math.PI / 180;
  const unit = (ra: number, dec: number) => [Math.cos(dec * rad) * Math.cos(ra * rad), Math.cos(dec * rad) * Math.sin(ra * rad), Math.sin(dec * rad)];
  const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const cross = (a: number[], b: number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  /** Inside a convex polygon given counter-clockwise: left of every great-circle edge. */
  const inPolygon = (vs: number[][], p: { ra: number; dec: number }) =>
    vs.every((v, i) => dot(cross(unit(v[0], v[1]), unit(vs[(i + 1) % vs.length][0], vs[(i + 1) % vs.length][1])), unit(p.ra, p.dec)) >= 0);
  const polygon = [[10, 10], [30, 10], [30, 30], [10, 30]];
  /** HEALPix's northern base faces (Górski et al. 2005, fig. 3): z > 2/3, and in the equatorial zone the
   * triangles above the face edges z = (4/3)·|φ/(π/2) + ½ − k| around each φ = (k − ½)·π/2. */
  function northernFaces(p: { ra: number; dec: number }): boolean {
    const z = Math.sin(p.dec * rad);
    const t = p.ra / 90 + 0.5;
    return z > 2 / 3 || (z > 0 && 0.75 * z > Math.abs(t - Math.round(t)));
  }

  const cases: Array<[string, unknown, (p: { ra: number; dec: number }) => boolean]> = [
    ["a cone around the south pole", { cone: { ra: 123, dec: -90, radius: 5 } }, (p) => dot(unit(p.ra, p.dec), [0, 0, -1]) >= Math.cos(5 * rad)],
    ["a cone across RA 0", { cone: { ra: 0, dec: 0, radius: 10 } }, (p) => dot(unit(p.ra, p.dec), [1, 0, 0]) >= Math.cos(10 * rad)],
    ["a box wrapping through RA 0", { box: { raMin: 350, raMax: 10, decMin: -20, decMax: 20 } }, (p) => (p.ra >= 350 || p.ra <= 10) && p.dec >= -20 && p.dec <= 20],
    ["a polygon, to either side of its edge", { polygon }, (p) => inPolygon(polygon, p)],
    ["the four northern HEALPix base pixels", { healpix: { nside: 1, nested: true, pixels: [0, 1, 2, 3] } }, northernFaces],
    ["the same as a MOC", { moc: "0/0-3" }, northernFaces],
  ];

  beforeAll(async () => {
    await addDids(db, "test", points.map((p) => ({ scope: "sky", name: p.name, type: "FILE", bytes: 1, metadata: { ra: p.ra, dec: p.dec } })));
    for (const [i, [, sky]] of cases.entries()) {
      await addSubscription(db, "test", { name: `sky-${i}`, filter: { scopes: ["sky"], namePattern: "p*", sky }, rules: [{ rseExpression: "UKDF_DISK" }] });
      await reevaluateSubscription(db, "test", `sky-${i}`);
    }
    await drainSubscriptions(db, { batchSize: 5000 });
  }, 300_000);

  it.each(cases.slice(0, 4).map((c, i) => [c[0], i, c[2]] as const))("%s picks exactly the DIDs inside it", async (_label, i, inside) => {
    const expected = points.filter(inside).map((p) => p.name).sort();
    expect(expected.length).toBeGreaterThan(10);
    expect(await ruleNames(`sky-${i}`)).toEqual(expected);
  });

  it.each([[cases[4][0], 4], [cases[5][0], 5]] as const)("%s pick exactly the DIDs inside them", async (_label, i) => {
    const expected = points.filter(northernFaces).map((p) => p.name).sort();
    expect(expected.length).toBeGreaterThan(1000);
    expect(await ruleNames(`sky-${i}`)).toEqual(expected);
  });
});

describe("DIDs with a region instead of ra/dec", () => {
  it("match a cone, box or polygon footprint their region overlaps, not one it misses, and never a HEALPix one", async () => {
    await addDids(db, "test", [
      // Centre outside the polygon (10..30, 10..30), its east corner inside.
      { scope: "sky", name: "reg-edge", type: "FILE", bytes: 1, metadata: { region: "POLYGON 9 15 10.5 15 10.5 16 9 16" } },
      { scope: "sky", name: "reg-far", type: "FILE", bytes: 1, metadata: { region: "CIRCLE 100 -50 1" } },
      { scope: "sky", name: "reg-inside", type: "FILE", bytes: 1, metadata: { region: "CIRCLE 20 20 0.5" } },
      { scope: "sky", name: "reg-bad", type: "FILE", bytes: 1, metadata: { region: "not a region" } },
      // ra/dec win over a region: this point is outside.
      { scope: "sky", name: "reg-both", type: "FILE", bytes: 1, metadata: { ra: 50, dec: 50, region: "CIRCLE 20 20 0.5" } },
    ]);
    await addSubscription(db, "test", { name: "regions", filter: { namePattern: "reg-*", sky: { polygon: [[10, 10], [30, 10], [30, 30], [10, 30]] } }, rules: [{ rseExpression: "USDF_DISK" }] });
    await addSubscription(db, "test", { name: "regions-hpx", filter: { namePattern: "reg-*", sky: { healpix: { nside: 1, pixels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] } } }, rules: [{ rseExpression: "USDF_DISK" }] });
    for (const name of ["regions", "regions-hpx"]) await reevaluateSubscription(db, "test", name);
    await drainSubscriptions(db, batch);
    expect(await ruleNames("regions")).toEqual(["reg-edge", "reg-inside"]);
    expect(await ruleNames("regions-hpx")).toEqual(["reg-both"]);
  });
});

describe("matching", () => {
  it("matches a DID whose metadata arrives after it was registered, when it arrives", async () => {
    await addSubscription(db, "test", { name: "late", filter: { scopes: ["sky"], metadata: { datasetType: "raw" }, sky: { cone: { ra: 200, dec: -30, radius: 1 } } }, rules: [{ rseExpression: "USDF_DISK" }] });
    await addDids(db, "test", [{ scope: "sky", name: "late-1", type: "FILE", bytes: 1 }]);
    await drainSubscriptions(db, batch);
    expect(await ruleNames("late")).toEqual([]);
    await setDidMetadata(db, { scope: "sky", name: "late-1" }, { datasetType: "raw" });
    await drainSubscriptions(db, batch);
    expect(await ruleNames("late")).toEqual([]); // no position yet
    await setDidMetadata(db, { scope: "sky", name: "late-1" }, { ra: 200.5, dec: -30.2 });
    await drainSubscriptions(db, batch);
    expect(await ruleNames("late")).toEqual(["late-1"]);
    await setDidMetadata(db, { scope: "sky", name: "late-1" }, { note: "changed again" });
    await drainSubscriptions(db, batch);
    expect(await ruleNames("late")).toEqual(["late-1"]);
  });

  it("makes one rule per DID and template across replayed events, concurrent matchers in two processes' pools and a re-evaluation running beside them", async () => {
    await addSubscription(db, "once", { name: "once", filter: { scopes: ["sky"], namePattern: "once-*" }, rules: [{ rseExpression: "USDF_DISK" }, { rseExpression: "FRDF_DISK", splitBy: "FILE" }] });
    const second = await openCatalogDatabase(cat.config);
    try {
      const other = second.dataSource.manager;
      const names = Array.from({ length: 300 }, (_, i) => `once-${String(i).padStart(3, "0")}`);
      // Registered in three transactions while two matchers and a re-evaluation run.
      const work: Promise<unknown>[] = [];
      for (let k = 0; k < 3; k++) {
        work.push(addDids(db, "test", names.slice(k * 100, k * 100 + 100).map((name) => ({ scope: "sky", name, type: "FILE", bytes: 1 }))));
        work.push(matchNewDids(db, { batchSize: 50 }), matchNewDids(other, { batchSize: 50 }));
      }
      await Promise.all(work);
      await reevaluateSubscription(db, "test", "once");
      await Promise.all([drainSubscriptions(db, { batchSize: 64 }), drainSubscriptions(other, { batchSize: 64 }), runSubscriptionJobBatch(other, { batchSize: 64 })]);
      // A restart that lost its cursor replays every event: nothing new.
      await db.query(`UPDATE subscription_matcher SET after_txid = '0', after_id = 0`);
      await reevaluateSubscription(db, "test", "once");
      await Promise.all([drainSubscriptions(db, { batchSize: 100 }), drainSubscriptions(other, { batchSize: 100 })]);
      const counts = await db.query(
        `SELECT ru.rse_expression AS rse, count(*)::int AS rules, count(DISTINCT ru.name)::int AS dids FROM rules ru
         JOIN subscriptions s ON s.id = ru.subscription_id WHERE s.name = 'once' GROUP BY 1 ORDER BY 1`,
      );
      expect(counts).toEqual([
        { rse: "FRDF_DISK", rules: 300, dids: 300 },
        { rse: "USDF_DISK", rules: 300, dids: 300 },
      ]);
      expect((await cat.ok(`{ subscription(name: "once") { matchedDids rulesCreated } }`)).subscription).toEqual({ matchedDids: 300, rulesCreated: 600 });
    } finally {
      await second.close();
    }
  }, 120_000);

  it("matches within seconds in a running catalog service: its matcher loop runs beside the judge", async () => {
    const live = await startReplicasService({ ...cat.config, subscriptions: { intervalSeconds: 0.2, batchSize: 1000 } }, { port: 0 });
    try {
      await addSubscription(db, "test", { name: "live", filter: { scopes: ["sky"], namePattern: "live-*" }, rules: [{ rseExpression: "USDF_DISK" }] });
      await cat.ok(`mutation { addDids(input: [{scope: "sky", name: "live-1", type: FILE, bytes: 1}]) { count } }`);
      await waitFor("the running matcher to make the rule", async () => (await ruleNames("live")).length === 1, { timeoutMs: 10_000 });
    } finally {
      await live.close();
    }
  });

  it("splits by dataset or file: one rule per dataset of a matched container, one per file below it, or one on the container", async () => {
    await addDids(db, "test", [
      { scope: "sky", name: "split/all", type: "CONTAINER", metadata: { campaign: "split" } },
      { scope: "sky", name: "split/ds1", type: "DATASET" },
      { scope: "sky", name: "split/ds2", type: "DATASET" },
      ...[1, 2, 3].map((i) => ({ scope: "sky", name: `split/f${i}`, type: "FILE" as const, bytes: 1 })),
    ]);
    await cat.ok(`mutation { a: attachDids(parent: {scope: "sky", name: "split/ds1"}, children: [{scope: "sky", name: "split/f1"}, {scope: "sky", name: "split/f2"}]) { count }
      b: attachDids(parent: {scope: "sky", name: "split/ds2"}, children: [{scope: "sky", name: "split/f3"}]) { count }
      c: attachDids(parent: {scope: "sky", name: "split/all"}, children: [{scope: "sky", name: "split/ds1"}, {scope: "sky", name: "split/ds2"}]) { count } }`);
    await addSubscription(db, "test", {
      name: "split",
      filter: { metadata: { campaign: "split" } },
      rules: [{ rseExpression: "USDF_DISK" }, { rseExpression: "FRDF_DISK", splitBy: "DATASET" }, { rseExpression: "UKDF_DISK", splitBy: "FILE" }],
    });
    await reevaluateSubscription(db, "test", "split");
    await drainSubscriptions(db, batch);
    const rows = await db.query(
      `SELECT ru.rse_expression AS rse, ru.name, ru.locks_ok_cnt + ru.locks_replicating_cnt AS locks FROM rules ru JOIN subscriptions s ON s.id = ru.subscription_id
       WHERE s.name = 'split' ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { rse: "FRDF_DISK", name: "split/ds1", locks: 2 },
      { rse: "FRDF_DISK", name: "split/ds2", locks: 1 },
      { rse: "UKDF_DISK", name: "split/f1", locks: 1 },
      { rse: "UKDF_DISK", name: "split/f2", locks: 1 },
      { rse: "UKDF_DISK", name: "split/f3", locks: 1 },
      { rse: "USDF_DISK", name: "split/all", locks: 3 },
    ]);
    expect((await cat.ok(`{ subscription(name: "split") { matchedDids rulesCreated } }`)).subscription).toEqual({ matchedDids: 6, rulesCreated: 6 });
  });

  it("records a template that cannot be placed as lastError without holding up other subscriptions", async () => {
    await addSubscription(db, "test", { name: "nowhere", filter: { scopes: ["sky"], namePattern: "err-*" }, rules: [{ rseExpression: "NOWHERE_DISK" }] });
    await addSubscription(db, "test", { name: "somewhere", filter: { scopes: ["sky"], namePattern: "err-*" }, rules: [{ rseExpression: "USDF_DISK" }] });
    await addDids(db, "test", [{ scope: "sky", name: "err-1", type: "FILE", bytes: 1 }]);
    await drainSubscriptions(db, batch);
    const s = await cat.ok(`{ a: subscription(name: "nowhere") { state lastError } b: subscription(name: "somewhere") { state rulesCreated } }`);
    expect(s.a.state).toBe("FAILING");
    expect(s.a.lastError).toMatch(/^INVALID_RSE_EXPRESSION|^INSUFFICIENT_TARGET_RSES/);
    expect(s.b).toEqual({ state: "ACTIVE", rulesCreated: 1 });
  });
});

describe("dbb policy apply", () => {
  const run = promisify(execFile);
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), "dbb-policy-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const apply = async (yaml: string, ...args: string[]) => {
    const file = path.join(dir, "p.yaml");
    writeFileSync(file, yaml);
    const { stdout } = await run(process.execPath, [DBB, "policy", "apply", file, "--url", cat.url, ...args], { env: { ...process.env, DBB_TOKEN: cat.tokens.admin } });
    return JSON.parse(stdout);
  };
  const file = (band: string) => `subscriptions:
  - name: cli-a
    filter: { scopes: [sky], metadata: { band: ${band} } }
    rules: [{ rseExpression: USDF_DISK }]
  - name: cli-b
    filter: { scopes: [sky], sky: { box: { raMin: 350, raMax: 10, decMin: -5, decMax: 5 } } }
    rules: [{ rseExpression: FRDF_DISK, sourceReplicaExpression: USDF_DISK }]
`;

  it("adds, then changes nothing when applied again, updates what changed, and prunes with --prune", async () => {
    expect(await apply(file("g"))).toMatchObject({ add: ["cli-a", "cli-b"], update: [], unchanged: [] });
    expect(await apply(file("g"))).toMatchObject({ add: [], update: [], unchanged: ["cli-a", "cli-b"] });
    expect(await apply(file("r"))).toMatchObject({ add: [], update: ["cli-a"], unchanged: ["cli-b"] });
    expect((await cat.ok(`{ subscription(name: "cli-a") { filter } }`)).subscription.filter).toEqual({ scopes: ["sky"], metadata: { band: "r" } });
    const pruned = await apply(file("r").split("  - name: cli-b")[0], "--prune");
    expect(pruned.remove).toContain("cli-b");
    expect((await cat.errorOf(`{ subscription(name: "cli-b") { name } }`)).code).toBe("SUBSCRIPTION_NOT_FOUND");
  }, 60_000);

  it("fails with the server's code and a message naming the subscription for a bad file", async () => {
    await expect(apply(`subscriptions:\n  - name: x\n    filter: { sky: { cone: { ra: 1 } } }\n    rules: [{ rseExpression: A }]\n`)).rejects.toMatchObject({
      stderr: expect.stringMatching(/subscription 'x'.*\[INVALID_INPUT\]/),
    });
  });
});
