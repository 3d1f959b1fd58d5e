import { DATASETS, INGEST, lsstCamRecords, RAW_TYPE, startTestFacility, TestFacility } from "../support/facility";

/** Datasets by dataset type, collections and where; find-first through chains; collections; entities. */
let fac: TestFacility;
const EXPOSURES = [2025060100001, 2025060100002, 2025060100003, 2025060100004];
const DETECTORS = [10, 11, 94];

async function find(vars: Record<string, unknown>) {
  return (await fac.ok(DATASETS, vars)).localFacility.datasets;
}
async function count(where: string, extra: Record<string, unknown> = {}) {
  return (await find({ t: "raw", c: ["LSSTCam/raw/all"], w: where, ...extra })).totalCount as number;
}
async function whereError(where: string, extra: Record<string, unknown> = {}) {
  return fac.errorOf(DATASETS, { t: "raw", c: ["LSSTCam/raw/all"], w: where, ...extra });
}

beforeAll(async () => {
  fac = await startTestFacility("fac_query", "USDF");
  const datasets = EXPOSURES.flatMap((exposure) =>
    DETECTORS.map((detector) => ({
      datasetType: "raw",
      run: "LSSTCam/raw/all",
      dataId: { instrument: "LSSTCam", exposure, detector },
      files: [{ path: `raw/${exposure}_${detector}.fits`, scope: "raw", name: `MC_${exposure}_${detector}.fits`, fileSize: 100 }],
    })),
  );
  await fac.ok(INGEST, {
    input: {
      dimensionRecords: lsstCamRecords(4),
      datasetTypes: [RAW_TYPE, { name: "calexp", dimensions: ["instrument", "visit", "detector"], storageClass: "ExposureF" }, { name: "bias", dimensions: ["instrument", "detector"], storageClass: "ExposureF", isCalibration: true }],
      createRuns: true,
      datasets,
    },
  });
  // Two processing runs of the same bias, chained: the newer run first.
  for (const run of ["LSSTCam/calib/run1", "LSSTCam/calib/run2"]) {
    await fac.ok(INGEST, { input: { createRuns: true, datasets: DETECTORS.slice(0, run.endsWith("1") ? 3 : 2).map((detector) => ({ datasetType: "bias", run, dataId: { instrument: "LSSTCam", detector } })) } });
  }
  await fac.ok(`mutation { registerCollection(name: "LSSTCam/calib", type: CHAINED) { name } }`);
  await fac.ok(`mutation { setCollectionChain(parent: "LSSTCam/calib", children: ["LSSTCam/calib/run2", "LSSTCam/calib/run1"]) { children } }`);
});
afterAll(() => fac.close());

describe("where", () => {
  it("compares dimension values, including implied ones (band through exposure → physical_filter)", async () => {
    expect(await count("")).toBe(12);
    expect(await count("detector = 10")).toBe(4);
    expect(await count("band = 'r'")).toBe(6);
    expect(await count("physical_filter = 'g_6' AND detector != 94")).toBe(4);
    expect(await count("instrument = 'LSSTCam' AND day_obs = 20250601")).toBe(12);
    expect(await count("exposure > 2025060100002 OR detector < 11")).toBe(8);
    expect(await count("NOT (detector = 10 OR detector = 11)")).toBe(4);
    expect(await count("exposure - 2025060100000 <= 2 AND detector * 2 = 20")).toBe(2);
    expect(await count("exposure % 2 = 1")).toBe(6);
  });

  it("handles IN lists with literals, ranges with strides, binds and lists in binds", async () => {
    expect(await count("detector IN (10, 94)")).toBe(8);
    expect(await count("detector NOT IN (10, 94)")).toBe(4);
    expect(await count("detector IN (10..11)")).toBe(8);
    expect(await count("exposure IN (2025060100001..2025060100004:2)")).toBe(6);
    expect(await count("band IN ('g', 'i')")).toBe(6);
    expect(await count("detector = :det AND band = :band", { b: { det: 11, band: "r" } })).toBe(2);
    expect(await count("detector IN (:dets)", { b: { dets: [10, 11] } })).toBe(8);
    expect(await count("detector IN (:dets)", { b: { dets: [] } })).toBe(0);
  });

  it("reaches dimension record fields, timespans and time literals", async () => {
    expect(await count("exposure.observation_type = 'science'")).toBe(9);
    expect(await count("exposure.can_see_sky")).toBe(9);
    expect(await count("exposure.seq_num >= 3 AND detector.purpose = 'SCIENCE'")).toBe(4);
    expect(await count("exposure.obs_id = 'MC_O_20250601_000002'")).toBe(3);
    expect(await count("GLOB(exposure.obs_id, 'MC_O_*_00000[12]')")).toBe(0);
    expect(await count("GLOB(exposure.obs_id, 'MC_O_*_00000?')")).toBe(12);
    expect(await count("GLOB(detector.full_name, 'R22_S1*')")).toBe(8);
    expect(await count("exposure.timespan OVERLAPS T'2025-06-02T03:01:10'")).toBe(3);
    expect(await count("exposure.timespan OVERLAPS (T'2025-06-02T03:00:45', T'2025-06-02T03:02:10')")).toBe(6);
    // 37 leap seconds: 03:01:47 TAI is 03:01:10 UTC.
    expect(await count("exposure.timespan OVERLAPS T'2025-06-02T03:01:47/tai'")).toBe(3);
    expect(await count("exposure.timespan < T'2025-06-02T03:01:00'")).toBe(3);
    expect(await count("exposure.timespan.begin >= T'2025-06-02 03:02:00'")).toBe(6);
    expect(await count("day_obs.timespan OVERLAPS T'2025-06-02T00:00:00'")).toBe(12);
    expect(await count("ingest_date > T'2020-01-01T00:00:00'")).toBe(12);
    expect(await count("ingest_date > :t", { b: { t: "2999-01-01T00:00:00Z" } })).toBe(0);
  });

  it("knows dataset fields qualified by the dataset type", async () => {
    const one = (await find({ t: "raw", c: ["LSSTCam/raw/all"], w: "detector = 10 AND exposure = 2025060100001" })).edges[0].node;
    expect(await count(`raw.dataset_id = UUID('${one.id}')`)).toBe(1);
    expect(await count(`raw.dataset_id IN (UUID('${one.id}'))`)).toBe(1);
    expect(await count(`raw.run = 'LSSTCam/raw/all'`)).toBe(12);
  });

  it("reports unknown identifiers, type errors, unsupported spatial constraints and syntax errors with positions", async () => {
    expect(await whereError("observation_type = 'science'")).toMatchObject({
      code: "WHERE_UNKNOWN_IDENTIFIER",
      extensions: { position: 0, identifier: "observation_type" },
      message: expect.stringMatching(/exposure\.observation_type/),
    });
    expect((await whereError("exposure.colour = 'red'")).code).toBe("WHERE_UNKNOWN_IDENTIFIER");
    expect((await whereError("telescope = 1")).code).toBe("WHERE_UNKNOWN_IDENTIFIER");
    expect((await whereError("detector = :d")).code).toBe("WHERE_UNKNOWN_IDENTIFIER");
    expect(await whereError("detector = 'ten'")).toMatchObject({ code: "WHERE_TYPE_ERROR", extensions: { position: 9 } });
    expect((await whereError("band + 1 = 2")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("detector")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("NOT detector")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("band IN (1..3)")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("exposure.timespan OVERLAPS 'yesterday'")).code).toBe("WHERE_TYPE_ERROR");
    // Raws reach visits through visit_definition; this night defines none. Nothing reaches a tract.
    expect(await count("visit.region OVERLAPS POINT(150.1, 2.2)")).toBe(0);
    expect((await whereError("tract = 9813")).code).toBe("WHERE_UNKNOWN_IDENTIFIER");
    expect((await whereError("visit.region OVERLAPS tract.region")).code).toBe("WHERE_UNSUPPORTED");
    expect(await whereError("detector = = 10")).toMatchObject({ code: "WHERE_SYNTAX_ERROR", extensions: { position: 11 } });
  });
});

describe("collections and find-first", () => {
  it("finds the first dataset per data ID through a CHAINED collection, in chain order", async () => {
    const all = await find({ t: "bias", c: ["LSSTCam/calib"] });
    expect(all.totalCount).toBe(5);
    const first = await find({ t: "bias", c: ["LSSTCam/calib"], ff: true });
    expect(first.totalCount).toBe(3);
    const runs = Object.fromEntries(first.edges.map((e: any) => [e.node.dataId.detector, e.node.run]));
    expect(runs).toEqual({ 10: "LSSTCam/calib/run2", 11: "LSSTCam/calib/run2", 94: "LSSTCam/calib/run1" });
    const reversed = await find({ t: "bias", c: ["LSSTCam/calib/run1", "LSSTCam/calib/run2"], ff: true });
    expect(reversed.edges.every((e: any) => e.node.run === "LSSTCam/calib/run1")).toBe(true);
    expect((await fac.errorOf(DATASETS, { t: "bias", c: ["LSSTCam/calib/*"], ff: true })).code).toBe("INVALID_INPUT");
  });

  it("expands glob patterns of collections and dataset types", async () => {
    expect((await find({ t: "bias", c: ["LSSTCam/calib/run*"] })).totalCount).toBe(5);
    expect((await find({ t: "*", c: ["LSSTCam/*"] })).totalCount).toBe(17);
    expect((await find({ t: "b?as" })).totalCount).toBe(5);
    const cols = await fac.ok(`{ localFacility { a: collections(pattern: ["LSSTCam/calib*"]) { name type children } b: collections(types: [CHAINED]) { name type } } }`);
    expect(cols.localFacility.a).toEqual([
      { name: "LSSTCam/calib", type: "CHAINED", children: ["LSSTCam/calib/run2", "LSSTCam/calib/run1"] },
      { name: "LSSTCam/calib/run1", type: "RUN", children: [] },
      { name: "LSSTCam/calib/run2", type: "RUN", children: [] },
    ]);
    // (Other tests add chains of their own.)
    expect(cols.localFacility.b).toContainEqual({ name: "LSSTCam/calib", type: "CHAINED" });
    expect(cols.localFacility.b.every((c: any) => c.type === "CHAINED")).toBe(true);
    expect((await fac.errorOf(DATASETS, { t: "raw", c: ["nope"] })).code).toBe("COLLECTION_NOT_FOUND");
    expect((await fac.errorOf(DATASETS, { t: "flat", c: ["LSSTCam/calib"] })).code).toBe("DATASET_TYPE_NOT_FOUND");
  });

  it("pages by cursor", async () => {
    const ids = (page: any) => page.edges.map((e: any) => e.node.id);
    const all = ids(await find({ t: "raw", c: ["LSSTCam/raw/all"], first: 100 }));
    expect(all).toHaveLength(12);
    const p1 = await find({ t: "raw", c: ["LSSTCam/raw/all"], first: 5 });
    const p2 = await find({ t: "raw", c: ["LSSTCam/raw/all"], first: 10, after: p1.pageInfo.endCursor });
    expect(p1.pageInfo.hasNextPage).toBe(true);
    expect(p2.pageInfo.hasNextPage).toBe(false);
    // The next page starts right after the last one.
    expect(ids(p1)).toEqual(all.slice(0, 5));
    expect(ids(p2)).toEqual(all.slice(5));
    const p3 = await find({ t: "raw", c: ["LSSTCam/raw/all"], first: 3, after: p1.edges[1].cursor });
    expect(ids(p3)).toEqual(all.slice(2, 5));
  });

  it("tags datasets, certifies calibrations and finds through them", async () => {
    const bias = (await find({ t: "bias", c: ["LSSTCam/calib/run1"] })).edges.map((e: any) => e.node);
    await fac.ok(`mutation { registerCollection(name: "best", type: TAGGED) { name } }`);
    expect((await fac.ok(`mutation($ids: [String!]!) { associate(collection: "best", datasetIds: $ids) }`, { ids: bias.map((b: any) => b.id) })).associate).toBe(3);
    expect((await find({ t: "bias", c: ["best"] })).totalCount).toBe(3);
    const other = (await find({ t: "bias", c: ["LSSTCam/calib/run2"] })).edges[0].node;
    const clash = await fac.errorOf(`mutation($ids: [String!]!) { associate(collection: "best", datasetIds: $ids) }`, { ids: [other.id] });
    expect(clash.code).toBe("DATASET_CONFLICT");
    expect((await fac.errorOf(`mutation { associate(collection: "LSSTCam/raw/all", datasetIds: []) }`)).code).toBe("COLLECTION_TYPE_ERROR");
    expect((await fac.errorOf(`mutation { associate(collection: "best", datasetIds: ["00000000-0000-4000-8000-000000000009"]) }`)).code).toBe("DATASET_NOT_FOUND");

    await fac.ok(`mutation { registerCollection(name: "certified/LSSTCam/calib", type: CALIBRATION) { name } }`);
    const certify = `mutation($ids: [String!]!, $b: String, $e: String) { certify(collection: "certified/LSSTCam/calib", datasetIds: $ids, begin: $b, end: $e) }`;
    expect((await fac.ok(certify, { ids: bias.map((b: any) => b.id), b: "2025-01-01T00:00:00Z", e: "2025-07-01T00:00:00Z" })).certify).toBe(3);
    const overlap = await fac.errorOf(certify, { ids: [other.id], b: "2025-06-01T00:00:00Z", e: null });
    expect(overlap).toMatchObject({ code: "DATASET_CONFLICT", extensions: { item: 0 } });
    expect((await fac.ok(certify, { ids: [other.id], b: "2025-07-01T00:00:00Z", e: null })).certify).toBe(1);
    const raw = (await find({ t: "raw", c: ["LSSTCam/raw/all"], first: 1 })).edges[0].node;
    expect((await fac.errorOf(certify, { ids: [raw.id], b: null, e: null })).code).toBe("COLLECTION_TYPE_ERROR");
    const found = await find({ t: "bias", c: ["certified/LSSTCam/calib"], ff: true, w: "detector = 10" });
    expect(found.edges.map((e: any) => e.node.run)).toEqual(["LSSTCam/calib/run2"]);
    // A lookup time picks the certification valid then, as Butler.find_dataset with a timespan does.
    const at = async (v: string, ff = true) => (await find({ t: "bias", c: ["certified/LSSTCam/calib"], ff, w: "detector = 10", v })).edges.map((e: any) => e.node.run);
    expect(await at("2025-06-02T03:00:00Z")).toEqual(["LSSTCam/calib/run1"]);
    expect(await at("2025-07-01T00:00:00Z")).toEqual(["LSSTCam/calib/run2"]);
    expect(await at("2026-11-24T00:00:00Z", false)).toEqual(["LSSTCam/calib/run2"]);
    expect(await at("2024-12-31T23:59:59Z")).toEqual([]);
    // The chain puts a RUN first: its dataset wins whatever the time.
    const chained = await find({ t: "bias", c: ["LSSTCam/calib/run2", "certified/LSSTCam/calib"], ff: true, w: "detector IN (10, 94)", v: "2025-06-02T03:00:00Z" });
    expect(chained.edges.map((e: any) => [e.node.dataId.detector, e.node.run]).sort()).toEqual([[10, "LSSTCam/calib/run2"], [94, "LSSTCam/calib/run1"]]);
    expect((await fac.errorOf(DATASETS, { t: "bias", c: ["certified/LSSTCam/calib"], v: "last tuesday" })).code).toBe("INVALID_INPUT");
  });

  it("refuses chains that contain themselves and collections of the wrong type", async () => {
    await fac.ok(`mutation { registerCollection(name: "outer", type: CHAINED) { name } }`);
    await fac.ok(`mutation { setCollectionChain(parent: "outer", children: ["LSSTCam/calib"]) { name } }`);
    const cycle = await fac.errorOf(`mutation { setCollectionChain(parent: "LSSTCam/calib", children: ["outer"]) { name } }`);
    expect(cycle).toMatchObject({ code: "COLLECTION_CYCLE", extensions: { item: 0 } });
    expect((await fac.errorOf(`mutation { registerCollection(name: "outer", type: RUN) { name } }`)).code).toBe("COLLECTION_TYPE_ERROR");
    expect((await fac.errorOf(`mutation { setCollectionChain(parent: "LSSTCam/raw/all", children: []) { name } }`)).code).toBe("COLLECTION_TYPE_ERROR");
    expect((await fac.errorOf(`mutation { setCollectionChain(parent: "outer", children: ["ghost"]) { name } }`)).code).toBe("COLLECTION_NOT_FOUND");
    const typeClash = await fac.errorOf(`mutation { registerDatasetType(input: {name: "raw", dimensions: ["instrument", "exposure"], storageClass: "Exposure"}) { name } }`);
    expect(typeClash.code).toBe("DATASET_TYPE_CONFLICT");
    expect((await fac.errorOf(`mutation { registerCollection(name: "bad name*", type: RUN) { name } }`)).code).toBe("INVALID_INPUT");
  });
});

describe("dimension records and entities", () => {
  it("lists records of an element with a where over its fields and implied dimensions", async () => {
    const q = `query($e: String!, $w: String, $first: Int) { localFacility { dimensionRecords(element: $e, where: $w, first: $first) {
      totalCount nodes { element dataId record } pageInfo { hasNextPage } } } }`;
    const r = (await fac.ok(q, { e: "exposure", w: "band = 'r' AND observation_type = 'science'".replace("observation_type", "exposure.observation_type") })).localFacility.dimensionRecords;
    expect(r.totalCount).toBe(2);
    expect(r.nodes[0]).toMatchObject({ element: "exposure", dataId: { instrument: "LSSTCam", exposure: 2025060100001 }, record: { obs_id: "MC_O_20250601_000001", physical_filter: "r_57" } });
    expect(r.nodes[0].record.timespan).toEqual({ begin: "2025-06-02T03:00:00.000000Z", end: "2025-06-02T03:00:30.000000Z" });
    const dets = (await fac.ok(q, { e: "detector", w: "purpose = 'SCIENCE'".replace("purpose", "detector.purpose"), first: 1 })).localFacility.dimensionRecords;
    expect(dets).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
    expect((await fac.errorOf(q, { e: "htm7" })).code).toBe("INVALID_INPUT");
    expect((await fac.errorOf(q, { e: "detector", w: "visit = 1" })).code).toBe("WHERE_UNKNOWN_IDENTIFIER");
  });

  it("resolves entities: Facility of this code only, ButlerDataset by facility and id, Replica.butlerDataset by DID", async () => {
    const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Facility { code datasetTypes { name } }
      ... on ButlerDataset { id datasetType run files { path scope name } }
      ... on Replica { scope name butlerDataset { facility datasetType dataId } } } }`;
    const one = (await find({ t: "raw", c: ["LSSTCam/raw/all"], w: "exposure = 2025060100002 AND detector = 94" })).edges[0].node;
    const res = await fac.ok(ENTITIES, {
      r: [
        { __typename: "Facility", code: "USDF" },
        { __typename: "Facility", code: "FrDF" },
        { __typename: "ButlerDataset", facility: "USDF", id: one.id },
        { __typename: "ButlerDataset", facility: "UKDF", id: one.id },
        { __typename: "Replica", scope: "raw", name: "MC_2025060100002_94.fits", facilityCode: "USDF" },
        { __typename: "Replica", scope: "raw", name: "MC_2025060100002_94.fits", facilityCode: "FrDF" },
        { __typename: "Replica", scope: "raw", name: "not-ingested.fits", facilityCode: "USDF" },
      ],
    });
    expect(res._entities[0]).toEqual({ code: "USDF", datasetTypes: [{ name: "bias" }, { name: "calexp" }, { name: "raw" }] });
    expect(res._entities[1]).toBeNull();
    expect(res._entities[2]).toEqual({ id: one.id, datasetType: "raw", run: "LSSTCam/raw/all", files: [{ path: "raw/2025060100002_94.fits", scope: "raw", name: "MC_2025060100002_94.fits" }] });
    expect(res._entities[3]).toBeNull();
    expect(res._entities[4].butlerDataset).toEqual({ facility: "USDF", datasetType: "raw", dataId: one.dataId });
    expect(res._entities[5].butlerDataset).toBeNull();
    expect(res._entities[6].butlerDataset).toBeNull();
    expect((await fac.errorOf(`{ localFacility { dataset(id: "00000000-0000-4000-8000-000000000000") { id } } }`)).code).toBe("DATASET_NOT_FOUND");
  });

  it("sends the same number of SQL statements for 2 datasets with files as for 12", async () => {
    const q = `query($first: Int) { localFacility { datasets(datasetType: "raw", collections: ["LSSTCam/raw/all"], where: "band = 'r' OR band = 'g'", first: $first) {
      totalCount nodes { id dataId files { path fileSize } } } } }`;
    const statements = async (first: number) => {
      const before = fac.service.database.statements.count;
      const data = await fac.ok(q, { first });
      return { n: fac.service.database.statements.count - before, data };
    };
    const small = await statements(2);
    const large = await statements(12);
    expect(large.data.localFacility.datasets.nodes).toHaveLength(12);
    expect(large.data.localFacility.datasets.nodes[11].files).toHaveLength(1);
    expect(large.n).toBe(small.n);
  });
});
