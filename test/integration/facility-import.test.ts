import { deflateRawSync } from "node:zlib";
import { readZipMember } from "../../subgraphs/facility/transfers/zip-file";
import { BIAS, DATASETS, EXPORT, RAW1, RAW2, startTestFacility, TestFacility } from "../support/facility";

/** Import of daf_butler's YAML exports and zip indexes; export back to YAML; round trip. */
let usdf: TestFacility;
let frdf: TestFacility;

const IMPORT = `mutation($content: String!, $s: String) { importButlerData(content: $content, didScope: $s) {
  format datasetTypes collections dimensionRecordsInserted datasets datasetsInserted associations } }`;

beforeAll(async () => {
  usdf = await startTestFacility("fac_import_a", "USDF");
  frdf = await startTestFacility("fac_import_b", "FrDF");
});
afterAll(async () => {
  await usdf.close();
  await frdf.close();
});

describe("daf_butler YAML export", () => {
  it("imports dimension records, collections, dataset types, datasets, tags and certifications", async () => {
    const res = (await usdf.ok(IMPORT, { content: EXPORT, s: "hsc" })).importButlerData;
    expect(res).toEqual({ format: "YAML", datasetTypes: 2, collections: 5, dimensionRecordsInserted: 8, datasets: 3, datasetsInserted: 3, associations: 2 });
    const q = async (vars: Record<string, unknown>) => (await usdf.ok(DATASETS, vars)).localFacility.datasets;
    const raws = await q({ t: "raw", c: ["HSC/defaults"], w: "band = 'r' AND exposure.observation_type = 'science'" });
    expect(raws.edges.map((e: any) => e.node.id).sort()).toEqual([RAW1, RAW2].sort());
    expect(raws.edges.find((e: any) => e.node.id === RAW1).node.dataId).toEqual({
      band: "r",
      instrument: "HSC",
      day_obs: 20130617,
      detector: 16,
      group: "903334",
      physical_filter: "HSC-R",
      exposure: 903334,
    });
    expect((await q({ t: "raw", c: ["HSC/raw/good"] })).edges.map((e: any) => e.node.id)).toEqual([RAW1]);
    expect((await q({ t: "bias", c: ["HSC/defaults"], ff: true })).edges.map((e: any) => e.node.id)).toEqual([BIAS]);
    // The exposure began at 13:34:45.775 TAI = 13:34:10.775 UTC (35 leap seconds in 2013).
    const exp = await usdf.ok(`{ localFacility { dimensionRecords(element: "exposure") { nodes { record } } } }`);
    expect(exp.localFacility.dimensionRecords.nodes[0].record.timespan).toEqual({ begin: "2013-06-17T13:34:10.775000Z", end: "2013-06-17T13:34:42.947000Z" });
    const sky = await usdf.ok(`{ localFacility { dimensionRecords(element: "skymap") { nodes { record } } } }`);
    expect(sky.localFacility.dimensionRecords.nodes[0].record.hash).toBe(Buffer.from("K1Fna2fN6N8RMXWHDEsXpRB3Mpw=", "base64").toString("hex"));
    const replica = await usdf.ok(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Replica { butlerDataset { id } } } }`, {
      r: [{ __typename: "Replica", scope: "hsc", name: "HSC/raw/all/raw/20130617/00743/HSC-R/raw_HSC_HSC-R_HSC-R_903334_1_47_HSC_raw_all.fits", facilityCode: "USDF" }],
    });
    expect(replica._entities[0].butlerDataset).toEqual({ id: RAW2 });
  });

  it("is idempotent: the same file again adds nothing", async () => {
    const res = (await usdf.ok(IMPORT, { content: EXPORT, s: "hsc" })).importButlerData;
    expect(res).toMatchObject({ dimensionRecordsInserted: 0, datasetsInserted: 0, associations: 0 });
    expect((await usdf.ok(DATASETS, {})).localFacility.datasets.totalCount).toBe(3);
  });

  it("exports in the same format, which another facility imports to the same registry content", async () => {
    const yaml = (await usdf.ok(`{ localFacility { exportButlerData(collections: ["HSC/defaults", "HSC/raw/good"]) } }`)).localFacility.exportButlerData as string;
    expect(yaml).toMatch(/^description: Butler Data Repository Export\nversion: 1\.0\.2\nuniverse_version: 8\nuniverse_namespace: daf_butler\n/);
    expect(yaml).toContain(`- !uuid ${RAW1}`);
    expect(yaml).toContain("datetime_begin: !butler_time/tai/iso '2013-06-17 13:34:45.775000000'");
    expect(yaml).not.toContain("element: skymap"); // only the records the datasets use
    expect(yaml).toContain("timespan: !lsst.daf.butler.Timespan");
    const res = (await frdf.ok(IMPORT, { content: yaml })).importButlerData;
    expect(res).toMatchObject({ format: "YAML", datasets: 3, datasetsInserted: 3, associations: 2 });
    const ids = async (f: TestFacility, c: string[]) =>
      (await f.ok(DATASETS, { c, ff: true })).localFacility.datasets.edges.map((e: any) => [e.node.id, e.node.run, e.node.dataId]).sort();
    expect(await ids(frdf, ["HSC/defaults"])).toEqual(await ids(usdf, ["HSC/defaults"]));
    expect(await ids(frdf, ["HSC/raw/good"])).toEqual([[RAW1, "HSC/raw/all", expect.objectContaining({ detector: 16 })]]);
    const again = (await frdf.ok(`{ localFacility { exportButlerData(collections: ["HSC/defaults", "HSC/raw/good"]) } }`)).localFacility.exportButlerData;
    expect(again).toBe(yaml);
  });

  it("refuses what is not a Butler export, naming the problem", async () => {
    expect((await usdf.errorOf(IMPORT, { content: "description: something else\ndata: []\n" })).code).toBe("IMPORT_FORMAT_ERROR");
    expect((await usdf.errorOf(IMPORT, { content: "data: [unclosed" })).code).toBe("IMPORT_FORMAT_ERROR");
    expect((await usdf.errorOf(IMPORT, { content: EXPORT.replace("version: 1.0.2", "version: 2.0.0") })).code).toBe("IMPORT_FORMAT_ERROR");
    expect((await usdf.errorOf(IMPORT, { content: EXPORT.replace("type: associations", "type: mystery") })).code).toBe("IMPORT_FORMAT_ERROR");
    expect((await usdf.errorOf(IMPORT, { content: `{"index_version": "V2"}` })).code).toBe("IMPORT_FORMAT_ERROR");
    const integerIds = await usdf.errorOf(IMPORT, { content: EXPORT.replace(/(collection_type: TAGGED\n  dataset_ids:\n  - )[^\n]+/, "$142") });
    expect(integerIds).toMatchObject({ code: "IMPORT_FORMAT_ERROR", message: expect.stringMatching(/integer IDs of old exports are not supported/) });
    // A detector that differs from the stored one is not a refusal: the stored record is kept, as butler import does.
    const kept = (await usdf.ok(`mutation($content: String!) { importButlerData(content: $content) { datasetsInserted conflictingRecordsKept conflictingRecordExamples { element fields stored given } } }`, {
      content: EXPORT.replace("purpose: SCIENCE", "purpose: WAVEFRONT"),
    })).importButlerData;
    expect(kept).toEqual({ datasetsInserted: 0, conflictingRecordsKept: 1, conflictingRecordExamples: [{ element: "detector", fields: ["purpose"], stored: { purpose: "SCIENCE" }, given: { purpose: "WAVEFRONT" } }] });
    // A new detector with a stored detector's full_name is another detector: still refused.
    const clash = await usdf.errorOf(IMPORT, { content: EXPORT.replace(/id: 16\b/g, "id: 99") });
    expect(clash).toMatchObject({ code: "DIMENSION_CONFLICT", extensions: { element: "detector" } });
    expect(clash.message).toMatch(/alternate key/);
    expect((await usdf.errorOf(IMPORT, { content: EXPORT }, usdf.tokens.other)).code).toBe("FORBIDDEN");
  });
});

describe("Butler zip index", () => {
  const index = {
    index_version: "V1",
    refs: {
      container_version: "V1",
      universe_version: 8,
      universe_namespace: "daf_butler",
      dataset_types: {
        calexp: { name: "calexp", storageClass: "ExposureF", dimensions: ["instrument", "detector", "exposure"], parentStorageClass: null, isCalibration: false },
      },
      compact_refs: {
        "4d5e6f70-1111-4222-8333-444455556666": { dataset_type_name: "calexp", run: "u/alice/DM-1/run", data_id: { instrument: "HSC", detector: 16, exposure: 903334 } },
      },
    },
    artifact_map: {
      "calexp/calexp_HSC_16.fits": {
        info: { formatter: "lsst.obs.base.formatters.fitsExposure.FitsExposureFormatter", path: "u/alice/DM-1/run/calexp/calexp_HSC_16.fits", storage_class: "ExposureF", component: null, checksum: null, file_size: 12345 },
        ids: ["4d5e6f70-1111-4222-8333-444455556666"],
      },
    },
  };

  it("imports the refs and artifacts of a zip index (dimension records must be present)", async () => {
    const res = (await usdf.ok(IMPORT, { content: JSON.stringify(index) })).importButlerData;
    expect(res).toMatchObject({ format: "ZIP_INDEX", datasetTypes: 1, datasets: 1, datasetsInserted: 1 });
    const d = await usdf.ok(`{ localFacility { dataset(id: "4d5e6f70-1111-4222-8333-444455556666") { run dataId files { path fileSize storageClass } } } }`);
    expect(d.localFacility.dataset).toMatchObject({ run: "u/alice/DM-1/run", dataId: { band: "r", exposure: 903334 }, files: [{ path: "calexp/calexp_HSC_16.fits", fileSize: 12345, storageClass: "ExposureF" }] });
    const missing = await frdf.errorOf(IMPORT, { content: JSON.stringify({ ...index, refs: { ...index.refs, compact_refs: { "4d5e6f70-1111-4222-8333-444455556667": { dataset_type_name: "calexp", run: "r", data_id: { instrument: "LSSTCam", detector: 1, exposure: 1 } } } } }) });
    expect(missing.code).toBe("DIMENSION_RECORD_MISSING");
  });

  it("reads the index out of a zip file", () => {
    const body = deflateRawSync(Buffer.from(JSON.stringify(index)));
    const name = Buffer.from("_butler_zip_index.json");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(0, 42);
    const cdOffset = local.length + name.length + body.length;
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(1, 8);
    eocd.writeUInt16LE(1, 10);
    eocd.writeUInt32LE(central.length + name.length, 12);
    eocd.writeUInt32LE(cdOffset, 16);
    const zip = Buffer.concat([local, name, body, central, name, eocd]);
    expect(JSON.parse(readZipMember(zip, "_butler_zip_index.json")!.toString())).toEqual(index);
    expect(readZipMember(zip, "other.json")).toBeNull();
  });
});
