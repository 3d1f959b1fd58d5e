import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { loadConfig } from "../lib/config";
import { DbbError, ErrorCode } from "../lib/errors";
import { errorOf, GraphqlAnswer, GraphqlClient } from "../lib/graphql-client";

/**
 * What the dbb commands share: option parsers, how a client command finds its gateway and token,
 * and the output conventions every command keeps:
 * - the answer goes to stdout: text for people, or with `--json` one JSON document and nothing else;
 * - progress, warnings and errors go to stderr;
 * - exit codes: 0 ok, 1 error, 2 usage (bad arguments), 3 partial (an answer with parts missing,
 *   e.g. a facility unavailable).
 * Command files (`cli/<noun>-commands.ts`) import this module, never `main.ts`. A new group is a
 * `register<Noun>Commands(program)` there, one line in main.ts: `clientOptions(cmd)` for the
 * options, `clientAction(async (…, opts) => { const gw = gatewayOf(opts); gw.requireToken(scope);
 * … emit(opts, value, () => lines); return ExitCode.OK })` for the action; `partialData` when
 * facility fields are asked for. Shell completion follows from the command tree by itself.
 */

export const ExitCode = { OK: 0, ERROR: 1, USAGE: 2, PARTIAL: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake in how the command was called: exit code 2, like commander's own usage errors. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

// ── option parsers ────────────────────────────────────────────────────────────────────────────

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("a port number 0-65535");
  return n;
}

/** A repeatable option's values, in order. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
    return n;
  };
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A duration as seconds: `90`, `90s`, `30m`, `12h`, `30d`, `2w`. */
export function duration(value: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError("a duration such as 3600, 30m, 12h, 30d or 2w");
  return Number(m[1]) * DURATION_UNITS[m[2] || "s"];
}

/** An option whose value is one of `choices` (upper-cased), listed in --help and in shell completion. */
export function choiceOption(flags: string, description: string, choices: string[]): Option {
  return new Option(flags, description).choices(choices).argParser((v: string) => {
    const up = v.toUpperCase();
    if (!choices.includes(up)) throw new InvalidArgumentError(`one of ${choices.join(", ")}`);
    return up;
  });
}

export interface DidRef {
  scope: string;
  name: string;
}

/** `SCOPE:NAME` as a DID reference (the name may hold further colons). */
export function didRef(value: string): DidRef {
  const i = value.indexOf(":");
  if (i <= 0 || i === value.length - 1) throw new InvalidArgumentError(`'${value}' is not a DID: write SCOPE:NAME, e.g. raw:LSSTCam/raw/20250601`);
  return { scope: value.slice(0, i), name: value.slice(i + 1) };
}

/** `didRef` for positional arguments and lines of files: a UsageError instead of commander's error. */
export function parseDid(value: string, where?: string): DidRef {
  try {
    return didRef(value);
  } catch (err) {
    throw new UsageError(where ? `${where}: ${(err as Error).message}` : (err as Error).message);
  }
}

export const formatDid = (d: DidRef) => `${d.scope}:${d.name}`;

/** The lines of a file (`-` for stdin) without blank lines and `#` comments, each with its line number. */
export function readLines(file: string): Array<{ line: number; text: string }> {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const out: Array<{ line: number; text: string }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.replace(/(^|\s)#.*$/, "").trim();
    if (t) out.push({ line: i + 1, text: t });
  });
  return out;
}

/** Slices of at most `size` items. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ── talking to the gateway ────────────────────────────────────────────────────────────────────

/** The options every client command takes (added by `clientOptions`). */
export interface ClientOptions {
  url?: string;
  config?: string;
  json?: boolean;
}

/** Adds `--url`, `--config` and `--json` to a command that talks to the gateway. */
export function clientOptions(command: Command): Command {
  return command
    .option("-u, --url <url>", "the gateway's GraphQL URL (or DBB_URL, or cli.url in the config; default http://127.0.0.1:4000/graphql)")
    .option("-c, --config <file>", "YAML configuration file (cli.url, cli.token)")
    .option("--json", "print the answer as JSON on stdout, and nothing else there");
}

export interface Gateway {
  client: GraphqlClient;
  url: string;
  /** The token, if one is set (DBB_TOKEN or cli.token). */
  token?: string;
  /** The token, or an UNAUTHENTICATED error saying how to get one with the scope the command needs. */
  requireToken(scope: string): string;
}

/** The gateway a client command talks to: `--url`, else DBB_URL, else `cli.url`; the token from DBB_TOKEN or `cli.token`. */
export function gatewayOf(opts: ClientOptions): Gateway {
  const config = loadConfig(opts.config);
  const url = opts.url ?? config.cli.url;
  const token = config.cli.token;
  return {
    url,
    token,
    client: new GraphqlClient({ url, token, userAgent: `dbb-cli/${process.pid}` }),
    requireToken(scope: string) {
      if (token) return token;
      throw new DbbError(
        ErrorCode.UNAUTHENTICATED,
        `this command needs a token with the scope '${scope}': set DBB_TOKEN (or cli.token in the config) to one, ` +
          `e.g. DBB_TOKEN=$(dbb token --subject $USER --scope ${scope}) where the signing key is, or ask the Data Backbone operators for one`,
      );
    },
  };
}

/** A FACILITY_UNAVAILABLE error's facility code. */
function facilityOf(e: { message: string; extensions?: Record<string, unknown> }): string {
  const ext = e.extensions ?? {};
  return String(ext.facility ?? ext.facilityCode ?? /facility (\S+)/.exec(e.message)?.[1] ?? "?");
}

/**
 * An answer's data, allowing a partial one: errors that are all FACILITY_UNAVAILABLE (with data
 * present) give the data and the unavailable facilities; any other error is thrown as a DbbError.
 */
export function partialData<T>(answer: GraphqlAnswer<T>, url: string): { data: T; unavailable: string[] } {
  const others = answer.errors.filter((e) => e.extensions?.code !== ErrorCode.FACILITY_UNAVAILABLE);
  if (others.length) throw errorOf(others[0]);
  if (answer.data === null) throw new DbbError(ErrorCode.HTTP_ERROR, `${url} answered without data`, { url });
  const unavailable = [...new Set(answer.errors.map(facilityOf))].sort();
  return { data: answer.data, unavailable };
}

// ── output ────────────────────────────────────────────────────────────────────────────────────

/** A line for people on stderr (progress, warnings): never mixed into the answer on stdout. */
export function note(message: string): void {
  process.stderr.write(message.endsWith("\n") ? message : message + "\n");
}

/** The answer: with --json the value as one JSON document, else the text lines. */
export function emit(opts: { json?: boolean }, value: unknown, text: () => string | string[]): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify(value, null, 2) + "\n");
    return;
  }
  const t = text();
  const out = Array.isArray(t) ? t.join("\n") : t;
  if (out) process.stdout.write(out.endsWith("\n") ? out : out + "\n");
}

/** `key: value` lines with the values aligned; empty values (null, "") are left out. */
export function fieldLines(rows: Array<[string, string | number | boolean | null]>): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.filter(([, v]) => v !== null && v !== "").map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${v}`);
}

/** Columns aligned on their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

/** What a person should do about an error, after its message. */
function adviceFor(err: DbbError, url?: string): string | undefined {
  const scopes = err.details.requiredScopes as string[] | undefined;
  switch (err.code) {
    case ErrorCode.FORBIDDEN:
      return scopes?.length ? `the token needs the scope ${scopes.map((s) => `'${s}'`).join(" or ")}; get a token that has it` : undefined;
    case ErrorCode.UNAUTHENTICATED:
      return /DBB_TOKEN/.test(err.message) ? undefined : "set DBB_TOKEN to a valid token (a new one from `dbb token`, or from the Data Backbone operators)";
    case ErrorCode.NETWORK:
    case ErrorCode.TIMEOUT:
      return `is the gateway running there? Point the command at it with --url, DBB_URL or cli.url${url ? ` (now ${url})` : ""}`;
    default:
      return undefined;
  }
}

/** Prints an error on stderr (and with --json also as {"error": …} on stdout); returns its exit code. */
export function reportError(err: unknown, opts: { json?: boolean; url?: string } = {}): ExitCode {
  const usage = err instanceof UsageError;
  const dbb = err instanceof DbbError ? err : undefined;
  const message = (err as Error)?.message ?? String(err);
  const advice = dbb ? adviceFor(dbb, opts.url) : undefined;
  process.stderr.write(`dbb: ${message}${dbb ? ` [${dbb.code}]` : ""}${advice ? `\n  ${advice}` : ""}\n`);
  if (opts.json) {
    const error = { code: dbb?.code ?? (usage ? "USAGE" : "ERROR"), message, ...(dbb ? { details: dbb.details } : {}) };
    process.stdout.write(JSON.stringify({ error }) + "\n");
  }
  return usage ? ExitCode.USAGE : ExitCode.ERROR;
}

/**
 * A client command's action: runs `body` (which returns its exit code: OK, or PARTIAL when parts
 * of the answer are missing), turns thrown errors into a message and exit code 1 (2 for a
 * UsageError), and sets the process's exit code without cutting stdout short.
 */
export function clientAction<A extends unknown[]>(body: (...args: A) => Promise<ExitCode | void>) {
  return async (...args: A): Promise<void> => {
    // commander passes the positional arguments, then the options, then the command.
    const opts = (args[args.length - 2] ?? {}) as ClientOptions;
    let url: string | undefined;
    try {
      url = opts.url ?? process.env.DBB_URL;
      process.exitCode = (await body(...args)) ?? ExitCode.OK;
    } catch (err) {
      process.exitCode = reportError(err, { json: opts.json, url });
    }
  };
}

// ── services ──────────────────────────────────────────────────────────────────────────────────

/** Stops the service cleanly on Ctrl-C or SIGTERM, or when the `dbb dev` that started it is gone. */
export function stopOn(close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping…\n`);
    // A clean stop that hangs (a connection that never closes) must not leave the service running.
    setTimeout(() => {
      process.stderr.write(`did not stop within ${STOP_DEADLINE_MS / 1000} s; exiting\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    try {
      await close();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // A service that `dbb dev` started holds an IPC channel to it: when dev goes (even killed with
  // SIGKILL), the channel closes and the service stops too, instead of living on as an orphan.
  if (typeof process.send === "function") {
    if (process.connected) process.once("disconnect", () => void stop("parent process gone"));
    else void stop("parent process gone");
    // And should the channel's end go unnoticed: an orphan is adopted by another process.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void stop("parent process gone");
    }, 2000).unref();
  }
}

/** How long a stopping service may take before it exits anyway (the agent bounds its own clean stop at 20 s). */
const STOP_DEADLINE_MS = 30_000;
