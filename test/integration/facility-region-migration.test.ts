import "reflect-metadata";
import { DataSource } from "typeorm";
import { FacilityInit1733000000000 } from "../../subgraphs/facility/migrations/1733000000000-FacilityInit";
import { facilityMigrations } from "../../subgraphs/facility/migrations";
import { queryDatasets } from "../../subgraphs/facility/dataset";
import { ingestDatasets } from "../../subgraphs/facility/ingest";
import { polygon } from "../../subgraphs/facility/sky/region";
import { encodeRegion, regionToHex } from "../../subgraphs/facility/sky/region-encoding";
import { createTestDatabase, TestDatabase } from "../support/postgres";
import { lsstCamRecords } from "../support/facility";

/**
 * A registry made before regions were evaluated kept them as given text. The RegionBounds
 * migration gives the sphgeom encodings among them their canonical hex and bounding box, so
 * spatial constraints find them, and leaves other text alone (it never matches).
 */
let db: TestDatabase;
let source: DataSource | undefined;

beforeAll(async () => {
  db = await createTestDatabase("fac_region_migration");
});
afterAll(async () => {
  await source?.destroy();
  await db.drop();
});

it("backfills the bounds of regions stored before the migration, in any form daf_butler wrote them", async () => {
  const old = new DataSource({ type: "postgres", url: db.url, migrations: [FacilityInit1733000000000] });
  await old.initialize();
  await old.runMigrations();
  const square = polygon([
    [149, 1],
    [151, 1],
    [151, 3],
    [149, 3],
  ]);
  const stored = [
    regionToHex(square).toUpperCase(), // hex, in upper case
    Buffer.from(encodeRegion(square)).toString("base64"), // base64, as daf_butler's registry column
    "POLYGON((149 1, 151 1, 151 3, 149 3))", // not a sphgeom encoding
  ];
  await old.query(`INSERT INTO dim_instrument (name) VALUES ('LSSTCam')`);
  for (const [i, region] of stored.entries()) {
    await old.query(`INSERT INTO dim_visit (instrument, id, name, region) VALUES ('LSSTCam', $1, $2, $3)`, [i + 1, `v${i + 1}`, region]);
  }
  await old.destroy();

  source = new DataSource({ type: "postgres", url: db.url, migrations: facilityMigrations });
  await source.initialize();
  expect((await source.runMigrations()).map((m) => m.name)).toEqual(["RegionBounds1764000000000", "Agents1764800000000", "Arrivals1765000000000", "RemovalProgress1765100000000", "ArrivalSummary1765300000000", "PartialDimensionIndexes1765400000000"]);
  const rows = await source.query(`SELECT id, region, region_lat_min, region_lat_max FROM dim_visit ORDER BY id`);
  expect(rows.map((r: any) => r.region)).toEqual([regionToHex(square), regionToHex(square), stored[2]]);
  expect(rows[0].region_lat_min).toBeLessThanOrEqual(1);
  expect(rows[0].region_lat_max).toBeGreaterThanOrEqual(3);
  expect(rows[2].region_lat_min).toBeNull();

  // Calexps of the three visits: the spatial constraint finds the two decodable regions.
  const m = source.manager;
  await ingestDatasets(m, {
    dimensionRecords: lsstCamRecords(0).filter((r) => r.element !== "instrument"),
    datasetTypes: [{ name: "calexp", dimensions: ["instrument", "visit", "detector"], storageClass: "ExposureF" }],
    createRuns: true,
    datasets: [1, 2, 3].map((visit) => ({ datasetType: "calexp", run: "r", dataId: { instrument: "LSSTCam", visit, detector: 10 } })),
  });
  const page = await queryDatasets(m, { datasetType: "calexp", where: "visit.region OVERLAPS POINT(150, 2)" });
  expect(page.nodes.map((n) => n.dataId.visit).sort()).toEqual([1, 2]);
});
