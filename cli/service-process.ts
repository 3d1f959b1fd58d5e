import { ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

/** The dbb command this process runs (`bin/dbb.js`), so children run the same build on the same node. */
const DBB = path.resolve(__dirname, "../../bin/dbb.js");

/** The node flags bin/dbb.js's first line gives a service (a young generation of 32 MiB). */
export const SERVICE_NODE_FLAGS = ["--max-semi-space-size=32"];

/** A `dbb serve …` child process, its output prefixed with its name. */
export interface ServiceProcess {
  name: string;
  pid: number;
  port: number;
  /** Its GraphQL endpoint. */
  url: string;
  /** Resolves when it has exited: its exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether it is still running. */
  running(): boolean;
  /** SIGTERM (a clean stop), then SIGKILL if it has not exited after `graceMs`; true when it stopped by itself. */
  stop(graceMs: number): Promise<boolean>;
}

/** Copies a child's non-empty output lines to ours, each prefixed with `[name] `. */
function relay(stream: NodeJS.ReadableStream, name: string, out: NodeJS.WritableStream): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
    if (line.trim()) out.write(`[${name}] ${line}\n`);
  });
}

/** Starts `dbb <args>` as a child process serving on `host:port`. */
export function spawnService(name: string, args: string[], options: { host: string; port: number; env: NodeJS.ProcessEnv }): ServiceProcess {
  // The IPC channel is never used for messages: its closing tells the child that we are gone (cli/options.ts stopOn).
  const child: ChildProcess = spawn(process.execPath, [...SERVICE_NODE_FLAGS, DBB, ...args], { env: options.env, stdio: ["ignore", "pipe", "pipe", "ipc"] });
  relay(child.stdout!, name, process.stdout);
  relay(child.stderr!, name, process.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    // A child that cannot be started at all (never happens for node itself, but keep the promise honest).
    child.once("error", () => resolve({ code: child.exitCode ?? 1, signal: null }));
  });
  let done = false;
  void exited.then(() => (done = true));
  const host = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  return {
    name,
    pid: child.pid ?? -1,
    port: options.port,
    url: `http://${host}:${options.port}/graphql`,
    exited,
    running: () => !done,
    async stop(graceMs: number) {
      if (done) return true;
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve(false);
        }, graceMs);
      });
      const stopped = await Promise.race([exited.then(() => true), killed]);
      clearTimeout(timer);
      await exited;
      return stopped;
    },
  };
}

/** How a child ended, for a person: "exit code 1" or "signal SIGKILL". */
export function describeExit(e: { code: number | null; signal: NodeJS.Signals | null }): string {
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}

/**
 * Waits until the service answers GET /health with 200. Fails when the child exits first, or
 * when it is not healthy after `timeoutMs`.
 */
export async function waitHealthy(service: ServiceProcess, timeoutMs: number): Promise<void> {
  const health = service.url.replace(/\/graphql$/, "/health");
  const deadline = Date.now() + timeoutMs;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void service.exited.then((e) => (exit = e));
  while (Date.now() < deadline) {
    if (exit) throw new Error(`${service.name} (pid ${service.pid}) exited with ${describeExit(exit)} before it was ready`);
    try {
      const res = await fetch(health, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${service.name} (pid ${service.pid}) did not answer ${health} within ${Math.round(timeoutMs / 1000)} s`);
}

/**
 * Waits until `GET <path>` of the service answers 200 (the gateway's /ready: every subgraph up
 * with the expected schema). Returns the last body when it does not within `timeoutMs`.
 */
export async function waitFor200(service: ServiceProcess, pathname: string, timeoutMs: number): Promise<string | undefined> {
  const url = service.url.replace(/\/graphql$/, pathname);
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (service.running()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) return undefined;
      last = await res.text();
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  return `${service.name} exited`;
}
