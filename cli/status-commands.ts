import type { Command } from "commander";
import {
  chunks,
  clientAction,
  clientOptions,
  ClientOptions,
  DidRef,
  emit,
  ExitCode,
  formatBytes,
  formatDid,
  Gateway,
  gatewayOf,
  integer,
  note,
  parseDid,
  partialData,
  readLines,
  table,
  UsageError,
} from "./options";
import { progressBar } from "./progress";

/**
 * `dbb status SCOPE:NAME… | --from FILE`: where are these files, are they complete and ingested
 * at each facility, which rules hold them. One `didsByRefs` a chunk (the catalog takes up to
 * 10,000 refs a call), then a summary line per facility. A dataset or container stands for the
 * files below it (--no-expand shows it as it is). A facility that does not answer leaves
 * its files' "ingested" unknown and the command exits 3 (partial).
 */

/** The most refs one didsByRefs call takes (subgraphs/replicas/did.ts MAX_DID_REFS). */
export const MAX_REFS_PER_CALL = 10_000;

const STATUS_QUERY = `query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { scope name type bytes
  replicas { facilityCode rse { name } state butlerDataset { id } } rules { id state rseExpression } } }`;

interface AnswerDid {
  scope: string;
  name: string;
  type: string;
  bytes: number | null;
  replicas: Array<{ facilityCode: string; rse: { name: string }; state: string; butlerDataset: { id: string } | null }>;
  rules: Array<{ id: string; state: string; rseExpression: string }>;
}

export interface DidStatus {
  scope: string;
  name: string;
  found: boolean;
  type: string | null;
  bytes: number | null;
  /** ingested: null when the facility did not answer. */
  replicas: Array<{ facility: string; rse: string; state: string; ingested: boolean | null }>;
  rules: Array<{ id: string; state: string; rseExpression: string }>;
}

export interface FacilitySummary {
  facility: string;
  /** Files of the list with an AVAILABLE replica at the facility. */
  files: number;
  bytes: number;
  /** files / files found, in per cent. */
  complete: number;
  /** Files whose replica there is in the facility's Butler registry (null when it did not answer). */
  ingested: number | null;
}

function statusOf(ref: DidRef, d: AnswerDid | null, unavailable: Set<string>): DidStatus {
  if (!d) return { ...ref, found: false, type: null, bytes: null, replicas: [], rules: [] };
  return {
    scope: d.scope,
    name: d.name,
    found: true,
    type: d.type,
    bytes: d.bytes,
    replicas: d.replicas.map((r) => ({
      facility: r.facilityCode,
      rse: r.rse.name,
      state: r.state,
      ingested: unavailable.has(r.facilityCode.toLowerCase()) ? null : r.butlerDataset !== null,
    })),
    rules: d.rules,
  };
}

export function summarize(dids: DidStatus[], facilities: string[], unavailable: Set<string>): FacilitySummary[] {
  const found = dids.filter((d) => d.found).length;
  const byCode = new Map<string, FacilitySummary>();
  const key = (c: string) => c.toLowerCase();
  for (const code of facilities) byCode.set(key(code), { facility: code, files: 0, bytes: 0, complete: 0, ingested: unavailable.has(key(code)) ? null : 0 });
  for (const d of dids) {
    const seen = new Set<string>();
    for (const r of d.replicas) {
      if (!byCode.has(key(r.facility))) byCode.set(key(r.facility), { facility: r.facility, files: 0, bytes: 0, complete: 0, ingested: unavailable.has(key(r.facility)) ? null : 0 });
      if (r.state !== "AVAILABLE" || seen.has(key(r.facility))) continue;
      seen.add(key(r.facility));
      const s = byCode.get(key(r.facility))!;
      s.files++;
      s.bytes += d.bytes ?? 0;
      if (s.ingested !== null && r.ingested) s.ingested++;
    }
  }
  const out = [...byCode.values()];
  for (const s of out) s.complete = found ? Math.round((1000 * s.files) / found) / 10 : 0;
  return out;
}

/** Every file below a dataset or container, by scope and name. */
async function filesOf(gw: Gateway, d: AnswerDid): Promise<DidRef[]> {
  const out: DidRef[] = [];
  let after: string | null = null;
  for (;;) {
    const data: { did: { files: { nodes: DidRef[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } } = await gw.client.request(
      `query($s: String!, $n: String!, $after: String) { did(scope: $s, name: $n) { files(first: 10000, after: $after) { nodes { scope name } pageInfo { hasNextPage endCursor } } } }`,
      { s: d.scope, n: d.name, after },
    );
    out.push(...data.did.files.nodes);
    if (!data.did.files.pageInfo.hasNextPage) return out;
    after = data.did.files.pageInfo.endCursor;
  }
}

function didLines(d: DidStatus): string[] {
  if (!d.found) return [`${formatDid(d)}  NOT FOUND`, ""];
  const rules = d.rules.length ? d.rules.map((r) => `${r.id} ${r.state} (${r.rseExpression})`).join(", ") : "none";
  const head = `${formatDid(d)}  ${d.type ?? ""}${d.bytes !== null ? `  ${formatBytes(d.bytes)}` : ""}  rules: ${rules}`;
  if (!d.replicas.length) return [head, "  no replicas", ""];
  const rows = table(
    ["FACILITY", "RSE", "STATE", "INGESTED"],
    d.replicas.map((r) => [r.facility, r.rse, r.state, r.ingested === null ? "unknown (facility unavailable)" : r.ingested ? "yes" : "no"]),
  );
  return [head, ...rows.map((l) => `  ${l}`), ""];
}

interface StatusOptions extends ClientOptions {
  from?: string;
  /** false with --no-expand. */
  expand?: boolean;
  chunk: number;
  summary?: boolean;
}

export function registerStatusCommands(program: Command): void {
  clientOptions(
    program
      .command("status")
      .description("where DIDs are: per DID its replicas (facility, RSE, state, ingested or not) and rules; then per facility files, bytes and % complete")
      .argument("[dids...]", "DIDs as SCOPE:NAME"),
  )
    .option("--from <file>", "read DIDs from a file, one SCOPE:NAME a line (blank lines and # comments skipped; - for stdin)")
    .option("--chunk <n>", `DIDs per request (at most ${MAX_REFS_PER_CALL})`, integer(1, MAX_REFS_PER_CALL), 1000)
    .option("--summary", "print only the per-facility summary (with --json: no per-DID list)")
    .option("--no-expand", "show datasets and containers as they are instead of the files below them")
    .addHelpText("after", "\nExit codes: 0 all found; 1 an error or DIDs not found; 3 some facility did not answer (its 'ingested' is unknown).")
    .action(
      clientAction(async (args: string[], opts: StatusOptions) => {
        const refs = args.map((a) => parseDid(a));
        if (opts.from) for (const l of readLines(opts.from)) refs.push(parseDid(l.text, `${opts.from} line ${l.line}`));
        if (!refs.length) throw new UsageError("which DIDs? give SCOPE:NAME arguments or --from FILE (one a line)");
        const gw = gatewayOf(opts);
        const facilities = (await gw.client.request<{ facilities: Array<{ code: string }> }>(`{ facilities { code } }`)).facilities.map((f) => f.code);

        const unavailable = new Set<string>();
        const lookup = async (list: DidRef[], label: string): Promise<Array<AnswerDid | null>> => {
          const out: Array<AnswerDid | null> = [];
          const bar = progressBar(label, list.length);
          try {
            for (const part of chunks(list, opts.chunk)) {
              const answer = await gw.client.send<{ didsByRefs: Array<AnswerDid | null> }>(STATUS_QUERY, { r: part });
              const { data, unavailable: down } = partialData(answer, gw.url);
              for (const code of down) unavailable.add(code.toLowerCase());
              out.push(...data.didsByRefs);
              bar.advance(part.length);
            }
          } finally {
            bar.stop();
          }
          return out;
        };
        const firstPass = await lookup(refs, "status");
        // Datasets and containers stand for their files: each is replaced by the files below it.
        const collections: Array<{ scope: string; name: string; type: string; files: number }> = [];
        const order: Array<{ ref: DidRef; answer: AnswerDid | null } | { files: DidRef[] }> = [];
        for (const [i, ref] of refs.entries()) {
          const a = firstPass[i];
          if (!a || a.type === "FILE" || opts.expand === false) order.push({ ref, answer: a });
          else {
            const files = await filesOf(gw, a);
            collections.push({ scope: a.scope, name: a.name, type: a.type, files: files.length });
            order.push({ files });
          }
        }
        const expanded = order.flatMap((o) => ("files" in o ? o.files : []));
        const expandedAnswers = expanded.length ? await lookup(expanded, "files") : [];
        let next = 0;
        const listed = order.flatMap((o) => ("files" in o ? o.files.map((f) => ({ ref: f, answer: expandedAnswers[next++] })) : [o]));
        const dids = listed.map((o) => statusOf(o.ref, o.answer, unavailable));
        const summary = summarize(dids, facilities, unavailable);
        const notFound = dids.filter((d) => !d.found).length;
        const down = facilities.filter((f) => unavailable.has(f.toLowerCase()));
        for (const code of unavailable) if (!down.some((f) => f.toLowerCase() === code)) down.push(code);

        emit(opts, { dids: opts.summary ? undefined : dids, collections, facilities: summary, total: dids.length, notFound, unavailable: down }, () => [
          ...collections.map((c) => `${formatDid(c)}  ${c.type}: ${c.files} files`),
          ...(collections.length ? [""] : []),
          ...(opts.summary ? [] : dids.flatMap(didLines)),
          ...table(
            ["FACILITY", "FILES", "BYTES", "COMPLETE", "INGESTED"],
            summary.map((s) => [s.facility, String(s.files), formatBytes(s.bytes), `${s.complete.toFixed(1)}%`, s.ingested === null ? "unknown" : String(s.ingested)]),
          ),
          `${dids.length} DIDs, ${dids.length - notFound} found${notFound ? `, ${notFound} not found` : ""}`,
        ]);
        if (down.length) note(`dbb: facility ${down.join(", ")} did not answer: whether files are ingested there is unknown [FACILITY_UNAVAILABLE]`);
        if (notFound) {
          note(`dbb: ${notFound} of ${dids.length} DIDs not found in the catalog`);
          return ExitCode.ERROR;
        }
        return down.length ? ExitCode.PARTIAL : ExitCode.OK;
      }),
    );
}
