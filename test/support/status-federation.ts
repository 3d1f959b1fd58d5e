import "reflect-metadata";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { GatewayService, startGateway } from "../../gateway/server";
import { startTestCatalog, TestCatalog } from "./catalog";
import { startTestFacility, TestFacility } from "./facility";
import { ok } from "./graphql-client";
import { freePorts } from "./processes";
import { LSSTCAM_DETECTORS, LSSTCAM_INSTRUMENT_RECORD, lsstCamDetectorRecord } from "../../subgraphs/facility/instrument/lsstcam";

/**
 * A federation for "where are these files, and are they ingested?": a catalog and four
 * facilities on fresh databases, a gateway with the default limits, and `n` raw files that have
 * a replica at every facility, are ingested in every facility's registry, and are covered by a
 * rule made on the dataset that holds them. Everything is in-process, so each service's SQL
 * statements can be counted; every call between them is real HTTP.
 */
export const STATUS_FACILITIES = ["USDF", "FrDF", "UKDF", "SUMMIT"];

export const STATUS_QUERY = `query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { scope name bytes
  replicas { rse { name facility { code } } state butlerDataset { id run } } rules { id state } } }`;

export interface StatusFederation {
  gateway: GatewayService;
  catalog: TestCatalog;
  facilities: TestFacility[];
  ruleId: string;
  /** The refs of the first `count` files. */
  refs(count: number): Array<{ scope: string; name: string }>;
  close(): Promise<void>;
}

export const statusFileName = (i: number) => `LSSTCam/raw/20250601/MC_O_20250601_${String(1 + Math.floor(i / 189)).padStart(6, "0")}_d${i % 189}.fits`;

/** Where the status data goes: the catalog and each facility, with tokens that may write there. */
export interface StatusTargets {
  catalog: { url: string; token: string };
  facilities: Array<{ code: string; url: string; token: string }>;
}

/**
 * Registers `n` raw files with a replica at every facility's RSE, a rule on their dataset to
 * USDF_DISK, and ingests them into every facility's registry. Returns the rule's id.
 */
export async function seedStatusData(to: StatusTargets, n: number): Promise<string> {
  const cat = (q: string, v?: Record<string, unknown>) => ok(to.catalog.url, q, v, to.catalog.token);
  await cat(`mutation { addScope(name: "raw") { name } }`);
  for (const f of to.facilities) {
    await cat(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, {
      i: { name: `${f.code.toUpperCase()}_DISK`, facility: f.code, kind: "POSIX", protocol: { root: `/data/${f.code}` } },
    });
  }
  const files = Array.from({ length: n }, (_, i) => ({ scope: "raw", name: statusFileName(i), type: "FILE", bytes: 18_000_000 + i }));
  await cat(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: [...files, { scope: "raw", name: "LSSTCam/raw/20250601", type: "DATASET" }] });
  const refs = files.map((f) => ({ scope: f.scope, name: f.name }));
  await cat(`mutation($p: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $p, children: $c) { count } }`, { p: { scope: "raw", name: "LSSTCam/raw/20250601" }, c: refs });
  for (const f of to.facilities) {
    await cat(`mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`, { rse: `${f.code.toUpperCase()}_DISK`, r: refs });
  }
  const rule = await cat(`mutation { addRule(input: {did: {scope: "raw", name: "LSSTCam/raw/20250601"}, rseExpression: "USDF_DISK"}) { id } }`);
  const input = statusIngestInput(files.map((f) => f.name));
  for (const f of to.facilities) await ok(f.url, `mutation($input: IngestDatasetsInput!) { ingestDatasets(input: $input) { datasetsInserted } }`, { input }, f.token);
  return rule.addRule.id;
}

function statusIngestInput(names: string[]) {
  const exposures = [...new Set(names.map((_, i) => 1 + Math.floor(i / 189)))];
  return {
    dimensionRecords: [
      { element: "instrument", record: { ...LSSTCAM_INSTRUMENT_RECORD } },
      { element: "physical_filter", record: { instrument: "LSSTCam", name: "r_57", band: "r" } },
      { element: "day_obs", record: { instrument: "LSSTCam", id: 20250601 } },
      { element: "group", record: { instrument: "LSSTCam", name: "g1" } },
      ...LSSTCAM_DETECTORS.filter((d) => d.purpose === "SCIENCE").map((d) => ({ element: "detector", record: lsstCamDetectorRecord(d) })),
      ...exposures.map((e) => ({
        element: "exposure",
        record: { instrument: "LSSTCam", id: 2025060100000 + e, obs_id: `MC_O_20250601_${String(e).padStart(6, "0")}`, physical_filter: "r_57", day_obs: 20250601, group: "g1" },
      })),
    ],
    datasetTypes: [{ name: "raw", dimensions: ["instrument", "detector", "exposure"], storageClass: "Exposure" }],
    createRuns: true,
    datasets: names.map((name, i) => ({
      datasetType: "raw",
      run: "LSSTCam/raw/all",
      dataId: { instrument: "LSSTCam", detector: i % 189, exposure: 2025060100000 + 1 + Math.floor(i / 189) },
      files: [{ path: name, formatter: "lsst.obs.lsst.rawFormatter.LsstCamRawFormatter", scope: "raw", name }],
    })),
  };
}

export const statusRefs = (count: number) => Array.from({ length: count }, (_, i) => ({ scope: "raw", name: statusFileName(i) }));

/** `catalogEnv` overrides the catalog's settings (e.g. DBB_TRANSFER_MAX_ATTEMPTS for a test that needs STUCK rules). */
export async function startStatusFederation(label: string, n: number, catalogEnv: Record<string, string> = {}): Promise<StatusFederation> {
  // The gateway's port is chosen first: the catalog asks facilities through it (campaign removals).
  const [gatewayPort] = await freePorts(1, 1100, 2000);
  const catalog = await startTestCatalog(`${label}_catalog`, { DBB_REMOVALS_GATEWAY_URL: `http://127.0.0.1:${gatewayPort}/graphql`, ...catalogEnv });
  const facilities = await Promise.all(STATUS_FACILITIES.map((code) => startTestFacility(`${label}_${code}`, code)));
  const gateway = await startGateway(
    {
      ...catalog.config,
      gateway: {
        ...catalog.config.gateway,
        catalog: catalog.url,
        facilities: facilities.map((f) => ({ code: f.code, url: f.url })),
        // Counting, not timing: a machine busy with other suites must not turn a slow answer into FACILITY_UNAVAILABLE.
        facilityTimeoutMs: 120000,
      },
    },
    { port: gatewayPort, sdl: await localSubgraphSdl() },
  );
  const ruleId = await seedStatusData(
    { catalog: { url: catalog.url, token: catalog.tokens.admin }, facilities: facilities.map((f) => ({ code: f.code, url: f.url, token: f.tokens.agent })) },
    n,
  );
  return {
    gateway,
    catalog,
    facilities,
    ruleId,
    refs: statusRefs,
    async close() {
      await gateway.close();
      await Promise.all([catalog.close(), ...facilities.map((f) => f.close())]);
    },
  };
}
