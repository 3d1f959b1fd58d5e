import type { EntityManager } from "typeorm";
import { stringify as toYaml } from "yaml";
import { checksumsOf } from "../../lib/checksum";
import { writeFitsFile } from "../../lib/fits-header";
import { announceLargeFile, LargeFileEvent, LFA_SCOPE } from "../../subgraphs/replicas/lfa";
import { addScope } from "../../subgraphs/replicas/scope";
import type { DemoFile, PutObject } from "./catalog-demo";
import { demoExposureGroup } from "./facility-demo";
import { rawHeaderCards } from "./raw-files";

/**
 * The Summit's Large File Annex in the demo: its bucket as the CSCs name it (ts_salobj
 * AsyncS3Bucket.make_bucket_name: rubinobs-lfa-cp), its URLs as they write them
 * (https://s3.cp.lsst.org/rubinobs-lfa-cp/<key>, the RSE's lfa_url; the bytes are on the local S3
 * server), and three files announced as their CSCs announce them (largeFileObjectAvailable):
 *   - the readings of the flat-field projector's electrometer (Electrometer:103, ts_electrometer's
 *     FITS: CALIBCLS lsst.ip.isr.PhotodiodeCalib, GROUPID of the exposure) during a first-night
 *     exposure; agent.lfaIngest's default lists it, so USDF ingests it as that exposure's photodiode;
 *   - the MTHeaderService's header of a second-night exposure (YAML, with size and md5): a plain object;
 *   - AuxTel's electrometer (Electrometer:201) readings: not listed, a plain object too.
 * The lfa-to-usdf policy sends them to USDF, where each keeps its object key.
 */
export const DEMO_LFA = { rse: "SUMMIT_LFA", bucket: "rubinobs-lfa-cp", url: "https://s3.cp.lsst.org/rubinobs-lfa-cp" } as const;

export interface DemoLfaFile {
  key: string;
  bytes: Buffer;
  event: LargeFileEvent;
}

/** An electrometer's readings as ts_electrometer writes them (its primary header; the readings' table left out). */
function electrometerFits(index: number, obsId: string, group: string, begin: Date): Buffer {
  const iso = (d: Date) => d.toISOString().slice(0, 23);
  return writeFitsFile({
    FORMAT_V: "1",
    ORIGIN: "Vera C. Rubin Observatory",
    INSTRUME: `Electrometer_index_${index}`,
    MODEL: "6517B",
    CSCNAME: "Electrometer",
    "DATE-BEG": iso(begin),
    "DATE-END": iso(new Date(begin.getTime() + 30e3)),
    TIMESYS: "TAI",
    SCANTIME: 30,
    SAMPTIME: 0.01,
    IMGTYPE: "CURR",
    CALIBCLS: "lsst.ip.isr.PhotodiodeCalib",
    OBSID: obsId,
    GROUPID: group,
  });
}

export function demoLfaFiles(files: DemoFile[]): DemoLfaFile[] {
  const [night1, night2] = [...new Set(files.map((f) => f.night))].sort();
  const during = files.find((f) => f.night === night1 && f.seq === 2)!;
  const headerOf = files.find((f) => f.night === night2 && f.seq === 3)!;
  const day = (n: number) => `${String(n).slice(0, 4)}/${String(n).slice(4, 6)}/${String(n).slice(6, 8)}`;

  const group = demoExposureGroup(during);
  const emObs = `EM103_O_${night1}_000002`;
  const emKey = `Electrometer:103/fits/${day(night1)}/${emObs}.fits`;
  const em = electrometerFits(103, emObs, group, new Date(group));

  const headerKey = `MTHeaderService/header/${day(night2)}/MTHeaderService_header_${headerOf.obsId}.yaml`;
  // The HeaderService's YAML: the header's cards, keyword, value and comment each.
  const header = Buffer.from(toYaml({ PRIMARY: rawHeaderCards(headerOf).filter((c) => c.value !== undefined).map((c) => ({ keyword: c.keyword, value: c.value, comment: c.comment ?? "" })) }));

  const atObs = `EM201_O_${night1}_000005`;
  const atKey = `Electrometer:201/fits/${day(night1)}/${atObs}.fits`;
  const atGroup = `${night1.toString().replace(/(\d{4})(\d{2})(\d{2})/, "$1-$2-$3")}T23:41:07.512`;
  const at = electrometerFits(201, atObs, atGroup, new Date(`${atGroup}Z`));

  return [
    // ts_electrometer sets url, generator and id (the group) only.
    { key: emKey, bytes: em, event: { csc: "Electrometer", salIndex: 103, url: `${DEMO_LFA.url}/${emKey}`, generator: "Electrometer:103", id: group } },
    {
      key: headerKey,
      bytes: header,
      event: {
        csc: "MTHeaderService",
        url: `${DEMO_LFA.url}/${headerKey}`,
        generator: "MTHeaderService",
        version: 1,
        byteSize: header.length,
        checkSum: checksumsOf(header).md5,
        mimeType: "YAML",
        id: headerOf.obsId,
      },
    },
    { key: atKey, bytes: at, event: { csc: "Electrometer", salIndex: 201, url: `${DEMO_LFA.url}/${atKey}`, generator: "Electrometer:201", id: atGroup } },
  ];
}

/** Writes the demo's LFA objects at the Summit and announces them (as the Summit's bridge would). */
export async function loadLfaDemo(db: EntityManager, account: string, put: PutObject, files: DemoFile[]): Promise<DemoLfaFile[]> {
  await addScope(db, account, LFA_SCOPE);
  const lfa = demoLfaFiles(files);
  for (const f of lfa) {
    await put(DEMO_LFA.rse, f.key, f.bytes);
    await announceLargeFile(db, account, f.event, () => undefined);
  }
  return lfa;
}
