import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { signToken } from "../../lib/auth";
import { Config, loadConfig } from "../../lib/config";
import { FacilityService, startFacilityService } from "../../subgraphs/facility/service";
import { errorOf, graphql, ok } from "./graphql-client";
import { createTestDatabase, TestDatabase } from "./postgres";

export interface TestFacility {
  code: string;
  url: string;
  config: Config;
  service: FacilityService;
  /** agent (agent:<CODE>), admin (butler:admin), other (agent of another facility), reader (catalog scopes only). */
  tokens: { agent: string; admin: string; other: string; reader: string };
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T>;
  errorOf(query: string, variables?: Record<string, unknown>, token?: string): ReturnType<typeof errorOf>;
  raw: (query: string, variables?: Record<string, unknown>, token?: string) => ReturnType<typeof graphql>;
  close(): Promise<void>;
}

/**
 * A facility subgraph on a fresh database of the local Postgres server, listening on a free port,
 * talked to over real HTTP.
 */
export async function startTestFacility(label: string, code = "FrDF"): Promise<TestFacility> {
  const db: TestDatabase = await createTestDatabase(label);
  const dataDir = mkdtempSync(path.join(tmpdir(), "dbb-test-"));
  const config = loadConfig(undefined, {
    DBB_DATABASE_URL: db.url,
    DBB_DATA_DIR: dataDir,
    DBB_AUTH_SECRET: randomBytes(24).toString("hex"),
    DBB_LOG_LEVEL: process.env.DBB_TEST_LOG_LEVEL ?? "silent",
  });
  const service = await startFacilityService(config, { code, port: 0 });
  const token = (subject: string, scopes: string[]) => signToken(config, { subject, scopes, ttlSeconds: 3600 });
  const tokens = {
    agent: await token(`agent-${code}`, [`agent:${code}`]),
    admin: await token("butler-admin", ["butler:admin"]),
    other: await token("agent-elsewhere", ["agent:UKDF"]),
    reader: await token("bob", ["catalog:write"]),
  };
  return {
    code,
    url: service.url,
    config,
    service,
    tokens,
    ok: (q, v, t = tokens.agent) => ok(service.url, q, v, t),
    errorOf: (q, v, t = tokens.agent) => errorOf(service.url, q, v, t),
    raw: (q, v, t) => graphql(service.url, q, v, t),
    async close() {
      await service.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const INGEST = `mutation($input: IngestDatasetsInput!) {
  ingestDatasets(input: $input) { datasets { id datasetType run dataId } datasetsInserted dimensionRecordsInserted fileRecordsInserted }
}`;

export const DATASETS = `query($t: String, $c: [String!], $w: String, $b: JSONObject, $ff: Boolean, $first: Int, $after: String) {
  localFacility { datasets(datasetType: $t, collections: $c, where: $w, bind: $b, findFirst: $ff, first: $first, after: $after) {
    totalCount edges { cursor node { id datasetType run dataId } } pageInfo { hasNextPage endCursor } } }
}`;

/** The dimension records of a small LSSTCam night: instrument, filters, detectors, day, group, exposures, a visit. */
export function lsstCamRecords(exposures = 4): Array<{ element: string; record: Record<string, unknown> }> {
  const out: Array<{ element: string; record: Record<string, unknown> }> = [
    { element: "instrument", record: { name: "LSSTCam", visit_max: 1e9, exposure_max: 1e9, detector_max: 1000, class_name: "lsst.obs.lsst.LsstCam" } },
    { element: "physical_filter", record: { instrument: "LSSTCam", name: "r_57", band: "r" } },
    { element: "physical_filter", record: { instrument: "LSSTCam", name: "g_6", band: "g" } },
    { element: "day_obs", record: { instrument: "LSSTCam", id: 20250601, timespan: { begin: "2025-06-01T12:00:00Z", end: "2025-06-02T12:00:00Z" } } },
    { element: "group", record: { instrument: "LSSTCam", name: "2025-06-01T03:00:00.000" } },
  ];
  for (const d of [10, 11, 94]) {
    out.push({ element: "detector", record: { instrument: "LSSTCam", id: d, full_name: `R22_S${d}`, purpose: d === 94 ? "WAVEFRONT" : "SCIENCE" } });
  }
  for (let i = 0; i < exposures; i++) {
    const begin = new Date(Date.UTC(2025, 5, 2, 3, i, 0));
    out.push({
      element: "exposure",
      record: {
        instrument: "LSSTCam",
        id: 2025060100001 + i,
        obs_id: `MC_O_20250601_${String(i + 1).padStart(6, "0")}`,
        physical_filter: i % 2 === 0 ? "r_57" : "g_6",
        group: "2025-06-01T03:00:00.000",
        day_obs: 20250601,
        exposure_time: 30,
        observation_type: i === exposures - 1 ? "bias" : "science",
        seq_num: i + 1,
        can_see_sky: i !== exposures - 1,
        timespan: { begin: begin.toISOString(), end: new Date(begin.getTime() + 30000).toISOString() },
      },
    });
  }
  return out;
}

export const RAW_TYPE = { name: "raw", dimensions: ["instrument", "exposure", "detector"], storageClass: "Exposure" };
