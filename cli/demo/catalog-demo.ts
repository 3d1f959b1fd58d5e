import type { EntityManager } from "typeorm";
import { attachDids } from "../../subgraphs/replicas/attachment";
import { addDids, AddDidInput } from "../../subgraphs/replicas/did";
import { addReplicas } from "../../subgraphs/replicas/replica";
import { addRse } from "../../subgraphs/replicas/rse";
import { addRule, deleteRule } from "../../subgraphs/replicas/rule";
import { addScope } from "../../subgraphs/replicas/scope";
import { claimTransfers, reportTransfer, TransferSettings } from "../../subgraphs/replicas/transfer";
import { seededRandom } from "../../lib/seeded-random";
import { LSSTCAM, lsstCamDetector, lsstCamPhysicalFilter } from "../../subgraphs/facility/instrument/lsstcam";

/**
 * Demo data for `dbb dev`: the four facilities' RSEs, two nights of LSSTCam raw files with sky
 * positions (registered at the Summit), and rules in several states, moved along by the same
 * core functions the agents use. Deterministic: the same data every time.
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
        files.push({
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
          bytes: 18_000_000 + Math.floor(random() * 1_000_000),
          adler32: Math.floor(random() * 2 ** 32).toString(16).padStart(8, "0"),
        });
      }
    }
  }
  return files;
}

export const DEMO_RSES = [
  { name: "SUMMIT_DISK", facility: "SUMMIT", description: "Summit, Cerro Pachón", root: "/data/summit", attributes: { tier: 0, site: "summit" } },
  { name: "USDF_DISK", facility: "USDF", description: "US Data Facility, SLAC", root: "/data/usdf", attributes: { tier: 1, archive: true } },
  { name: "FRDF_DISK", facility: "FrDF", description: "French Data Facility, CC-IN2P3", root: "/data/frdf", attributes: { tier: 1, archive: true } },
  { name: "UKDF_DISK", facility: "UKDF", description: "UK Data Facility", root: "/data/ukdf", attributes: { tier: 2 } },
];

const datasetOf = (night: number) => `LSSTCam/raw/${night}`;

/** Loads the demo into an empty catalog. Returns the files, for the facilities' registries. */
export async function loadCatalogDemo(db: EntityManager, settings: TransferSettings): Promise<DemoFile[]> {
  for (const r of DEMO_RSES) {
    await addRse(db, DEMO_ACCOUNT, {
      name: r.name,
      facility: r.facility,
      facilityDescription: r.description,
      kind: "POSIX",
      protocol: { root: r.root },
      attributes: r.attributes,
    });
  }
  await addScope(db, DEMO_ACCOUNT, "raw");
  const files = demoFiles();
  const dids: AddDidInput[] = files.map((f) => ({
    scope: "raw",
    name: f.name,
    type: "FILE",
    bytes: f.bytes,
    adler32: f.adler32,
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
  await addReplicas(db, DEMO_ACCOUNT, "SUMMIT_DISK", files.map((f) => ({ scope: "raw", name: f.name })));
  for (const night of DEMO_NIGHTS) {
    await attachDids(db, DEMO_ACCOUNT, { scope: "raw", name: datasetOf(night) }, files.filter((f) => f.night === night).map((f) => ({ scope: "raw", name: f.name })));
  }
  await attachDids(db, DEMO_ACCOUNT, { scope: "raw", name: "LSSTCam/raw/all" }, DEMO_NIGHTS.map((n) => ({ scope: "raw", name: datasetOf(n) })));

  // raw → USDF: every transfer done (OK).
  await addRule(db, DEMO_ACCOUNT, { did: { scope: "raw", name: "LSSTCam/raw/all" }, rseExpression: "USDF_DISK", comment: "raw to the USDF" });
  await completeTransfers(db, "USDF", settings, () => "DONE");
  // raw → FrDF: the first night done, the second still replicating.
  await addRule(db, DEMO_ACCOUNT, { did: { scope: "raw", name: datasetOf(DEMO_NIGHTS[0]) }, rseExpression: "FRDF_DISK", comment: "raw to FrDF" });
  await completeTransfers(db, "FrDF", settings, () => "DONE");
  await addRule(db, DEMO_ACCOUNT, { did: { scope: "raw", name: datasetOf(DEMO_NIGHTS[1]) }, rseExpression: "FRDF_DISK", comment: "raw to FrDF" });
  // The Summit keeps raws under a buffer rule until they are safe at USDF and FrDF. The first
  // night is, so its buffer rule is gone and the Summit's copies are due for deletion by the
  // Summit's agent (claimDeletions(facility: "SUMMIT")).
  const buffer = await addRule(db, DEMO_ACCOUNT, {
    did: { scope: "raw", name: datasetOf(DEMO_NIGHTS[0]) },
    rseExpression: "SUMMIT_DISK",
    purgeReplicas: true,
    comment: "Summit buffer until safe at USDF and FrDF",
  });
  await deleteRule(db, buffer.id, { tombstoneDelaySeconds: 0 });
  // Southern-sky raws of the first night → UKDF from FrDF; one file keeps failing (STUCK).
  const southern = files.filter((f) => f.night === DEMO_NIGHTS[0] && f.dec < -30);
  await addDids(db, DEMO_ACCOUNT, [{ scope: "raw", name: "LSSTCam/raw/uk-footprint", type: "DATASET" }]);
  await attachDids(db, DEMO_ACCOUNT, { scope: "raw", name: "LSSTCam/raw/uk-footprint" }, southern.map((f) => ({ scope: "raw", name: f.name })));
  await addRule(db, DEMO_ACCOUNT, {
    did: { scope: "raw", name: "LSSTCam/raw/uk-footprint" },
    rseExpression: "UKDF_DISK",
    sourceReplicaExpression: "FRDF_DISK",
    comment: "UK sky footprint, sourced from FrDF",
  });
  const failing = southern[0].name;
  for (let attempt = 0; attempt < settings.maxAttempts; attempt++) {
    await completeTransfers(db, "UKDF", { ...settings, backoffSeconds: 0 }, (name) => (name === failing ? "FAILED" : "DONE"));
  }
  return files;
}

/** Plays the facility's agent: claims its transfers and reports them. */
async function completeTransfers(db: EntityManager, facility: string, settings: TransferSettings, outcome: (name: string) => "DONE" | "FAILED") {
  const claimed = await claimTransfers(db, facility, 10000, `demo-agent-${facility}`, settings);
  for (const t of claimed) {
    const o = outcome(t.name);
    const [file] = await db.query(`SELECT bytes, adler32 FROM dids WHERE scope = $1 AND name = $2`, [t.scope, t.name]);
    await reportTransfer(
      db,
      t.id,
      t.lease!,
      `demo-agent-${facility}`,
      o === "DONE" ? { outcome: "DONE", bytes: file.bytes, adler32: file.adler32 } : { outcome: "FAILED", error: "HTTP 503 from the source's object store (demo)" },
      settings,
    );
  }
}
