import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { signToken } from "../lib/auth";
import { loadConfig } from "../lib/config";
import type { TestCatalog } from "../test/support/catalog";
import { createTestDatabase, TestDatabase } from "../test/support/postgres";
import { freePorts, ServiceProcess, spawnDbb } from "../test/support/processes";
import { registerTree, RSES } from "../test/support/replication";
import { cpuMs, machine, median, peakRssMiB, timed, writeResults } from "./measure";

/**
 * addRule on a container of N files (100,000 by default: 20 datasets of N/20, each file with a
 * replica at SUMMIT_DISK) to USDF_DISK, through a `dbb serve replicas` process, against the peer:
 * psql writing the same rows — the rule, its locks, the new replicas at the destination, the
 * transfer requests and the events, as ours left them — for a second, identical container, with
 * plain INSERT … SELECT statements in one transaction (copied from ours' rows with the names
 * changed, so the peer does none of the rule's reasoning). The peer needs ours' rows, so in each
 * round ours goes first. DBB_BENCH_RULE_N sets N, DBB_BENCH_ROUNDS the rounds (3).
 */
const N = Number(process.env.DBB_BENCH_RULE_N ?? 100_000);
const ROUNDS = Number(process.env.DBB_BENCH_ROUNDS ?? 3);
const DATASETS = 20;
const run$ = promisify(execFile);

const ADD_RULE = `mutation($i: AddRuleInput!) { addRule(input: $i) { id state locksReplicating } }`;

async function psql(url: string, args: string[]): Promise<string> {
  return (await run$("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", ...args, url], { maxBuffer: 1 << 24 })).stdout.trim();
}

/** The columns of a table that an INSERT may name (generated ones excluded), in order. */
async function columns(url: string, table: string): Promise<string[]> {
  const out = await psql(url, [
    "-c",
    `SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name = '${table}' AND is_generated = 'NEVER'`,
  ]);
  return out.split(",");
}

/**
 * The peer's script: the rows rule `ruleId` wrote for container prefix `from` (events with ids in
 * (eventsBefore, eventsAfter]), written again for prefix `to` with a new rule id.
 */
async function peerScript(url: string, ruleId: string, from: string, to: string, rseId: string, eventsBefore: number, eventsAfter: number): Promise<string> {
  const rename = (col: string) => `'${to}' || substr(${col}, ${from.length + 1})`;
  const copy = async (table: string, where: string, replace: Record<string, string>, skip: string[] = []) => {
    const cols = (await columns(url, table)).filter((c) => !skip.includes(c));
    return `INSERT INTO ${table} (${cols.join(", ")}) SELECT ${cols.map((c) => replace[c] ?? c).join(", ")} FROM ${table} WHERE ${where};`;
  };
  return [
    "BEGIN;",
    `CREATE TEMP TABLE new_rule AS SELECT gen_random_uuid() AS id;`,
    await copy("rules", `id = '${ruleId}'`, { id: "(SELECT id FROM new_rule)", name: rename("name") }),
    await copy("replicas", `rse_id = '${rseId}' AND name LIKE '${from}/%'`, { name: rename("name"), id: "gen_random_uuid()" }),
    await copy("locks", `rule_id = '${ruleId}'`, { rule_id: "(SELECT id FROM new_rule)", name: rename("name") }),
    await copy("transfer_requests", `rule_id = '${ruleId}'`, { id: "gen_random_uuid()", rule_id: "(SELECT id FROM new_rule)", name: rename("name") }),
    await copy(
      "events",
      `id > ${eventsBefore} AND id <= ${eventsAfter}`,
      { payload: `replace(replace(payload::text, '"${from}/', '"${to}/'), '${ruleId}', (SELECT id FROM new_rule)::text)::jsonb` },
      ["id", "txid"],
    ),
    "COMMIT;",
  ].join("\n");
}

export async function run(): Promise<void> {
  const secret = randomBytes(24).toString("hex");
  const dir = mkdtempSync(path.join(tmpdir(), "dbb-bench-rule-"));
  const db: TestDatabase = await createTestDatabase("bench_rule");
  let catalog: ServiceProcess | undefined;
  try {
    const [port] = await freePorts(1, 30000, 30500);
    catalog = await spawnDbb(["serve", "replicas", "--port", String(port)], port, {
      ...process.env,
      DBB_AUTH_SECRET: secret,
      DBB_DATA_DIR: dir,
      DBB_DATABASE_URL: db.url,
      DBB_LOG_LEVEL: "warn",
      DBB_JUDGE_INTERVAL_SECONDS: "3600",
      DBB_SUBSCRIPTIONS_INTERVAL_SECONDS: "3600",
      DBB_DATABASE_STATEMENT_TIMEOUT_MS: "600000",
    });
    const token = await signToken(loadConfig(undefined, { DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dir }), { subject: "bench", scopes: ["catalog:admin"], ttlSeconds: 24 * 3600 });
    const ok = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(catalog!.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      const answer = (await res.json()) as { data?: any; errors?: unknown[] };
      if (answer.errors?.length) throw new Error(JSON.stringify(answer.errors[0]));
      return answer.data;
    };
    const cat = { ok } as unknown as TestCatalog;
    for (const [i, r] of RSES.entries()) await ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { ...r, kind: "POSIX", protocol: { root: `/data/${i}` } } });
    await ok(`mutation { addScope(name: "raw") { name } }`);
    const usdf = await psql(db.url, ["-c", `SELECT id FROM rses WHERE name = 'USDF_DISK'`]);
    const lastEvent = async () => Number(await psql(db.url, ["-c", "SELECT coalesce(max(id), 0) FROM events"]));

    const ours: number[] = [];
    const peer: number[] = [];
    const cpu: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1}: registering 2 × ${N.toLocaleString("en")} files…\n`);
      const a = await registerTree(cat, `r${round}a`, DATASETS, N / DATASETS);
      await registerTree(cat, `r${round}b`, DATASETS, N / DATASETS);
      const before = await lastEvent();
      const cpuBefore = cpuMs(catalog.child.pid!);
      let ruleId = "";
      ours.push(
        await timed(async () => {
          const { addRule } = await ok(ADD_RULE, { i: { did: { scope: "raw", name: a.container }, rseExpression: "USDF_DISK", grouping: "DATASET" } });
          if (addRule.locksReplicating !== N) throw new Error(`the rule made ${addRule.locksReplicating} locks, expected ${N}`);
          ruleId = addRule.id;
        }),
      );
      cpu.push(cpuMs(catalog.child.pid!) - cpuBefore);
      const script = path.join(dir, `peer-${round}.sql`);
      writeFileSync(script, await peerScript(db.url, ruleId, `r${round}a`, `r${round}b`, usdf, before, await lastEvent()));
      peer.push(await timed(() => psql(db.url, ["-f", script])));
      // The peer wrote as many rows of each kind as ours did.
      const counts = (prefix: string) =>
        psql(db.url, [
          "-c",
          `SELECT (SELECT count(*) FROM locks l JOIN rules r ON r.id = l.rule_id WHERE r.name = '${prefix}/all') || ' locks, ' ||
                  (SELECT count(*) FROM transfer_requests t JOIN rules r ON r.id = t.rule_id WHERE r.name = '${prefix}/all') || ' requests, ' ||
                  (SELECT count(*) FROM replicas WHERE rse_id = '${usdf}' AND name LIKE '${prefix}/%') || ' replicas'`,
        ]);
      const [oursRows, peerRows] = [await counts(`r${round}a`), await counts(`r${round}b`)];
      if (oursRows !== peerRows || !oursRows.startsWith(`${N} locks`)) throw new Error(`ours wrote ${oursRows}, the peer ${peerRows}`);
      process.stderr.write(`round ${round + 1}: addRule ${Math.round(ours[round])} ms (catalog CPU ${cpu[round]} ms), psql INSERTs of the same rows ${Math.round(peer[round])} ms\n`);
    }
    const ratios = ours.map((t, i) => t / peer[i]);
    const peakRss = { catalog: peakRssMiB(catalog.child.pid!) };
    const row = {
      n: N,
      oursMs: Math.round(median(ours)),
      catalogCpuMs: Math.round(median(cpu)),
      peerMs: Math.round(median(peer)),
      ratio: Number(median(ratios).toFixed(2)),
      ratios: ratios.map((r) => Number(r.toFixed(2))),
      oursRounds: ours.map(Math.round),
      peerRounds: peer.map(Math.round),
    };
    const file = writeResults("rule", {
      entry: "rule",
      what: `addRule on a container of ${N} files (DATASET grouping, to USDF_DISK) vs psql INSERT … SELECT of the same rows (rule, locks, replicas, transfer requests, events) for an identical container`,
      target: "at most 1.2× the INSERTs",
      machine: machine(),
      rounds: ROUNDS,
      row,
      peakRssMiB: peakRss,
    });
    process.stdout.write(
      `\n| addRule on ${N.toLocaleString("en")} files | ours | catalog CPU | psql INSERTs of the same rows | ours / psql |\n|---|---|---|---|---|\n` +
        `| DATASET grouping, to USDF_DISK | ${row.oursMs} ms | ${row.catalogCpuMs} ms | ${row.peerMs} ms | ${row.ratio}× |\n\npeak RSS (MiB): ${JSON.stringify(peakRss)}\nwritten to ${file}\n`,
    );
  } finally {
    await catalog?.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
