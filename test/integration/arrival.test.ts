import { readFileSync } from "node:fs";
import path from "node:path";
import { readFitsHeader, writeFitsFile } from "../../lib/fits-header";
import { retryArrivals } from "../../subgraphs/facility/arrival/arrival";
import { readZipMember } from "../../subgraphs/facility/transfers/zip-file";
import { makeDatasetId } from "../../subgraphs/facility/dataset-id";
import { INGEST, startTestFacility, TestFacility } from "../support/facility";
import { headerCards, obsLsstHeader } from "../support/obs-lsst-headers";

/**
 * Ingest on arrival (subgraphs/facility/arrival/): recordArrivals over real HTTP, with real raw
 * headers written as FITS files (test/data/obs_lsst/headers), sidecars per file and per batch, a
 * DID carrying rubin_sidecar, a bad header, re-delivery, the retry round and Replica.ingest.
 */
let fac: TestFacility;
let other: TestFacility;

const RECORD = `mutation($a: [ArrivalInput!]!) { recordArrivals(arrivals: $a) { scope name state source datasetId attempts nextAttemptAt error { code message } } }`;
const INGEST_OF = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Replica { ingest { state source datasetId attempts error { code message } } butlerDataset { id } } } }`;

/** The file an agent would have: a real raw header as a FITS file; what it sends is the header's bytes as text. */
function headerText(file: string, patch: Record<string, unknown> = {}) {
  const fits = writeFitsFile(headerCards({ ...obsLsstHeader(file), ...patch } as any), { width: 8, height: 8 });
  return fits.subarray(0, readFitsHeader(fits).byteLength).toString("latin1");
}

const RAWS = {
  lsstcam: "lsstCam-MC_O_20250415_000060_R01_S01.yaml",
  corner: "lsstCam-MC_O_20251121_000156_R44_SW0.json",
  comcam: "comCam-CC_O_20241108_000266_R22_S00.yaml",
  latiss: "latiss-AT_O_20240624_000169_R00_S00.yaml",
};

const arrival = (name: string, extra: Record<string, unknown> = {}) => ({ scope: "raw", name, rse: "FRDF_DISK", path: `raw/${name}`, bytes: 23_040, ...extra });
const rawId = (instrument: string, exposure: number, detector: number) => makeDatasetId("raw", `${instrument}/raw/all`, { instrument, exposure, detector }, "DATAID_TYPE_RUN");

beforeAll(async () => {
  [fac, other] = await Promise.all([startTestFacility("fac_arrival", "FrDF"), startTestFacility("fac_arrival_usdf", "USDF")]);
});
afterAll(() => Promise.all([fac?.close(), other?.close()]));

describe("recordArrivals", () => {
  const batch = () => Object.entries(RAWS).map(([, file]) => arrival(file.replace(/\.(yaml|json)$/, ".fits"), { header: headerText(file) }));

  it("ingests real LSSTCam (corner sensor included), LSSTComCam and LATISS raws from their FITS headers with obs_lsst's data IDs, DATAID_TYPE_RUN ids and the records they imply", async () => {
    const res = (await fac.ok(RECORD, { a: batch() })).recordArrivals;
    expect(res.map((r: any) => [r.state, r.source, r.error])).toEqual(Array(4).fill(["INGESTED", "header", null]));
    expect(res.map((r: any) => r.datasetId)).toEqual([
      rawId("LSSTCam", 2025041500060, 1),
      rawId("LSSTCam", 2025112100156, 203),
      rawId("LSSTComCam", 2024110800266, 0),
      rawId("LATISS", 2024062400169, 0),
    ]);
    const ds = await fac.ok(`{ localFacility { datasets(datasetType: "raw") { totalCount edges { node { id run dataId } } } } }`);
    const byId = new Map(ds.localFacility.datasets.edges.map((e: any) => [e.node.id, e.node]));
    expect(byId.get(rawId("LSSTCam", 2025112100156, 203))).toEqual({
      id: rawId("LSSTCam", 2025112100156, 203),
      run: "LSSTCam/raw/all",
      dataId: { instrument: "LSSTCam", detector: 203, exposure: 2025112100156, physical_filter: "i_39", band: "i", group: "2025-11-22T03:25:16.951", day_obs: 20251121 },
    });
    expect((byId.get(rawId("LATISS", 2024062400169, 0)) as any).dataId).toMatchObject({ physical_filter: "SDSSr_65mm~empty", band: "r", day_obs: 20240624 });
    expect((byId.get(rawId("LSSTComCam", 2024110800266, 0)) as any).dataId).toMatchObject({ physical_filter: "g_01", band: "g", group: "2024-11-09T06:33:55.311" });
    const exp = await fac.ok(`{ localFacility { dimensionRecords(element: "exposure", where: "instrument = 'LSSTCam' AND exposure = 2025041500060") { edges { node { record } } } } }`);
    expect(exp.localFacility.dimensionRecords.edges[0].node.record).toMatchObject({
      obs_id: "MC_O_20250415_000060", exposure_time: 15, dark_time: 15.9548, observation_type: "acq", observation_reason: "first_focus",
      science_program: "BLOCK-T434", target_name: "Vela_SNR", seq_num: 60, can_see_sky: true, day_obs: 20250415, group: "2025-04-16T00:53:10.143",
    });
    const day = await fac.ok(`{ localFacility { dimensionRecords(element: "day_obs", where: "instrument = 'LATISS'") { edges { node { record } } } } }`);
    expect(day.localFacility.dimensionRecords.edges[0].node.record).toMatchObject({ id: 20240624, timespan: { begin: "2024-06-24T11:59:23.000000Z", end: "2024-06-25T11:59:23.000000Z" } });
  });

  it("re-delivery ingests nothing twice: the same files again return the same results and change no row", async () => {
    const before = await fac.ok(`{ localFacility { datasets { totalCount } } }`);
    const again = (await fac.ok(RECORD, { a: [...batch(), ...batch()] })).recordArrivals;
    expect(again.map((r: any) => [r.state, r.attempts])).toEqual(Array(8).fill(["INGESTED", 1]));
    expect((await fac.ok(`{ localFacility { datasets { totalCount } } }`)).localFacility.datasets.totalCount).toBe(before.localFacility.datasets.totalCount);
  });

  it("the same raw arriving at another facility gets the same dataset id there", async () => {
    const [here] = (await fac.ok(RECORD, { a: [arrival("R44_SW0.fits", { header: headerText(RAWS.corner) })] })).recordArrivals;
    const [there] = (await other.ok(RECORD, { a: [arrival("R44_SW0.fits", { header: headerText(RAWS.corner) })] })).recordArrivals;
    expect(there.state).toBe("INGESTED");
    expect(there.datasetId).toBe(here.datasetId);
  });

  it("ingests from a metadata sidecar per file and from a batch's _index.json (__COMMON__ plus one entry per file)", async () => {
    const values = obsLsstHeader("lsstCam-MC_O_20260315_000051_R01_S01.yaml");
    const single = { __CONTENT__: "metadata", ...values };
    // An index of two detectors of one exposure: what they share in __COMMON__, what differs per file.
    const { RAFTBAY: _r, CCDSLOT: _c, ...common } = values;
    const index = {
      __CONTENT__: "metadata",
      __COMMON__: common,
      "MC_O_20260315_000051_R22_S11.fits": { RAFTBAY: "R22", CCDSLOT: "S11" },
      "MC_O_20260315_000051_R00_SG0.fits": { RAFTBAY: "R00", CCDSLOT: "SG0" },
    };
    const res = (
      await fac.ok(RECORD, {
        a: [
          arrival("MC_O_20260315_000051_R01_S01.fits", { sidecar: single }),
          arrival("sidecar/MC_O_20260315_000051_R22_S11.fits", { sidecar: index }),
          arrival("sidecar/MC_O_20260315_000051_R00_SG0.fits", { sidecar: index }),
        ],
      })
    ).recordArrivals;
    expect(res.map((r: any) => [r.state, r.source])).toEqual(Array(3).fill(["INGESTED", "sidecar"]));
    expect(res.map((r: any) => r.datasetId)).toEqual([rawId("LSSTCam", 2026031500051, 1), rawId("LSSTCam", 2026031500051, 94), rawId("LSSTCam", 2026031500051, 189)]);
  });

  it("ingests a DID carrying rubin_sidecar (DatasetRef.to_json) as that dataset with exactly its id", async () => {
    const ref = {
      id: "8f3c3a58-1c1d-4a0e-9a51-3b3f1c2a7d10",
      datasetType: { name: "postISRCCD", storageClass: "Exposure", dimensions: ["instrument", "detector", "exposure"] },
      dataId: { dataId: { instrument: "LSSTCam", detector: 1, exposure: 2025041500060 } },
      run: "u/ops/isr/20250415",
    };
    const [r] = (await fac.ok(RECORD, { a: [{ ...arrival("postISRCCD_60_1.fits"), scope: "products", metadata: { rubin_butler: "data_product", rubin_sidecar: JSON.stringify(ref) } }] })).recordArrivals;
    expect(r).toMatchObject({ state: "INGESTED", source: "rubin_sidecar", datasetId: ref.id });
    const d = await fac.ok(`query($id: String!) { localFacility { dataset(id: $id) { datasetType run dataId } } }`, { id: ref.id });
    expect(d.localFacility.dataset).toMatchObject({ datasetType: "postISRCCD", run: "u/ops/isr/20250415", dataId: { instrument: "LSSTCam", detector: 1, exposure: 2025041500060, band: "i" } });
  });

  it("a data product whose dataset type contradicts the registered one fails alone (DATASET_TYPE_CONFLICT); the raw beside it is ingested", async () => {
    const ref = {
      id: "0b7cf0b2-58a4-4f38-9a4c-2d3a1c0e5f61",
      datasetType: { name: "postISRCCD", storageClass: "ExposureF", dimensions: ["instrument", "detector", "exposure"] },
      dataId: { dataId: { instrument: "LSSTCam", detector: 2, exposure: 2025041500060 } },
      run: "u/ops/isr/20250415",
    };
    const res = (
      await fac.ok(RECORD, {
        a: [
          { ...arrival("postISRCCD_60_2.fits"), scope: "products", metadata: { rubin_butler: "data_product", rubin_sidecar: ref } },
          arrival("R01_S02.fits", { header: headerText(RAWS.lsstcam, { CCDSLOT: "S02" }) }),
        ],
      })
    ).recordArrivals;
    expect(res.map((r: any) => [r.state, r.error?.code ?? null])).toEqual([
      ["FAILED", "DATASET_TYPE_CONFLICT"],
      ["INGESTED", null],
    ]);
  });

  it("ingests a zip_file through its _butler_zip_index.json (members as <zip>#<member> of the zip's DID) and imports a dim_file", async () => {
    const data = path.resolve(__dirname, "../../../test/data/daf_butler");
    const index = readZipMember(readFileSync(path.join(data, "ci_hsc-calexp-butler.zip")), "_butler_zip_index.json")!.toString("utf8");
    const dims = readFileSync(path.join(data, "base.yaml"), "utf8");
    const res = (
      await fac.ok(RECORD, {
        a: [
          { ...arrival("ci_hsc-calexp-butler.zip"), scope: "products", metadata: { rubin_butler: "zip_file", rubin_sidecar: "" }, butlerFile: index },
          { ...arrival("base.yaml"), scope: "products", metadata: { rubin_butler: "dim_file", rubin_sidecar: "" }, butlerFile: dims },
          { ...arrival("no_index.zip"), scope: "products", metadata: { rubin_butler: "zip_file" } },
        ],
      })
    ).recordArrivals;
    expect(res.map((r: any) => [r.state, r.source, r.error?.code ?? null])).toEqual([
      ["INGESTED", "zip_index", null],
      ["INGESTED", "dim_file", null],
      ["FAILED", null, "BAD_BUTLER_METADATA"],
    ]);
    const zipped = JSON.parse(index);
    const [id] = Object.keys(zipped.refs.compact_refs);
    expect(res[0].datasetId).toBe(id);
    const files = await fac.ok(`query($id: String!) { localFacility { dataset(id: $id) { files { path } } } }`, { id });
    expect(files.localFacility.dataset.files[0].path).toMatch(/^raw\/ci_hsc-calexp-butler\.zip#/);
    const cam1 = await fac.ok(`{ localFacility { dimensionRecords(element: "detector", where: "instrument = 'Cam1'") { totalCount } } }`);
    expect(cam1.localFacility.dimensionRecords.totalCount).toBeGreaterThan(0);
  });

  it("a file that is no Butler dataset is NOT_A_DATASET; a bad header or sidecar is FAILED with a code naming the card or key, due for retry, and the batch's other files are ingested", async () => {
    const res = (
      await fac.ok(RECORD, {
        a: [
          arrival("logbook.pdf", { scope: "permanent" }),
          arrival("bad_seqnum.fits", { header: headerText(RAWS.lsstcam, { SEQNUM: "sixty" }) }),
          arrival("not_fits.fits", { header: "this is not a FITS header at all, just some text from a file " }),
          arrival("bad_sidecar.fits", { sidecar: { __CONTENT__: "translated", instrument: "LSSTCam", observation_id: "x" } }),
          arrival("bad_ref.fits", { metadata: { rubin_butler: "data_product", rubin_sidecar: "{not json" } }),
          arrival("R10_S02_ok.fits", { header: headerText(RAWS.lsstcam, { RAFTBAY: "R10", CCDSLOT: "S02" }) }),
        ],
      })
    ).recordArrivals;
    expect(res.map((r: any) => [r.name, r.state, r.error?.code ?? null])).toEqual([
      ["logbook.pdf", "NOT_A_DATASET", null],
      ["bad_seqnum.fits", "FAILED", "BAD_HEADER_CARD"],
      ["not_fits.fits", "FAILED", "BAD_FITS_HEADER"],
      ["bad_sidecar.fits", "FAILED", "BAD_SIDECAR"],
      ["bad_ref.fits", "FAILED", "BAD_BUTLER_METADATA"],
      ["R10_S02_ok.fits", "INGESTED", null],
    ]);
    expect(res[1].error.message).toMatch(/SEQNUM/);
    expect(res[3].error.message).toMatch(/exposure_id/);
    expect(res[1].attempts).toBe(1);
    expect(Date.parse(res[1].nextAttemptAt)).toBeGreaterThan(Date.now());
  });

  it("Replica.ingest shows each replica's ingest at this facility (null elsewhere and for files that never arrived), in one statement for many", async () => {
    const reps = ["bad_seqnum.fits", "R10_S02_ok.fits", "never_arrived.fits"].map((name) => ({ __typename: "Replica", scope: "raw", name, facilityCode: "FrDF" }));
    const res = await fac.ok(INGEST_OF, { r: [...reps, { ...reps[1], facilityCode: "USDF" }] });
    expect(res._entities[0].ingest).toMatchObject({ state: "FAILED", attempts: 1, datasetId: null, error: { code: "BAD_HEADER_CARD" } });
    expect(res._entities[1].ingest).toEqual({ state: "INGESTED", source: "header", datasetId: rawId("LSSTCam", 2025041500060, 29), attempts: 1, error: null });
    expect(res._entities[1].butlerDataset).toEqual({ id: rawId("LSSTCam", 2025041500060, 29) });
    expect(res._entities[2].ingest).toBeNull();
    expect(res._entities[3].ingest).toBeNull();
  });

  it("only this facility's agent may record arrivals (FORBIDDEN for another facility's agent and for butler:admin); another facility or a NUL in a name is INVALID_INPUT", async () => {
    const a = [arrival("x.fits")];
    expect((await fac.errorOf(RECORD, { a }, fac.tokens.other)).code).toBe("FORBIDDEN");
    expect((await fac.errorOf(RECORD, { a }, fac.tokens.admin)).code).toBe("FORBIDDEN");
    expect((await fac.errorOf(`mutation($a: [ArrivalInput!]!) { recordArrivals(arrivals: $a, facility: "USDF") { state } }`, { a })).code).toBe("INVALID_INPUT");
    expect((await fac.errorOf(RECORD, { a: [arrival("a\u0000b.fits")] })).code).toBe("INVALID_INPUT");
  });
});

describe("retryArrivals", () => {
  it("retries a failure once due: a raw translated from an ObservationInfo sidecar fails until its instrument's records exist, then is ingested", async () => {
    const obsinfo = JSON.parse(readFileSync(path.resolve(__dirname, "../../../test/data/astro_metadata_translator/obsinfo-full.json"), "utf8"));
    const [first] = (await fac.ok(RECORD, { a: [arrival("TC_O_20250521_000123.fits", { sidecar: { __CONTENT__: "translated", ...obsinfo } })] })).recordArrivals;
    expect(first).toMatchObject({ state: "FAILED", source: "sidecar", attempts: 1, error: { code: "DIMENSION_RECORD_MISSING" } });

    const db = fac.service.database.dataSource.manager;
    // Not yet due: nothing is claimed.
    expect((await retryArrivals(db)).claimed).toBe(0);

    // The instrument arrives (as a dim file or an import would bring it); the failure comes due.
    await fac.ok(INGEST, {
      input: {
        dimensionRecords: [
          { element: "instrument", record: { name: "TestCam", detector_max: 100, exposure_max: 1e12, visit_max: 1e12 } },
          { element: "detector", record: { instrument: "TestCam", id: 42, full_name: "R22_S00" } },
          { element: "physical_filter", record: { instrument: "TestCam", name: "r", band: "r" } },
        ],
        datasets: [],
      },
    });
    await db.query(`UPDATE arrivals SET next_attempt_at = now() WHERE name = 'TC_O_20250521_000123.fits'`);
    expect(await retryArrivals(db)).toEqual({ claimed: 1, ingested: 1, failed: 0, notADataset: 0 });
    const rep = await fac.ok(INGEST_OF, { r: [{ __typename: "Replica", scope: "raw", name: "TC_O_20250521_000123.fits", facilityCode: "FrDF" }] });
    expect(rep._entities[0].ingest).toEqual({
      state: "INGESTED",
      source: "sidecar",
      datasetId: makeDatasetId("raw", "TestCam/raw/all", { instrument: "TestCam", exposure: 987654321, detector: 42 }, "DATAID_TYPE_RUN"),
      attempts: 2,
      error: null,
    });
  });

  it("backs off a file that keeps failing and stops after maxAttempts", async () => {
    const db = fac.service.database.dataSource.manager;
    const settings = { retryBaseSeconds: 10, retryMaxSeconds: 15, maxAttempts: 3, leaseSeconds: 60, retryBatchSize: 100 };
    const delays: number[] = [];
    for (let i = 0; i < 2; i++) {
      await db.query(`UPDATE arrivals SET next_attempt_at = now() WHERE name = 'bad_seqnum.fits'`);
      expect(await retryArrivals(db, settings)).toMatchObject({ claimed: 1, failed: 1 });
      const [row] = await db.query(`SELECT attempts, extract(epoch FROM next_attempt_at - now()) AS wait, error_code FROM arrivals WHERE name = 'bad_seqnum.fits'`);
      expect(row.error_code).toBe("BAD_HEADER_CARD");
      delays.push(row.wait === null ? -1 : Math.round(Number(row.wait)));
    }
    // attempts 2 → 10·2 = 20 s, capped at 15; attempts 3 = maxAttempts → no next attempt.
    expect(delays).toEqual([15, -1]);
    expect((await retryArrivals(db, settings)).claimed).toBe(0);
  });
});

describe("photodiode files from the Large File Annex", () => {
  /** The primary header ts_electrometer writes (controller.make_primary_header and write_fits_file), for the exposure of `group`. */
  function photodiodeHeader(group: string, patch: Record<string, unknown> = {}) {
    const cards = {
      FORMAT_V: "1", ORIGIN: "Vera C. Rubin Observatory", INSTRUME: "Electrometer_index_103", MODEL: "6517B", LOCATN: "FlatFieldProjector",
      CSCNAME: "Electrometer", "DATE-BEG": "2025-04-16T00:53:41.812", "DATE-END": "2025-04-16T00:54:00.031", TIMESYS: "TAI", SCANTIME: 18.2,
      SAMPTIME: 0.01, FILTMED: false, FILTAVG: false, IMGTYPE: "CURR", SENSBRND: "Hamamatsu", SENSMODL: "S2281", SERIAL: "22", TEMP: 11.4, VSOURCE: 0,
      CALIBCLS: "lsst.ip.isr.PhotodiodeCalib", OBSID: "EM103_O_20250415_000017", GROUPID: group, ...patch,
    };
    const fits = writeFitsFile(cards as any);
    return fits.subarray(0, readFitsHeader(fits).byteLength).toString("latin1");
  }
  const photodiode = (name: string, group: string, extra: Record<string, unknown> = {}) =>
    ({ ...arrival(name, { header: photodiodeHeader(group), instrument: "LSSTCam", ...extra }), scope: "lfa", path: `Electrometer:103/fits/2025/04/15/${name}` });
  const pdId = (instrument: string, exposure: number) => makeDatasetId("photodiode", `${instrument}/calib/photodiode`, { instrument, exposure }, "DATAID_TYPE_RUN");

  it("ingests an Electrometer's readings as the photodiode dataset of the exposure of its GROUPID, once that exposure's raw is there (retried until then)", async () => {
    const db = other.service.database.dataSource.manager;
    const [early] = (await other.ok(RECORD, { a: [photodiode("EM103_O_20250415_000017.fits", "2025-04-16T00:53:10.143")] })).recordArrivals;
    expect(early).toMatchObject({ state: "FAILED", source: "photodiode", datasetId: null, error: { code: "DIMENSION_RECORD_MISSING" } });
    expect(early.error.message).toContain("2025-04-16T00:53:10.143");
    // The raw of that exposure arrives; the retry round takes the photodiode file when it is due.
    const [raw] = (await other.ok(RECORD, { a: [arrival("MC_O_20250415_000060_R01_S01.fits", { header: headerText(RAWS.lsstcam) })] })).recordArrivals;
    expect(raw.state).toBe("INGESTED");
    await db.query(`UPDATE arrivals SET next_attempt_at = now() WHERE name = 'EM103_O_20250415_000017.fits'`);
    expect(await retryArrivals(db)).toMatchObject({ claimed: 1, ingested: 1 });
    const d = await other.ok(`query($id: String!) { localFacility { dataset(id: $id) { datasetType run dataId files { path } } } }`, { id: pdId("LSSTCam", 2025041500060) });
    expect(d.localFacility.dataset).toMatchObject({
      datasetType: "photodiode",
      run: "LSSTCam/calib/photodiode",
      dataId: { instrument: "LSSTCam", exposure: 2025041500060 },
      files: [{ path: "Electrometer:103/fits/2025/04/15/EM103_O_20250415_000017.fits" }],
    });
    const rep = await other.ok(INGEST_OF, { r: [{ __typename: "Replica", scope: "lfa", name: "EM103_O_20250415_000017.fits", facilityCode: "USDF" }] });
    expect(rep._entities[0].ingest).toMatchObject({ state: "INGESTED", source: "photodiode", datasetId: pdId("LSSTCam", 2025041500060), attempts: 2 });
  });

  it("finds the exposure in the same batch when its raw arrives with it", async () => {
    const res = (
      await other.ok(RECORD, {
        a: [
          photodiode("EM103_O_20241108_000031.fits", "2024-11-09T06:33:55.311", { instrument: "LSSTComCam" }),
          arrival("CC_O_20241108_000266_R22_S00.fits", { header: headerText(RAWS.comcam) }),
        ],
      })
    ).recordArrivals;
    expect(res.map((r: any) => [r.state, r.source, r.datasetId])).toEqual([
      ["INGESTED", "photodiode", pdId("LSSTComCam", 2024110800266)],
      ["INGESTED", "header", rawId("LSSTComCam", 2024110800266, 0)],
    ]);
  });

  it("a photodiode file whose instrument nobody configured fails with BAD_HEADER_CARD naming INSTRUME (it names the electrometer)", async () => {
    const [r] = (await other.ok(RECORD, { a: [photodiode("EM103_O_20250415_000099.fits", "2025-04-16T00:53:10.143", { instrument: null })] })).recordArrivals;
    expect(r).toMatchObject({ state: "FAILED", error: { code: "BAD_HEADER_CARD" } });
    expect(r.error.message).toMatch(/^INSTRUME: 'Electrometer_index_103'/);
  });
});
