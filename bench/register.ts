import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { signToken } from "../lib/auth";
import { loadConfig } from "../lib/config";
import { deterministicPath } from "../subgraphs/replicas/replica";
import { adler, RSES } from "../test/support/replication";
import { createTestDatabase, TestDatabase } from "../test/support/postgres";
import { freePorts, ServiceProcess, spawnDbb } from "../test/support/processes";
import { cpuMs, machine, median, peakRssMiB, postJson, timed, writeResults } from "./measure";

/**
 * Bulk registration in the catalog: addDids, addReplicas and attachDids of N files (100,000 by
 * default) in one GraphQL call each, to a `dbb serve replicas` process, against the peer psql
 * writing the same rows with the same INSERT … SELECT FROM unnest(…) statements (dids with their
 * did-registered events; replicas at their deterministic paths; attachments to one dataset) to
 * the same tables of the same database: the ratio is what the catalog adds (HTTP, JSON, GraphQL
 * input coercion, validation, its existence and type checks, statistics). Rounds alternate which
 * side goes first. A small tree is registered before the first round, as a new catalog would have:
 * foreign-key checks planned on a dozen DIDs once stayed sequential scans (minutes at 100,000).
 * The same calls go to a second catalog on the embedded PGlite database (the default a user meets
 * first), reported beside Postgres. DBB_BENCH_REGISTER_N sets N, DBB_BENCH_ROUNDS the rounds.
 */
const N = Number(process.env.DBB_BENCH_REGISTER_N ?? 100_000);
const ROUNDS = Number(process.env.DBB_BENCH_ROUNDS ?? 5);
const STEPS = ["addDids", "addReplicas", "attachDids"] as const;
type Step = (typeof STEPS)[number];
const run$ = promisify(execFile);

const ADD_DIDS = `mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`;
const ADD_REPLICAS = `mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`;
const ATTACH = `mutation($p: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $p, children: $c) { count } }`;

interface Batch {
  prefix: string;
  files: Array<{ name: string; bytes: number; adler32: string }>;
  dataset: string;
}

function batch(prefix: string): Batch {
  const files = Array.from({ length: N }, (_, i) => ({ name: `${prefix}/f${i}.fits`, bytes: 1_000_000 + i, adler32: adler(i) }));
  return { prefix, files, dataset: `${prefix}/ds` };
}

/** The request bodies, built before the clock starts (as psql's files are written before). */
function bodies(b: Batch): Record<Step, string> {
  const refs = b.files.map((f) => ({ scope: "raw", name: f.name }));
  return {
    addDids: JSON.stringify({
      query: ADD_DIDS,
      variables: { i: [...b.files.map((f) => ({ scope: "raw", name: f.name, type: "FILE", bytes: f.bytes, adler32: f.adler32 })), { scope: "raw", name: b.dataset, type: "DATASET" }] },
    }),
    addReplicas: JSON.stringify({ query: ADD_REPLICAS, variables: { rse: "SUMMIT_DISK", r: refs } }),
    attachDids: JSON.stringify({ query: ATTACH, variables: { p: { scope: "raw", name: b.dataset }, c: refs } }),
  };
}

const textArray = (values: Array<string | number | null>) => `'{${values.map((v) => (v === null ? "NULL" : `"${v}"`)).join(",")}}'`;

/** The peer's SQL files: the catalog's own statements with the rows written out as array literals. */
function psqlFiles(b: Batch, dir: string, rseId: string): Record<Step, string> {
  const scopes = textArray(b.files.map(() => "raw").concat("raw"));
  const names = textArray(b.files.map((f) => f.name).concat(b.dataset));
  const sql: Record<Step, string> = {
    addDids: `WITH ins AS (
        INSERT INTO dids (scope, name, did_type, account, bytes, adler32, md5, metadata, is_open)
        SELECT scope, name, did_type, 'bench', bytes, adler32, md5, metadata::jsonb, is_open
        FROM unnest(${scopes}::text[], ${names}::text[],
                    ${textArray(b.files.map(() => "FILE").concat("DATASET"))}::did_type[],
                    ${textArray(b.files.map((f) => f.bytes as number | null).concat(null))}::bigint[],
                    ${textArray(b.files.map((f) => f.adler32 as string | null).concat(null))}::text[],
                    ${textArray(b.files.map(() => null).concat(null))}::text[],
                    ${textArray(b.files.map(() => "{}").concat("{}"))}::text[],
                    ${textArray(b.files.map(() => "false").concat("true"))}::boolean[])
             AS i(scope, name, did_type, bytes, adler32, md5, metadata, is_open)
        RETURNING scope, name, did_type),
      ev AS (
        INSERT INTO events (type, facility, payload)
        SELECT 'did-registered', NULL, jsonb_build_object('scope', scope, 'name', name, 'type', did_type) FROM ins)
      SELECT count(*) FROM ins;`,
    addReplicas: `WITH ins AS (
        INSERT INTO replicas (scope, name, rse_id, state, bytes, path, account)
        SELECT k.scope, k.name, '${rseId}', k.state, d.bytes, k.path, 'bench'
        FROM unnest(${textArray(b.files.map(() => "raw"))}::text[], ${textArray(b.files.map((f) => f.name))}::text[],
                    ${textArray(b.files.map((f) => deterministicPath("raw", f.name)))}::text[],
                    ${textArray(b.files.map(() => "AVAILABLE"))}::replica_state[]) AS k(scope, name, path, state)
        JOIN dids d ON d.scope = k.scope AND d.name = k.name
        RETURNING 1)
      SELECT count(*) FROM ins;`,
    attachDids: `WITH ins AS (
        INSERT INTO attachments (parent_scope, parent_name, child_scope, child_name, account)
        SELECT DISTINCT 'raw', '${b.dataset}', k.scope, k.name, 'bench'
        FROM unnest(${textArray(b.files.map(() => "raw"))}::text[], ${textArray(b.files.map((f) => f.name))}::text[]) AS k(scope, name)
        ON CONFLICT DO NOTHING RETURNING 1)
      SELECT count(*) FROM ins;`,
  };
  const files = {} as Record<Step, string>;
  for (const step of STEPS) {
    files[step] = path.join(dir, `${b.prefix.replace(/\W/g, "_")}-${step}.sql`);
    writeFileSync(files[step], sql[step]);
  }
  return files;
}

async function post(url: string, token: string, body: string): Promise<void> {
  // Without fetch's 300 s deadline: a call to the catalog on PGlite can take longer.
  const answer = (await postJson(url, body, { authorization: `Bearer ${token}` })) as { data?: Record<string, { count: number }>; errors?: unknown[] };
  if (answer.errors?.length) throw new Error(`${url}: ${JSON.stringify(answer.errors[0])}`);
  const count = Object.values(answer.data ?? {})[0]?.count;
  if (count !== N && count !== N + 1) throw new Error(`${url}: wrote ${count} rows, expected ${N}`);
}

async function psql(dbUrl: string, file: string): Promise<void> {
  const { stdout } = await run$("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f", file, dbUrl], { maxBuffer: 1 << 20 });
  const count = Number(stdout.trim());
  if (count !== N && count !== N + 1) throw new Error(`psql wrote ${count} rows, expected ${N}`);
}

export async function run(): Promise<void> {
  const secret = randomBytes(24).toString("hex");
  const dir = mkdtempSync(path.join(tmpdir(), "dbb-bench-register-"));
  const db: TestDatabase = await createTestDatabase("bench_register");
  const catalogs: Array<{ name: string; p: ServiceProcess }> = [];
  const env = (url?: string): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = {
      ...process.env,
      DBB_AUTH_SECRET: secret,
      DBB_DATA_DIR: path.join(dir, url ? "postgres" : "embedded"),
      DBB_LOG_LEVEL: "warn",
      DBB_JUDGE_INTERVAL_SECONDS: "3600",
      DBB_SUBSCRIPTIONS_INTERVAL_SECONDS: "3600",
      DBB_DATABASE_STATEMENT_TIMEOUT_MS: "600000",
    };
    if (url) e.DBB_DATABASE_URL = url;
    else delete e.DBB_DATABASE_URL;
    return e;
  };
  try {
    const ports = await freePorts(2, 28000, 29000);
    const postgres = await spawnDbb(["serve", "replicas", "--port", String(ports[0])], ports[0], env(db.url));
    catalogs.push({ name: "catalog (Postgres)", p: postgres });
    const embedded = await spawnDbb(["serve", "replicas", "--port", String(ports[1])], ports[1], env(), 120_000);
    catalogs.push({ name: "catalog (PGlite)", p: embedded });
    const config = loadConfig(undefined, { DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dir });
    const token = await signToken(config, { subject: "bench", scopes: ["catalog:admin"], ttlSeconds: 24 * 3600 });
    for (const { p } of catalogs) {
      const ok = async (query: string, variables: Record<string, unknown> = {}) => post2(p.url, token, query, variables);
      for (const [i, r] of RSES.entries()) await ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { ...r, kind: "POSIX", protocol: { root: `/data/${i}` } } });
      await ok(`mutation { addScope(name: "raw") { name } }`);
      // A new catalog's first small registration (what once left sequential-scan foreign-key checks behind).
      const small = Array.from({ length: 10 }, (_, i) => ({ scope: "raw", name: `small/f${i}.fits` }));
      await ok(ADD_DIDS, { i: [...small.map((f, i) => ({ ...f, type: "FILE", bytes: 1000 + i })), { scope: "raw", name: "small/ds", type: "DATASET" }] });
      await ok(ADD_REPLICAS, { rse: "SUMMIT_DISK", r: small });
      await ok(ATTACH, { p: { scope: "raw", name: "small/ds" }, c: small });
    }
    const rseId = (await run$("psql", ["-X", "-At", "-c", `SELECT id FROM rses WHERE name = 'SUMMIT_DISK'`, db.url])).stdout.trim();

    const catalogCpu: Record<Step, number[]> = { addDids: [], addReplicas: [], attachDids: [] };
    const times: Record<"ours" | "psql" | "embedded", Record<Step, number[]>> = {
      ours: { addDids: [], addReplicas: [], attachDids: [] },
      psql: { addDids: [], addReplicas: [], attachDids: [] },
      embedded: { addDids: [], addReplicas: [], attachDids: [] },
    };
    process.stderr.write(`${ROUNDS} rounds of ${N.toLocaleString("en")} files: catalog on Postgres, psql, catalog on PGlite\n`);
    for (let round = 0; round < ROUNDS; round++) {
      const ours = bodies(batch(`r${round}/ours`));
      const onPglite = bodies(batch(`r${round}/embedded`));
      const peer = psqlFiles(batch(`r${round}/psql`), dir, rseId);
      const sides: Array<[keyof typeof times, (step: Step) => Promise<void>]> = [
        [
          "ours",
          async (step) => {
            const before = cpuMs(postgres.child.pid!);
            await post(postgres.url, token, ours[step]);
            catalogCpu[step].push(cpuMs(postgres.child.pid!) - before);
          },
        ],
        ["psql", (step) => psql(db.url, peer[step])],
        ["embedded", (step) => post(embedded.url, token, onPglite[step])],
      ];
      // Rotate who goes first, so a shared machine's drift touches each side alike.
      const order = sides.slice(round % 3).concat(sides.slice(0, round % 3));
      for (const [side, call] of order) for (const step of STEPS) times[side][step].push(await timed(() => call(step)));
      process.stderr.write(
        `round ${round + 1}: ` + STEPS.map((s) => `${s} ${Math.round(times.ours[s][round])}/${Math.round(times.psql[s][round])}/${Math.round(times.embedded[s][round])} ms`).join(", ") + "\n",
      );
    }
    const rows = STEPS.map((step) => {
      const ratios = times.ours[step].map((t, i) => t / times.psql[step][i]);
      const embeddedRatios = times.embedded[step].map((t, i) => t / times.ours[step][i]);
      return {
        step,
        n: N,
        oursMs: Math.round(median(times.ours[step])),
        psqlMs: Math.round(median(times.psql[step])),
        ratio: Number(median(ratios).toFixed(2)),
        ratios: ratios.map((r) => Number(r.toFixed(2))),
        catalogCpuMs: Math.round(median(catalogCpu[step])),
        pgliteMs: Math.round(median(times.embedded[step])),
        pgliteOverPostgres: Number(median(embeddedRatios).toFixed(2)),
        oursRounds: times.ours[step].map(Math.round),
        psqlRounds: times.psql[step].map(Math.round),
        pgliteRounds: times.embedded[step].map(Math.round),
      };
    });
    const peakRss = Object.fromEntries(catalogs.map(({ name, p }) => [name, peakRssMiB(p.child.pid!)]));
    const file = writeResults("register", {
      entry: "register",
      what: `addDids, addReplicas, attachDids of ${N} files in one call each, through a catalog process vs psql sending the same INSERT … SELECT unnest statements; the same calls to a catalog on PGlite`,
      target: "at most 1.3× psql",
      machine: machine(),
      rounds: ROUNDS,
      rows,
      peakRssMiB: peakRss,
    });
    process.stdout.write(
      `\n| ${N.toLocaleString("en")} files | catalog (Postgres) | its CPU | psql, same statements | catalog / psql | catalog on PGlite | PGlite / Postgres |\n|---|---|---|---|---|---|---|\n` +
        rows.map((r) => `| ${r.step} | ${r.oursMs} ms | ${r.catalogCpuMs} ms | ${r.psqlMs} ms | ${r.ratio}× | ${r.pgliteMs} ms | ${r.pgliteOverPostgres}× |`).join("\n") +
        `\n\npeak RSS (MiB): ${JSON.stringify(peakRss)}\nwritten to ${file}\n`,
    );
  } finally {
    await Promise.all(catalogs.map(({ p }) => p.stop()));
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function post2(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<unknown> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const answer = (await res.json()) as { data?: unknown; errors?: unknown[] };
  if (answer.errors?.length) throw new Error(`${url}: ${JSON.stringify(answer.errors[0])}`);
  return answer.data;
}
