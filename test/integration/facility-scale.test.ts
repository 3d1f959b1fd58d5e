import { explainDatasetQuery } from "../../subgraphs/facility/dataset";
import { startTestFacility, TestFacility } from "../support/facility";

/**
 * Scale: a 100,000-dataset ingest is one call with a fixed number of statements; a where on a
 * dimension value over 1,000,000 datasets is answered through an index.
 */
let fac: TestFacility;

beforeAll(async () => {
  fac = await startTestFacility("fac_scale", "UKDF");
});
afterAll(() => fac.close());

function records(exposures: number, detectors: number) {
  const out: Array<{ element: string; record: Record<string, unknown> }> = [
    { element: "instrument", record: { name: "LSSTCam" } },
    { element: "physical_filter", record: { instrument: "LSSTCam", name: "r_57", band: "r" } },
    { element: "physical_filter", record: { instrument: "LSSTCam", name: "u_24", band: "u" } },
    { element: "day_obs", record: { instrument: "LSSTCam", id: 20250601 } },
    { element: "group", record: { instrument: "LSSTCam", name: "g1" } },
  ];
  for (let d = 0; d < detectors; d++) out.push({ element: "detector", record: { instrument: "LSSTCam", id: d, full_name: `D${d}` } });
  for (let e = 0; e < exposures; e++) {
    out.push({
      element: "exposure",
      record: { instrument: "LSSTCam", id: e, obs_id: `E${e}`, physical_filter: e % 10 === 0 ? "u_24" : "r_57", group: "g1", day_obs: 20250601 },
    });
  }
  return out;
}

it("ingests 100,000 datasets in one call with a statement count that does not depend on their number", async () => {
  const input = (exposures: number, run: string) => ({
    dimensionRecords: records(exposures, 189),
    datasetTypes: [{ name: "raw", dimensions: ["instrument", "exposure", "detector"], storageClass: "Exposure" }],
    createRuns: true,
    datasets: Array.from({ length: exposures * 189 }, (_, i) => ({
      datasetType: "raw",
      run,
      dataId: { instrument: "LSSTCam", exposure: Math.floor(i / 189), detector: i % 189 },
      files: [{ path: `raw/${i}.fits`, fileSize: 1000 + i, checksum: "adler32:00000000", scope: "raw", name: `f${i}.fits` }],
    })),
  });
  const statements = async (exposures: number, run: string) => {
    const before = fac.service.database.statements.count;
    const res = await fac.ok(`mutation($input: IngestDatasetsInput!) { ingestDatasets(input: $input) { datasetsInserted fileRecordsInserted } }`, {
      input: input(exposures, run),
    });
    return { n: fac.service.database.statements.count - before, res: res.ingestDatasets };
  };
  const small = await statements(2, "small");
  const big = await statements(530, "big"); // 100,170 datasets
  expect(big.res).toEqual({ datasetsInserted: 100170, fileRecordsInserted: 100170 });
  expect(small.res.datasetsInserted).toBe(378);
  expect(big.n).toBeLessThanOrEqual(small.n + 2);
  const count = await fac.ok(`{ localFacility { datasets(collections: ["big"], where: "band = 'u' AND detector < 10") { totalCount } } }`);
  expect(count.localFacility.datasets.totalCount).toBe(53 * 10);
}, 300000);

it("answers a where on a dimension value over 1,000,000 datasets through an index", async () => {
  const db = fac.service.database.dataSource.manager;
  const [{ type_id }] = await db.query(`SELECT id AS type_id FROM dataset_types WHERE name = 'raw'`);
  const [{ run_id }] = await db.query(`INSERT INTO collections (name, type) VALUES ('million', 'RUN') RETURNING id AS run_id`);
  // Straight into the table: the ingest path is covered above; this builds the volume quickly.
  await db.query(
    `INSERT INTO datasets (id, dataset_type_id, run_id, data_id, instrument, exposure, detector, physical_filter, band, day_obs, "group")
     SELECT gen_random_uuid(), $1, $2,
            jsonb_build_object('instrument', 'LSSTCam', 'exposure', 100000 + i / 189, 'detector', i % 189),
            'LSSTCam', 100000 + i / 189, i % 189, CASE WHEN i % 1890 < 189 THEN 'u_24' ELSE 'r_57' END,
            CASE WHEN i % 1890 < 189 THEN 'u' ELSE 'r' END, 20250601, 'g1'
     FROM generate_series(0, 999999) AS i`,
    [type_id, run_id],
  );
  await db.query(`ANALYZE datasets`);
  const plan = await explainDatasetQuery(db, { datasetType: "raw", collections: ["million"], where: "exposure = 100042" });
  expect(plan).toMatch(/Index Scan|Bitmap Index Scan/);
  expect(plan).toMatch(/datasets_dim_exposure/);
  const plan2 = await explainDatasetQuery(db, { datasetType: "raw", collections: ["million"], where: "detector = :d AND exposure IN (100001, 100002)", bind: { d: 7 } });
  expect(plan2).toMatch(/datasets_dim_(exposure|detector)/);
  const res = await fac.ok(`{ localFacility { datasets(collections: ["million"], where: "exposure = 100042") { totalCount nodes { dataId } } } }`);
  expect(res.localFacility.datasets.totalCount).toBe(189);
}, 300000);
