import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { signToken } from "../../lib/auth";
import { loadConfig } from "../../lib/config";
import { graphql, ok } from "../support/graphql-client";
import { createTestDatabase, TestDatabase } from "../support/postgres";
import { DBB, freePorts, ServiceProcess, spawnDbb } from "../support/processes";
import { waitFor } from "../support/wait-for";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

/**
 * Several catalog processes on one Postgres database, as production runs them: they start
 * together (migrations run once), do each piece of periodic work once (every expiring rule is
 * deleted once, with one event; every lapsed lease is re-queued once), survive one of them being
 * killed mid-round, and show which of them are alive. Two gateways over the same subgraphs answer
 * alike.
 */
const secret = randomBytes(24).toString("hex");
const RULES = 1000;
const CLAIMED = 100;
let dataDir: string;
let db: TestDatabase;
let facilityDb: TestDatabase;
let catalogs: ServiceProcess[] = [];
let others: ServiceProcess[] = [];
let admin: string;
let agent: string;

const env = (url: string): NodeJS.ProcessEnv => ({
  ...process.env,
  DBB_DATABASE_URL: url,
  DBB_AUTH_SECRET: secret,
  DBB_DATA_DIR: dataDir,
  DBB_LOG_LEVEL: "warn",
  DBB_JUDGE_INTERVAL_SECONDS: "1",
  DBB_TRANSFER_LEASE_SECONDS: "2",
});

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-workers-"));
  [db, facilityDb] = await Promise.all([createTestDatabase("workers"), createTestDatabase("workers_facility")]);
  const ports = await freePorts(6, 22000, 24000);
  // Three processes start at once on one empty database: the migrations must run once.
  catalogs = await Promise.all(ports.slice(0, 3).map((p) => spawnDbb(["serve", "replicas", "--port", String(p)], p, env(db.url))));
  const config = loadConfig(undefined, { DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dataDir });
  admin = await signToken(config, { subject: "alice", scopes: ["catalog:admin"], ttlSeconds: 3600 });
  agent = await signToken(config, { subject: "usdf-agent", scopes: ["agent:USDF"], ttlSeconds: 3600 });
  const url = catalogs[0].url;
  for (const [name, facility] of [["SUMMIT_DISK", "SUMMIT"], ["USDF_DISK", "USDF"]]) {
    await ok(url, `mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name, facility, kind: "POSIX", protocol: { root: "/data" } } }, admin);
  }
  await ok(url, `mutation { addScope(name: "raw") { name } }`, {}, admin);
  const files = Array.from({ length: 50 }, (_, i) => ({ scope: "raw", name: `LSSTCam/raw/20250601/f${i}.fits`, type: "FILE", bytes: 100 + i }));
  await ok(url, `mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: files }, admin);
  await ok(url, `mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "SUMMIT_DISK", replicas: $r) { count } }`, { r: files.map((f) => ({ scope: f.scope, name: f.name })) }, admin);
  others = [
    await spawnDbb(["serve", "facility", "--facility", "USDF", "--port", String(ports[3])], ports[3], env(facilityDb.url)),
  ];
  const gatewayConfig = path.join(dataDir, "gateway.yaml");
  writeFileSync(gatewayConfig, stringify({ gateway: { catalog: catalogs[0].url, facilities: [{ code: "USDF", url: others[0].url }] } }));
  for (const p of ports.slice(4, 6)) {
    others.push(await spawnDbb(["serve", "gateway", "--config", gatewayConfig, "--port", String(p)], p, { ...env(db.url), DBB_DATABASE_URL: "" }));
  }
}, 180000);

afterAll(async () => {
  await Promise.all([...catalogs, ...others].map((p) => p.stop()));
  await Promise.all([db, facilityDb].map((d) => d?.drop()));
  rmSync(dataDir, { recursive: true, force: true });
});

it("shows every catalog process as a worker with its host, pid and version", async () => {
  const workers = await waitFor("three workers", async () => {
    const w = (await ok(catalogs[0].url, `{ catalogWorkers { pid version state host lastBeat } }`)).catalogWorkers;
    return w.length === 3 ? w : undefined;
  });
  expect(workers.map((w: any) => w.pid).sort()).toEqual(catalogs.map((c) => c.child.pid).sort());
  for (const w of workers) expect(w).toMatchObject({ state: "ALIVE", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  // Each process exports its loops' last run and duration.
  const metrics = await (await fetch(catalogs[0].url.replace(/graphql$/, "metrics"))).text();
  expect(metrics).toMatch(/dbb_loop_rounds_total\{loop="judge",outcome="ok"\} [1-9]/);
  expect(metrics).toMatch(/dbb_loop_last_run_timestamp_seconds\{loop="judge"\} \d/);
  expect(metrics).toMatch(/dbb_loop_last_duration_seconds\{loop="catalog-heartbeat"\} \d/);
});

it("re-queues each lapsed lease once, whichever process's judge finds it", async () => {
  await ok(catalogs[1].url, `mutation { addRule(input: {did: {scope: "raw", name: "LSSTCam/raw/20250601/f0.fits"}, rseExpression: "USDF_DISK"}) { id } }`, {}, admin);
  const claimed = await graphql(catalogs[2].url, `mutation { claimTransfers(facility: "USDF", limit: ${CLAIMED}) { id } }`, {}, agent);
  expect(claimed.data!.claimTransfers).toHaveLength(1);
  const id = claimed.data!.claimTransfers[0].id;
  // No heartbeat: after 2 s the lease lapses, and some judge gives the request back.
  await waitFor("the request to be queued again", async () => {
    const t = (await ok(catalogs[0].url, `query($id: String!) { transfer(id: $id) { state } }`, { id })).transfer;
    return t.state === "QUEUED" ? t : undefined;
  });
  await new Promise((r) => setTimeout(r, 3000));
  const events = (await ok(catalogs[0].url, `{ events(types: ["transfer-lease-expired"], first: 1000) { nodes { payload } } }`)).events.nodes;
  expect(events.filter((e: any) => e.payload.request === id)).toHaveLength(1);
}, 60000);

it("deletes each of 1,000 expiring rules exactly once, with one event each, though one process is killed mid-way", async () => {
  // 1,000 rules on 50 files, in batches of aliased mutations; each expires 3 s after it was made.
  for (let b = 0; b < RULES / 100; b++) {
    const fields = Array.from({ length: 100 }, (_, i) => {
      const n = b * 100 + i;
      return `r${n}: addRule(input: {did: {scope: "raw", name: "LSSTCam/raw/20250601/f${n % 50}.fits"}, rseExpression: "SUMMIT_DISK", lifetime: 3, activity: "Expiry test", comment: "expiring ${n}"}) { id }`;
    });
    await ok(catalogs[b % 3].url, `mutation { ${fields.join(" ")} }`, {}, admin);
  }
  const count = async () => (await ok(catalogs[0].url, `{ rules(filter: {activity: "Expiry test"}) { totalCount } }`)).rules.totalCount as number;
  // Once the judges have started on them, kill one process in the middle of its rounds.
  await waitFor("expiry to begin", async () => (await count()) < RULES, { timeoutMs: 60000, intervalMs: 100 });
  await catalogs[1].kill();
  await waitFor("every expiring rule to be gone", async () => (await count()) === 0, { timeoutMs: 200000, intervalMs: 200 });
  const events = (await ok(catalogs[0].url, `{ events(types: ["rule-expired"], first: 10000) { nodes { payload } } }`)).events.nodes;
  const ids = events.map((e: any) => e.payload.rule);
  expect(ids).toHaveLength(RULES);
  expect(new Set(ids).size).toBe(RULES);
  // Nothing the killed process was doing is lost or left half-done: no locks of deleted rules remain.
  const locks = (await ok(catalogs[0].url, `query($n: String!) { did(scope: "raw", name: $n) { locks { ruleId } } }`, { n: "LSSTCam/raw/20250601/f7.fits" })).did.locks;
  expect(locks).toEqual([]);
  // The killed process shows as LATE (it stopped beating); the others stay ALIVE.
  const workers = await waitFor("the killed worker to be late", async () => {
    const w = (await ok(catalogs[0].url, `{ catalogWorkers { pid state } }`)).catalogWorkers;
    return w.find((x: any) => x.pid === catalogs[1].child.pid)?.state === "LATE" ? w : undefined;
  });
  expect(workers.filter((w: any) => w.state === "ALIVE")).toHaveLength(2);
}, 240000);

it("answers a mixed query load alike through two gateways", async () => {
  const [g1, g2] = [others[1].url, others[2].url];
  const queries = [
    `{ facilities { code rses { name } } }`,
    `{ rses(expression: "*") { name attributes facility { code } } }`,
    `{ dids(scope: "raw", first: 20) { totalCount nodes { name bytes replicas { rse { name } state } } } }`,
    `{ rules(first: 50) { totalCount nodes { id state did { name } } } }`,
    `{ didsByRefs(refs: [{scope: "raw", name: "LSSTCam/raw/20250601/f0.fits"}, {scope: "raw", name: "none"}]) { name rules { id } replicas { rse { name } state } } }`,
    `{ facility(code: "USDF") { code datasetTypes { name } } }`,
    `{ transfers(first: 10) { nodes { id state rules { id } } } }`,
  ];
  for (let round = 0; round < 5; round++) {
    for (const q of queries) {
      const [a, b] = await Promise.all([graphql(g1, q), graphql(g2, q)]);
      expect({ q, errors: a.errors ?? [] }).toEqual({ q, errors: [] });
      expect(b).toEqual(a);
    }
  }
}, 60000);

it("runs one judge round from the command line with `dbb judge --once`, beside the running processes", async () => {
  await ok(catalogs[0].url, `mutation { addRule(input: {did: {scope: "raw", name: "LSSTCam/raw/20250601/f3.fits"}, rseExpression: "SUMMIT_DISK", lifetime: 1}) { id } }`, {}, admin);
  await new Promise((r) => setTimeout(r, 1100));
  const { stdout } = await promisify(execFile)(process.execPath, [DBB, "judge", "--once"], { env: { ...env(db.url), NODE_ENV: "" } });
  const round = JSON.parse(stdout);
  // The running processes' judges may have taken the rule first: between them it is deleted once.
  expect(round).toEqual({ expiredRules: expect.any(Number), requeued: expect.any(Number), removalsResolved: 0, didsExpired: 0 });
  expect((await ok(catalogs[0].url, `{ rules(filter: {name: "LSSTCam/raw/20250601/f3.fits"}) { totalCount } }`)).rules.totalCount).toBe(0);
});
