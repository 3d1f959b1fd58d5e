import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { signToken } from "../../lib/auth";
import { loadConfig } from "../../lib/config";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { GatewayService, startGateway } from "../../gateway/server";
import { LSSTCAM_INSTRUMENT_RECORD, lsstCamDetector, lsstCamDetectorRecord } from "../../subgraphs/facility/instrument/lsstcam";
import { graphql, ok } from "../support/graphql-client";
import { createTestDatabase, TestDatabase } from "../support/postgres";
import { freePorts, ServiceProcess, spawnDbb } from "../support/processes";

/**
 * One facility of three killed behind the gateway: every query shape still answers for the live
 * facilities, the dead one's fields are null, and one FACILITY_UNAVAILABLE error names it.
 */
const secret = randomBytes(24).toString("hex");
const CODES = ["USDF", "FrDF", "UKDF"];
const FILE = (n: number) => `LSSTCam/raw/20250601/MC_O_20250601_00000${n}/MC_O_20250601_00000${n}_R22_S11.fits`;
let dataDir: string;
let dbs: TestDatabase[];
let catalog: ServiceProcess;
const facilities = new Map<string, ServiceProcess>();
let gateway: GatewayService;
let url: string;
let ports: number[];

const env = (db: string): NodeJS.ProcessEnv => ({ ...process.env, DBB_DATABASE_URL: db, DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn" });
const startFacility = (code: string, i: number) => spawnDbb(["serve", "facility", "--facility", code, "--port", String(ports[i + 1])], ports[i + 1], env(dbs[i + 1].url));

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-down-"));
  dbs = await Promise.all(["down_catalog", ...CODES.map((c) => `down_${c}`)].map(createTestDatabase));
  ports = await freePorts(4, 20000, 22000);
  catalog = await spawnDbb(["serve", "replicas", "--port", String(ports[0])], ports[0], env(dbs[0].url));
  for (const [i, code] of CODES.entries()) facilities.set(code, await startFacility(code, i));
  const config = loadConfig(undefined, { DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "silent" });
  config.gateway = { ...config.gateway, catalog: catalog.url, facilities: CODES.map((code) => ({ code, url: facilities.get(code)!.url })) };
  gateway = await startGateway(config, { port: 0, sdl: await localSubgraphSdl() });
  url = gateway.url;
  const token = (sub: string, scopes: string[]) => signToken(config, { subject: sub, scopes, ttlSeconds: 3600 });
  const admin = await token("alice", ["catalog:admin"]);
  for (const code of CODES) {
    await ok(url, `mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, {
      i: { name: `${code.toUpperCase()}_DISK`, facility: code, facilityDescription: `${code} data facility`, kind: "POSIX", protocol: { root: "/data" } },
    }, admin);
  }
  await ok(url, `mutation { addScope(name: "raw") { name } }`, {}, admin);
  await ok(url, `mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: [1, 2].map((n) => ({ scope: "raw", name: FILE(n), type: "FILE", bytes: 100 + n })) }, admin);
  for (const code of CODES) {
    await ok(url, `mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`, {
      rse: `${code.toUpperCase()}_DISK`,
      r: [1, 2].map((n) => ({ scope: "raw", name: FILE(n) })),
    }, admin);
    // Each facility's agent ingests into its own registry, through the gateway (routed by `facility`).
    await ok(url, `mutation($f: String, $input: IngestDatasetsInput!) { ingestDatasets(facility: $f, input: $input) { datasetsInserted } }`, {
      f: code,
      input: ingestInput(),
    }, await token(`${code}-agent`, [`agent:${code}`]));
  }
}, 180000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([catalog, ...facilities.values()].map((s) => s?.stop()));
  await Promise.all((dbs ?? []).map((d) => d.drop()));
  rmSync(dataDir, { recursive: true, force: true });
});

function ingestInput() {
  return {
    dimensionRecords: [
      { element: "instrument", record: { ...LSSTCAM_INSTRUMENT_RECORD } },
      { element: "detector", record: lsstCamDetectorRecord(lsstCamDetector(94)!) },
      { element: "day_obs", record: { instrument: "LSSTCam", id: 20250601 } },
      { element: "physical_filter", record: { instrument: "LSSTCam", name: "r_57", band: "r" } },
      { element: "group", record: { instrument: "LSSTCam", name: "2025-06-01T03:00:00.000" } },
      ...[1, 2].map((n) => ({
        element: "exposure",
        record: { instrument: "LSSTCam", id: 2025060100000 + n, obs_id: `MC_O_20250601_00000${n}`, physical_filter: "r_57", day_obs: 20250601, group: "2025-06-01T03:00:00.000" },
      })),
    ],
    datasetTypes: [{ name: "raw", dimensions: ["instrument", "detector", "exposure"], storageClass: "Exposure" }],
    createRuns: true,
    datasets: [1, 2].map((n) => ({
      datasetType: "raw",
      run: "LSSTCam/raw/all",
      dataId: { instrument: "LSSTCam", detector: 94, exposure: 2025060100000 + n },
      files: [{ path: FILE(n), formatter: "lsst.obs.lsst.rawFormatter.LsstCamRawFormatter", scope: "raw", name: FILE(n) }],
    })),
  };
}

const FACILITIES = `{ facilities { code description datasetTypes { name } collections { name } } }`;
const STATUS = `query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { name replicas { rse { facility { code } } state butlerDataset { id } } } }`;

describe("with FrDF killed", () => {
  beforeAll(() => facilities.get("FrDF")!.kill());

  it("answers every facility, the live ones complete, FrDF with its catalog fields and null registry fields, and one error", async () => {
    const res = await graphql(url, FACILITIES);
    expect(res.data?.facilities).toEqual([
      { code: "FrDF", description: "FrDF data facility", datasetTypes: null, collections: null },
      { code: "UKDF", description: "UKDF data facility", datasetTypes: [{ name: "raw" }], collections: [{ name: "LSSTCam/raw/all" }] },
      { code: "USDF", description: "USDF data facility", datasetTypes: [{ name: "raw" }], collections: [{ name: "LSSTCam/raw/all" }] },
    ]);
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions).toMatchObject({ code: "FACILITY_UNAVAILABLE", facility: "FrDF" });
    expect(res.errors![0].extensions!.paths.length).toBeGreaterThanOrEqual(1);
    for (const p of res.errors![0].extensions!.paths) expect(p.slice(0, 2)).toEqual(["facilities", 0]);
  });

  it("collapses the errors of many entities of the dead facility into one, listing their paths", async () => {
    const res = await graphql(url, STATUS, { r: [1, 2].map((n) => ({ scope: "raw", name: FILE(n) })) });
    const dids = res.data!.didsByRefs;
    for (const d of dids) {
      const byCode = Object.fromEntries(d.replicas.map((r: any) => [r.rse.facility.code, r]));
      expect(byCode.FrDF).toEqual({ rse: { facility: { code: "FrDF" } }, state: "AVAILABLE", butlerDataset: null });
      expect(byCode.USDF.butlerDataset?.id).toBeTruthy();
      expect(byCode.UKDF.butlerDataset?.id).toBe(byCode.USDF.butlerDataset.id);
    }
    const unavailable = res.errors!.filter((e) => e.extensions?.code === "FACILITY_UNAVAILABLE");
    expect(unavailable).toHaveLength(1);
    expect(unavailable[0].extensions).toMatchObject({ facility: "FrDF" });
    // One path per replica the dead facility left without its Butler dataset.
    expect(unavailable[0].extensions!.paths).toHaveLength(2);
    for (const p of unavailable[0].extensions!.paths) expect(p[0]).toBe("didsByRefs");
  });

  it("keeps a facility root field nullable: a query of the dead facility answers null and one error", async () => {
    const res = await graphql(url, `{ usdf: facility(code: "USDF") { datasetTypes { name } } frdf: facility(code: "FrDF") { code datasets { totalCount } } }`);
    expect(res.data).toEqual({ usdf: { datasetTypes: [{ name: "raw" }] }, frdf: { code: "FrDF", datasets: null } });
    expect(res.errors!.filter((e) => e.extensions?.code === "FACILITY_UNAVAILABLE")).toHaveLength(1);
  });

  it("does not offer localFacility at the gateway: it belongs to a facility's own service", async () => {
    const res = await graphql(url, `{ localFacility { code } }`);
    expect(res.errors?.[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(res.errors?.[0].message).toMatch(/localFacility/);
  });

  it("answers completely again once FrDF is back", async () => {
    facilities.set("FrDF", await startFacility("FrDF", 1));
    const res = await graphql(url, FACILITIES);
    expect(res.errors).toBeUndefined();
    expect(res.data!.facilities.find((f: any) => f.code === "FrDF").datasetTypes).toEqual([{ name: "raw" }]);
  });
});
