// Times spatial where constraints over N visits x 189 detector regions (and as many calexps) on the
// local Postgres server (DBB_TEST_POSTGRES_URL, as the tests use), in a scratch database it drops
// afterwards. A measurement, not a benchmark against a peer: nothing comparable runs here.
//   npm run build && node scripts/measure-spatial-where.cjs [visits=1000]
require("reflect-metadata");
const { DataSource } = require("typeorm");
const { Client } = require("pg");
const path = require("node:path");
const M = path.join(__dirname, "..", "dist");
const ADMIN = process.env.DBB_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const DB = "dbb_measure_spatial";
const { facilityMigrations } = require(M + "/subgraphs/facility/migrations");
const { ingestDatasets } = require(M + "/subgraphs/facility/ingest");
const { queryDatasets } = require(M + "/subgraphs/facility/dataset");
const { polygon } = require(M + "/subgraphs/facility/sky/region");
const { regionToHex } = require(M + "/subgraphs/facility/sky/region-encoding");
(async () => {
  const visits = Number(process.argv[2] || 1000);
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const url = new URL(ADMIN);
  url.pathname = `/${DB}`;
  const ds = new DataSource({ type: "postgres", url: url.toString(), migrations: facilityMigrations });
  await ds.initialize(); await ds.runMigrations();
  const m = ds.manager;
  const base = [{ element: "instrument", record: { name: "LSSTCam" } }, { element: "physical_filter", record: { instrument: "LSSTCam", name: "r_57", band: "r" } }, { element: "day_obs", record: { instrument: "LSSTCam", id: 20250601 } }];
  for (let d = 0; d < 189; d++) base.push({ element: "detector", record: { instrument: "LSSTCam", id: d, full_name: "D" + d } });
  await ingestDatasets(m, { dimensionRecords: base, datasets: [] });
  let t = Date.now();
  for (let v0 = 0; v0 < visits; v0 += 100) {
    const recs = [], datasets = [];
    for (let v = v0; v < Math.min(visits, v0 + 100); v++) {
      const ra = (v * 7.3) % 360, dec = -60 + ((v * 3.1) % 60);
      const c = Math.cos(dec * Math.PI / 180);
      recs.push({ element: "visit", record: { instrument: "LSSTCam", id: v, name: "v" + v, physical_filter: "r_57", day_obs: 20250601, region: regionToHex(polygon([[ra - 1.75 / c, dec - 1.75], [ra + 1.75 / c, dec - 1.75], [ra + 1.75 / c, dec + 1.75], [ra - 1.75 / c, dec + 1.75]])) } });
      for (let d = 0; d < 189; d++) {
        const i = d % 14, j = Math.floor(d / 14);
        const r0 = ra - 1.75 / c + i * 0.25 / c, d0 = dec - 1.75 + j * 0.25;
        recs.push({ element: "visit_detector_region", record: { instrument: "LSSTCam", visit: v, detector: d, region: regionToHex(polygon([[r0, d0], [r0 + 0.25 / c, d0], [r0 + 0.25 / c, d0 + 0.25], [r0, d0 + 0.25]])) } });
        datasets.push({ datasetType: "calexp", run: "r", dataId: { instrument: "LSSTCam", visit: v, detector: d } });
      }
    }
    await ds.transaction((tx) => ingestDatasets(tx, { dimensionRecords: recs, datasetTypes: [{ name: "calexp", dimensions: ["instrument", "visit", "detector"], storageClass: "ExposureF" }], createRuns: true, datasets }));
  }
  console.log(`ingested ${visits} visits, ${visits * 189} detector regions and calexps in ${Date.now() - t} ms`);
  await m.query("ANALYZE");
  for (const where of ["visit_detector_region.region OVERLAPS POINT(73, -29)", "visit.region OVERLAPS POINT(73, -29)", "visit_detector_region.region OVERLAPS CIRCLE(73, -29, 1)", "visit_detector_region.region OVERLAPS CIRCLE(73, -29, 5)", "detector = 10"]) {
    for (let k = 0; k < 2; k++) {
      t = Date.now();
      const page = await queryDatasets(m, { datasetType: "calexp", where, first: 100 });
      const total = await page.totalCount();
      if (k === 1) console.log(`${where}: ${total} datasets, first page + count in ${Date.now() - t} ms`);
    }
  }
  await ds.destroy();
  await admin.query(`DROP DATABASE ${DB}`);
  await admin.end();
})().catch((e) => { console.error(e); process.exit(1); });
