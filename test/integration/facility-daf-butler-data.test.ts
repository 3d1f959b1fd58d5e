import { readFileSync } from "node:fs";
import path from "node:path";
import { readZipMember } from "../../subgraphs/facility/transfers/zip-file";
import { DATASETS, INGEST, startTestFacility, TestFacility } from "../support/facility";

/**
 * The facility imports what daf_butler itself wrote: its published exports and zip indexes
 * (test/data/daf_butler, copied from lsst/daf_butler; see the README there), including two exports
 * of one instrument from different repositories that disagree on a field.
 */
const DATA = path.resolve(__dirname, "..", "..", "..", "test", "data", "daf_butler");
const file = (name: string) => readFileSync(path.join(DATA, name), "utf8");

const IMPORT = `mutation($content: String!) { importButlerData(content: $content) {
  format datasetTypes collections dimensionRecordsInserted datasets datasetsInserted associations
  conflictingRecordsKept conflictingRecordExamples { element key fields stored given } } }`;

let a: TestFacility;
let b: TestFacility;

beforeAll(async () => {
  a = await startTestFacility("fac_dafb_a", "USDF");
  b = await startTestFacility("fac_dafb_b", "FrDF");
});
afterAll(async () => {
  await a.close();
  await b.close();
});

const instrument = async (f: TestFacility, name: string) =>
  (await f.ok(`query($w: String) { localFacility { dimensionRecords(element: "instrument", where: $w) { nodes { record } } } }`, { w: `instrument = '${name}'` }))
    .localFacility.dimensionRecords.nodes[0]?.record;

describe("two real exports of HSC from different repositories", () => {
  it("imports the RC2 dimension export (universe 6, visit_system null) with nothing kept over", async () => {
    const res = (await a.ok(IMPORT, { content: file("hsc-rc2-subset.yaml") })).importButlerData;
    expect(res).toMatchObject({ format: "YAML", datasets: 0, conflictingRecordsKept: 0, conflictingRecordExamples: [] });
    expect(res.dimensionRecordsInserted).toBeGreaterThan(1500);
    expect(await instrument(a, "HSC")).toMatchObject({ visit_system: null, class_name: "lsst.obs.subaru.HyperSuprimeCam" });
  });

  it("then imports ci_hsc's export (universe 7, visit_system 0): the stored record is kept and the difference reported", async () => {
    const res = (await a.ok(IMPORT, { content: file("ci_hsc-subset.yaml") })).importButlerData;
    expect(res).toMatchObject({ format: "YAML", datasets: 33, datasetsInserted: 33, collections: 1 });
    expect(res.conflictingRecordsKept).toBe(2);
    expect(res.conflictingRecordExamples).toContainEqual({
      element: "instrument",
      key: { name: "HSC" },
      fields: ["visit_system"],
      stored: { visit_system: null },
      given: { visit_system: 0 },
    });
    // The RC2 export has the day without a timespan; ci_hsc's gives one (23:59:25 UTC = 00:00:00 TAI).
    expect(res.conflictingRecordExamples).toContainEqual({
      element: "day_obs",
      key: { instrument: "HSC", id: 20130617 },
      fields: ["timespan"],
      stored: { timespan: { begin: null, end: null } },
      given: { timespan: { begin: "2013-06-16T23:59:25.000000Z", end: "2013-06-17T23:59:25.000000Z" } },
    });
    expect(await instrument(a, "HSC")).toMatchObject({ visit_system: null });
    const calexps = (await a.ok(DATASETS, { t: "calexp", w: "visit = 903334" })).localFacility.datasets;
    expect(calexps.totalCount).toBeGreaterThan(0);
    // Importing it again adds nothing and still reports what it kept.
    const again = (await a.ok(IMPORT, { content: file("ci_hsc-subset.yaml") })).importButlerData;
    expect(again).toMatchObject({ dimensionRecordsInserted: 0, datasetsInserted: 0, conflictingRecordsKept: res.conflictingRecordsKept });
  });

  it("keeps ingestDatasets strict (DIMENSION_CONFLICT naming the field) unless it asks for keepStoredRecords", async () => {
    const input = (keep: boolean) => ({
      input: {
        keepStoredRecords: keep,
        dimensionRecords: [{ element: "instrument", record: { name: "HSC", visit_max: 21474800, visit_system: 0, exposure_max: 21474800, detector_max: 200, class_name: "lsst.obs.subaru.HyperSuprimeCam" } }],
        datasets: [],
      },
    });
    const strict = await a.errorOf(INGEST, input(false));
    expect(strict).toMatchObject({ code: "DIMENSION_CONFLICT", extensions: { element: "instrument", key: { name: "HSC" }, fields: ["visit_system"] } });
    const kept = await a.ok(`mutation($input: IngestDatasetsInput!) { ingestDatasets(input: $input) { conflictingRecordsKept conflictingRecordExamples { fields stored given } } }`, input(true));
    expect(kept.ingestDatasets).toEqual({ conflictingRecordsKept: 1, conflictingRecordExamples: [{ fields: ["visit_system"], stored: { visit_system: null }, given: { visit_system: 0 } }] });
    expect(await instrument(a, "HSC")).toMatchObject({ visit_system: null });
  });
});

describe("daf_butler's registry test data", () => {
  it("imports base.yaml, then datasets.yaml (which gives no universe version and holds no dimension records)", async () => {
    expect((await b.ok(IMPORT, { content: file("base.yaml") })).importButlerData).toMatchObject({ datasetTypes: 2, dimensionRecordsInserted: 8 });
    const res = (await b.ok(IMPORT, { content: file("datasets.yaml") })).importButlerData;
    expect(res).toMatchObject({ datasets: 13, datasetsInserted: 13, collections: 2 });
    const flats = (await b.ok(DATASETS, { t: "flat", c: ["imported_g"], w: "band = 'g'" })).localFacility.datasets;
    expect(flats.edges.map((e: any) => e.node.id).sort()).toEqual(["60c8a65c-7290-4c38-b1de-e3b1cdcf872d", "84239e7f-c41f-46d5-97b9-a27976b98ceb", "fd51bce1-2848-49d6-a378-f8a122f5139a"]);
  });

  it("refuses an export of universe 0 naming the version, rather than misreading its visits", async () => {
    const err = await b.errorOf(IMPORT, { content: file("hsc-rc2-subset-v0.yaml") });
    expect(err.code).toBe("IMPORT_FORMAT_ERROR");
    expect(err.message).toMatch(/universe version 0 \(the file gives none\).*versions 6 to 8/);
    expect(await instrument(b, "HSC")).toBeUndefined();
  });
});

describe("Butler zip indexes written by daf_butler", () => {
  it("imports a Butler zip whose index carries the dimension records (universe 7, positional rows, TAI nanosecond timespans)", async () => {
    const index = readZipMember(readFileSync(path.join(DATA, "ci_hsc-calexp-butler.zip")), "_butler_zip_index.json")!.toString("utf8");
    expect(index).toBe(file("zip_index_with_records.json"));
    const res = (await b.ok(IMPORT, { content: index })).importButlerData;
    // instrument, physical_filter, day_obs, detector, visit, visit_detector_region (band values come from physical_filter).
    expect(res).toMatchObject({ format: "ZIP_INDEX", datasets: 2, datasetsInserted: 2, dimensionRecordsInserted: 6, conflictingRecordsKept: 0 });
    const visit = (await b.ok(`{ localFacility { dimensionRecords(element: "visit") { nodes { record } } } }`)).localFacility.dimensionRecords.nodes[0].record;
    expect(visit).toMatchObject({
      instrument: "HSC",
      id: 903988,
      name: "HSCA90398800",
      physical_filter: "HSC-I",
      day_obs: 20131102,
      seq_num: 903988,
      exposure_time: 30,
      observation_reason: "science",
      science_program: "o13015",
      // 1383369626658000000 ns TAI = 2013-11-02 05:20:26.658 TAI; TAI − UTC was 35 s.
      timespan: { begin: "2013-11-02T05:19:51.658000Z", end: "2013-11-02T05:20:23.886000Z" },
    });
    expect(visit.region).toMatch(/^704e8c7bab808be83f/);
    const d = await b.ok(`{ localFacility { dataset(id: "11bb2876-2c68-4cc0-9fc2-dc81ea7a3cf2") { run dataId files { path fileSize } } } }`);
    expect(d.localFacility.dataset).toMatchObject({
      run: "HSC/runs/ci_hsc/20250429T001504Z",
      dataId: { instrument: "HSC", detector: 16, visit: 903988, band: "i", physical_filter: "HSC-I", day_obs: 20131102 },
      files: [{ fileSize: 58870080 }],
    });
    // The same zip again: nothing new and no record differs (the nanoseconds are read exactly).
    expect((await b.ok(IMPORT, { content: index })).importButlerData).toMatchObject({ dimensionRecordsInserted: 0, datasetsInserted: 0, conflictingRecordsKept: 0 });
  });

  it("refuses a zip index that lacks a record it needs, naming the first missing record", async () => {
    const json = JSON.parse(file("zip_index_with_records.json"));
    delete json.refs.dimension_records.detector;
    json.refs.compact_refs = { "0d470958-1bd1-4aa5-9bcc-c0b4982453a3": { ...json.refs.compact_refs["0d470958-1bd1-4aa5-9bcc-c0b4982453a2"], data_id: { instrument: "HSC", detector: 17, visit: 903988 } } };
    json.artifact_map = {};
    const err = await b.errorOf(IMPORT, { content: JSON.stringify(json) });
    expect(err).toMatchObject({ code: "DIMENSION_RECORD_MISSING", extensions: { element: "detector", value: "17" } });
    // daf_butler's index without records, into a registry without DECam: the first record missing is DECam's instrument.
    const bare = await b.errorOf(IMPORT, { content: file("zip_index.json") });
    expect(bare).toMatchObject({ code: "DIMENSION_RECORD_MISSING", extensions: { element: "instrument", value: "DECam", item: 0 } });
  });

  it("refuses rows that do not fit the element's columns", async () => {
    const json = JSON.parse(file("zip_index_with_records.json"));
    json.refs.dimension_records.detector[0].pop();
    const err = await b.errorOf(IMPORT, { content: JSON.stringify(json) });
    expect(err).toMatchObject({ code: "IMPORT_FORMAT_ERROR", extensions: { element: "detector" } });
    expect(err.message).toMatch(/expected a list of 6 values \(instrument, id, full_name, name_in_raft, raft, purpose\)/);
    json.refs.universe_version = 5;
    expect((await b.errorOf(IMPORT, { content: JSON.stringify(json) })).code).toBe("IMPORT_FORMAT_ERROR");
  });
});
