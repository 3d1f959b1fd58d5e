import { createReadStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { checksumsOfStream } from "../lib/checksum";
import { DbbError, ErrorCode } from "../lib/errors";
import {
  chunks,
  clientAction,
  clientOptions,
  ClientOptions,
  collect,
  DidRef,
  emit,
  ExitCode,
  formatDid,
  Gateway,
  gatewayOf,
  integer,
  note,
  parseDid,
  readLines,
  UsageError,
} from "./options";
import { progressBar } from "./progress";

/**
 * `dbb did register|attach|meta set|meta get`: DIDs in the catalog, in bulk. `register` reads a
 * file list (path, size, adler32 a line; or local files with --compute), and per chunk adds the
 * DIDs and replicas that are not there yet, so a run that stopped is simply run again; a state
 * file beside the list says how far it got.
 */

interface RegisterLine {
  line: number;
  name: string;
  bytes: number;
  adler32: string;
  /** Only with --compute. */
  md5?: string;
  metadata?: Record<string, unknown>;
}

/** `key=value` → [key, value]; the value is JSON when it parses (numbers, true, null, objects), else text. */
export function metadataPair(text: string): [string, unknown] {
  const i = text.indexOf("=");
  if (i <= 0) throw new UsageError(`'${text}' is not key=value`);
  const raw = text.slice(i + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* text */
  }
  return [text.slice(0, i), value];
}

/** A line of a file list: PATH SIZE ADLER32 [METADATA-JSON]. */
function parseListLine(text: string, where: string): Omit<RegisterLine, "line"> {
  const m = /^(\S+)\s+(\d+)\s+([0-9a-fA-F]{1,8})(?:\s+(\{.*\}))?$/.exec(text);
  if (!m) throw new UsageError(`${where}: expected 'PATH SIZE ADLER32 [{"metadata": …}]', got '${text.slice(0, 120)}'`);
  let metadata: Record<string, unknown> | undefined;
  if (m[4]) {
    try {
      metadata = JSON.parse(m[4]);
    } catch (err) {
      throw new UsageError(`${where}: the metadata is not JSON: ${(err as Error).message}`);
    }
  }
  return { name: m[1], bytes: Number(m[2]), adler32: m[3].toLowerCase().padStart(8, "0"), metadata };
}

interface RegisterOptions extends ClientOptions {
  rse: string;
  scope: string;
  compute?: boolean;
  root?: string;
  meta: string[];
  chunk: number;
  state?: string;
  restart?: boolean;
}

/** How far a register run got: written after every chunk. */
export interface RegisterState {
  list: string;
  rse: string;
  scope: string;
  lines: number;
  /** Lines done (every DID and replica of them registered). */
  done: number;
  didsAdded: number;
  didsExisting: number;
  replicasAdded: number;
  replicasExisting: number;
  complete: boolean;
  error?: { line: number; code: string; message: string };
}

async function registerChunk(gw: Gateway, scope: string, rse: string, part: RegisterLine[], common: Record<string, unknown>, state: RegisterState): Promise<void> {
  const refs = part.map((l) => ({ scope, name: l.name }));
  const known = await gw.client.request<{ didsByRefs: Array<{ bytes: number | null; adler32: string | null; replicas: Array<{ rse: { name: string } }> } | null> }>(
    `query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { bytes adler32 replicas { rse { name } } } }`,
    { r: refs },
  );
  const newDids = [];
  const newReplicas = [];
  for (const [i, l] of part.entries()) {
    const d = known.didsByRefs[i];
    if (d) {
      if (d.bytes !== l.bytes || (d.adler32 && d.adler32 !== l.adler32)) {
        throw new DbbError(ErrorCode.DID_ALREADY_EXISTS, `line ${l.line}: ${scope}:${l.name} is registered with ${d.bytes} bytes, adler32 ${d.adler32}; the list says ${l.bytes} bytes, adler32 ${l.adler32}`, {
          line: l.line,
        });
      }
      state.didsExisting++;
    } else {
      const metadata = { ...common, ...(l.metadata ?? {}) };
      newDids.push({ scope, name: l.name, type: "FILE", bytes: l.bytes, adler32: l.adler32, ...(l.md5 ? { md5: l.md5 } : {}), ...(Object.keys(metadata).length ? { metadata } : {}) });
    }
    if (d?.replicas.some((r) => r.rse.name === rse)) state.replicasExisting++;
    else newReplicas.push({ scope, name: l.name, bytes: l.bytes, path: l.name });
  }
  if (newDids.length) await gw.client.request(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: newDids });
  state.didsAdded += newDids.length;
  if (newReplicas.length) await gw.client.request(`mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`, { rse, r: newReplicas });
  state.replicasAdded += newReplicas.length;
}

async function listLines(list: string, opts: RegisterOptions): Promise<RegisterLine[]> {
  const lines = readLines(list);
  if (!opts.compute) return lines.map((l) => ({ line: l.line, ...parseListLine(l.text, `${list} line ${l.line}`) }));
  const out: RegisterLine[] = [];
  const bar = progressBar("checksums", lines.length);
  try {
    for (const l of lines) {
      const file = path.resolve(opts.root ?? ".", l.text);
      let sum: { bytes: number; adler32: string; md5: string };
      try {
        sum = await checksumsOfStream(createReadStream(file));
      } catch (err) {
        throw new UsageError(`${list} line ${l.line}: cannot read ${file}: ${(err as Error).message}`);
      }
      const name = opts.root ? path.relative(path.resolve(opts.root), file) : l.text.replace(/^\.\//, "");
      if (name.startsWith("..") || path.isAbsolute(name)) throw new UsageError(`${list} line ${l.line}: ${l.text} is outside --root ${opts.root}`);
      out.push({ line: l.line, name, ...sum });
      bar.advance(1);
    }
  } finally {
    bar.stop();
  }
  return out;
}

function registerSummary(s: RegisterState): string {
  return (
    `${s.complete ? "registered" : "stopped after"} ${s.done} of ${s.lines} files on ${s.rse} in scope ${s.scope}: ` +
    `${s.didsAdded} new DIDs (${s.didsExisting} already there), ${s.replicasAdded} new replicas (${s.replicasExisting} already there)`
  );
}

export function registerDidCommands(program: Command): void {
  const did = program.command("did").description("data identifiers: register files in bulk, attach them to datasets, set and read metadata");

  clientOptions(
    did
      .command("register")
      .description("register files as DIDs with their replicas on an RSE, in chunks; run again to continue after a failure (token with catalog:write)")
      .argument("<file-list>", "one file a line: PATH SIZE ADLER32 [{metadata JSON}]; with --compute just local file paths (- for stdin)"),
  )
    .requiredOption("--rse <rse>", "the RSE the files are on")
    .requiredOption("--scope <scope>", "the scope of the DIDs (their names are the paths)")
    .option("--compute", "the list holds local files: size, adler32 and md5 are computed from them")
    .option("--root <dir>", "with --compute: names are the paths relative to this folder")
    .option("--meta <key=value>", "metadata for every DID (repeatable; values are JSON when they parse)", collect, [])
    .option("--chunk <n>", "files per request", integer(1, 10_000), 1000)
    .option("--state <file>", "where to keep how far the run got (default <file-list>.dbb-register.json)")
    .option("--restart", "ignore the state of an earlier run and check every line again")
    .addHelpText("after", "\nEach chunk adds only what is missing, so running the same command again after a failure continues where it stopped.")
    .action(
      clientAction(async (list: string, opts: RegisterOptions) => {
        const common = Object.fromEntries(opts.meta.map(metadataPair));
        const gw = gatewayOf(opts);
        gw.requireToken("catalog:write");
        const lines = await listLines(list, opts);
        const stateFile = opts.state ?? (list === "-" ? undefined : `${list}.dbb-register.json`);
        const fresh: RegisterState = { list: list === "-" ? "-" : path.resolve(list), rse: opts.rse, scope: opts.scope, lines: lines.length, done: 0, didsAdded: 0, didsExisting: 0, replicasAdded: 0, replicasExisting: 0, complete: false };
        let state = fresh;
        if (stateFile && existsSync(stateFile) && !opts.restart) {
          const before = JSON.parse(readFileSync(stateFile, "utf8")) as RegisterState;
          if (before.rse === opts.rse && before.scope === opts.scope && before.lines === lines.length && before.list === fresh.list) {
            state = { ...before, error: undefined };
            if (state.done > 0 && state.done < lines.length) note(`resuming ${list} at file ${state.done + 1} of ${lines.length} (state in ${stateFile}; --restart checks all again)`);
          }
        }
        const save = () => stateFile && writeFileSync(stateFile, JSON.stringify(state, null, 2) + "\n");
        const bar = progressBar("register", lines.length);
        bar.advance(state.done);
        try {
          for (const part of chunks(lines.slice(state.done), opts.chunk)) {
            try {
              await registerChunk(gw, opts.scope, opts.rse, part, common, state);
            } catch (err) {
              const e = err instanceof DbbError ? err : new DbbError(ErrorCode.INVALID_INPUT, (err as Error).message);
              state.error = { line: part[0].line, code: e.code, message: e.message };
              save();
              bar.stop();
              note(registerSummary(state));
              throw new DbbError(e.code, `${e.message}\n  stopped in the chunk from line ${part[0].line}; fix it and run the same command again to continue there`, e.details);
            }
            state.done += part.length;
            save();
            bar.advance(part.length);
          }
        } finally {
          bar.stop();
        }
        state.complete = true;
        save();
        emit(opts, { ...state, stateFile: stateFile ?? null }, () => registerSummary(state));
      }),
    );

  clientOptions(
    did
      .command("attach")
      .description("attach files to a dataset, or datasets and containers to a container (token with catalog:write)")
      .argument("<parent>", "the dataset or container, SCOPE:NAME")
      .argument("[children...]", "the DIDs to attach, SCOPE:NAME"),
  )
    .option("--from <file>", "more children, one SCOPE:NAME a line (- for stdin)")
    .option("--chunk <n>", "children per request", integer(1, 10_000), 1000)
    .action(
      clientAction(async (parentText: string, childTexts: string[], opts: ClientOptions & { from?: string; chunk: number }) => {
        const parent = parseDid(parentText);
        const children: DidRef[] = childTexts.map((c) => parseDid(c));
        if (opts.from) for (const l of readLines(opts.from)) children.push(parseDid(l.text, `${opts.from} line ${l.line}`));
        if (!children.length) throw new UsageError("attach what? give children as SCOPE:NAME arguments or --from FILE");
        const gw = gatewayOf(opts);
        gw.requireToken("catalog:write");
        let attached = 0;
        const bar = progressBar("attach", children.length);
        try {
          for (const part of chunks(children, opts.chunk)) {
            const data = await gw.client.request<{ attachDids: { count: number } }>(
              `mutation($p: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $p, children: $c) { count } }`,
              { p: parent, c: part },
            );
            attached += data.attachDids.count;
            bar.advance(part.length);
          }
        } finally {
          bar.stop();
        }
        emit(opts, { parent, children: children.length, attached }, () => `attached ${attached} new of ${children.length} to ${formatDid(parent)}`);
      }),
    );

  const meta = did.command("meta").description("a DID's metadata");
  clientOptions(
    meta
      .command("set")
      .description("set metadata keys of a DID; a value of null removes the key (token with catalog:write)")
      .argument("<did>", "SCOPE:NAME")
      .argument("<pairs...>", "key=value (values are JSON when they parse: 42, true, null, {\"a\": 1}; else text)"),
  )
    .option("--replace", "replace all metadata with these keys instead of merging")
    .action(
      clientAction(async (didText: string, pairs: string[], opts: ClientOptions & { replace?: boolean }) => {
        const ref = parseDid(didText);
        const metadata = Object.fromEntries(pairs.map(metadataPair));
        const gw = gatewayOf(opts);
        gw.requireToken("catalog:write");
        const data = await gw.client.request<{ setDidMetadata: { metadata: Record<string, unknown> } }>(
          `mutation($s: String!, $n: String!, $m: JSONObject!, $r: Boolean) { setDidMetadata(scope: $s, name: $n, metadata: $m, replace: $r) { metadata } }`,
          { s: ref.scope, n: ref.name, m: metadata, r: opts.replace ?? false },
        );
        const m = data.setDidMetadata.metadata;
        emit(opts, { ...ref, metadata: m }, () => metadataLines(m));
      }),
    );
  clientOptions(
    meta
      .command("get")
      .description("print a DID's metadata (all of it, or the keys asked)")
      .argument("<did>", "SCOPE:NAME")
      .argument("[keys...]", "only these keys"),
  ).action(
    clientAction(async (didText: string, keys: string[], opts: ClientOptions) => {
      const ref = parseDid(didText);
      const gw = gatewayOf(opts);
      const data = await gw.client.request<{ did: { metadata: Record<string, unknown> } }>(`query($s: String!, $n: String!) { did(scope: $s, name: $n) { metadata } }`, {
        s: ref.scope,
        n: ref.name,
      });
      const all = data.did.metadata;
      const m = keys.length ? Object.fromEntries(keys.filter((k) => k in all).map((k) => [k, all[k]])) : all;
      emit(opts, { ...ref, metadata: m }, () => metadataLines(m));
      const missing = keys.filter((k) => !(k in all));
      if (missing.length) {
        note(`dbb: ${formatDid(ref)} has no metadata key ${missing.map((k) => `'${k}'`).join(", ")}`);
        return ExitCode.ERROR;
      }
    }),
  );
}

function metadataLines(m: Record<string, unknown>): string[] {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}: ${typeof m[k] === "string" ? m[k] : JSON.stringify(m[k])}`);
}
