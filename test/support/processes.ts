import { ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { SERVICE_NODE_FLAGS } from "../../cli/service-process";

/** The dbb command, as users run it. */
export const DBB = path.resolve(__dirname, "../../../bin/dbb.js");

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  url: string;
  output(): string;
  /** Waits until the output matches `pattern` (fails if the process exits first or after `timeoutMs`); returns the match. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Ctrl-C, and the exit code (null when it had not stopped 30 s later and was killed). */
  stop(): Promise<number | null>;
  /** As a crash: SIGKILL. */
  kill(): Promise<void>;
}

/** The child processes started here (and registered with trackChild) that have not exited yet. */
const live = new Set<ChildProcess>();

/** Counts `child` among the live children until it exits (killLiveChildren ends those left). */
export function trackChild(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/**
 * SIGKILLs every tracked child still running, synchronously: for a process that is about to exit
 * (the bench runner on an error, SIGINT or SIGTERM) before its own cleanup could run, so that no
 * `dbb serve` outlives it and goes on taking the CPU of later measurements. Returns how many.
 */
export function killLiveChildren(): number {
  let n = 0;
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")) n++;
  }
  live.clear();
  return n;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports in [from, to). Suites pass disjoint ranges below the kernel's
 * ephemeral range (32768 and up, where outgoing connections take their local ports), and each
 * port is probed, so a service of one suite never finds its port taken.
 */
export async function freePorts(count: number, from: number, to: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = from + Math.floor(Math.random() * (to - from - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const free = await Promise.all(ports.map(portIsFree));
    if (free.every(Boolean)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports in [${from}, ${to})`);
}

/** Runs `dbb <args>` and waits until GET /health answers 200. */
export async function spawnDbb(args: string[], port: number, env: NodeJS.ProcessEnv, timeoutMs = 60000): Promise<ServiceProcess> {
  // As a user runs it: jest's NODE_ENV=test changes library defaults (Apollo's signal handlers).
  const { NODE_ENV: _testEnv, ...userEnv } = env;
  // With the node flags bin/dbb.js's first line gives (as `dbb serve` runs from a shell), plus any
  // a profiling run asks for (DBB_TEST_NODE_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const extra = (process.env.DBB_TEST_NODE_FLAGS ?? "").split(/\s+/).filter(Boolean);
  const child = trackChild(spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...extra, DBB, ...args], { env: userEnv, stdio: ["ignore", "pipe", "pipe"] }));
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dbb ${args.join(" ")} exited with ${child.exitCode}: ${output}`);
    try {
      // A probe that is never answered must not hold the wait past its deadline.
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) {
        return {
          child,
          port,
          url: `http://127.0.0.1:${port}/graphql`,
          output: () => output,
          waitForOutput: async (pattern: RegExp, waitMs = 60000) => {
            const until = Date.now() + waitMs;
            for (;;) {
              const m = output.match(pattern);
              if (m) return m;
              if (child.exitCode !== null || Date.now() > until) {
                throw new Error(`dbb ${args.join(" ")} ${child.exitCode !== null ? `exited with ${child.exitCode}` : `printed nothing like ${pattern} within ${waitMs} ms`}: ${output}`);
              }
              await new Promise((r) => setTimeout(r, 50));
            }
          },
          stop: async () => {
            if (child.exitCode === null) child.kill("SIGINT");
            // A service that does not stop within 30 s on Ctrl-C is a failure: killed, it exits with null.
            const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
            try {
              return await exited;
            } finally {
              clearTimeout(timer);
            }
          },
          kill: async () => {
            if (child.exitCode === null) child.kill("SIGKILL");
            await exited;
          },
        };
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGKILL");
  throw new Error(`dbb ${args.join(" ")} did not become healthy within ${timeoutMs} ms: ${output}`);
}
