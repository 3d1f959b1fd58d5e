import { waitFor } from "../support/wait-for";
import type { EntityManager } from "typeorm";
import { addDids } from "../../subgraphs/replicas/did";
import { addSubscription, matchNewDids, reevaluateSubscription, runSubscriptionJobBatch } from "../../subgraphs/replicas/subscription";
import { startTestCatalog, TestCatalog } from "../support/catalog";

/**
 * Subscriptions at scale are set-based: re-evaluating one over 100,000 DIDs already registered,
 * and matching a night's new DIDs from their events, cost SQL statements per batch, not per DID;
 * the re-evaluation job shows its progress after every batch.
 */
const DIDS = 100_000;
const BATCH = 10_000;
let cat: TestCatalog;
let db: EntityManager;

beforeAll(async () => {
  cat = await startTestCatalog("subscription_scale");
  db = cat.service.database.dataSource.manager;
  await cat.ok(`mutation { addScope(name: "raw") { name } }`);
  await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name: "USDF_DISK", facility: "USDF", kind: "POSIX", protocol: { root: "/d" } } });
  for (let k = 0; k < DIDS; k += 20_000) {
    await addDids(
      db,
      "test",
      Array.from({ length: 20_000 }, (_, i) => ({
        scope: "raw",
        name: `f${String(k + i).padStart(6, "0")}`,
        type: "FILE" as const,
        bytes: 1,
        // Every second DID is in the box's band (dec -40 … -20); of those, those with ra ≤ 180 are inside it.
        metadata: { datasetType: "raw", ra: ((k + i) * 0.0037) % 360, dec: (k + i) % 2 ? -30 : 30 },
      })),
    );
  }
}, 300_000);
afterAll(() => cat.close());

it("creates the rules of 100,000 DIDs in a number of statements set by the batches, with progress after each", async () => {
  await addSubscription(db, "test", {
    name: "backfill",
    filter: { scopes: ["raw"], metadata: { datasetType: "raw" }, sky: { box: { raMin: 0, raMax: 180, decMin: -40, decMax: -20 } } },
    rules: [{ rseExpression: "USDF_DISK" }],
  });
  const job = await reevaluateSubscription(db, "test", "backfill");
  const counter = cat.service.database.statements;
  const perBatch: number[] = [];
  const progress: number[] = [];
  for (let i = 0; i < 100; i++) {
    const before = counter.count;
    const r = await runSubscriptionJobBatch(db, { batchSize: BATCH });
    perBatch.push(counter.count - before);
    const p = await cat.ok(`query($id: String!) { subscriptionJob(id: $id) { state processed total progress } }`, { id: job.id });
    progress.push(p.subscriptionJob.progress);
    if (r.done) break;
  }
  const expected = Array.from({ length: DIDS }, (_, i) => i).filter((i) => i % 2 && ((i * 0.0037) % 360) <= 180).length;
  const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM rules WHERE subscription_id IS NOT NULL`);
  expect(n).toBe(expected);
  // The SQL prefilter (the box's dec band and RA range on the stored position) leaves exactly the
  // box's DIDs as candidates: ceil(candidates / BATCH) batches, the last one finding the end.
  const candidates = expected;
  expect(perBatch).toHaveLength(Math.floor(candidates / BATCH) + 1);
  // A batch of 10,000 candidates costs a few dozen statements, the same for every full batch.
  const full = perBatch.slice(0, Math.floor(candidates / BATCH));
  expect(Math.max(...perBatch)).toBeLessThan(60);
  expect(Math.max(...full) - Math.min(...full)).toBeLessThanOrEqual(1);
  expect(progress.at(-1)).toBe(1);
  for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1]);
  expect(progress[0]).toBeCloseTo(BATCH / candidates, 5);
  const sub = await cat.ok(`{ subscription(name: "backfill") { matchedDids rulesCreated state } }`);
  expect(sub.subscription).toEqual({ matchedDids: expected, rulesCreated: expected, state: "ACTIVE" });
}, 600_000);

it("matches 20,000 new DIDs from their events in statements per batch of events, the same for every batch", async () => {
  // The earlier DIDs' events are behind the cursor first (the re-evaluation took those DIDs).
  while ((await matchNewDids(db, { batchSize: 50_000 })).events) {}
  await addSubscription(db, "test", { name: "night", filter: { scopes: ["raw"], namePattern: "night/*", metadata: { datasetType: "raw" } }, rules: [{ rseExpression: "USDF_DISK" }, { rseExpression: "USDF_DISK", grouping: "NONE", lifetime: 86400 }] });
  await addDids(db, "test", Array.from({ length: 20_000 }, (_, i) => ({ scope: "raw", name: `night/${i}`, type: "FILE" as const, bytes: 1, metadata: { datasetType: i % 4 ? "raw" : "bias" } })));
  // The matcher takes only events of transactions older than every transaction still running on
  // the server (so none commits behind its cursor): another suite's long transaction on the same
  // Postgres server holds it back. Wait for that, as the matcher does, before counting.
  const [{ txid }] = await db.query(`SELECT max(txid)::text AS txid FROM events WHERE type = 'did-registered' AND payload->>'name' LIKE 'night/%'`);
  await waitFor("the new DIDs' events to be visible to the matcher", async () => {
    const [{ visible }] = await db.query(`SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS visible`, [txid]);
    return visible;
  }, { timeoutMs: 540_000, intervalMs: 500 });
  const counter = cat.service.database.statements;
  const perBatch: number[] = [];
  for (;;) {
    const before = counter.count;
    const r = await matchNewDids(db, { batchSize: 5000 });
    perBatch.push(counter.count - before);
    if (!r.events) break;
  }
  expect(perBatch).toHaveLength(5); // four batches of 5,000 events and one that finds none
  const full = perBatch.slice(0, 4);
  // Two active subscriptions ("backfill" and "night"), three templates: about a hundred statements a batch.
  expect(Math.max(...full)).toBeLessThan(120);
  expect(Math.max(...full)).toBe(Math.min(...full));
  const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM rules ru JOIN subscriptions s ON s.id = ru.subscription_id WHERE s.name = 'night'`);
  expect(n).toBe(2 * 15_000);
}, 900_000);
