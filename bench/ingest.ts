import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { writeFitsHeader } from "../lib/fits-header";
import { Database, openDatabase } from "../lib/database";
import { IN_FLIGHT as AGENT_IN_FLIGHT } from "../agents/arrivals";
import { ingestArrivals } from "../subgraphs/facility/arrival/arrival";
import type { ArrivalInput } from "../subgraphs/facility/arrival/arrival-plan";
import { lsstCamRawHeader } from "../subgraphs/facility/instrument/lsstcam-raw-header";
import { facilityMigrations } from "../subgraphs/facility/migrations";
import { headerCards, obsLsstHeader } from "../test/support/obs-lsst-headers";
import { createTestDatabase } from "../test/support/postgres";
import { machine, median, peakRssMiB, writeResults } from "./measure";

/**
 * Ingest on arrival: a night of LSSTCam raws (real 252-card headers), from header text to committed rows. Each batch of
 * BATCH raws (189 science detectors per exposure, as they arrive; IN_FLIGHT batches at a time, as the agent sends them) goes through ingestArrivals —
 * reading each primary header's cards, translating it as obs_lsst does, planning the raw and its
 * records, recording the arrivals and ingesting the batch in one transaction — on a fresh
 * database of the local Postgres server. The figure is datasets per second, and the peer psql
 * loading the same rows with COPY (what pg_dump --data-only writes of the database our ingest
 * left) into the same schema; ours also runs on the embedded PGlite. Rounds run ours, then the
 * peer on ours' rows, then PGlite. DBB_BENCH_INGEST_N sets N, DBB_BENCH_ROUNDS the rounds (3).
 */
const N = Number(process.env.DBB_BENCH_INGEST_N ?? 20_000);
const BATCH = Number(process.env.DBB_BENCH_INGEST_BATCH ?? 2_000);
const IN_FLIGHT = Number(process.env.DBB_BENCH_INGEST_IN_FLIGHT ?? AGENT_IN_FLIGHT);
const ROUNDS = Number(process.env.DBB_BENCH_ROUNDS ?? 3);
const run$ = promisify(execFile);

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

/**
 * Ingests every raw through ingestArrivals in batches, IN_FLIGHT calls at a time as the agent makes
 * them (agents/arrivals.ts); returns the seconds from the first call to the last answer.
 */
async function ingestAll(db: Database, files: Array<{ name: string; header: string }>): Promise<number> {
  const batches: ArrivalInput[][] = [];
  for (let at = 0; at < files.length; at += BATCH) {
    batches.push(files.slice(at, at + BATCH).map((f) => ({ scope: "raw", name: f.name, rse: "USDF_DISK", path: `raw/${f.name}`, bytes: 1_000_000, header: f.header })));
  }
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < batches.length) {
        const results = await ingestArrivals(db.dataSource.manager, batches[next++]);
        const bad = results.find((r) => r.state !== "INGESTED");
        if (bad) throw new Error(`${bad.name}: ${bad.state} ${bad.error?.code} ${bad.error?.message}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const [{ count }] = await db.dataSource.query(`SELECT count(*)::int AS count FROM datasets`);
  if (count !== files.length) throw new Error(`expected ${files.length} datasets, found ${count}`);
  return seconds;
}

/**
 * The peer: psql loading the very rows our ingest left in `from` (pg_dump --data-only: COPY of
 * every table, in foreign-key order) into a database with the same schema and no rows. Only the
 * load is timed. Returns its seconds.
 */
async function psqlCopy(from: string, dir: string): Promise<number> {
  const into = await createTestDatabase("bench_ingest_copy");
  try {
    const schema = path.join(dir, "schema.sql");
    const data = path.join(dir, "data.sql");
    await run$("pg_dump", ["--schema-only", "--no-owner", "-f", schema, from]);
    await run$("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", schema, into.url]);
    await run$("pg_dump", ["--data-only", "--no-owner", "-f", data, from]);
    const started = performance.now();
    await run$("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", data, into.url]);
    const seconds = (performance.now() - started) / 1000;
    const { stdout } = await run$("psql", ["-X", "-At", "-c", "SELECT count(*) FROM datasets", into.url]);
    if (Number(stdout.trim()) !== N) throw new Error(`psql loaded ${stdout.trim()} datasets, expected ${N}`);
    return seconds;
  } finally {
    await into.drop();
  }
}

export async function run(): Promise<void> {
  const files = headers(N);
  const dir = mkdtempSync(path.join(tmpdir(), "dbb-bench-ingest-"));
  const ours: number[] = [];
  const copy: number[] = [];
  const embedded: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const test = await createTestDatabase("bench_ingest");
      const db = await openDatabase({ url: test.url, dataDir: dir, name: "bench_ingest", poolSize: 4, statementTimeoutMs: 600_000, migrations: facilityMigrations });
      try {
        await db.runMigrations();
        ours.push(await ingestAll(db, files));
        await db.close();
        copy.push(await psqlCopy(test.url, dir));
      } finally {
        await db.close().catch(() => undefined);
        await test.drop();
      }
      // The embedded default (PGlite in its own thread), a fresh data folder each round.
      const pglite = await openDatabase({ dataDir: path.join(dir, `embedded-${round}`), name: "bench_ingest", poolSize: 4, statementTimeoutMs: 600_000, migrations: facilityMigrations });
      try {
        await pglite.runMigrations();
        embedded.push(await ingestAll(pglite, files));
      } finally {
        await pglite.close();
      }
      process.stderr.write(`round ${round + 1}: ours ${ours[round].toFixed(2)} s, psql COPY ${copy[round].toFixed(2)} s, ours on PGlite ${embedded[round].toFixed(2)} s\n`);
    }
    const ratios = ours.map((t, i) => t / copy[i]);
    const results = {
      entry: "ingest",
      what: `ingestArrivals of ${N} LSSTCam raws (real headers) in batches of ${BATCH}, ${IN_FLIGHT} at a time, vs psql loading the same rows (pg_dump --data-only COPY) into the same schema, and ours on PGlite`,
      target: "at least 20,000 datasets/s and at most 1.5× COPY",
      n: N,
      batch: BATCH,
      inFlight: IN_FLIGHT,
      rounds: ROUNDS,
      oursSeconds: Number(median(ours).toFixed(2)),
      datasetsPerSecond: Math.round(N / median(ours)),
      copySeconds: Number(median(copy).toFixed(2)),
      oursOverCopy: Number(median(ratios).toFixed(2)),
      ratios: ratios.map((r) => Number(r.toFixed(2))),
      pgliteSeconds: Number(median(embedded).toFixed(2)),
      pgliteOverPostgres: Number(median(embedded.map((t, i) => t / ours[i])).toFixed(2)),
      oursRounds: ours.map((t) => Number(t.toFixed(2))),
      copyRounds: copy.map((t) => Number(t.toFixed(2))),
      pgliteRounds: embedded.map((t) => Number(t.toFixed(2))),
      peakRssMiB: { "bench process (ingest in-process; PGlite in its thread)": peakRssMiB(process.pid) },
      machine: machine(),
    };
    const file = writeResults("ingest", results);
    process.stdout.write(
      `\n| ${N.toLocaleString("en")} raws | ours (Postgres) | datasets/s | psql COPY of the same rows | ours / COPY | ours on PGlite | PGlite / Postgres |\n|---|---|---|---|---|---|---|\n` +
        `| ingestArrivals | ${results.oursSeconds} s | ${results.datasetsPerSecond} | ${results.copySeconds} s | ${results.oursOverCopy}× | ${results.pgliteSeconds} s | ${results.pgliteOverPostgres}× |\n` +
        `\nwritten to ${file}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
