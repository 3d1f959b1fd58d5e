import { execFileSync } from "node:child_process";
import http from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** Helpers every bench entry shares: timing, medians, interleaved rounds, the machine, results. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * Runs `ours` and `peer` in `rounds` interleaved rounds (the order alternating, so drift of a
 * shared, noisy machine touches both alike), after one warm-up each. Returns the times in ms
 * and the per-round ratios ours / peer.
 */
export async function interleaved(rounds: number, ours: () => Promise<unknown>, peer: () => Promise<unknown>) {
  await ours();
  await peer();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      a.push(await timed(ours));
      b.push(await timed(peer));
    } else {
      b.push(await timed(peer));
      a.push(await timed(ours));
    }
  }
  return { ours: a, peer: b, ratios: a.map((t, i) => t / b[i]) };
}

/** CPU time (ms) the whole machine has spent busy so far, every process and core (/proc/stat: all but idle and iowait). */
export function machineBusyMs(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const ticks = cpu.reduce((a, b) => a + b, 0) - cpu[3] - (cpu[4] ?? 0);
  return (ticks * 1000) / 100;
}

/** A process's peak resident memory (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"));
    return line ? Math.round(Number(line.replace(/\D+/g, "")) / 1024) : null;
  } catch {
    return null;
  }
}

export function machine() {
  let postgres = "unknown";
  try {
    postgres = execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"], { encoding: "utf8" }).trim();
  } catch {
    /* not reachable: recorded as unknown */
  }
  return { date: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, postgres, load: os.loadavg() };
}

/** Writes an entry's results to bench/results/<entry>.json (the source tree's, not dist's). */
export function writeResults(entry: string, results: unknown): string {
  const dir = path.resolve(__dirname, "../../bench/results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${entry}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  return file;
}

/**
 * Closed-loop load: `connections` callers, each sending its next request when the last one
 * answered, for `seconds`. Returns requests answered per second. Every caller runs in this
 * process on the shared machine, alike for every side it is pointed at.
 */
export async function throughput(send: () => Promise<void>, connections: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        await send();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** A process's CPU time so far (user + system), in ms: less disturbed than wall time on a shared machine. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** POSTs a JSON body over node:http without fetch's 300 s deadline for the answer's headers; resolves with the parsed answer. */
export function postJson(url: string, body: string, headers: Record<string, string> = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch (err) {
          reject(err);
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The environment of a `dbb serve` process an entry starts: the run's signing secret and data dir,
 * quiet logs, no judge rounds to disturb the timing, and its own database (or the embedded one).
 */
export function serviceEnv(secret: string, dataDir: string, databaseUrl?: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn", DBB_JUDGE_INTERVAL_SECONDS: "3600" };
  if (databaseUrl) e.DBB_DATABASE_URL = databaseUrl;
  else delete e.DBB_DATABASE_URL;
  return e;
}
