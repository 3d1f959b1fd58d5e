import { readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "pg";
import { INGEST, startTestFacility, TestFacility } from "../support/facility";

/**
 * Removal from a facility's registry (removal.ts): removeDatasets, removeRuns, removeCollections,
 * with their dry runs and refusals, over daf_butler's own registry test data (base.yaml and
 * datasets.yaml: runs imported_g and imported_r of bias and flat datasets), plus a TAGGED, a
 * CALIBRATION and a CHAINED collection made here.
 */
const DATA = path.resolve(__dirname, "..", "..", "..", "test", "data", "daf_butler");
const IMPORT = `mutation($content: String!) { importButlerData(content: $content) { datasetsInserted } }`;
const COUNTS = "datasets runs collections fileRecords associations chainLinks collectionNames dryRun";
const REMOVE_DATASETS = `mutation($ids: [String!]!, $dry: Boolean) { removeDatasets(ids: $ids, dryRun: $dry) { ${COUNTS} } }`;
const REMOVE_RUNS = `mutation($names: [String!]!, $force: Boolean, $dry: Boolean) { removeRuns(names: $names, force: $force, dryRun: $dry) { ${COUNTS} } }`;
const REMOVE_COLLECTIONS = `mutation($names: [String!]!, $force: Boolean, $dry: Boolean) { removeCollections(names: $names, force: $force, dryRun: $dry) { ${COUNTS} } }`;

// From datasets.yaml: imported_g holds biases for detectors 1–3 and flats for 2–4 (g); imported_r biases 2–4, flats 1–4 (r).
const BIAS_G1 = "e15ab039-bc8b-4135-87c5-90902a7c0b22";
const BIAS_G2 = "51352db4-a47a-447c-b12d-a50b206b17cd";
const FLAT_G2 = "60c8a65c-7290-4c38-b1de-e3b1cdcf872d";
const BIAS_R2 = "87f3e68d-258d-41b7-8ea5-edf3557ccb30";

let f: TestFacility;

/** Everything that removal touches, counted, so a test can say nothing changed. */
async function state() {
  const data = await f.ok(`{ localFacility {
    datasets(first: 1000) { totalCount edges { node { id run } } }
    collections { name type children }
  } }`);
  const rows = await f.service.database.dataSource.query(
    `SELECT (SELECT count(*) FROM file_records)::int AS files, (SELECT count(*) FROM tagged)::int AS tags, (SELECT count(*) FROM calibs)::int AS calibs,
            (SELECT count(*) FROM collection_chains)::int AS links`,
  );
  return { datasets: data.localFacility.datasets.totalCount, collections: data.localFacility.collections, ...rows[0] };
}

beforeAll(async () => {
  f = await startTestFacility("fac_removal", "FrDF");
  for (const name of ["base.yaml", "datasets.yaml"]) await f.ok(IMPORT, { content: readFileSync(path.join(DATA, name), "utf8") });
  const reg = (name: string, type: string) => f.ok(`mutation { registerCollection(name: "${name}", type: ${type}) { name } }`);
  await reg("tagged/good", "TAGGED");
  await reg("calib", "CALIBRATION");
  await reg("defaults", "CHAINED");
  await reg("everything", "CHAINED");
  await f.ok(`mutation { associate(collection: "tagged/good", datasetIds: ["${BIAS_G1}", "${FLAT_G2}", "${BIAS_R2}"]) }`);
  await f.ok(`mutation { certify(collection: "calib", datasetIds: ["${BIAS_G1}", "${BIAS_G2}"], begin: "2025-01-01T00:00:00Z", end: null) }`);
  await f.ok(`mutation { setCollectionChain(parent: "defaults", children: ["imported_g", "imported_r", "tagged/good", "calib"]) { name } }`);
  await f.ok(`mutation { setCollectionChain(parent: "everything", children: ["defaults", "imported_r"]) { name } }`);
});
afterAll(() => f.close());

describe("removeDatasets", () => {
  it("counts on a dry run and writes nothing", async () => {
    const before = await state();
    const dry = (await f.ok(REMOVE_DATASETS, { ids: [BIAS_G1, FLAT_G2], dry: true })).removeDatasets;
    expect(dry).toEqual({ datasets: 2, runs: 0, collections: 0, fileRecords: 2, associations: 3, chainLinks: 0, collectionNames: [], dryRun: true });
    expect(await state()).toEqual(before);
  });

  it("removes datasets with their file records, tags and certifications; a second time removes nothing", async () => {
    const before = await state();
    const res = (await f.ok(REMOVE_DATASETS, { ids: [BIAS_G1, FLAT_G2.toUpperCase()] })).removeDatasets;
    expect(res).toEqual({ datasets: 2, runs: 0, collections: 0, fileRecords: 2, associations: 3, chainLinks: 0, collectionNames: [], dryRun: false });
    const after = await state();
    expect(after).toMatchObject({ datasets: before.datasets - 2, files: before.files - 2, tags: before.tags - 2, calibs: before.calibs - 1 });
    expect((await f.raw(`{ localFacility { dataset(id: "${BIAS_G1}") { id } } }`)).errors?.[0].extensions?.code).toBe("DATASET_NOT_FOUND");
    expect((await f.ok(REMOVE_DATASETS, { ids: [BIAS_G1, FLAT_G2] })).removeDatasets).toMatchObject({ datasets: 0, fileRecords: 0, associations: 0 });
    expect(await state()).toEqual(after);
  });

  it("refuses what is not a dataset ID, and callers without a registry scope", async () => {
    const bad = await f.errorOf(REMOVE_DATASETS, { ids: [BIAS_G2, "42"] });
    expect(bad).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 1, argument: "ids" } });
    expect((await f.errorOf(REMOVE_DATASETS, { ids: [BIAS_G2] }, f.tokens.other)).code).toBe("FORBIDDEN");
    expect((await f.errorOf(REMOVE_DATASETS, { ids: [BIAS_G2] }, f.tokens.reader)).code).toBe("FORBIDDEN");
    expect((await f.errorOf(REMOVE_DATASETS, { ids: [BIAS_G2] }, "")).code).toBe("UNAUTHENTICATED");
    const elsewhere = await f.errorOf(`mutation { removeDatasets(facility: "UKDF", ids: ["${BIAS_G2}"]) { datasets } }`);
    expect(elsewhere).toMatchObject({ code: "INVALID_INPUT", extensions: { argument: "facility" } });
    expect((await f.ok(`mutation { removeDatasets(facility: "frdf", ids: [], dryRun: true) { datasets runs } }`, {}, f.tokens.admin)).removeDatasets).toEqual({ datasets: 0, runs: 0 });
    expect((await f.ok(`{ localFacility { dataset(id: "${BIAS_G2}") { id } } }`)).localFacility.dataset.id).toBe(BIAS_G2);
  });
});

describe("removeRuns", () => {
  it("refuses a run still in a chain without force, naming the chains, also on a dry run", async () => {
    for (const dry of [true, false]) {
      const err = await f.errorOf(REMOVE_RUNS, { names: ["imported_r"], dry });
      expect(err).toMatchObject({ code: "COLLECTION_IN_CHAIN", extensions: { name: "imported_r", parents: ["defaults", "everything"] } });
    }
    expect((await f.errorOf(REMOVE_RUNS, { names: ["tagged/good"] })).code).toBe("COLLECTION_TYPE_ERROR");
    expect((await f.errorOf(REMOVE_RUNS, { names: ["bad name!"] })).code).toBe("INVALID_INPUT");
  });

  it("with force: a dry run counts the run's datasets and chain links and writes nothing", async () => {
    const before = await state();
    const dry = (await f.ok(REMOVE_RUNS, { names: ["imported_r"], force: true, dry: true })).removeRuns;
    // imported_r: 3 biases and 4 flats, one bias tagged; in two chains.
    expect(dry).toEqual({ datasets: 7, runs: 1, collections: 0, fileRecords: 7, associations: 1, chainLinks: 2, collectionNames: ["imported_r"], dryRun: true });
    expect(await state()).toEqual(before);
  });

  it("with force: removes the run and its datasets and closes the gaps in the chains; a second time removes nothing", async () => {
    const res = (await f.ok(REMOVE_RUNS, { names: ["imported_r", "no/such/run"], force: true })).removeRuns;
    expect(res).toEqual({ datasets: 7, runs: 1, collections: 0, fileRecords: 7, associations: 1, chainLinks: 2, collectionNames: ["imported_r"], dryRun: false });
    const after = await state();
    const byName = new Map(after.collections.map((c: any) => [c.name, c]));
    expect(byName.has("imported_r")).toBe(false);
    expect(byName.get("defaults")).toMatchObject({ children: ["imported_g", "tagged/good", "calib"] });
    expect(byName.get("everything")).toMatchObject({ children: ["defaults"] });
    const positions = await f.service.database.dataSource.query(`SELECT c.name, array_agg(position ORDER BY position) AS p FROM collection_chains JOIN collections c ON c.id = parent_id GROUP BY c.name ORDER BY c.name`);
    expect(positions).toEqual([{ name: "defaults", p: [0, 1, 2] }, { name: "everything", p: [0] }]);
    // The chain still works as a search path.
    const found = await f.ok(`{ localFacility { datasets(datasetType: "flat", collections: ["defaults"]) { totalCount } } }`);
    expect(found.localFacility.datasets.totalCount).toBe(2);
    expect((await f.ok(REMOVE_RUNS, { names: ["imported_r"], force: true })).removeRuns).toMatchObject({ datasets: 0, runs: 0, collectionNames: [] });
    expect(await state()).toEqual(after);
  });
});

describe("removeCollections", () => {
  it("refuses RUN collections (removeRuns removes those) and collections in a chain without force", async () => {
    expect((await f.errorOf(REMOVE_COLLECTIONS, { names: ["imported_g"] })).code).toBe("COLLECTION_TYPE_ERROR");
    expect(await f.errorOf(REMOVE_COLLECTIONS, { names: ["tagged/good"] })).toMatchObject({ code: "COLLECTION_IN_CHAIN", extensions: { parents: ["defaults"] } });
  });

  it("removes a TAGGED and a CALIBRATION collection with their tags and certifications; the datasets stay", async () => {
    const before = await state();
    const dry = (await f.ok(REMOVE_COLLECTIONS, { names: ["tagged/*", "calib"], force: true, dry: true })).removeCollections;
    expect(dry).toEqual({ datasets: 0, runs: 0, collections: 2, fileRecords: 0, associations: 1, chainLinks: 2, collectionNames: ["calib", "tagged/good"], dryRun: true });
    expect(await state()).toEqual(before);
    const res = (await f.ok(REMOVE_COLLECTIONS, { names: ["tagged/*", "calib"], force: true })).removeCollections;
    expect(res).toEqual({ ...dry, dryRun: false });
    const after = await state();
    expect(after).toMatchObject({ datasets: before.datasets, files: before.files, tags: 0, calibs: 0 });
    expect(after.collections.find((c: any) => c.name === "defaults").children).toEqual(["imported_g"]);
    expect((await f.ok(REMOVE_COLLECTIONS, { names: ["tagged/good", "calib"], force: true })).removeCollections).toMatchObject({ collections: 0, associations: 0 });
  });

  it("removes a CHAINED collection with its links, and its parent chain with it in one call without force; the children stay", async () => {
    const res = (await f.ok(REMOVE_COLLECTIONS, { names: ["defaults", "everything"] })).removeCollections;
    expect(res).toEqual({ datasets: 0, runs: 0, collections: 2, fileRecords: 0, associations: 0, chainLinks: 2, collectionNames: ["defaults", "everything"], dryRun: false });
    const after = await state();
    expect(after.collections.map((c: any) => c.name)).toEqual(["imported_g"]);
    expect(after).toMatchObject({ links: 0, datasets: 4 });
  });
});

describe("a removal running while an agent writes", () => {
  it("makes an ingest into the run being removed wait, then answer COLLECTION_NOT_FOUND (not a foreign-key failure)", async () => {
    await f.ok(`mutation { registerCollection(name: "doomed", type: RUN) { name } }`);
    // A removal of the run, in flight: its transaction holds the run's row.
    const removal = new Client({ connectionString: f.config.database.url });
    await removal.connect();
    try {
      await removal.query("BEGIN");
      await removal.query(`SELECT id FROM collections WHERE name = 'doomed' FOR UPDATE`);
      await removal.query(`DELETE FROM collections WHERE name = 'doomed'`);
      const ingest = f.raw(INGEST, { input: { datasets: [{ datasetType: "bias", run: "doomed", dataId: { instrument: "Cam1", detector: 1 } }] } }, f.tokens.agent);
      // Wait until the ingest waits on the removal's lock.
      for (;;) {
        const [{ n }] = (await removal.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows;
        if (n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await removal.query("COMMIT");
      const res = await ingest;
      expect(res.errors?.[0].extensions?.code).toBe("COLLECTION_NOT_FOUND");
    } finally {
      await removal.end();
    }
  });
});
