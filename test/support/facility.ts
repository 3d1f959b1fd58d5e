import "reflect-metadata";
import type { Config } from "../../lib/config";
import { makeDatasetId } from "../../subgraphs/facility/dataset-id";
import { FacilityService, startFacilityService } from "../../subgraphs/facility/service";
import { TestClient, testClient, testEnvironment } from "./test-service";

export interface TestFacility extends TestClient {
  code: string;
  url: string;
  config: Config;
  service: FacilityService;
  /** agent (agent:<CODE>), admin (butler:admin), other (agent of another facility), reader (catalog scopes only). */
  tokens: { agent: string; admin: string; other: string; reader: string };
  close(): Promise<void>;
}

/**
 * A facility subgraph on a fresh database of the local Postgres server, listening on a free port,
 * talked to over real HTTP.
 */
export async function startTestFacility(label: string, code = "FrDF"): Promise<TestFacility> {
  const t = await testEnvironment(label);
  const service = await startFacilityService(t.config, { code, port: 0 });
  const tokens = {
    agent: await t.token(`agent-${code}`, [`agent:${code}`]),
    admin: await t.token("butler-admin", ["butler:admin"]),
    other: await t.token("agent-elsewhere", ["agent:UKDF"]),
    reader: await t.token("bob", ["catalog:write"]),
  };
  return {
    ...testClient(service.url, tokens.agent),
    code,
    url: service.url,
    config: t.config,
    service,
    tokens,
    async close() {
      await service.close();
      await t.cleanup();
    },
  };
}

export const INGEST = `mutation($input: IngestDatasetsInput!) {
  ingestDatasets(input: $input) { datasets { id datasetType run dataId } datasetsInserted dimensionRecordsInserted fileRecordsInserted }
}`;

export const DATASETS = `query($t: String, $c: [String!], $w: String, $b: JSONObject, $ff: Boolean, $v: String, $first: Int, $after: String) {
  localFacility { datasets(datasetType: $t, collections: $c, where: $w, bind: $b, findFirst: $ff, validAt: $v, first: $first, after: $after) {
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

export const RAW1 = makeDatasetId("raw", "HSC/raw/all", { instrument: "HSC", exposure: 903334, detector: 16 }, "DATAID_TYPE_RUN");
export const RAW2 = makeDatasetId("raw", "HSC/raw/all", { instrument: "HSC", exposure: 903334, detector: 17 }, "DATAID_TYPE_RUN");
export const BIAS = "9f3a1c36-1b0e-4f7a-9b49-2f3c2e7a5d10";

/** A file as `butler export` writes it (PyYAML, sort_keys=False), HSC-flavoured. */
export const EXPORT = `description: Butler Data Repository Export
version: 1.0.2
universe_version: 8
universe_namespace: daf_butler
data:
- type: dimension
  element: instrument
  records:
  - name: HSC
    visit_max: 21474800
    visit_system: 0
    exposure_max: 21474800
    detector_max: 200
    class_name: lsst.obs.subaru.HyperSuprimeCam
- type: dimension
  element: physical_filter
  records:
  - instrument: HSC
    name: HSC-R
    band: r
- type: dimension
  element: detector
  records:
  - instrument: HSC
    id: 16
    full_name: '1_46'
    name_in_raft: '46'
    raft: '1'
    purpose: SCIENCE
  - instrument: HSC
    id: 17
    full_name: '1_47'
    name_in_raft: '47'
    raft: '1'
    purpose: SCIENCE
- type: dimension
  element: day_obs
  records:
  - instrument: HSC
    id: 20130617
    datetime_begin: !butler_time/tai/iso '2013-06-17 10:00:35.000000000'
    datetime_end: !butler_time/tai/iso '2013-06-18 10:00:35.000000000'
- type: dimension
  element: group
  records:
  - instrument: HSC
    name: '903334'
- type: dimension
  element: exposure
  records:
  - instrument: HSC
    id: 903334
    physical_filter: HSC-R
    obs_id: HSCA90333400
    exposure_time: 30.0
    dark_time: 30.0
    observation_type: science
    observation_reason: science
    day_obs: 20130617
    seq_num: 0
    seq_start: 0
    seq_end: 0
    group: '903334'
    target_name: STRIPE82L
    science_program: o13015
    tracking_ra: 320.2
    tracking_dec: 0.4
    sky_angle: 270.0
    azimuth: null
    zenith_angle: 30.1
    has_simulated: false
    can_see_sky: null
    datetime_begin: !butler_time/tai/iso '2013-06-17 13:34:45.775000000'
    datetime_end: !butler_time/tai/iso '2013-06-17 13:35:17.947000000'
- type: dimension
  element: skymap
  records:
  - name: hsc_rings_v1
    hash: !!binary |
      K1Fna2fN6N8RMXWHDEsXpRB3Mpw=
    tract_max: 18938
    patch_nx_max: 9
    patch_ny_max: 9
- type: collection
  collection_type: RUN
  name: HSC/raw/all
  host: null
  timespan_begin: null
  timespan_end: null
- type: collection
  collection_type: RUN
  name: HSC/calib/gen2/20130617
  host: null
  timespan_begin: null
  timespan_end: null
- type: collection
  collection_type: CALIBRATION
  name: HSC/calib
  doc: Default calibration collection
- type: collection
  collection_type: TAGGED
  name: HSC/raw/good
- type: collection
  collection_type: CHAINED
  name: HSC/defaults
  children:
  - HSC/raw/all
  - HSC/calib
- type: dataset_type
  name: raw
  dimensions:
  - instrument
  - detector
  - exposure
  storage_class: Exposure
  is_calibration: false
- type: dataset
  dataset_type: raw
  run: HSC/raw/all
  records:
  - dataset_id:
    - !uuid '${RAW1}'
    data_id:
    - instrument: HSC
      detector: 16
      exposure: 903334
    path: HSC/raw/all/raw/20130617/00743/HSC-R/raw_HSC_HSC-R_HSC-R_903334_1_46_HSC_raw_all.fits
    formatter: lsst.obs.subaru.rawFormatter.HyperSuprimeCamRawFormatter
  - dataset_id:
    - !uuid '${RAW2}'
    data_id:
    - instrument: HSC
      detector: 17
      exposure: 903334
      physical_filter: HSC-R
      band: r
    path: HSC/raw/all/raw/20130617/00743/HSC-R/raw_HSC_HSC-R_HSC-R_903334_1_47_HSC_raw_all.fits
    formatter: lsst.obs.subaru.rawFormatter.HyperSuprimeCamRawFormatter
- type: dataset_type
  name: bias
  dimensions:
  - instrument
  - detector
  storage_class: ExposureF
  is_calibration: true
- type: dataset
  dataset_type: bias
  run: HSC/calib/gen2/20130617
  records:
  - dataset_id:
    - !uuid '${BIAS}'
    data_id:
    - instrument: HSC
      detector: 16
    path: HSC/calib/gen2/20130617/bias/bias_HSC_1_46.fits
    formatter: lsst.obs.base.formatters.fitsExposure.FitsExposureFormatter
- type: associations
  collection: HSC/calib
  collection_type: CALIBRATION
  validity_ranges:
  - timespan: !lsst.daf.butler.Timespan
      begin: !butler_time/tai/iso '2013-06-17 00:00:35.000000000'
      end: !butler_time/tai/iso '2013-12-17 00:00:35.000000000'
    dataset_ids:
    - !uuid '${BIAS}'
- type: associations
  collection: HSC/raw/good
  collection_type: TAGGED
  dataset_ids:
  - !uuid '${RAW1}'
`;

