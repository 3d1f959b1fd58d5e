import { FitsCard, writeFitsFile } from "../../lib/fits-header";
import { seededRandom } from "../../lib/seeded-random";
import { lsstCamRawHeader } from "../../subgraphs/facility/instrument/lsstcam-raw-header";
import type { DemoFile } from "./catalog-demo";

/**
 * The demo's raws as real, small FITS files: the primary header an LSSTCam raw carries (modelled
 * on a real one, obs_lsst's test header lsstCam-MC_O_20250415_000060_R01_S01), with what differs
 * per exposure and detector filled in, and a 64×64 patch of noise instead of the 4072×4000 pixels
 * of a real CCD segment, so the demo stays small. The agents' ingest on arrival translates these
 * headers as obs_lsst would.
 */
/** The exposure's start: night `day_obs` (local), seq minutes after 03:00 TAI of the next UTC day. */
export function exposureStart(f: Pick<DemoFile, "night" | "seq">): Date {
  const n = String(f.night);
  return new Date(Date.UTC(Number(n.slice(0, 4)), Number(n.slice(4, 6)) - 1, Number(n.slice(6, 8)) + 1, 3, f.seq * 2));
}

const EXPOSURE_SECONDS = 30;

/** The primary header of a demo raw, as the camera writes it (subgraphs/facility/instrument/lsstcam-raw-header.ts). */
export function rawHeaderCards(f: DemoFile): FitsCard[] {
  return lsstCamRawHeader({
    begin: exposureStart(f),
    seqNum: f.seq,
    detector: f.detector,
    physicalFilter: f.physicalFilter,
    exposureTime: EXPOSURE_SECONDS,
    ra: f.ra,
    dec: f.dec,
    program: "BLOCK-365",
    reason: "science",
  });
}

/** The bytes of a demo raw: its header and a small patch of sky noise, the same every time. */
export function rawFileBytes(f: DemoFile): Buffer {
  const random = seededRandom(f.exposure * 1000 + f.detector);
  return writeFitsFile(rawHeaderCards(f), { width: 64, height: 64, pixels: () => 1000 + Math.round(random() * 40) });
}
