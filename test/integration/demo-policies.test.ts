import type { EntityManager } from "typeorm";
import { DEMO_ACCOUNT, demoFiles, demoRses } from "../../cli/demo/catalog-demo";
import { loadDemoPolicies } from "../../cli/demo/demo-policies";
import { addDids } from "../../subgraphs/replicas/did";
import { addReplicas } from "../../subgraphs/replicas/replica";
import { addRse } from "../../subgraphs/replicas/rse";
import { addScope } from "../../subgraphs/replicas/scope";
import { drainSubscriptions } from "../../subgraphs/replicas/subscription";
import { claimTransfers, reportTransfer } from "../../subgraphs/replicas/transfer";
import { startTestCatalog, TestCatalog } from "../support/catalog";

/**
 * The demo's policies (cli/demo/policies.yaml, the five of DMTN-198) route the demo's raws as
 * the Data Backbone wants: every raw Summit → USDF and Summit → FrDF, and the raws inside the
 * UK footprint (a polygon across RA 0, dec -70 … -30) FrDF → UKDF, those only.
 */
let cat: TestCatalog;
let db: EntityManager;
const settings = { maxAttempts: 5, backoffSeconds: 0, leaseSeconds: 300 };
const files = demoFiles();

/** The footprint, independently: inside the polygon's RA span (300 → 60 through 0) and dec band; the demo's
 * positions are far (> 1°) from its curved edges, so this simple test agrees with the spherical one. */
const inUk = (f: { ra: number; dec: number }) => (f.ra >= 300 || f.ra <= 60) && f.dec < -35;

beforeAll(async () => {
  cat = await startTestCatalog("demo_policies");
  db = cat.service.database.dataSource.manager;
  // The catalog only: nothing is read from these stores here.
  for (const r of demoRses({ s3Endpoint: "http://127.0.0.1:9", ukdfRoot: "/data/ukdf" })) await addRse(db, DEMO_ACCOUNT, { ...r, facilityDescription: r.description });
  await addScope(db, DEMO_ACCOUNT, "raw");
  expect(await loadDemoPolicies(db, DEMO_ACCOUNT)).toEqual({
    add: ["raw-to-usdf", "raw-to-frdf", "raw-ukdf-footprint", "lfa-to-usdf", "permanent-record-to-frdf"],
    update: [],
    unchanged: [],
    remove: [],
  });
  await addDids(
    db,
    DEMO_ACCOUNT,
    files.map((f) => ({ scope: "raw", name: f.name, type: "FILE", bytes: f.bytes, adler32: f.adler32, md5: f.md5, metadata: { instrument: "LSSTCam", datasetType: "raw", ra: f.ra, dec: f.dec } })),
  );
  await addReplicas(db, DEMO_ACCOUNT, "SUMMIT_DISK", files.map((f) => ({ scope: "raw", name: f.name })));
  await drainSubscriptions(db, { batchSize: 1000 });
}, 120_000);
afterAll(() => cat.close());

async function rulesTo(rse: string): Promise<Array<{ name: string; source: string | null; subscription: string }>> {
  return db.query(
    `SELECT ru.name, ru.source_replica_expression AS source, s.name AS subscription FROM rules ru JOIN subscriptions s ON s.id = ru.subscription_id
     WHERE ru.rse_expression = $1 ORDER BY ru.name`,
    [rse],
  );
}

async function complete(facility: string): Promise<Array<{ name: string; source: string }>> {
  const claimed = await claimTransfers(db, facility, 10000, `test-agent-${facility}`, settings);
  const out = [];
  for (const t of claimed) {
    const [row] = await db.query(`SELECT d.bytes, d.adler32, d.md5, s.name AS source FROM dids d, rses s WHERE d.scope = $1 AND d.name = $2 AND s.id = $3`, [t.scope, t.name, t.sourceRseId]);
    await reportTransfer(db, t.id, t.lease!, `test-agent-${facility}`, { outcome: "DONE", bytes: Number(row.bytes), adler32: row.adler32, md5: row.md5 ?? undefined }, settings);
    out.push({ name: t.name, source: row.source });
  }
  return out;
}

it("the demo's raws fall both inside and outside the UK footprint", () => {
  const inside = files.filter(inUk).length;
  expect(inside).toBeGreaterThan(0);
  expect(inside).toBeLessThan(files.length);
});

it("makes one USDF rule and one FrDF rule per raw, and a UKDF rule sourced from FrDF for exactly the raws in the footprint", async () => {
  const names = files.map((f) => f.name).sort();
  expect((await rulesTo("USDF_DISK")).map((r) => r.name)).toEqual(names);
  expect((await rulesTo("FRDF_DISK")).map((r) => r.name)).toEqual(names);
  const uk = await rulesTo("UKDF_DISK");
  expect(uk.map((r) => r.name)).toEqual(files.filter(inUk).map((f) => f.name).sort());
  expect(new Set(uk.map((r) => `${r.source} ${r.subscription}`))).toEqual(new Set(["FRDF_DISK raw-ukdf-footprint"]));
  const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM rules`);
  expect(n).toBe(2 * files.length + uk.length);
});

it("routes Summit → USDF and Summit → FrDF, and FrDF → UKDF only once FrDF holds the copy", async () => {
  expect(await complete("UKDF")).toEqual([]); // FrDF has no copy yet: nothing for UKDF to take
  const usdf = await complete("USDF");
  expect(usdf).toHaveLength(files.length);
  expect(new Set(usdf.map((t) => t.source))).toEqual(new Set(["SUMMIT_DISK"]));
  const frdf = await complete("FrDF");
  expect(frdf).toHaveLength(files.length);
  expect(new Set(frdf.map((t) => t.source))).toEqual(new Set(["SUMMIT_DISK"]));
  const ukdf = await complete("UKDF");
  expect(ukdf.map((t) => t.name).sort()).toEqual(files.filter(inUk).map((f) => f.name).sort());
  expect(new Set(ukdf.map((t) => t.source))).toEqual(new Set(["FRDF_DISK"]));
});

it("loading the policies again changes nothing", async () => {
  const plan = await loadDemoPolicies(db, DEMO_ACCOUNT);
  expect(plan.add).toEqual([]);
  expect(plan.update).toEqual([]);
  expect(plan.unchanged).toHaveLength(5);
});
