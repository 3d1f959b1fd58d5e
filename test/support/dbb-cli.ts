import { spawn } from "node:child_process";
import { DBB } from "./processes";

export interface DbbRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `dbb <args>` as a user does, in a process of its own, and gives its exit code and both
 * outputs (never rejecting: tests assert on the exit code). The environment is the test's minus
 * the user's DBB_URL / DBB_TOKEN, plus `env`.
 */
export function runDbb(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<DbbRun> {
  const { NODE_ENV: _test, DBB_URL: _url, DBB_TOKEN: _token, DBB_CONFIG: _config, ...base } = process.env;
  const child = spawn(process.execPath, [DBB, ...args], { env: { ...base, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.end(input ?? "");
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The --json answer of a run, failing with the run's stderr when stdout is not one JSON document. */
export function jsonOf(run: DbbRun): any {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`dbb printed no JSON document (exit ${run.code}); stdout: ${run.stdout.slice(0, 500)}; stderr: ${run.stderr.slice(0, 2000)}`);
  }
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `dbb <args>` on a pseudo-terminal (util-linux `script`), as on a user's screen: stdout and
 * stderr are the terminal, and what was drawn comes back as `stdout` (escape sequences included).
 */
export function runDbbInTerminal(args: string[], env: Record<string, string | undefined> = {}): Promise<DbbRun> {
  const { NODE_ENV: _test, DBB_URL: _url, DBB_TOKEN: _token, DBB_CONFIG: _config, ...base } = process.env;
  const command = [process.execPath, DBB, ...args].map(shellQuote).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], { env: { ...base, TERM: "xterm", COLUMNS: "120", LINES: "40", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
