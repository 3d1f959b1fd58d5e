import type { EntityManager } from "typeorm";
import { registerCollections, setCollectionChain } from "../../subgraphs/facility/collection";
import { ingestDatasets } from "../../subgraphs/facility/ingest";
import { polygon, Region } from "../../subgraphs/facility/sky/region";
import { regionToHex } from "../../subgraphs/facility/sky/region-encoding";
import { LSSTCAM, LSSTCAM_INSTRUMENT_RECORD, lsstCamDetector, lsstCamDetectorRecord } from "../../subgraphs/facility/instrument/lsstcam";
import { DemoFile } from "./catalog-demo";

/** LSSTCam's field of view (3.5 degrees across) pointed at ra, dec: a square on the sky. */
function fieldOfView(ra: number, dec: number): Region {
  const half = 1.75;
  const dra = half / Math.cos((dec * Math.PI) / 180);
  return polygon([
    [ra - dra, dec - half],
    [ra + dra, dec - half],
    [ra + dra, dec + half],
    [ra - dra, dec + half],
  ]);
}

/** The start of a first-night exposure as the demo's pre-loaded Butler records have it: 12 h after its night's noon, seq minutes in. */
function recordedStart(f: Pick<DemoFile, "night" | "seq">): Date {
  const night = String(f.night);
  return new Date(Date.UTC(Number(night.slice(0, 4)), Number(night.slice(4, 6)) - 1, Number(night.slice(6, 8)), 12) + 12 * 3600e3 + f.seq * 60e3);
}

/** The group of a demo exposure in the pre-loaded Butler records (what an electrometer reading during it names as GROUPID). */
export function demoExposureGroup(f: Pick<DemoFile, "night" | "seq">): string {
  return recordedStart(f).toISOString();
}

/**
 * Ingests into a facility's Butler registry the demo raws the catalog holds there as AVAILABLE
 * replicas, as that facility's agent would after their transfers: dimension records (with a
 * visit and its sky region per exposure), the raw dataset type, the run, and a file record
 * pointing back at the DID; and the CHAINED collection LSSTCam/defaults over the run.
 */
export async function loadFacilityDemo(facilityDb: EntityManager, code: string, catalogDb: EntityManager, files: DemoFile[]): Promise<number> {
  const rows: Array<{ name: string }> = await catalogDb.query(
    `SELECT r.name FROM replicas r JOIN rses s ON s.id = r.rse_id WHERE s.facility = $1 AND r.state = 'AVAILABLE' AND r.scope = 'raw'`,
    [code],
  );
  const here = new Set(rows.map((r) => r.name));
  const held = files.filter((f) => here.has(f.name));
  if (!held.length) return 0;
  const records: Array<{ element: string; record: Record<string, unknown> }> = [
    { element: "instrument", record: { ...LSSTCAM_INSTRUMENT_RECORD } },
  ];
  const seen = new Set<string>();
  const once = (key: string, element: string, record: Record<string, unknown>) => {
    if (seen.has(key)) return;
    seen.add(key);
    records.push({ element, record });
  };
  for (const f of held) {
    const night = String(f.night);
    const start = new Date(Date.UTC(Number(night.slice(0, 4)), Number(night.slice(4, 6)) - 1, Number(night.slice(6, 8)), 12));
    once(`day_obs/${f.night}`, "day_obs", {
      instrument: LSSTCAM,
      id: f.night,
      timespan: { begin: start.toISOString(), end: new Date(start.getTime() + 86400e3).toISOString() },
    });
    once(`filter/${f.physicalFilter}`, "physical_filter", { instrument: LSSTCAM, name: f.physicalFilter, band: f.band });
    once(`detector/${f.detector}`, "detector", lsstCamDetectorRecord(lsstCamDetector(f.detector)!));
    const begin = recordedStart(f);
    once(`group/${f.exposure}`, "group", { instrument: LSSTCAM, name: begin.toISOString() });
    once(`exposure/${f.exposure}`, "exposure", {
      instrument: LSSTCAM,
      id: f.exposure,
      obs_id: f.obsId,
      physical_filter: f.physicalFilter,
      group: begin.toISOString(),
      day_obs: f.night,
      seq_num: f.seq,
      exposure_time: 30,
      observation_type: "science",
      observation_reason: "science",
      can_see_sky: true,
      tracking_ra: f.ra,
      tracking_dec: f.dec,
      timespan: { begin: begin.toISOString(), end: new Date(begin.getTime() + 30e3).toISOString() },
    });
    // One visit per exposure, as a one-snap visit system defines them, with the camera's field of view.
    once(`visit/${f.exposure}`, "visit", {
      instrument: LSSTCAM,
      id: f.exposure,
      name: f.obsId,
      physical_filter: f.physicalFilter,
      day_obs: f.night,
      exposure_time: 30,
      timespan: { begin: begin.toISOString(), end: new Date(begin.getTime() + 30e3).toISOString() },
      region: regionToHex(fieldOfView(f.ra, f.dec)),
    });
    once(`visit_definition/${f.exposure}`, "visit_definition", { instrument: LSSTCAM, exposure: f.exposure, visit: f.exposure });
  }
  const result = await ingestDatasets(facilityDb, {
    dimensionRecords: records,
    datasetTypes: [{ name: "raw", dimensions: ["instrument", "detector", "exposure"], storageClass: "Exposure" }],
    createRuns: true,
    datasets: held.map((f) => ({
      datasetType: "raw",
      run: "LSSTCam/raw/all",
      dataId: { instrument: LSSTCAM, detector: f.detector, exposure: f.exposure },
      files: [
        {
          path: f.name,
          formatter: "lsst.obs.lsst.rawFormatter.LsstCamRawFormatter",
          checksum: `adler32:${f.adler32}`,
          fileSize: f.bytes,
          scope: "raw",
          name: f.name,
        },
      ],
    })),
  });
  // The instrument's default search path, as obs_lsst's repositories have it.
  await registerCollections(facilityDb, [{ name: "LSSTCam/defaults", type: "CHAINED", doc: "LSSTCam's default collections" }]);
  await setCollectionChain(facilityDb, "LSSTCam/defaults", ["LSSTCam/raw/all"]);
  return result.datasetsInserted;
}
