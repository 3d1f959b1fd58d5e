import { performance } from "node:perf_hooks";
import { writeFitsHeader } from "../lib/fits-header";
import { openDatabase } from "../lib/database";
import { ingestArrivals } from "../subgraphs/facility/arrival/arrival";
import { lsstCamRawHeader } from "../subgraphs/facility/instrument/lsstcam-raw-header";
import { facilityMigrations } from "../subgraphs/facility/migrations";
import { headerCards, obsLsstHeader } from "../test/support/obs-lsst-headers";
import { createTestDatabase } from "../test/support/postgres";
import { machine, median, writeResults } from "./measure";

/**
 * Ingest on arrival: a night of LSSTCam raws (real 252-card headers), from header text to committed rows. Each batch of
 * BATCH raws (189 science detectors per exposure, as they arrive) goes through ingestArrivals —
 * reading each primary header's cards, translating it as obs_lsst does, planning the raw and its
 * records, recording the arrivals and ingesting the batch in one transaction — on a fresh
 * database of the local Postgres server. The figure is datasets per second (the target: 5,000).
 * Comparing with psql COPY of the same rows is a later entry's job. DBB_BENCH_INGEST_N sets N.
 */
const N = Number(process.env.DBB_BENCH_INGEST_N ?? 20_000);
const BATCH = Number(process.env.DBB_BENCH_INGEST_BATCH ?? 2_000);

/**
 * The header texts of N raws: exposures of 189 detectors, 40 s apart, from 2025-06-02T00:00Z. Each
 * is a real LSSTCam primary header (obs_lsst's MC_O_20250415_000060_R01_S01, 252 cards) with the
 * cards of lsstCamRawHeader (times, DAYOBS, SEQNUM, RAFTBAY, CCDSLOT, …) put in.
 */
function headers(n: number): Array<{ name: string; header: string }> {
  const template = obsLsstHeader("lsstCam-MC_O_20250415_000060_R01_S01.yaml");
  const out: Array<{ name: string; header: string }> = [];
  for (let i = 0; out.length < n; i++) {
    const begin = new Date(Date.UTC(2025, 5, 2) + i * 40_000);
    for (let detector = 0; detector < 189 && out.length < n; detector++) {
      const own = Object.fromEntries(lsstCamRawHeader({ begin, seqNum: i + 1, detector }).map((c) => [c.keyword, c.value ?? null]));
      out.push({ name: `MC_O_${i}_${detector}.fits`, header: writeFitsHeader(headerCards({ ...template, ...own })).toString("latin1") });
    }
  }
  return out;
}

export async function run(): Promise<void> {
  const test = await createTestDatabase("bench_ingest");
  const db = await openDatabase({ url: test.url, dataDir: "/tmp", name: "bench_ingest", poolSize: 4, statementTimeoutMs: 600_000, migrations: facilityMigrations });
  try {
    await db.runMigrations();
    const files = headers(N);
    const seconds: number[] = [];
    for (let at = 0; at < files.length; at += BATCH) {
      const batch = files.slice(at, at + BATCH).map((f) => ({ scope: "raw", name: f.name, rse: "USDF_DISK", path: `raw/${f.name}`, bytes: 1_000_000, header: f.header }));
      const started = performance.now();
      const results = await ingestArrivals(db.dataSource.manager, batch);
      seconds.push((performance.now() - started) / 1000);
      const bad = results.find((r) => r.state !== "INGESTED");
      if (bad) throw new Error(`${bad.name}: ${bad.state} ${bad.error?.code} ${bad.error?.message}`);
    }
    const [{ count }] = await db.dataSource.query(`SELECT count(*)::int AS count FROM datasets`);
    if (count !== N) throw new Error(`expected ${N} datasets, found ${count}`);
    const total = seconds.reduce((a, b) => a + b, 0);
    const perBatch = seconds.map((s, i) => Math.min(BATCH, N - i * BATCH) / s);
    const results = { n: N, batch: BATCH, seconds: total, datasetsPerSecond: N / total, medianBatchDatasetsPerSecond: median(perBatch), target: 5000, machine: machine() };
    process.stderr.write(`ingest: ${N} raws in ${total.toFixed(2)} s = ${(N / total).toFixed(0)} datasets/s (median batch ${median(perBatch).toFixed(0)}/s; target 5,000)\n`);
    process.stderr.write(`wrote ${writeResults("ingest", results)}\n`);
  } finally {
    await db.close();
    await test.drop();
  }
}
