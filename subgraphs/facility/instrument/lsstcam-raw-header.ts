import type { FitsCard } from "../../../lib/fits-header";
import { computeExposureId } from "./rubin-header";
import { LSSTCAM_FILTERS, lsstCamDetector } from "./lsstcam";
import { dayObsOfMicros, formatUtc, microsToMjd, utcToTaiMicros } from "../time";

/**
 * The primary header of an LSSTCam raw as the camera writes it, with the cards obs_lsst's
 * translator reads, for a demo or a benchmark that needs real-looking raws: modelled on a real
 * header (obs_lsst tests/headers/lsstCam-MC_O_20250415_000060_R01_S01.yaml). Times are TAI, as
 * the camera writes them (TIMESYS = TAI). `writeFitsFile(lsstCamRawHeader(…))` makes the file.
 */
export interface LsstCamRawOptions {
  /** The observation's start (UTC). */
  begin: Date;
  seqNum: number;
  detector: number;
  /** A physical filter (default r_57). */
  physicalFilter?: string;
  imgType?: "OBJECT" | "BIAS" | "DARK" | "FLAT";
  exposureTime?: number;
  ra?: number;
  dec?: number;
  rotPa?: number;
  program?: string;
  reason?: string;
  object?: string;
}

function taiIso(utcMicros: bigint): string {
  return formatUtc(utcToTaiMicros(utcMicros)).slice(0, 23);
}

export function lsstCamRawHeader(o: LsstCamRawOptions): FitsCard[] {
  const d = lsstCamDetector(o.detector);
  if (!d) throw new Error(`LSSTCam has no detector ${o.detector}`);
  const begin = BigInt(o.begin.getTime()) * 1000n;
  const exptime = o.exposureTime ?? 30;
  const end = begin + BigInt(Math.round((exptime + 1) * 1e6));
  // The observing day rolls over at 12:00 TAI (Chile).
  const dayObs = dayObsOfMicros(utcToTaiMicros(begin) - 12n * 3_600_000_000n);
  const obsId = `MC_O_${dayObs}_${String(o.seqNum).padStart(6, "0")}`;
  const imgType = o.imgType ?? "OBJECT";
  const onSky = imgType === "OBJECT";
  const filter = o.physicalFilter ?? "r_57";
  const v = (keyword: string, value: FitsCard["value"], comment?: string): FitsCard => (comment ? { keyword, value, comment } : { keyword, value });
  return [
    v("DATE", taiIso(end), "Creation Date and Time of File"),
    v("IMGTYPE", imgType, "BIAS, DARK, FLAT, OBJECT"),
    v("DATE-OBS", taiIso(begin)),
    v("MJD-OBS", microsToMjd(utcToTaiMicros(begin))),
    v("OBSID", obsId, "ImageName from Camera StartIntergration"),
    v("DATE-BEG", taiIso(begin), "Time at the start of integration"),
    v("MJD-BEG", microsToMjd(utcToTaiMicros(begin)), "Modified Julian Date derived from DATE-BEG"),
    v("DATE-END", taiIso(end)),
    v("MJD-END", microsToMjd(utcToTaiMicros(end))),
    v("TIMESYS", "TAI", "The time scale used"),
    v("GROUPID", taiIso(begin - 3_000_000n)),
    v("INSTRUME", "lsstCam", "Instrument"),
    v("TELESCOP", "Simonyi Survey Telescope", "Telescope"),
    v("OBS-LONG", -70.749417),
    v("OBS-LAT", -30.244639),
    v("OBS-ELEV", 2663.0),
    v("RA", onSky ? (o.ra ?? 150.1) : null),
    v("DEC", onSky ? (o.dec ?? 2.2) : null),
    v("RASTART", onSky ? (o.ra ?? 150.1) : null),
    v("DECSTART", onSky ? (o.dec ?? 2.2) : null),
    v("ROTPA", o.rotPa ?? 0.0),
    v("ROTCOORD", "sky"),
    v("ELSTART", 60.0),
    v("AZSTART", 180.0),
    v("TRACKSYS", onSky ? "RADEC" : "AZEL"),
    v("RADESYS", onSky ? "ICRS" : null),
    v("OBJECT", o.object ?? (onSky ? "COSMOS" : "azel_target")),
    v("VIGN_MIN", onSky ? "NO" : "FULLY"),
    v("CONTRLLR", "O", "Image controller (e.g. O, C, S)"),
    v("DAYOBS", String(dayObs), "Day of Observation YYYYMMDD"),
    v("SEQNUM", o.seqNum, "Sequence number"),
    v("PROGRAM", o.program ?? "BLOCK-365"),
    v("REASON", o.reason ?? (onSky ? "science" : imgType.toLowerCase())),
    v("CURINDEX", 1),
    v("MAXINDEX", 1),
    v("CCDSLOT", d.nameInRaft, "The CCD Slot"),
    v("RAFTBAY", d.raft, "The RAFT Bay"),
    v("FILTER", filter, "Name of the filter"),
    v("FILTBAND", LSSTCAM_FILTERS[filter] ?? null),
    v("EXPTIME", exptime, "Exposure time"),
    v("DARKTIME", exptime + 0.95, "Dark Time"),
    v("SHUTTIME", imgType === "BIAS" || imgType === "DARK" ? 0.0 : exptime, "Shutter Exposure Time"),
  ];
}

/** The exposure id obs_lsst gives such a raw. */
export function lsstCamRawExposureId(o: Pick<LsstCamRawOptions, "begin" | "seqNum">): number {
  const dayObs = dayObsOfMicros(utcToTaiMicros(BigInt(o.begin.getTime()) * 1000n) - 12n * 3_600_000_000n);
  return computeExposureId(dayObs, o.seqNum);
}
