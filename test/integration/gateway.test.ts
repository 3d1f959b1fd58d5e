import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { signToken } from "../../lib/auth";
import { Config, loadConfig } from "../../lib/config";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { MAX_OPERATION_LABELS } from "../../gateway/metrics";
import { GatewayService, startGateway } from "../../gateway/server";
import { serveGraphiql } from "../../gateway/graphiql/page";
import { errorOf, graphql, ok } from "../support/graphql-client";
import { createTestDatabase, TestDatabase } from "../support/postgres";
import { freePorts, ServiceProcess, spawnDbb } from "../support/processes";
import { waitFor } from "../support/wait-for";

/**
 * The USDF gateway over real processes: the catalog and three facility subgraphs run as `dbb serve`
 * processes on their own databases (GONE only to be killed); a configured facility never comes up
 * (UKDF), another comes up during a test (LATE); a "facility" endpoint serves another schema (DAC)
 * and one never answers (SLOW). A test that kills or starts a facility uses one no other test needs.
 */
const secret = randomBytes(24).toString("hex");
let dataDir: string;
let dbs: TestDatabase[] = [];
let catalog: ServiceProcess;
let usdf: ServiceProcess;
let frdf: ServiceProcess;
let gone: ServiceProcess;
let gateway: GatewayService;
let latePort: number;
/** A "facility" that accepts connections and never answers: slow beyond any timeout. */
let hung: net.Server;
const hungSockets: net.Socket[] = [];
/** A facility endpoint the test switches on: until then it answers 503; then it passes requests to USDF's service. */
let switchable: http.Server;
let switchUp = false;
let switchRequests = 0;
const late: ServiceProcess[] = [];
let config: Config;
let url: string;
const tokens: Record<string, string> = {};

function env(dbUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DBB_DATABASE_URL: dbUrl, DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "debug", ...extra };
}

const FILE = (n: number) => `LSSTCam/raw/20250601/f${n}.fits`;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-gw-"));
  dbs = await Promise.all(["gw_catalog", "gw_usdf", "gw_frdf", "gw_late", "gw_gone"].map(createTestDatabase));
  const ports = await freePorts(8, 10000, 15000);
  const nextPort = () => ports.shift()!;
  const [cp, up, fp, gp] = [nextPort(), nextPort(), nextPort(), nextPort()];
  [catalog, usdf, frdf, gone] = await Promise.all([
    spawnDbb(["serve", "replicas", "--port", String(cp)], cp, env(dbs[0].url)),
    spawnDbb(["serve", "facility", "--facility", "USDF", "--port", String(up)], up, env(dbs[1].url)),
    spawnDbb(["serve", "facility", "--facility", "FrDF", "--port", String(fp)], fp, env(dbs[2].url)),
    spawnDbb(["serve", "facility", "--facility", "GONE", "--port", String(gp)], gp, env(dbs[4].url)),
  ]);
  hung = net.createServer((socket) => hungSockets.push(socket));
  const hungPort = nextPort();
  await new Promise<void>((resolve) => hung.listen(hungPort, "127.0.0.1", resolve));
  switchable = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const answer = switchUp
      ? await (await fetch(usdf.url, { method: "POST", headers: { "content-type": "application/json" }, body })).text()
      : JSON.stringify({ errors: [{ message: "starting up" }] });
    res.writeHead(switchUp ? 200 : 503, { "content-type": "application/json" }).end(answer);
    switchRequests++;
  });
  const switchPort = nextPort();
  await new Promise<void>((resolve) => switchable.listen(switchPort, "127.0.0.1", resolve));
  config = loadConfig(undefined, {
    DBB_AUTH_SECRET: secret,
    DBB_DATA_DIR: dataDir,
    DBB_LOG_LEVEL: process.env.DBB_TEST_LOG_LEVEL ?? "silent",
  });
  config.gateway = {
    ...config.gateway,
    catalog: catalog.url,
    facilities: [
      { code: "USDF", url: usdf.url },
      { code: "FrDF", url: frdf.url },
      { code: "GONE", url: gone.url },
      { code: "UKDF", url: `http://127.0.0.1:${nextPort()}/graphql` },
      { code: "LATE", url: `http://127.0.0.1:${(latePort = nextPort())}/graphql` },
      { code: "DAC", url: catalog.url },
      { code: "SLOW", url: `http://127.0.0.1:${hungPort}/graphql` },
      { code: "SWITCH", url: `http://127.0.0.1:${switchPort}/graphql` },
    ],
    facilityTimeoutMs: 1500,
    limits: { maxDepth: 10, maxCost: 5000, maxDocumentBytes: 4000, maxAliases: 5, maxBatch: 3 },
  };
  gateway = await startGateway(config, { port: 0, sdl: await localSubgraphSdl(), page: serveGraphiql });
  url = gateway.url;
  const t = (sub: string, scopes: string[]) => signToken(config, { subject: sub, scopes, ttlSeconds: 3600 });
  tokens.admin = await t("alice", ["catalog:admin"]);
  tokens.reader = await t("bob", []);
  tokens.usdf = await t("usdf-agent", ["agent:USDF"]);
  tokens.frdf = await t("frdf-agent", ["agent:FrDF"]);
  tokens.gone = await t("gone-agent", ["agent:GONE"]);

  // The catalog, through the gateway: RSEs at the facilities, files 1 and 2 at USDF and FrDF, file 3 at USDF and GONE.
  for (const [name, facility] of [["USDF_DISK", "USDF"], ["FRDF_DISK", "FrDF"], ["GONE_DISK", "GONE"], ["DAC_DISK", "DAC"], ["SLOW_DISK", "SLOW"]]) {
    await ok(url, `mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name, facility, kind: "POSIX", protocol: { root: "/data" } } }, tokens.admin);
  }
  await ok(url, `mutation { addScope(name: "raw") { name } }`, {}, tokens.admin);
  await ok(url, `mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, {
    i: [1, 2, 3].map((n) => ({ scope: "raw", name: FILE(n), type: "FILE", bytes: 100 + n })),
  }, tokens.admin);
  for (const [rse, files] of [["USDF_DISK", [1, 2, 3]], ["FRDF_DISK", [1, 2]], ["GONE_DISK", [3]]] as const) {
    await ok(url, `mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`, {
      rse,
      r: files.map((n) => ({ scope: "raw", name: FILE(n) })),
    }, tokens.admin);
  }
  // Each facility ingests its files into its own registry (as its agent would, at its own service).
  for (const [svc, token, files] of [[usdf, tokens.usdf, [1, 2, 3]], [frdf, tokens.frdf, [1, 2]], [gone, tokens.gone, [3]]] as const) {
    await ok(svc.url, INGEST, { input: ingestInput([...files]) }, token);
  }
}, 180000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([catalog, usdf, frdf, gone, ...late].map((s) => s?.stop()));
  for (const socket of hungSockets) socket.destroy();
  hung?.close();
  switchable?.close();
  await Promise.all(dbs.map((d) => d.drop()));
  rmSync(dataDir, { recursive: true, force: true });
});

const INGEST = `mutation($input: IngestDatasetsInput!) { ingestDatasets(input: $input) { datasets { id } } }`;
function ingestInput(files = [1, 2]) {
  return {
    dimensionRecords: [
      { element: "instrument", record: { name: "LSSTCam", visit_max: 1000000, exposure_max: 1000000, detector_max: 1000, class_name: "lsst.obs.lsst.LsstCam" } },
      { element: "detector", record: { instrument: "LSSTCam", id: 94, full_name: "R22_S11" } },
      { element: "day_obs", record: { instrument: "LSSTCam", id: 20250601 } },
      { element: "physical_filter", record: { instrument: "LSSTCam", name: "r_57", band: "r" } },
      { element: "group", record: { instrument: "LSSTCam", name: "g1" } },
      ...files.map((n) => ({ element: "exposure", record: { instrument: "LSSTCam", id: 2025060100000 + n, obs_id: `MC_O_${n}`, physical_filter: "r_57", day_obs: 20250601, group: "g1", observation_type: "science" } })),
    ],
    datasets: files.map((n) => ({
      datasetType: "raw",
      run: "LSSTCam/raw/all",
      dataId: { instrument: "LSSTCam", detector: 94, exposure: 2025060100000 + n },
      files: [{ path: FILE(n), formatter: "lsst.obs.lsst.rawFormatter.LsstCamRawFormatter", scope: "raw", name: FILE(n) }],
    })),
    datasetTypes: [{ name: "raw", dimensions: ["instrument", "detector", "exposure"], storageClass: "Exposure" }],
    createRuns: true,
  };
}

const WHERE_AND_INGESTED = `query($n: String!) { did(scope: "raw", name: $n) {
  replicas { rse { name } facilityCode state butlerDataset { id datasetType run dataId } } } }`;

describe("federation", () => {
  it("joins the catalog and two facilities in one query", async () => {
    const d = await ok(url, WHERE_AND_INGESTED, { n: FILE(1) });
    const reps = d.did.replicas;
    expect(reps.map((r: any) => [r.rse.name, r.facilityCode])).toEqual([["FRDF_DISK", "FrDF"], ["USDF_DISK", "USDF"]]);
    for (const r of reps) expect(r.butlerDataset).toMatchObject({ datasetType: "raw", run: "LSSTCam/raw/all", dataId: { detector: 94 } });
    // Butler ids are deterministic: the same file has the same dataset id at both facilities.
    expect(reps[0].butlerDataset.id).toBe(reps[1].butlerDataset.id);
    const f = await ok(url, `{ facility(code: "FrDF") { code rses { name } datasetTypes { name } } }`);
    expect(f.facility).toEqual({ code: "FrDF", rses: [{ name: "FRDF_DISK" }], datasetTypes: [{ name: "raw" }] });
  });

  it("passes the request id on to the subgraphs", async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "trace-me-42" },
      body: JSON.stringify({ query: `{ rses { name } }` }),
    });
    expect(res.headers.get("x-request-id")).toBe("trace-me-42");
    await res.json();
    // The catalog logs the request as it finishes it, maybe just after answering.
    await waitFor("the catalog to log the request id", () => catalog.output().includes("trace-me-42"));
  });

  it("reports each subgraph's state at /ready: unreachable and mismatching facilities make it 503", async () => {
    const res = await fetch(url.replace(/graphql$/, "ready"));
    expect(res.status).toBe(503);
    const body = (await res.json()) as any;
    const states = Object.fromEntries(body.facilities.map((f: any) => [f.name, f.state]));
    expect(body.catalog.state).toBe("up");
    // (GONE and LATE change state in tests of their own.)
    expect(states).toMatchObject({ USDF: "up", FrDF: "up", UKDF: "down", DAC: "schema-mismatch", SLOW: "down" });
    expect((await fetch(url.replace(/graphql$/, "health"))).status).toBe(200);
  });

  it("leaves a facility serving another schema out, and says so", async () => {
    const e = await graphql(url, `{ facility(code: "DAC") { code datasetTypes { name } } }`);
    expect(e.errors?.[0].extensions).toMatchObject({ code: "FACILITY_UNAVAILABLE", facility: "DAC" });
  });
});

describe("a facility too slow to answer", () => {
  it("gives FACILITY_UNAVAILABLE after the per-facility timeout while the rest of the answer stands", async () => {
    const started = Date.now();
    const res = await graphql(url, `{ usdf: facility(code: "USDF") { datasetTypes { name } } slow: facility(code: "SLOW") { code datasetTypes { name } } }`);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.data?.usdf).toEqual({ datasetTypes: [{ name: "raw" }] });
    const err = res.errors?.find((e) => e.extensions?.code === "FACILITY_UNAVAILABLE");
    expect(err?.extensions).toMatchObject({ facility: "SLOW" });
    expect(err?.message).toMatch(/no answer within 1500 ms/);
  });
});

describe("access and limits", () => {
  it("refuses mutations without a valid token at the gateway and lets subgraphs check scopes", async () => {
    expect((await errorOf(url, `mutation { addScope(name: "x") { name } }`)).code).toBe("UNAUTHENTICATED");
    expect((await errorOf(url, `mutation { addScope(name: "x") { name } }`, {}, tokens.admin.slice(0, -3) + "abc")).code).toBe("UNAUTHENTICATED");
    expect((await errorOf(url, `mutation { addScope(name: "x") { name } }`, {}, tokens.reader)).code).toBe("FORBIDDEN");
    expect((await ok(url, `mutation { addScope(name: "x") { name account } }`, {}, tokens.admin)).addScope).toEqual({ name: "x", account: "alice" });
    expect((await graphql(url, `{ scopes { name } }`)).errors).toBeUndefined();
  });

  it("routes facility mutations by their facility argument, where the facility checks the agent's scope", async () => {
    const through = `mutation($f: String, $input: IngestDatasetsInput!) { ingestDatasets(facility: $f, input: $input) { datasets { id facility } } }`;
    const again = await ok(url, through, { f: "USDF", input: ingestInput() }, tokens.usdf);
    expect(again.ingestDatasets.datasets).toHaveLength(2);
    expect(again.ingestDatasets.datasets.every((d: any) => d.facility === "USDF")).toBe(true);
    expect((await errorOf(url, through, { f: "USDF", input: ingestInput() }, tokens.frdf)).code).toBe("FORBIDDEN");
    expect((await errorOf(url, through, { input: ingestInput() }, tokens.usdf)).code).toBe("FACILITY_REQUIRED");
    expect((await errorOf(url, through, { f: "MOON", input: ingestInput() }, tokens.usdf)).code).toBe("FACILITY_UNAVAILABLE");
    expect((await errorOf(url, through, { f: "USDF", input: ingestInput() })).code).toBe("UNAUTHENTICATED");
    // At the facility's own service the argument is optional, and must name that facility.
    expect((await errorOf(usdf.url, through, { f: "FrDF", input: ingestInput() }, tokens.usdf)).code).toBe("INVALID_INPUT");
  });

  it("refuses too deep, too costly, too large, too many aliases and too large batches with clear codes", async () => {
    const deep = `{ did(scope: "raw", name: "a") { parents { parents { parents { parents { parents { parents { parents { parents { parents { name } } } } } } } } } } }`;
    expect((await errorOf(url, deep)).code).toBe("QUERY_TOO_DEEP");
    expect((await errorOf(url, `{ dids(scope: "raw", first: 5000) { nodes { name replicas { state } } } }`)).code).toBe("QUERY_TOO_COSTLY");
    expect((await errorOf(url, `{ rses { name ${"createdAt ".repeat(400)} } }`)).code).toBe("DOCUMENT_TOO_LARGE");
    expect((await errorOf(url, `{ a: rses { name } b: rses { name } c: rses { name } d: rses { name } e: rses { name } f: rses { name } }`)).code).toBe("TOO_MANY_ALIASES");
    const batch = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(Array(4).fill({ query: "{ rses { name } }" })) });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as any).errors[0].extensions.code).toBe("BATCH_TOO_LARGE");
    const small = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(Array(2).fill({ query: "{ rses { name } }" })) });
    expect(((await small.json()) as any[]).length).toBe(2);
    // Introspection is open: GraphiQL needs it.
    expect((await graphql(url, `{ __schema { queryType { name } } }`)).errors).toBeUndefined();
  });

  it("refuses cross-site simple requests (CSRF prevention)", async () => {
    const res = await fetch(`${url}?query=${encodeURIComponent("{ rses { name } }")}`);
    expect(res.status).toBe(400);
  });

  it("sends a browser opening /graphql to GraphiQL; a subgraph's /graphql offers no page from outside", async () => {
    const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
    const res = await fetch(url, { headers: html, redirect: "manual" });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("location")!, url).pathname).toBe("/");
    expect((await fetch(new URL("/", url), { headers: html })).headers.get("content-type")).toMatch(/text\/html/);
    // A subgraph (a `dbb serve` process, as deployed) has no page: Apollo's own loads from its CDN.
    const sub = await fetch(catalog.url, { headers: html });
    expect(sub.status).toBe(400);
    expect(await sub.text()).not.toMatch(/cdn|https?:\/\//i);
    // A query by GET still works (with the header CSRF prevention asks for).
    const q = await fetch(`${catalog.url}?query=${encodeURIComponent("{ __typename }")}`, { headers: { "apollo-require-preflight": "1" } });
    expect(await q.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("exports Prometheus metrics per operation and per facility", async () => {
    await ok(url, `query WhereIsIt($n: String!) { did(scope: "raw", name: $n) { replicas { butlerDataset { id } } } }`, { n: FILE(2) });
    const text = await (await fetch(url.replace(/graphql$/, "metrics"))).text();
    expect(text).toMatch(/dbb_gateway_requests_total\{operation="WhereIsIt",outcome="ok"\} \d+/);
    expect(text).toMatch(/dbb_gateway_request_duration_seconds_bucket\{le="[^"]+",operation="WhereIsIt"\}/);
    expect(text).toMatch(/dbb_gateway_facility_requests_total\{facility="USDF",outcome="ok"\} \d+/);
    expect(text).toMatch(/dbb_gateway_facility_request_duration_seconds_count\{facility="FrDF"\} \d+/);
  });

  it("keeps a bounded number of operation-name labels, however many names clients make up", async () => {
    await ok(url, `query WhereIsIt { __typename }`);
    for (let i = 0; i < MAX_OPERATION_LABELS + 5; i++) await ok(url, `query Made${i} { __typename }`);
    const text = await (await fetch(url.replace(/graphql$/, "metrics"))).text();
    const names = new Set([...text.matchAll(/dbb_gateway_requests_total\{operation="([^"]+)"/g)].map((m) => m[1]));
    expect(names.size).toBeLessThanOrEqual(MAX_OPERATION_LABELS + 3); // + anonymous, invalid, other
    expect(names).toContain("other");
    expect(names).toContain("WhereIsIt");
    expect(names).not.toContain(`Made${MAX_OPERATION_LABELS + 4}`);
  });
});

describe("a facility that goes down", () => {
  it("gives a partial answer with FACILITY_UNAVAILABLE for its part, and the rest stands", async () => {
    const before = await ok(url, WHERE_AND_INGESTED, { n: FILE(3) });
    expect(before.did.replicas.map((r: any) => [r.facilityCode, r.butlerDataset?.dataId.exposure])).toEqual([["GONE", 2025060100003], ["USDF", 2025060100003]]);
    await gone.kill();
    const res = await graphql(url, WHERE_AND_INGESTED, { n: FILE(3) });
    const reps = res.data!.did.replicas;
    expect(reps.find((r: any) => r.facilityCode === "USDF").butlerDataset).toMatchObject({ datasetType: "raw" });
    expect(reps.find((r: any) => r.facilityCode === "GONE").butlerDataset).toBeNull();
    const err = res.errors!.find((e) => e.extensions?.code === "FACILITY_UNAVAILABLE");
    expect(err?.extensions).toMatchObject({ facility: "GONE" });
    const status = await gateway.refresh();
    expect(status.facilities.find((f) => f.name === "GONE")?.state).toBe("down");
  });
});

describe("a facility that comes up later", () => {
  it("joins the federation at the next refresh", async () => {
    await ok(url, `mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name: "LATE_DISK", facility: "LATE", kind: "POSIX", protocol: { root: "/d" } } }, tokens.admin);
    const before = await graphql(url, `{ facility(code: "LATE") { code datasetTypes { name } } }`);
    expect(before.errors?.[0].extensions).toMatchObject({ code: "FACILITY_UNAVAILABLE", facility: "LATE" });
    late.push(await spawnDbb(["serve", "facility", "--facility", "LATE", "--port", String(latePort)], latePort, env(dbs[3].url)));
    const status = await gateway.refresh();
    expect(status.facilities.find((f) => f.name === "LATE")).toMatchObject({ state: "up" });
    const f = await ok(url, `{ facility(code: "LATE") { code datasetTypes { name } } }`);
    expect(f.facility).toEqual({ code: "LATE", datasetTypes: [] });
  });
});

describe("refresh", () => {
  it("answers a refresh asked for while another runs with the state the endpoints have when asked", async () => {
    switchUp = false;
    expect((await gateway.refresh()).facilities.find((f) => f.name === "SWITCH")?.state).toBe("down");
    // This round stays in flight until SLOW's check times out; SWITCH has answered it "down".
    const seen = switchRequests;
    const running = gateway.refresh();
    await waitFor("the running round's check of SWITCH", () => switchRequests > seen);
    switchUp = true;
    const asked = await gateway.refresh();
    expect(asked.facilities.find((f) => f.name === "SWITCH")).toMatchObject({ state: "up" });
    await running;
  });
});
