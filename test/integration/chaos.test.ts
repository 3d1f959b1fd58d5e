import "reflect-metadata";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { GatewayService, startGateway } from "../../gateway/server";
import { signToken } from "../../lib/auth";
import { Config, loadConfig } from "../../lib/config";
import { graphql, GraphQLResponse, ok } from "../support/graphql-client";
import { createTestDatabase, TestDatabase } from "../support/postgres";
import { freePorts, ServiceProcess, spawnDbb } from "../support/processes";
import { ADD_RULE, CLAIM, REPORT, RULE } from "../support/replication";

/**
 * Chaos under a running federation of real processes: a facility killed and restarted behind the
 * gateway under bounded load, agents (GraphQL clients holding leases) killed mid-report, and an
 * embedded-database facility fed the expressions that used to wedge it. (The database dropped,
 * hung and restored under a running service is in health.test.ts.)
 */
const secret = randomBytes(24).toString("hex");
let dataDir: string;
let dbs: TestDatabase[] = [];
let catalog: ServiceProcess;
let usdf: ServiceProcess;
let frdf: ServiceProcess;
let frdfPort: number;
let gateway: GatewayService;
let config: Config;
const tokens: Record<string, string> = {};

const env = (dbUrl: string | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn", DBB_TRANSFER_LEASE_SECONDS: "2", ...extra };
  if (dbUrl) e.DBB_DATABASE_URL = dbUrl;
  else delete e.DBB_DATABASE_URL;
  return e;
};

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-chaos-"));
  dbs = await Promise.all(["chaos_catalog", "chaos_usdf", "chaos_frdf"].map(createTestDatabase));
  const [cp, up, fp] = await freePorts(3, 5000, 10000);
  frdfPort = fp;
  [catalog, usdf, frdf] = await Promise.all([
    spawnDbb(["serve", "replicas", "--port", String(cp)], cp, env(dbs[0].url)),
    spawnDbb(["serve", "facility", "--facility", "USDF", "--port", String(up)], up, env(dbs[1].url)),
    spawnDbb(["serve", "facility", "--facility", "FrDF", "--port", String(fp)], fp, env(dbs[2].url)),
  ]);
  config = loadConfig(undefined, { DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: process.env.DBB_TEST_LOG_LEVEL ?? "silent" });
  config.gateway = {
    ...config.gateway,
    catalog: catalog.url,
    facilities: [
      { code: "USDF", url: usdf.url },
      { code: "FrDF", url: frdf.url },
    ],
    facilityTimeoutMs: 3000,
    refreshSeconds: 3600,
  };
  gateway = await startGateway(config, { port: 0, sdl: await localSubgraphSdl() });
  const t = (sub: string, scopes: string[]) => signToken(config, { subject: sub, scopes, ttlSeconds: 3600 });
  tokens.admin = await t("alice", ["catalog:admin"]);
  tokens.agent1 = await t("usdf-agent-1", ["agent:USDF"]);
  tokens.agent2 = await t("usdf-agent-2", ["agent:USDF"]);
  for (const [name, facility] of [["USDF_DISK", "USDF"], ["FRDF_DISK", "FrDF"], ["SUMMIT_DISK", "SUMMIT"]]) {
    await ok(gateway.url, `mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name, facility, kind: "POSIX", protocol: { root: "/d" } } }, tokens.admin);
  }
  await ok(gateway.url, `mutation { addScope(name: "raw") { name } }`, {}, tokens.admin);
}, 180000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([catalog, usdf, frdf].map((s) => s?.stop()));
  await Promise.all(dbs.map((d) => d.drop()));
  rmSync(dataDir, { recursive: true, force: true });
});

const BOTH = `{ usdf: facility(code: "USDF") { code datasetTypes { name } } frdf: facility(code: "FrDF") { code datasetTypes { name } } }`;

it("keeps answering USDF's part, and FrDF's once it is back, while FrDF is killed and restarted under load", async () => {
  const results: GraphQLResponse[] = [];
  const statuses: number[] = [];
  const total = 240;
  let sent = 0;
  let killed = false;
  let restarted: Promise<void> | undefined;
  const worker = async () => {
    while (sent < total) {
      sent++;
      const res = await graphql(gateway.url, BOTH);
      statuses.push(res.status);
      results.push(res);
      if (!killed && results.length >= 60) {
        killed = true;
        await frdf.kill();
      }
      if (killed && !restarted && results.length >= 120) {
        restarted = spawnDbb(["serve", "facility", "--facility", "FrDF", "--port", String(frdfPort)], frdfPort, env(dbs[2].url)).then((p) => {
          frdf = p;
        });
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await restarted;
  // No failed request, no internal error, USDF's answer in every one.
  expect(statuses.every((s) => s === 200)).toBe(true);
  const codes = results.flatMap((r) => (r.errors ?? []).map((e) => e.extensions?.code));
  expect(codes.filter((c) => c !== "FACILITY_UNAVAILABLE")).toEqual([]);
  expect(results.every((r) => r.data?.usdf?.code === "USDF")).toBe(true);
  // Before the kill nothing was lost to keep-alive races: the first 60 answers are complete.
  expect(results.slice(0, 50).every((r) => !r.errors && r.data?.frdf?.code === "FrDF")).toBe(true);
  // Back in the federation at the next refresh.
  expect((await gateway.refresh()).ready).toBe(true);
  expect((await ok(gateway.url, BOTH)).frdf.datasetTypes).toEqual([]);
}, 120000);

/** An agent in its own process: claims, then reports one transfer at a time, printing each id. */
const AGENT = `
const [url, token, n] = process.argv.slice(1);
const gql = async (query, variables) => (await (await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + token }, body: JSON.stringify({ query, variables }) })).json());
(async () => {
  const claimed = (await gql(${JSON.stringify(CLAIM)}, { f: "USDF", n: Number(n) })).data.claimTransfers;
  console.log("claimed " + JSON.stringify(claimed.map((t) => ({ id: t.id, lease: t.lease }))));
  for (const t of claimed) {
    const res = await gql(${JSON.stringify(REPORT)}, { id: t.id, lease: t.lease, o: { outcome: "DONE", bytes: t.file.bytes, adler32: t.file.adler32 } });
    if (res.data && res.data.reportTransfer.state === "DONE") console.log("reported " + t.id);
    await new Promise((r) => setTimeout(r, 200));
  }
})();
`;

it("loses nothing when an agent is killed mid-report: its reported work stands, the rest is handed to another agent after the lease", async () => {
  const files = Array.from({ length: 8 }, (_, i) => ({ scope: "raw", name: `chaos/f${i}.fits`, type: "FILE", bytes: 100 + i, adler32: (0x10000000 + i).toString(16) }));
  await ok(gateway.url, `mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: [...files, { scope: "raw", name: "chaos/ds", type: "DATASET" }] }, tokens.admin);
  await ok(gateway.url, `mutation($c: [DidRefInput!]!) { attachDids(parent: {scope: "raw", name: "chaos/ds"}, children: $c) { count } }`, { c: files.map((f) => ({ scope: "raw", name: f.name })) }, tokens.admin);
  await ok(gateway.url, `mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "SUMMIT_DISK", replicas: $r) { count } }`, { r: files.map((f) => ({ scope: "raw", name: f.name })) }, tokens.admin);
  const rule = (await ok(gateway.url, ADD_RULE, { i: { did: { scope: "raw", name: "chaos/ds" }, rseExpression: "USDF_DISK" } }, tokens.admin)).addRule;

  const agent = spawn(process.execPath, ["-e", AGENT, catalog.url, tokens.agent1, "8"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise((resolve) => agent.once("exit", resolve));
  await new Promise<void>((resolve) => {
    agent.stdout!.on("data", (d) => {
      out += d;
      if ((out.match(/^reported /gm) ?? []).length >= 3) resolve();
    });
  });
  agent.kill("SIGKILL");
  await exited;
  const claimed: Array<{ id: string; lease: string }> = JSON.parse(/^claimed (.*)$/m.exec(out)![1]);
  const reported = new Set((out.match(/^reported (.*)$/gm) ?? []).map((l) => l.slice("reported ".length)));
  expect(claimed).toHaveLength(8);

  // The dead agent's unreported leases lapse; another agent gets exactly the unreported requests.
  const second: any[] = [];
  while (second.length < 8 - reported.size) {
    second.push(...(await ok(catalog.url, CLAIM, { f: "USDF", n: 10 }, tokens.agent2)).claimTransfers);
    if (second.length < 8 - reported.size) await new Promise((r) => setTimeout(r, 200));
  }
  expect(second.map((t) => t.id).sort()).toEqual(claimed.map((c) => c.id).filter((id) => !reported.has(id)).sort());
  // A late report under the dead agent's lease is refused.
  const stale = claimed.find((c) => !reported.has(c.id))!;
  const late = await graphql(catalog.url, REPORT, { id: stale.id, lease: stale.lease, o: { outcome: "DONE", bytes: 1, adler32: "1" } }, tokens.agent1);
  expect(late.errors?.[0]?.extensions?.code).toBe("LEASE_LOST");
  for (const t of second) await ok(catalog.url, REPORT, { id: t.id, lease: t.lease, o: { outcome: "DONE", bytes: t.file.bytes, adler32: t.file.adler32 } }, tokens.agent2);
  expect((await ok(catalog.url, RULE, { id: rule.id })).rule).toMatchObject({ state: "OK", locksOk: 8, locksReplicating: 0, locksStuck: 0 });
}, 120000);

describe("a facility on the embedded database", () => {
  let fac: ServiceProcess;
  beforeAll(async () => {
    const [port] = await freePorts(1, 5000, 10000);
    fac = await spawnDbb(["serve", "facility", "--facility", "SUMMIT", "--port", String(port)], port, env(undefined, { DBB_DATA_DIR: mkdtempSync(path.join(dataDir, "embedded-")) }), 120000);
    // A dataset type and a run, so that the expressions below are compiled and sent to the database.
    const agent = await signToken(config, { subject: "summit-agent", scopes: ["agent:SUMMIT"], ttlSeconds: 600 });
    await ok(fac.url, `mutation { registerDatasetType(input: {name: "raw", dimensions: ["instrument", "exposure", "detector"], storageClass: "Exposure"}) { name } }`, {}, agent);
    await ok(fac.url, `mutation { registerCollection(name: "x", type: RUN) { name } }`, {}, agent);
  }, 150000);
  afterAll(() => fac?.kill());

  const DATASETS = `query($w: String) { localFacility { datasets(datasetType: "raw", collections: ["x"], where: $w) { totalCount } } }`;

  it.each([
    ["a sum of 300 terms", `${Array(300).fill("detector").join(" + ")} = 1`],
    ["NOT ×273", `${"NOT ".repeat(273)}detector = 1`],
    ["unary minus ×624", `detector = ${"-".repeat(624)}1`],
  ])("refuses %s with WHERE_TOO_COMPLEX and keeps serving", async (_label, where) => {
    const res = await graphql(fac.url, DATASETS, { w: where });
    expect(res.errors?.[0]?.extensions?.code).toBe("WHERE_TOO_COMPLEX");
    expect((await fetch(new URL("/health", fac.url))).status).toBe(200);
    expect((await graphql(fac.url, `{ localFacility { code datasetTypes { name } } }`)).errors).toBeUndefined();
  });

  it("stops on SIGTERM", async () => {
    const exit = new Promise<number | null>((resolve) => fac.child.once("exit", (code) => resolve(code)));
    fac.child.kill("SIGTERM");
    expect(await exit).toBe(0);
  }, 60000);
});
