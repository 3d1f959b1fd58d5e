import { DATASETS, INGEST, lsstCamRecords, RAW_TYPE, startTestFacility, TestFacility } from "../support/facility";
import { htmIndex } from "../../subgraphs/facility/sky/htm";
import { circle, point, PointRegion, polygon, Region } from "../../subgraphs/facility/sky/region";
import { regionToHex } from "../../subgraphs/facility/sky/region-encoding";

/**
 * Spatial where constraints against stored regions: visits and their detectors' regions, across
 * RA = 0 and around a pole, with every constant form (POINT, CIRCLE, BOX, POLYGON, REGION, binds),
 * and skypix (htm7) datasets.
 */
let fac: TestFacility;

const square = (ra0: number, ra1: number, dec0: number, dec1: number): Region =>
  polygon([
    [ra0, dec0],
    [ra1, dec0],
    [ra1, dec1],
    [ra0, dec1],
  ]);

// Visit → [its region, detector 10's region, detector 11's region]: the detectors split it at its middle RA.
const VISITS: Record<number, Region[]> = {
  1: [square(149, 151, 1, 3), square(149, 150, 1, 3), square(150, 151, 1, 3)],
  2: [square(149.5, 151.5, 1.5, 3.5), square(149.5, 150.5, 1.5, 3.5), square(150.5, 151.5, 1.5, 3.5)],
  3: [square(359.5, 0.5, -0.5, 0.5), square(359.5, 0, -0.5, 0.5), square(0, 0.5, -0.5, 0.5)],
  4: [circle(0, -90, 2), circle(90, -89, 1), circle(270, -89, 1)],
};
const RUN = "LSSTCam/runs/spatial";
const EXPOSURE = 2025060100001;

async function count(where: string, bind?: Record<string, unknown>, datasetType = "calexp") {
  return (await fac.ok(DATASETS, { t: datasetType, c: [RUN], w: where, b: bind })).localFacility.datasets.totalCount as number;
}
async function visitsOf(where: string, bind?: Record<string, unknown>) {
  const r = await fac.ok(DATASETS, { t: "calexp", c: [RUN], w: where, b: bind });
  return [...new Set(r.localFacility.datasets.edges.map((e: any) => e.node.dataId.visit))].sort();
}
async function whereError(where: string, bind?: Record<string, unknown>) {
  return fac.errorOf(DATASETS, { t: "calexp", c: [RUN], w: where, b: bind });
}

beforeAll(async () => {
  fac = await startTestFacility("fac_spatial", "USDF");
  const records = lsstCamRecords(1);
  for (const [id, [region, d10, d11]] of Object.entries(VISITS)) {
    const visit = Number(id);
    records.push({ element: "visit", record: { instrument: "LSSTCam", id: visit, name: `v${visit}`, physical_filter: "r_57", day_obs: 20250601, region: regionToHex(region) } });
    records.push({ element: "visit_detector_region", record: { instrument: "LSSTCam", visit, detector: 10, region: regionToHex(d10) } });
    records.push({ element: "visit_detector_region", record: { instrument: "LSSTCam", visit, detector: 11, region: regionToHex(d11) } });
  }
  // The night's exposure belongs to visits 1 and 2 (two visit systems).
  for (const visit of [1, 2]) records.push({ element: "visit_definition", record: { instrument: "LSSTCam", exposure: EXPOSURE, visit } });
  const inside = htmIndex((point(150, 2) as PointRegion).v, 7);
  const far = htmIndex((point(30, -40) as PointRegion).v, 7);
  await fac.ok(INGEST, {
    input: {
      dimensionRecords: records,
      datasetTypes: [
        { name: "calexp", dimensions: ["instrument", "visit", "detector"], storageClass: "ExposureF" },
        { name: "ref_cat", dimensions: ["htm7"], storageClass: "SimpleCatalog" },
        RAW_TYPE,
      ],
      createRuns: true,
      datasets: [
        ...Object.keys(VISITS).flatMap((v) => [10, 11].map((detector) => ({ datasetType: "calexp", run: RUN, dataId: { instrument: "LSSTCam", visit: Number(v), detector } }))),
        ...[inside, far].map((htm7) => ({ datasetType: "ref_cat", run: RUN, dataId: { htm7 } })),
        ...[10, 11].map((detector) => ({ datasetType: "raw", run: RUN, dataId: { instrument: "LSSTCam", exposure: EXPOSURE, detector } })),
      ],
    },
  });
});
afterAll(() => fac.close());

describe("region OVERLAPS", () => {
  it("finds the datasets of the visits whose region holds a point, from either side of OVERLAPS", async () => {
    expect(await visitsOf("visit.region OVERLAPS POINT(150, 2)")).toEqual([1, 2]);
    expect(await visitsOf("POINT(151.3, 3.3) OVERLAPS visit.region")).toEqual([2]);
    expect(await count("visit.region OVERLAPS POINT(150, 2)")).toBe(4);
    expect(await count("visit.region OVERLAPS POINT(200, 50)")).toBe(0);
  });

  it("handles regions across RA = 0 and around a pole", async () => {
    expect(await visitsOf("visit.region OVERLAPS POINT(0.2, 0.1)")).toEqual([3]);
    expect(await visitsOf("visit.region OVERLAPS POINT(359.8, -0.2)")).toEqual([3]);
    expect(await visitsOf("visit.region OVERLAPS POINT(123, -89.5)")).toEqual([4]);
    expect(await visitsOf("visit.region OVERLAPS CIRCLE(180, -87.5, 1)")).toEqual([4]);
  });

  it("accepts CIRCLE, BOX, POLYGON, REGION and bind parameters as the constant region", async () => {
    expect(await visitsOf("visit.region OVERLAPS CIRCLE(152, 2, 0.6)")).toEqual([2]);
    expect(await visitsOf("visit.region OVERLAPS CIRCLE(152, 2, 0.4)")).toEqual([]);
    expect(await visitsOf("visit.region OVERLAPS BOX(150, 2, 0.1, 0.1)")).toEqual([1, 2]);
    expect(await visitsOf("visit.region OVERLAPS POLYGON(151.2, 3.2, 151.4, 3.2, 151.3, 3.4)")).toEqual([2]);
    expect(await visitsOf("visit.region OVERLAPS REGION('CIRCLE 0 0 0.1')")).toEqual([3]);
    expect(await visitsOf("visit.region OVERLAPS :r", { r: "CIRCLE 0.2 0.1 0.01" })).toEqual([3]);
    expect(await visitsOf("visit.region OVERLAPS :r", { r: regionToHex(circle(151.3, 3.3, 0.01)) })).toEqual([2]);
    expect(await visitsOf("visit.region OVERLAPS POINT(:ra, :dec - 1)", { ra: 150.2, dec: 3 })).toEqual([1, 2]);
  });

  it("combines with the rest of the expression, and with NOT", async () => {
    expect(await count("visit.region OVERLAPS POINT(150, 2) AND detector = 11")).toBe(2);
    expect(await count("NOT (visit.region OVERLAPS POINT(150, 2))")).toBe(4);
    expect(await count("visit.region OVERLAPS POINT(150, 2) OR visit = 3")).toBe(6);
    expect(await count("POINT(1, 1) OVERLAPS CIRCLE(1, 1.5, 1)")).toBe(8);
    expect(await count("POINT(1, 1) OVERLAPS CIRCLE(1, 3, 1)")).toBe(0);
  });

  it("evaluates detector regions: only the detector that sees the point", async () => {
    const r = await fac.ok(DATASETS, { t: "calexp", c: [RUN], w: "visit_detector_region.region OVERLAPS POINT(149.3, 2)" });
    expect(r.localFacility.datasets.edges.map((e: any) => e.node.dataId)).toEqual([{ instrument: "LSSTCam", detector: 10, visit: 1, band: "r", day_obs: 20250601, physical_filter: "r_57" }]);
    expect(await count("visit_detector_region.region OVERLAPS POINT(0.2, 0)")).toBe(1);
  });

  it("finds dimension records by region, and keeps each region as the hex of its sphgeom encoding", async () => {
    const q = `query($w: String) { localFacility { dimensionRecords(element: "visit", where: $w) { totalCount nodes { dataId record } } } }`;
    const r = (await fac.ok(q, { w: "visit.region OVERLAPS CIRCLE(150.2, 2.2, 0.1)" })).localFacility.dimensionRecords;
    expect(r.nodes.map((n: any) => n.dataId.visit)).toEqual([1, 2]);
    expect(r.nodes[0].record.region).toBe(regionToHex(VISITS[1][0]));
    expect(Object.keys(r.nodes[0].record)).not.toContain("region_lat_min");
  });

  it("selects skypix (htm7) datasets by the pixels that overlap", async () => {
    expect(await count("htm7.region OVERLAPS CIRCLE(150, 2, 0.01)", undefined, "ref_cat")).toBe(1);
    expect(await count("htm7.region OVERLAPS CIRCLE(30, -40, 0.01) OR htm7.region OVERLAPS POINT(150, 2)", undefined, "ref_cat")).toBe(2);
    expect(await count("htm7.region OVERLAPS POINT(-100, 10)", undefined, "ref_cat")).toBe(0);
  });
});

describe("export and import", () => {
  it("writes regions as sphgeom's YAML tags with the records visits populate, and another facility reads them back", async () => {
    const yaml = (await fac.ok(`{ localFacility { exportButlerData(datasetType: "calexp", collections: ["${RUN}"], where: "visit = 1") } }`)).localFacility
      .exportButlerData as string;
    expect(yaml).toMatch(new RegExp(`region: !<lsst\\.sphgeom\\.ConvexPolygon>\\n\\s+encoded: ${regionToHex(VISITS[1][0])}\\n`));
    expect(yaml).toMatch(/element: visit_detector_region\n/);
    expect(yaml).toMatch(/element: visit_definition\n/);
    const other = await startTestFacility("fac_spatial_import", "FrDF");
    try {
      await other.ok(`mutation($content: String!) { importButlerData(content: $content) { datasetsInserted } }`, { content: yaml });
      const found = await other.ok(DATASETS, { t: "calexp", c: [RUN], w: "visit_detector_region.region OVERLAPS POINT(149.3, 2)" });
      expect(found.localFacility.datasets.edges.map((e: any) => e.node.dataId.detector)).toEqual([10]);
    } finally {
      await other.close();
    }
  });
});

describe("dimensions a dataset type lacks", () => {
  it("reaches visits from raws through visit_definition, counting each raw once", async () => {
    expect(await count("visit = 1", undefined, "raw")).toBe(2);
    expect(await count("visit IN (1, 2) AND detector = 10", undefined, "raw")).toBe(1);
    expect(await count("visit = 3", undefined, "raw")).toBe(0);
    expect(await count("visit.region OVERLAPS POINT(150, 2)", undefined, "raw")).toBe(2);
    expect(await count("visit.region OVERLAPS POINT(0.2, 0.1)", undefined, "raw")).toBe(0);
    const ff = await fac.ok(DATASETS, { t: "raw", c: [RUN], w: "visit.region OVERLAPS POINT(150, 2)", ff: true });
    expect(ff.localFacility.datasets.edges).toHaveLength(2);
    // Over every dataset type: calexps by their own visit column, raws through the relation, ref_cats not at all.
    const all = await fac.ok(DATASETS, { t: "*", c: [RUN], w: "visit = 1" });
    expect(all.localFacility.datasets.edges.map((e: any) => e.node.datasetType).sort()).toEqual(["calexp", "calexp", "raw", "raw"]);
    expect(all.localFacility.datasets.totalCount).toBe(4);
  });

  it("says so when no dataset type of the query can reach the dimension", async () => {
    expect((await whereError("tract = 9813")).code).toBe("WHERE_UNKNOWN_IDENTIFIER");
  });
});

describe("spatial errors", () => {
  it("reports what it cannot evaluate and what is not a region", async () => {
    expect(await whereError("visit.region OVERLAPS visit_detector_region.region")).toMatchObject({ code: "WHERE_UNSUPPORTED", extensions: { position: 0 } });
    expect((await whereError("visit.region = POINT(1, 2)")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("POINT(1, 2)")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("visit.region OVERLAPS visit.timespan")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("visit.region OVERLAPS POINT(visit.seq_num, 2)")).code).toBe("WHERE_UNSUPPORTED");
    expect((await whereError("visit.region OVERLAPS POINT(:ra, 2)", { ra: "north" })).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("visit.region OVERLAPS :r", { r: "somewhere nice" })).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("visit.region OVERLAPS :r")).code).toBe("WHERE_UNKNOWN_IDENTIFIER");
    expect((await whereError("visit.region OVERLAPS CIRCLE(1, 2, -1)")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("visit.region OVERLAPS POLYGON(1, 0, 2, 0, 3, 0)")).code).toBe("WHERE_TYPE_ERROR");
    expect((await whereError("tract.region OVERLAPS POINT(1, 2)")).code).toBe("WHERE_UNKNOWN_IDENTIFIER");
    expect((await whereError("healpix8.region OVERLAPS POINT(1, 2)")).code).toBe("WHERE_UNSUPPORTED");
  });

  it("refuses a record whose region is not a sphgeom encoding", async () => {
    const bad = await fac.errorOf(INGEST, {
      input: { dimensionRecords: [{ element: "visit", record: { instrument: "LSSTCam", id: 99, name: "v99", region: "POLYGON((1 2, 3 4))" } }], datasets: [] },
    });
    expect(bad).toMatchObject({ code: "INVALID_DATA_ID", extensions: { field: "region", element: "visit" } });
  });
});
