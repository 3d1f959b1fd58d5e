import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { Readable } from "node:stream";
import { checksumsOf, ChecksumTap } from "../lib/checksum";
import { loadConfig } from "../lib/config";
import { openStorage } from "../lib/storage/factory";
import { deterministicPath } from "../subgraphs/replicas/replica";
import { BUCKETS, DataFederation, RSES, startDataFederation } from "../test/support/data-federation";
import { ok } from "../test/support/graphql-client";
import { trackChild } from "../test/support/processes";
import { cpuMs, machine, machineBusyMs, median, peakRssMiB, writeResults } from "./measure";

/**
 * The transfer agent against rclone (Debian's package), copying the same objects between the
 * same two S3-protocol endpoints (two `dbb serve s3` processes), checksums on for both (ours:
 * size, adler32 and md5 checked before the object appears; rclone: its MD5 check), both with 8
 * streams and the same multipart sizes (64 MiB threshold, 16 MiB parts). Ours is timed from
 * addRule to the rule OK, so the catalog's claims and reports are part of it. Rounds alternate.
 */
const ROUNDS = Number(process.env.DBB_BENCH_ROUNDS ?? 3);
const MiB = 1024 * 1024;
const STREAMS = 8;
const ALL_CASES = [
  { id: "large", name: "1 × 1 GiB", files: 1, bytes: 1024 * MiB },
  { id: "small", name: "2,000 × 256 KiB", files: 2000, bytes: 256 * 1024 },
];
/** DBB_BENCH_CASES=large or small (comma-separated) runs only those; default both. */
const CASES = process.env.DBB_BENCH_CASES ? ALL_CASES.filter((c) => process.env.DBB_BENCH_CASES!.split(",").includes(c.id)) : ALL_CASES;

/** Peak RSS of a process over its life, polled (VmHWM read while it runs). */
function watchRss(pid: number): () => number | null {
  let peak: number | null = null;
  const timer = setInterval(() => {
    const v = peakRssMiB(pid);
    if (v !== null) peak = Math.max(peak ?? 0, v);
  }, 100);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

/** CPU time (ms) of the processes that exited and were waited for by this one (cutime + cstime): rclone's, once it has exited. */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Our environment without AWS_CA_BUNDLE, which rclone's S3 client refuses with its own HTTP transport (the endpoints are plain http). */
function rcloneEnv(): NodeJS.ProcessEnv {
  const { AWS_CA_BUNDLE: _ca, ...env } = process.env;
  return env;
}

/** rclone copies exactly `keys` from the Summit's bucket to `target` in FrDF's: the peer's round. */
async function rcloneCopy(fed: DataFederation, keys: string[], target: string, listFile: string): Promise<{ ms: number; rssMiB: number | null; cpuMs: number }> {
  writeFileSync(listFile, keys.join("\n") + "\n");
  const [src, dst] = fed.s3;
  const remote = (name: string, s: (typeof fed.s3)[number]) => ({
    [`RCLONE_CONFIG_${name}_TYPE`]: "s3",
    [`RCLONE_CONFIG_${name}_PROVIDER`]: "Other",
    [`RCLONE_CONFIG_${name}_ENDPOINT`]: s.endpoint,
    [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: s.credentials.accessKeyId,
    [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: s.credentials.secretAccessKey,
    [`RCLONE_CONFIG_${name}_FORCE_PATH_STYLE`]: "true",
  });
  const started = process.hrtime.bigint();
  const cpuBefore = childrenCpuMs();
  // The keys are spread over deterministicPath's hash folders: rclone is given the exact list.
  const child = trackChild(spawn(
    "rclone",
    ["copy", `src:${BUCKETS.SUMMIT}/dbb`, `dst:${BUCKETS.FrDF}/${target}`, "--files-from-raw", listFile, "--no-traverse",
      "--transfers", String(STREAMS), "--checkers", String(STREAMS), "--s3-upload-cutoff", "64M", "--s3-chunk-size", "16M"],
    { env: { ...rcloneEnv(), ...remote("SRC", src), ...remote("DST", dst) }, stdio: ["ignore", "ignore", "pipe"] },
  ));
  const rss = watchRss(child.pid!);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const rssMiB = rss();
  if (code !== 0) throw new Error(`rclone exited with ${code}: ${stderr.slice(0, 2000)}`);
  return { ms, rssMiB, cpuMs: childrenCpuMs() - cpuBefore };
}

export async function run(): Promise<void> {
  try {
    execFileSync("rclone", ["version"], { stdio: "ignore" });
  } catch {
    throw new Error("the agent bench needs rclone: apt-get install -y rclone");
  }
  const fed = await startDataFederation("bench_agent", { leaseSeconds: 120, backoffSeconds: 1, maxAttempts: 3 }, { multipartThresholdBytes: 64 * MiB, partSizeBytes: 16 * MiB, streams: STREAMS });
  const results: Array<Record<string, unknown>> = [];
  try {
    const gw = (q: string, v?: Record<string, unknown>) => ok(fed.gatewayUrl, q, v, fed.admin);
    await gw(`mutation { addScope(name: "bench") { name } }`);
    const summit = openStorage({ rse: RSES.SUMMIT, kind: "S3", endpoint: fed.s3[0].endpoint, bucket: BUCKETS.SUMMIT, prefix: "dbb" }, loadConfig(fed.configOf("SUMMIT")).storage);
    const frdf = openStorage({ rse: RSES.FrDF, kind: "S3", endpoint: fed.s3[1].endpoint, bucket: BUCKETS.FrDF, prefix: "" }, loadConfig(fed.configOf("FrDF")).storage);
    const agent = await fed.startAgent("FrDF");
    const agentRss = watchRss(agent.child.pid!);
    // CPU time of each side's processes in a round: less disturbed than wall time on a shared machine.
    // The control plane: the catalog, the gateway and each facility (by process for the round's log line).
    const controlPids: Array<[string, number]> = [["catalog", fed.catalog.child.pid!], ["gateway", fed.gateway.child.pid!], ...[...fed.facilities].map(([code, f]) => [code, f.child.pid!] as [string, number])];
    const services = { agent: agent.child.pid!, s3: [fed.s3[0].process.child.pid!, fed.s3[1].process.child.pid!], catalog: controlPids.map(([, pid]) => pid) };
    const cpuNow = () => ({ agent: cpuMs(services.agent), s3: services.s3.reduce((n, pid) => n + cpuMs(pid), 0), catalog: services.catalog.reduce((n, pid) => n + cpuMs(pid), 0) });
    const controlNow = () => controlPids.map(([name, pid]) => [name, cpuMs(pid)] as const);
    const controlSince = (before: ReturnType<typeof controlNow>) => controlNow().map(([name, ms], i) => `${name} ${ms - before[i][1]}`).join(", ");
    const cpuSince = (before: ReturnType<typeof cpuNow>) => {
      const now = cpuNow();
      return { agent: now.agent - before.agent, s3: now.s3 - before.s3, catalog: now.catalog - before.catalog };
    };
    for (const c of CASES) {
      const ours: number[] = [];
      const peer: number[] = [];
      const rcloneRss: number[] = [];
      const oursCpu: Array<{ agent: number; s3: number; catalog: number }> = [];
      const oursControl: string[] = [];
      // The GraphQL operations the gateway served during each of ours' rounds, by name.
      const oursCalls: Array<Record<string, number>> = [];
      const peerCpu: Array<{ rclone: number; s3: number; catalog: number; machine: number }> = [];
      // The machine is shared: the 1-minute load average as each round starts, beside its times.
      const loads: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // The round's objects at the Summit: the same bytes for both, new names each round.
        const dataset = `bench/${c.files}x${c.bytes}/round${round}`;
        const names = Array.from({ length: c.files }, (_, i) => `${dataset}/file${String(i).padStart(5, "0")}.dat`);
        const dids = [];
        for (const name of names) {
          const tap = new ChecksumTap();
          const bytes = c.bytes > 64 * MiB ? null : randomBytes(c.bytes);
          const body = bytes ? Readable.from([bytes]) : Readable.from((function* () { for (let n = 0; n < c.bytes / MiB; n++) yield randomBytes(MiB); })());
          const written = await summit.write(deterministicPath("bench", name), body.pipe(tap), { bytes: c.bytes });
          dids.push({ scope: "bench", name, type: "FILE", bytes: written.bytes, adler32: written.adler32, md5: written.md5 });
        }
        for (let i = 0; i < dids.length; i += 1000) await gw(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: dids.slice(i, i + 1000) });
        await gw(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: [{ scope: "bench", name: dataset, type: "DATASET" }] });
        for (let i = 0; i < names.length; i += 1000) {
          await gw(`mutation($d: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $d, children: $c) { count } }`, { d: { scope: "bench", name: dataset }, c: names.slice(i, i + 1000).map((name) => ({ scope: "bench", name })) });
          await gw(`mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "SUMMIT_S3", replicas: $r) { count } }`, { r: names.slice(i, i + 1000).map((name) => ({ scope: "bench", name })) });
        }
        const runOurs = async () => {
          const callsBefore = await gatewayCalls(fed.gatewayUrl);
          const cpuBefore = cpuNow();
          const controlBefore = controlNow();
          const xactBefore = transactions();
          const machineBefore = machineBusyMs();
          const started = process.hrtime.bigint();
          const { addRule } = await gw(`mutation($i: AddRuleInput!) { addRule(input: $i) { id } }`, { i: { did: { scope: "bench", name: dataset }, rseExpression: "FRDF_S3", sourceReplicaExpression: "SUMMIT_S3" } });
          for (;;) {
            const { rule } = await gw(`query($id: String!) { rule(id: $id) { state error } }`, { id: addRule.id });
            if (rule.state === "OK") break;
            if (rule.state === "STUCK") throw new Error(`bench rule STUCK: ${rule.error}`);
            // Every 200 ms: at most 0.2 s late on copies of 10 s and more, where every 50 ms the
            // polls themselves cost the catalog and gateway about 3 CPU-seconds per 1 GiB round,
            // on the cores the copy shares.
            await new Promise((r) => setTimeout(r, 200));
          }
          ours.push(Number(process.hrtime.bigint() - started) / 1e6);
          oursCpu.push(cpuSince(cpuBefore));
          const xactAfter = transactions();
          oursControl.push(`${controlSince(controlBefore)}; the whole machine ${Math.round(machineBusyMs() - machineBefore)}; transactions ${[...xactAfter].map(([db, n]) => `${db} ${n - (xactBefore.get(db) ?? 0)}`).join(", ")}`);
          const callsAfter = await gatewayCalls(fed.gatewayUrl);
          oursCalls.push(Object.fromEntries([...callsAfter].map(([op, n]) => [op, n - (callsBefore.get(op) ?? 0)]).filter(([, n]) => (n as number) > 0)));
        };
        const keys = names.map((n) => deterministicPath("bench", n));
        const rclone = async () => {
          const cpuBefore = cpuNow();
          const machineBefore = machineBusyMs();
          const r = await rcloneCopy(fed, keys, `rclone/round${round}`, `${fed.dir}/rclone-round${round}.txt`);
          peer.push(r.ms);
          const since = cpuSince(cpuBefore);
          // The catalog's, gateway's and facilities' own loops go on meanwhile (judge, refresh, status): what they cost without copies.
          peerCpu.push({ rclone: r.cpuMs, s3: since.s3, catalog: since.catalog, machine: Math.round(machineBusyMs() - machineBefore) });
          if (r.rssMiB !== null) rcloneRss.push(r.rssMiB);
        };
        loads.push(Math.round(os.loadavg()[0] * 10) / 10);
        if (round % 2 === 0) {
          await runOurs();
          await rclone();
        } else {
          await rclone();
          await runOurs();
        }
        // Both copies are complete and equal to the source.
        const check = keys[0];
        const a = checksumsOf(await readAll(await frdf.read(`dbb/${check}`)));
        const b = checksumsOf(await readAll(await frdf.read(`rclone/round${round}/${check}`)));
        if (a.md5 !== dids[0].md5 || b.md5 !== dids[0].md5) throw new Error(`a bench copy differs from its source (${a.md5}, ${b.md5}, ${dids[0].md5})`);
        // Free the space: the round's copies and sources go.
        for (const k of keys) {
          await frdf.delete(`dbb/${k}`);
          await frdf.delete(`rclone/round${round}/${k}`);
        }
        const oc = oursCpu[round];
        const pc = peerCpu[round];
        process.stderr.write(
          `  ${c.name} round ${round + 1} (load ${loads[round]}): ours ${Math.round(ours[round])} ms (CPU ms: agent ${oc.agent}, both s3 ${oc.s3}, catalog+gateway+facilities ${oc.catalog}), ` +
            `rclone ${Math.round(peer[round])} ms (CPU ms: rclone ${pc.rclone}, both s3 ${pc.s3}; catalog+gateway+facilities meanwhile ${pc.catalog}; the whole machine ${pc.machine})\n` +
            `    control plane CPU ms during ours: ${oursControl[round]}\n` +
            `    gateway operations during ours: ${Object.entries(oursCalls[round]).map(([op, n]) => `${op} ${n}`).join(", ")}\n`,
        );
      }
      const totalMiB = (c.files * c.bytes) / MiB;
      const ratios = ours.map((t, i) => peer[i] / t);
      results.push({
        case: c.name,
        rounds: ROUNDS,
        oursMs: ours.map(Math.round),
        rcloneMs: peer.map(Math.round),
        oursMiBps: Math.round((totalMiB / (median(ours) / 1000)) * 10) / 10,
        rcloneMiBps: Math.round((totalMiB / (median(peer) / 1000)) * 10) / 10,
        throughputRatios: ratios.map((r) => Math.round(r * 100) / 100),
        medianThroughputRatio: Math.round(median(ratios) * 100) / 100,
        rclonePeakRssMiB: rcloneRss.length ? Math.max(...rcloneRss) : null,
        oursCpuMs: oursCpu,
        oursGatewayOperations: oursCalls,
        oursControlPlaneCpu: oursControl,
        rcloneCpuMs: peerCpu,
        loadAtRoundStart: loads,
      });
      process.stderr.write(`  ${c.name}: throughput ours/rclone median ${median(ratios).toFixed(2)} (${ratios.map((r) => r.toFixed(2)).join(", ")})\n`);
    }
    const agentPeak = agentRss();
    const file = writeResults("agent", { machine: machine(), streams: STREAMS, agentPeakRssMiB: agentPeak, cases: results });
    process.stderr.write(`  agent peak RSS ${agentPeak} MiB; written to ${file}\n`);
  } finally {
    await fed.close();
  }
}

/** Transactions committed so far in each of the bench's databases (pg_stat_database), every statement outside one counting as one. */
function transactions(): Map<string, number> {
  const out = execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-AtF", " ", "-c", "SELECT datname, xact_commit + xact_rollback FROM pg_stat_database WHERE datname LIKE 'dbb_test_bench_agent_%'"], { encoding: "utf8" });
  return new Map(out.trim().split("\n").filter(Boolean).map((l) => [l.split(" ")[0].replace(/^dbb_test_bench_agent_([a-z]+)_.*/i, "$1"), Number(l.split(" ")[1])]));
}

/** The gateway's count of GraphQL operations served so far, by operation name (its Prometheus /metrics). */
async function gatewayCalls(gatewayUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(gatewayUrl.replace(/\/graphql$/, "/metrics"))).text();
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^dbb_gateway_requests_total\{([^}]*)\} (\d+)/gm)) {
    const op = /operation="([^"]*)"/.exec(m[1])?.[1] ?? "?";
    calls.set(op, (calls.get(op) ?? 0) + Number(m[2]));
  }
  return calls;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
