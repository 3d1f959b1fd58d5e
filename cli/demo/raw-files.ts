import { FitsCard, writeFitsFile } from "../../lib/fits-header";
import { seededRandom } from "../../lib/seeded-random";
import { lsstCamDetector } from "../../subgraphs/facility/instrument/lsstcam";
import type { DemoFile } from "./catalog-demo";

/**
 * The demo's raws as real, small FITS files: the primary header an LSSTCam raw carries, its
 * keywords and fixed values taken from a real one (obs_lsst's test header
 * lsstCam-MC_O_20250415_000060_R01_S01, test/data/obs_lsst/headers/), with what differs per
 * exposure and detector filled in; the pixels are a 64×64 patch of noise instead of the
 * 4072×4000 of a real CCD segment, so the demo stays small.
 */
const TEMPLATE: FitsCard[] = [
  { keyword: "TELESCOP", value: "Simonyi Survey Telescope" },
  { keyword: "INSTRUME", value: "lsstCam" },
  { keyword: "CAMCODE", value: "MC" },
  { keyword: "CONTRLLR", value: "O" },
  { keyword: "TIMESYS", value: "TAI" },
  { keyword: "OBS-LONG", value: -70.749417 },
  { keyword: "OBS-LAT", value: -30.244639 },
  { keyword: "OBS-ELEV", value: 2663.0 },
  { keyword: "TRACKSYS", value: "RADEC" },
  { keyword: "RADESYS", value: "ICRS" },
  { keyword: "ROTCOORD", value: "sky" },
  { keyword: "TSTAND", value: "TMAMCv1_SUM" },
  { keyword: "CURINDEX", value: 1 },
  { keyword: "DETSIZE", value: "[1:4072,1:4000]" },
];

/** The exposure's start: night `day_obs` (local), seq minutes after 03:00 TAI of the next UTC day. */
export function exposureStart(f: Pick<DemoFile, "night" | "seq">): Date {
  const n = String(f.night);
  return new Date(Date.UTC(Number(n.slice(0, 4)), Number(n.slice(4, 6)) - 1, Number(n.slice(6, 8)) + 1, 3, f.seq * 2));
}

const EXPOSURE_SECONDS = 30;
const mjd = (d: Date) => d.getTime() / 86400000 + 40587;
/** ISO without the zone, as the camera writes DATE-* (TAI). */
const iso = (d: Date) => d.toISOString().replace(/Z$/, "");

export function rawHeaderCards(f: DemoFile): FitsCard[] {
  const begin = exposureStart(f);
  const end = new Date(begin.getTime() + EXPOSURE_SECONDS * 1000);
  const detector = lsstCamDetector(f.detector)!;
  return [
    ...TEMPLATE,
    { keyword: "DATE-OBS", value: iso(begin) },
    { keyword: "DATE-BEG", value: iso(begin) },
    { keyword: "DATE-END", value: iso(end) },
    { keyword: "MJD", value: mjd(end) },
    { keyword: "MJD-OBS", value: mjd(begin) },
    { keyword: "MJD-BEG", value: mjd(begin) },
    { keyword: "MJD-END", value: mjd(end) },
    { keyword: "OBSID", value: f.obsId },
    { keyword: "GROUPID", value: iso(new Date(begin.getTime() - 3000)) },
    { keyword: "IMGTYPE", value: "OBJECT" },
    { keyword: "TESTTYPE", value: "OBJECT" },
    { keyword: "REASON", value: "science" },
    { keyword: "PROGRAM", value: "BLOCK-365" },
    { keyword: "DAYOBS", value: String(f.night) },
    { keyword: "SEQNUM", value: f.seq },
    { keyword: "RA", value: f.ra },
    { keyword: "DEC", value: f.dec },
    { keyword: "RASTART", value: f.ra },
    { keyword: "DECSTART", value: f.dec },
    { keyword: "ROTPA", value: 0 },
    { keyword: "FILTBAND", value: f.band },
    { keyword: "FILTER", value: f.physicalFilter },
    { keyword: "EXPTIME", value: EXPOSURE_SECONDS },
    { keyword: "DARKTIME", value: EXPOSURE_SECONDS + 0.9548 },
    { keyword: "SHUTTIME", value: EXPOSURE_SECONDS },
    { keyword: "RAFTBAY", value: detector.raft },
    { keyword: "CCDSLOT", value: detector.nameInRaft },
  ];
}

/** The bytes of a demo raw: its header and a small patch of sky noise, the same every time. */
export function rawFileBytes(f: DemoFile): Buffer {
  const random = seededRandom(f.exposure * 1000 + f.detector);
  return writeFitsFile(rawHeaderCards(f), { width: 64, height: 64, pixels: () => 1000 + Math.round(random() * 40) });
}
