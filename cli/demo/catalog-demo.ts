import type { EntityManager } from "typeorm";
import { checksumsOf } from "../../lib/checksum";
import { attachDids } from "../../subgraphs/replicas/attachment";
import { addDids, AddDidInput } from "../../subgraphs/replicas/did";
import { addReplicas, deterministicPath } from "../../subgraphs/replicas/replica";
import { addRse, AddRseInput } from "../../subgraphs/replicas/rse";
import { addRule, deleteRule } from "../../subgraphs/replicas/rule";
import { addScope } from "../../subgraphs/replicas/scope";
import { drainSubscriptions } from "../../subgraphs/replicas/subscription";
import { loadDemoPolicies } from "./demo-policies";
import { DEMO_LFA, loadLfaDemo } from "./lfa-demo";
import { seededRandom } from "../../lib/seeded-random";
import { LSSTCAM, lsstCamDetector, lsstCamPhysicalFilter } from "../../subgraphs/facility/instrument/lsstcam";
import { rawFileBytes } from "./raw-files";

/**
 * Demo data for `dbb dev`: the four facilities' RSEs (S3 buckets on the local S3-protocol server
 * for the Summit, USDF and FrDF, a filesystem root for UKDF), the Data Backbone's five policies
 * (cli/demo/policies.yaml), two nights of LSSTCam raws as real small FITS objects with sky
 * positions, and the rules the policies make, which the agents carry out while you watch: the
 * first night is already at USDF and FrDF, the second replicates from the Summit to both, the raws
 * in the UK footprint go to UKDF from FrDF, where one copy has rotted (its rule goes STUCK with
 * CHECKSUM_MISMATCH), and the Summit's copies of the first night are deleted by the Summit's
 * agent; three Large File Annex files announced at the Summit go to USDF keeping their keys, where
 * an electrometer's readings are ingested as a photodiode dataset and the others stay plain
 * objects. Deterministic: the same data every time.
 */
export const DEMO_ACCOUNT = "demo";
export const DEMO_NIGHTS = [20250601, 20250602];
export const DEMO_EXPOSURES_PER_NIGHT = 12;
/** Science detectors of LSSTCam's centre raft: R22_S00, R22_S01, R22_S11 (obs_lsst's numbering). */
export const DEMO_DETECTORS = [90, 91, 94];
const BANDS = ["g", "r", "i", "z"];

export interface DemoFile {
  name: string;
  night: number;
  /** LSSTCam's exposure id: day_obs · 100000 + seq_num. */
  exposure: number;
  seq: number;
  /** `MC_O_<day_obs>_<seq_num>`, as the camera names on-sky exposures. */
  obsId: string;
  detector: number;
  /** The detector's `<raft>_<sensor>` name, e.g. R22_S11. */
  detectorName: string;
  band: string;
  physicalFilter: string;
  ra: number;
  dec: number;
  bytes: number;
  adler32: string;
  md5: string;
  /** The FITS file itself. */
  content: Buffer;
}

export function demoFiles(): DemoFile[] {
  const random = seededRandom(42);
  const files: DemoFile[] = [];
  for (const night of DEMO_NIGHTS) {
    for (let e = 1; e <= DEMO_EXPOSURES_PER_NIGHT; e++) {
      const exposure = night * 100000 + e;
      const obsId = `MC_O_${night}_${String(e).padStart(6, "0")}`;
      const band = BANDS[(e - 1) % BANDS.length];
      const physicalFilter = lsstCamPhysicalFilter(band)!;
      // Half the pointings fall in the southern field the UK facility serves (dec < -30).
      const ra = Math.round(random() * 360 * 1e4) / 1e4;
      const dec = Math.round((e % 2 === 0 ? -60 + random() * 25 : -25 + random() * 20) * 1e4) / 1e4;
      for (const detector of DEMO_DETECTORS) {
        const detectorName = lsstCamDetector(detector)!.fullName;
        const file: Omit<DemoFile, "bytes" | "adler32" | "md5" | "content"> = {
          name: `LSSTCam/raw/${night}/${obsId}/${obsId}_${detectorName}.fits`,
          night,
          exposure,
          seq: e,
          obsId,
          detector,
          detectorName,
          band,
          physicalFilter,
          ra,
          dec,
        };
        // Two draws per file, as when sizes and checksums were drawn at random: the pointings stay
        // those the README's and GraphiQL's examples were written against.
        random();
        random();
        const content = rawFileBytes(file as DemoFile);
        const sums = checksumsOf(content);
        files.push({ ...file, bytes: sums.bytes, adler32: sums.adler32, md5: sums.md5, content });
      }
    }
  }
  return files;
}

/** Where the demo's bytes live: the local S3-protocol server and UKDF's filesystem root. */
export interface DemoStorage {
  s3Endpoint: string;
  ukdfRoot: string;
}

export const DEMO_BUCKETS = { SUMMIT: "summit-raw", USDF: "usdf-raw", FrDF: "frdf-raw", SUMMIT_LFA: DEMO_LFA.bucket } as const;

export function demoRses(storage: DemoStorage): Array<AddRseInput & { description: string }> {
  const s3 = (bucket: string) => ({ endpoint: storage.s3Endpoint, bucket, prefix: "rucio" });
  return [
    { name: "SUMMIT_DISK", facility: "SUMMIT", description: "Summit, Cerro Pachón", kind: "S3", protocol: s3(DEMO_BUCKETS.SUMMIT), attributes: { tier: 0, site: "summit" } },
    { name: "USDF_DISK", facility: "USDF", description: "US Data Facility, SLAC", kind: "S3", protocol: s3(DEMO_BUCKETS.USDF), attributes: { tier: 1, archive: true } },
    { name: "FRDF_DISK", facility: "FrDF", description: "French Data Facility, CC-IN2P3", kind: "S3", protocol: s3(DEMO_BUCKETS.FrDF), attributes: { tier: 1, archive: true } },
    { name: "UKDF_DISK", facility: "UKDF", description: "UK Data Facility", kind: "POSIX", protocol: { root: storage.ukdfRoot }, attributes: { tier: 2 } },
    // The Summit's Large File Annex: keys at the bucket's root, URLs as the CSCs write them (lfa-demo.ts).
    {
      name: DEMO_LFA.rse,
      facility: "SUMMIT",
      description: "Summit, Cerro Pachón",
      kind: "S3",
      protocol: { endpoint: storage.s3Endpoint, bucket: DEMO_LFA.bucket },
      attributes: { tier: 0, site: "summit", lfa: true, lfa_url: DEMO_LFA.url },
    },
  ];
}

const datasetOf = (night: number) => `LSSTCam/raw/${night}`;

/** Writes one object of the demo onto an RSE (the dev command opens the stores). */
export type PutObject = (rse: string, path: string, bytes: Buffer) => Promise<void>;

/**
 * Loads the demo into an empty catalog and writes the objects that exist before the agents
 * start. Returns the files, for the facilities' registries.
 */
export async function loadCatalogDemo(db: EntityManager, storage: DemoStorage, put: PutObject, settings: { tombstoneDelaySeconds: number }): Promise<DemoFile[]> {
  for (const r of demoRses(storage)) {
    await addRse(db, DEMO_ACCOUNT, { ...r, facilityDescription: r.description });
  }
  // The Data Backbone's policies (cli/demo/policies.yaml): they make the rules, not the demo.
  await loadDemoPolicies(db, DEMO_ACCOUNT);
  await addScope(db, DEMO_ACCOUNT, "raw");
  const files = demoFiles();
  const dids: AddDidInput[] = files.map((f) => ({
    scope: "raw",
    name: f.name,
    type: "FILE",
    bytes: f.bytes,
    adler32: f.adler32,
    md5: f.md5,
    metadata: {
      instrument: LSSTCAM,
      datasetType: "raw",
      day_obs: f.night,
      seq_num: f.seq,
      obs_id: f.obsId,
      exposure: f.exposure,
      detector: f.detector,
      band: f.band,
      physical_filter: f.physicalFilter,
      observation_type: "science",
      ra: f.ra,
      dec: f.dec,
    },
  }));
  for (const night of DEMO_NIGHTS) dids.push({ scope: "raw", name: datasetOf(night), type: "DATASET", metadata: { instrument: "LSSTCam", day_obs: night } });
  dids.push({ scope: "raw", name: "LSSTCam/raw/all", type: "CONTAINER", metadata: { instrument: "LSSTCam" } });
  await addDids(db, DEMO_ACCOUNT, dids);
  for (const night of DEMO_NIGHTS) {
    await attachDids(db, DEMO_ACCOUNT, { scope: "raw", name: datasetOf(night) }, files.filter((f) => f.night === night).map((f) => ({ scope: "raw", name: f.name })));
  }
  await attachDids(db, DEMO_ACCOUNT, { scope: "raw", name: "LSSTCam/raw/all" }, DEMO_NIGHTS.map((n) => ({ scope: "raw", name: datasetOf(n) })));

  // What exists before the agents start: every raw at the Summit, the first night also at USDF
  // and FrDF.
  const night1 = files.filter((f) => f.night === DEMO_NIGHTS[0]);
  const place = async (rse: string, list: DemoFile[]) => {
    for (const f of list) await put(rse, deterministicPath("raw", f.name), f.content);
    await addReplicas(db, DEMO_ACCOUNT, rse, list.map((f) => ({ scope: "raw", name: f.name })));
  };
  await place("SUMMIT_DISK", files);
  await place("USDF_DISK", night1);
  await place("FRDF_DISK", night1);

  // The Summit keeps the second night until it is safe elsewhere; the first night's buffer rule
  // is gone, so the Summit's agent deletes those copies (claimDeletions(facility: "SUMMIT")).
  await addRule(db, DEMO_ACCOUNT, { did: { scope: "raw", name: datasetOf(DEMO_NIGHTS[1]) }, rseExpression: "SUMMIT_DISK", comment: "Summit buffer until safe at USDF and FrDF" });
  const buffer = await addRule(db, DEMO_ACCOUNT, {
    did: { scope: "raw", name: datasetOf(DEMO_NIGHTS[0]) },
    rseExpression: "SUMMIT_DISK",
    purgeReplicas: true,
    comment: "Summit buffer until safe at USDF and FrDF",
  });
  await deleteRule(db, buffer.id, { tombstoneDelaySeconds: settings.tombstoneDelaySeconds });

  // The Summit's Large File Annex: three files announced as their CSCs announce them (lfa-demo.ts).
  await loadLfaDemo(db, DEMO_ACCOUNT, put, files);

  // The policies match the new raws now (the catalog's matcher would within seconds): a rule per
  // raw to USDF and to FrDF (the first night's are OK at once), and to UKDF from FrDF for the raws
  // in the UK footprint, which wait for FrDF's copies of the second night.
  await drainSubscriptions(db, { batchSize: 5000 });
  // One FrDF copy of a first-night raw in the UK footprint has rotted on disk (a byte of its pixels
  // flipped): UKDF's agent finds its checksum wrong, and that rule goes STUCK.
  const [rotten] = await db.query(
    `SELECT r.name FROM rules r JOIN subscriptions s ON s.id = r.subscription_id WHERE s.name = 'raw-ukdf-footprint' AND r.name LIKE $1 ORDER BY r.name LIMIT 1`,
    [`${datasetOf(DEMO_NIGHTS[0])}/%`],
  );
  const rottenFile = files.find((f) => f.name === rotten.name)!;
  const bytes = Buffer.from(rottenFile.content);
  bytes[bytes.length - 100] ^= 0x40;
  await put("FRDF_DISK", deterministicPath("raw", rottenFile.name), bytes);
  return files;
}
