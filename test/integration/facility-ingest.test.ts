import { makeDatasetId } from "../../subgraphs/facility/dataset-id";
import { INGEST, lsstCamRecords, RAW_TYPE, startTestFacility, TestFacility } from "../support/facility";

/**
 * ingestDatasets (subgraphs/facility/ingest.ts). The shared facility starts with BASE ingested
 * (records, the raw type, the run, two raws); the first test ingests the same at a facility of its own.
 */
let fac: TestFacility;

const raw = (exposure: number, detector: number, extra: Record<string, unknown> = {}) => ({
  datasetType: "raw",
  run: "LSSTCam/raw/all",
  dataId: { instrument: "LSSTCam", exposure, detector },
  files: [{ path: `raw/${exposure}/${detector}.fits`, formatter: "lsst.obs.lsst.LsstCamRawFormatter", checksum: "adler32:0a1b2c3d", fileSize: 1000, scope: "raw", name: `${exposure}_${detector}.fits` }],
  ...extra,
});

const BASE = () => ({ dimensionRecords: lsstCamRecords(), datasetTypes: [RAW_TYPE], createRuns: true, datasets: [raw(2025060100001, 10), raw(2025060100002, 11)] });

beforeAll(async () => {
  fac = await startTestFacility("fac_ingest", "FrDF");
  await fac.ok(INGEST, { input: BASE() });
});
afterAll(() => fac.close());

describe("ingestDatasets", () => {
  it("ingests records, registers the type, creates the run, and expands data IDs through implied dimensions", async () => {
    const fresh = await startTestFacility("fac_ingest_first", "FrDF");
    try {
      await firstIngest(fresh);
    } finally {
      await fresh.close();
    }
  });
  async function firstIngest(fac: TestFacility) {
    const res = await fac.ok(INGEST, { input: BASE() });
    const r = res.ingestDatasets;
    expect(r.datasetsInserted).toBe(2);
    expect(r.fileRecordsInserted).toBe(2);
    expect(r.dimensionRecordsInserted).toBe(lsstCamRecords().length);
    expect(r.datasets[0]).toEqual({
      id: makeDatasetId("raw", "LSSTCam/raw/all", { instrument: "LSSTCam", exposure: 2025060100001, detector: 10 }, "DATAID_TYPE_RUN"),
      datasetType: "raw",
      run: "LSSTCam/raw/all",
      dataId: { band: "r", instrument: "LSSTCam", day_obs: 20250601, detector: 10, group: "2025-06-01T03:00:00.000", physical_filter: "r_57", exposure: 2025060100001 },
    });
    expect(r.datasets[1].dataId.band).toBe("g");
    const types = await fac.ok(`{ localFacility { datasetTypes { name dimensions requiredDimensions storageClass isCalibration } } }`);
    expect(types.localFacility.datasetTypes).toEqual([
      {
        name: "raw",
        dimensions: ["band", "instrument", "day_obs", "detector", "group", "physical_filter", "exposure"],
        requiredDimensions: ["instrument", "detector", "exposure"],
        storageClass: "Exposure",
        isCalibration: false,
      },
    ]);
  }

  it("is idempotent: the same datasets and records again change nothing and return the same IDs", async () => {
    const input = { dimensionRecords: lsstCamRecords(), datasets: [raw(2025060100001, 10), raw(2025060100001, 10), raw(2025060100002, 11)] };
    const res = (await fac.ok(INGEST, { input })).ingestDatasets;
    expect(res.datasetsInserted).toBe(0);
    expect(res.dimensionRecordsInserted).toBe(0);
    expect(res.fileRecordsInserted).toBe(0);
    expect(res.datasets.map((d: any) => d.id)).toEqual([res.datasets[0].id, res.datasets[0].id, res.datasets[2].id]);
    const all = await fac.ok(`{ localFacility { datasets(where: "exposure IN (2025060100001, 2025060100002)") { totalCount } } }`);
    expect(all.localFacility.datasets.totalCount).toBe(2);
  });

  it("UNIQUE ids: a retry of the same data ID resolves to the stored dataset", async () => {
    const first = (await fac.ok(INGEST, { input: { datasets: [raw(2025060100003, 10, { idGenerationMode: "UNIQUE", files: [] })] } })).ingestDatasets;
    const again = (await fac.ok(INGEST, { input: { datasets: [raw(2025060100003, 10, { idGenerationMode: "UNIQUE", files: [] })] } })).ingestDatasets;
    expect(first.datasetsInserted).toBe(1);
    expect(again.datasetsInserted).toBe(0);
    expect(again.datasets[0].id).toBe(first.datasets[0].id);
    expect(first.datasets[0].id).not.toBe(makeDatasetId("raw", "LSSTCam/raw/all", { instrument: "LSSTCam", exposure: 2025060100003, detector: 10 }, "DATAID_TYPE_RUN"));
  });

  it("refuses a record that contradicts the stored one (DIMENSION_CONFLICT) and writes nothing of the call", async () => {
    const records = [
      { element: "detector", record: { instrument: "LSSTCam", id: 12, full_name: "R22_S12" } },
      { element: "physical_filter", record: { instrument: "LSSTCam", name: "r_57", band: "i" } },
    ];
    const err = await fac.errorOf(INGEST, { input: { dimensionRecords: records, datasets: [] } });
    expect(err.code).toBe("DIMENSION_CONFLICT");
    expect(err.extensions).toMatchObject({ item: 1, element: "physical_filter" });
    const det = await fac.ok(`{ localFacility { dimensionRecords(element: "detector", where: "detector = 12") { totalCount } } }`);
    expect(det.localFacility.dimensionRecords.totalCount).toBe(0);
  });

  it("refuses two different records with one key in the same call", async () => {
    const records = [
      { element: "detector", record: { instrument: "LSSTCam", id: 50, full_name: "R01_S00" } },
      { element: "detector", record: { instrument: "LSSTCam", id: 50, full_name: "R01_S01" } },
    ];
    expect(await fac.errorOf(INGEST, { input: { dimensionRecords: records, datasets: [] } })).toMatchObject({ code: "DIMENSION_CONFLICT", extensions: { item: 1 } });
    const same = (await fac.ok(INGEST, { input: { dimensionRecords: [records[0], records[0]], datasets: [] } })).ingestDatasets;
    expect(same.dimensionRecordsInserted).toBe(1);
  });

  it("names missing dimension records, bad data IDs, unknown types and runs", async () => {
    const missing = await fac.errorOf(INGEST, { input: { datasets: [raw(2025060100001, 10), raw(2025069999999, 10)] } });
    expect(missing).toMatchObject({ code: "DIMENSION_RECORD_MISSING", extensions: { item: 1, element: "exposure" } });
    const lacking = await fac.errorOf(INGEST, { input: { datasets: [{ datasetType: "raw", run: "LSSTCam/raw/all", dataId: { instrument: "LSSTCam", exposure: 2025060100001 } }] } });
    expect(lacking).toMatchObject({ code: "INVALID_DATA_ID", extensions: { item: 0, dimension: "detector" } });
    const contradict = await fac.errorOf(INGEST, {
      input: { datasets: [{ datasetType: "raw", run: "LSSTCam/raw/all", dataId: { instrument: "LSSTCam", exposure: 2025060100001, detector: 10, band: "g" } }] },
    });
    expect(contradict).toMatchObject({ code: "INVALID_DATA_ID", extensions: { dimension: "band" } });
    expect((await fac.errorOf(INGEST, { input: { datasets: [{ ...raw(2025060100001, 10), datasetType: "calexp" }] } })).code).toBe("DATASET_TYPE_NOT_FOUND");
    const noRun = await fac.errorOf(INGEST, { input: { datasets: [{ ...raw(2025060100001, 10), run: "u/alice/nowhere" }] } });
    expect(noRun).toMatchObject({ code: "COLLECTION_NOT_FOUND", extensions: { item: 0 } });
  });

  it("refuses an ID that names another dataset, and a conflicting file record (DATASET_CONFLICT)", async () => {
    const existing = makeDatasetId("raw", "LSSTCam/raw/all", { instrument: "LSSTCam", exposure: 2025060100001, detector: 10 }, "DATAID_TYPE_RUN");
    const idClash = await fac.errorOf(INGEST, { input: { datasets: [raw(2025060100002, 10, { id: existing })] } });
    expect(idClash).toMatchObject({ code: "DATASET_CONFLICT", extensions: { item: 0, reason: "id" } });
    const dataIdClash = await fac.errorOf(INGEST, { input: { datasets: [raw(2025060100001, 10, { id: "00000000-0000-4000-8000-000000000001" })] } });
    expect(dataIdClash).toMatchObject({ code: "DATASET_CONFLICT", extensions: { reason: "dataId" } });
    const fileClash = await fac.errorOf(INGEST, { input: { datasets: [raw(2025060100001, 10, { files: [{ path: "elsewhere.fits" }] })] } });
    expect(fileClash).toMatchObject({ code: "DATASET_CONFLICT", extensions: { reason: "file" } });
  });

  it("needs agent:<FACILITY> or butler:admin to write; reads are open", async () => {
    const input = { datasets: [] };
    expect((await fac.raw(INGEST, { input })).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await fac.errorOf(INGEST, { input }, fac.tokens.other)).code).toBe("FORBIDDEN");
    expect((await fac.errorOf(INGEST, { input }, fac.tokens.reader)).code).toBe("FORBIDDEN");
    expect((await fac.ok(INGEST, { input }, fac.tokens.admin)).ingestDatasets.datasets).toEqual([]);
    expect((await fac.raw(`{ localFacility { code datasetTypes { name } } }`)).data).toEqual({ localFacility: { code: "FrDF", datasetTypes: [{ name: "raw" }] } });
  });
});
