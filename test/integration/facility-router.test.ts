import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../lib/config";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { GatewayService, startGateway } from "../../gateway/server";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { startTestFacility, TestFacility } from "../support/facility";
import { graphql, ok } from "../support/graphql-client";

/**
 * The facility router (gateway/facility-router.ts) through the real gateway: two facilities hold
 * different content, so an entity stitched back into the wrong place, or an error left at its
 * position within one facility's share of the request, shows in the answer.
 */
let cat: TestCatalog;
let usdf: TestFacility;
let frdf: TestFacility;
let gateway: GatewayService;
let url: string;
let dataDir: string;

const FILES = [1, 2, 3, 4].map((n) => `LSSTCam/raw/20250601/f${n}.fits`);
/** USDF ingested all four files; FrDF only the first and third. Each into a run of its own. */
const HELD: Record<string, number[]> = { USDF: [1, 2, 3, 4], FrDF: [1, 3] };
const RUN = (code: string) => `${code}/raw`;

function ingestInput(code: string) {
  const exposures = HELD[code];
  return {
    dimensionRecords: [
      { element: "instrument", record: { name: "LSSTCam", visit_max: 1000000, exposure_max: 1000000, detector_max: 1000, class_name: "lsst.obs.lsst.LsstCam" } },
      { element: "detector", record: { instrument: "LSSTCam", id: 94, full_name: "R22_S11" } },
      { element: "day_obs", record: { instrument: "LSSTCam", id: 20250601 } },
      { element: "physical_filter", record: { instrument: "LSSTCam", name: "r_57", band: "r" } },
      { element: "group", record: { instrument: "LSSTCam", name: "g1" } },
      ...exposures.map((n) => ({
        element: "exposure",
        record: { instrument: "LSSTCam", id: 2025060100000 + n, obs_id: `MC_O_${n}`, physical_filter: "r_57", day_obs: 20250601, group: "g1", observation_type: "science" },
      })),
    ],
    datasetTypes: [{ name: "raw", dimensions: ["instrument", "detector", "exposure"], storageClass: "Exposure" }],
    createRuns: true,
    datasets: exposures.map((n) => ({
      datasetType: "raw",
      run: RUN(code),
      dataId: { instrument: "LSSTCam", detector: 94, exposure: 2025060100000 + n },
      files: [{ path: `raw/f${n}.fits`, formatter: "lsst.obs.lsst.rawFormatter.LsstCamRawFormatter", scope: "raw", name: FILES[n - 1] }],
    })),
  };
}
const INGEST = `mutation($input: IngestDatasetsInput!) { ingestDatasets(input: $input) { datasets { id dataId } } }`;
/** Dataset ids by facility and exposure number. */
const ids: Record<string, Map<number, string>> = {};

beforeAll(async () => {
  [cat, usdf, frdf] = await Promise.all([startTestCatalog("router_catalog"), startTestFacility("router_usdf", "USDF"), startTestFacility("router_frdf", "FrDF")]);
  for (const [name, facility] of [["USDF_DISK", "USDF"], ["FRDF_DISK", "FrDF"]]) {
    await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name, facility, kind: "POSIX", protocol: { root: "/data" } } });
  }
  await cat.ok(`mutation { addScope(name: "raw") { name } }`);
  await cat.ok(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: FILES.map((name, i) => ({ scope: "raw", name, type: "FILE", bytes: 100 + i })) });
  for (const rse of ["USDF_DISK", "FRDF_DISK"]) {
    await cat.ok(`mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`, { rse, r: FILES.map((name) => ({ scope: "raw", name })) });
  }
  for (const fac of [usdf, frdf]) {
    const res = await fac.ok(INGEST, { input: ingestInput(fac.code) });
    ids[fac.code] = new Map(res.ingestDatasets.datasets.map((d: any) => [d.dataId.exposure - 2025060100000, d.id]));
  }

  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-router-"));
  const config = loadConfig(undefined, { DBB_AUTH_SECRET: randomBytes(24).toString("hex"), DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: process.env.DBB_TEST_LOG_LEVEL ?? "silent" });
  config.gateway = {
    ...config.gateway,
    catalog: cat.url,
    facilities: [
      { code: "USDF", url: usdf.url },
      { code: "FrDF", url: frdf.url },
    ],
  };
  gateway = await startGateway(config, { port: 0, sdl: await localSubgraphSdl() });
  url = gateway.url;
  expect((await gateway.refresh()).ready).toBe(true);
}, 120000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cat, usdf, frdf].map((s) => s?.close()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it("puts each facility's answer back at its own replica when one request interleaves both facilities", async () => {
  // One _entities fetch carries the replicas in the order f1@FrDF, f1@USDF, f2@FrDF, f2@USDF, …
  const res = await graphql(url, `{ dids(scope: "raw", first: 10) { nodes { name replicas { facilityCode butlerDataset { facility id run files { name } } } } } }`);
  expect(res.errors).toBeUndefined();
  const got = res.data.dids.nodes.map((d: any) => [d.name, d.replicas.map((r: any) => [r.facilityCode, r.butlerDataset])]);
  const expected = FILES.map((name, i) => [
    name,
    ["FrDF", "USDF"].map((code) => [
      code,
      HELD[code].includes(i + 1) ? { facility: code, id: ids[code].get(i + 1), run: RUN(code), files: [{ name }] } : null,
    ]),
  ]);
  expect(got).toEqual(expected);
});

it("answers each facility entity from that facility", async () => {
  const res = await ok(url, `{ facilities { code datasets(datasetType: "raw") { totalCount nodes { run dataId } } } }`);
  expect(res.facilities.map((f: any) => [f.code, f.datasets.totalCount, [...new Set(f.datasets.nodes.map((n: any) => n.run))]])).toEqual([
    ["FrDF", 2, [RUN("FrDF")]],
    ["USDF", 4, [RUN("USDF")]],
  ]);
});

it("remaps a facility's error path to the caller's path of the entity it is about", async () => {
  // The FrDF dataset of f1 exists at FrDF only: USDF, second in the list but first (index 0) of
  // its own share of the request, answers DATASET_NOT_FOUND.
  const id = ids.FrDF.get(1)!;
  const res = await graphql(url, `query($id: String!) { facilities { code dataset(id: $id) { run } } }`, { id });
  expect(res.data.facilities).toEqual([
    { code: "FrDF", dataset: { run: RUN("FrDF") } },
    { code: "USDF", dataset: null },
  ]);
  expect(res.errors).toHaveLength(1);
  expect(res.errors![0]).toMatchObject({ path: ["facilities", 1, "dataset"], extensions: { code: "DATASET_NOT_FOUND", facility: "USDF" } });
});

it("remaps error paths within a facility's share when several of its entities fail", async () => {
  // Ask every replica's facility for a dataset that exists only at USDF: FrDF fails for each of
  // its replicas (0, 2, 4, 6 in the request; 0, 1, 2, 3 in its own share).
  const id = ids.USDF.get(2)!;
  const res = await graphql(url, `query($id: String!) { dids(scope: "raw", first: 10) { nodes { replicas { rse { facility { code dataset(id: $id) { run } } } } } } }`, { id });
  const errors = (res.errors ?? []).map((e) => [e.path, e.extensions?.code, e.extensions?.facility]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  expect(errors).toEqual(
    FILES.map((_, i) => [["dids", "nodes", i, "replicas", 0, "rse", "facility", "dataset"], "DATASET_NOT_FOUND", "FrDF"]),
  );
  for (const d of res.data.dids.nodes) {
    expect(d.replicas).toEqual([
      { rse: { facility: { code: "FrDF", dataset: null } } },
      { rse: { facility: { code: "USDF", dataset: { run: RUN("USDF") } } } },
    ]);
  }
});
