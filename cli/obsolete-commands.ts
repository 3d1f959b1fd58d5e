import type { Command } from "commander";
import type { RemovalView as Removal } from "../subgraphs/replicas/removal";
import { collect, choiceOption, clientAction, clientOptions, ClientOptions, emit, formatBytes, gatewayOf, integer, parseDid, readLines, table, UsageError } from "./options";

/**
 * `dbb obsolete` and `dbb removal show|list|cancel`: campaign removal (markObsolete) through the
 * gateway. Retiring data needs a token with catalog:remove (catalog:admin has it).
 */

const FACILITY_FIELDS = "facility state resolved filesPlanned filesDeleted datasetsRemoved collectionsRemoved bytesFreed kept errors lastError";
const REMOVAL_FIELDS = `id state dryRun requestedBy reason origin runs collections facilities rulesRemoved createdAt finishedAt
  dids { scope name } perFacility { ${FACILITY_FIELDS} }`;

interface RemovalFile {
  scope: string;
  name: string;
  facility: string;
  state: string;
  reason: string | null;
  lastError: string | null;
}

/** A removal as the gateway answers it (times as ISO text). */
type RemovalView = Omit<Removal, "createdAt" | "finishedAt" | "updatedAt" | "dryRunFiles"> & {
  createdAt: string;
  finishedAt: string | null;
  files?: { totalCount: number; nodes: RemovalFile[] };
};

function removalLines(r: RemovalView): string[] {
  const named = [
    ...r.runs.map((x) => `run ${x}`),
    ...r.collections.map((x) => `collection ${x}`),
    ...r.dids.map((d) => `${d.scope}:${d.name}`),
  ];
  const head = [
    r.dryRun ? "dry run: nothing was written" : `removal ${r.id}: ${r.state}`,
    `  asked by ${r.requestedBy}${r.origin === "expiry" ? " (lifetime expired)" : ""}: ${r.reason}`,
    `  retires ${named.join(", ") || "(nothing)"}${r.facilities ? ` at ${r.facilities.join(", ")}` : " everywhere"}`,
    `  rules removed: ${r.rulesRemoved}`,
    "",
  ];
  const rows = r.perFacility.map((p) => [
    p.facility,
    p.state + (p.resolved ? "" : " (asking)"),
    `${p.filesDeleted}/${p.filesPlanned}`,
    String(p.kept),
    p.datasetsRemoved === null ? "?" : String(p.datasetsRemoved),
    formatBytes(p.bytesFreed),
    String(p.errors),
    p.lastError ?? "",
  ]);
  const files = r.files
    ? ["", ...table(["FACILITY", "STATE", "FILE", "WHY"], r.files.nodes.map((f) => [f.facility, f.state, `${f.scope}:${f.name}`, f.reason ?? f.lastError ?? ""])),
       ...(r.files.totalCount > r.files.nodes.length ? [`(${r.files.nodes.length} of ${r.files.totalCount})`] : [])]
    : [];
  return [...head, ...table(["FACILITY", "STATE", "DELETED/PLANNED", "KEPT", "DATASETS", "FREED", "ERRORS", "LAST ERROR"], rows), ...files];
}

interface ObsoleteOptions extends ClientOptions {
  run: string[];
  collection: string[];
  did: string[];
  from?: string;
  facility: string[];
  reason?: string;
  dryRun?: boolean;
}

/** The file list of `--from`: one SCOPE:NAME a line (blank lines and # comments skipped). */
function didsFrom(file: string) {
  return readLines(file).map(({ line, text }) => parseDid(text, `${file}:${line}`));
}

export function registerObsoleteCommands(program: Command): void {
  clientOptions(
    program
      .command("obsolete")
      .description(
        "retire obsolete runs, collections and DIDs at every facility (or --facility): their rules go, their copies and Butler datasets are deleted; " +
          "copies something still wants are kept and listed with the reason (token with catalog:remove)",
      ),
  )
    .option("--run <name>", "a Butler RUN collection (name or glob; repeatable)", collect, [])
    .option("--collection <name>", "a Butler collection of any type (CHAINED through its children; repeatable)", collect, [])
    .option("--did <scope:name>", "a catalog DID: file, dataset or container (repeatable)", collect, [])
    .option("--from <file>", "more DIDs, one SCOPE:NAME a line")
    .option("--facility <code>", "only at this facility (repeatable; default every facility)", collect, [])
    .option("--reason <text>", "why the data is no longer needed (required; recorded with the removal)")
    .option("--dry-run", "show what would be deleted and kept, change nothing")
    .option("--files", "also list the copies kept (with the reason)")
    .action(
      clientAction(async (opts: ObsoleteOptions & { files?: boolean }) => {
        const dids = [...opts.did.map((d) => parseDid(d)), ...(opts.from ? didsFrom(opts.from) : [])];
        if (!opts.run.length && !opts.collection.length && !dids.length) throw new UsageError("name something to retire: --run, --collection, --did or --from");
        if (!opts.reason?.trim()) throw new UsageError("--reason is required: say why the data is no longer needed");
        const gw = gatewayOf(opts);
        gw.requireToken("catalog:remove");
        const input = {
          runs: opts.run,
          collections: opts.collection,
          dids,
          facilities: opts.facility.length ? opts.facility : null,
          reason: opts.reason,
          dryRun: opts.dryRun ?? false,
        };
        const files = opts.files || opts.dryRun ? `files(state: KEPT, first: 1000) { totalCount nodes { scope name facility state reason lastError } }` : "";
        const data = await gw.client.request<{ markObsolete: RemovalView }>(`mutation($i: MarkObsoleteInput!) { markObsolete(input: $i) { ${REMOVAL_FIELDS} ${files} } }`, { i: input });
        const r = data.markObsolete;
        emit(opts, r, () => [...removalLines(r), ...(r.dryRun ? [] : ["", `follow it with: dbb removal show ${r.id}`])]);
      }),
    );

  const removal = program.command("removal").description("campaign removals: their progress per facility, what they kept and why");

  clientOptions(removal.command("show").description("one removal: per facility copies deleted/planned, kept, Butler datasets removed, bytes freed, errors").argument("<id>", "the removal's id"))
    .addOption(choiceOption("--files <state>", "also list its copies in this state (KEPT with the reason, PLANNED with the last error, DELETED, CANCELLED)", ["PLANNED", "DELETED", "KEPT", "CANCELLED"]))
    .option("--facility <code>", "with --files: only at this facility")
    .option("--limit <n>", "with --files: at most this many (default 1000)", integer(1, 10000))
    .action(
      clientAction(async (id: string, opts: ClientOptions & { files?: string; facility?: string; limit?: number }) => {
        const gw = gatewayOf(opts);
        const files = opts.files ? `files(state: ${opts.files}, facility: $f, first: ${opts.limit ?? 1000}) { totalCount nodes { scope name facility state reason lastError } }` : "";
        const data = await gw.client.request<{ removal: RemovalView }>(`query($id: String!${files ? ", $f: String" : ""}) { removal(id: $id) { ${REMOVAL_FIELDS} ${files} } }`, {
          id,
          ...(files ? { f: opts.facility ?? null } : {}),
        });
        emit(opts, data.removal, () => removalLines(data.removal));
      }),
    );

  clientOptions(removal.command("list").description("removals, newest first"))
    .addOption(choiceOption("--state <state>", "PLANNED, RUNNING, DONE or CANCELLED", ["PLANNED", "RUNNING", "DONE", "CANCELLED"]))
    .option("--requested-by <account>", "asked by this account")
    .option("--limit <n>", "at most this many (default 100)", integer(1, 10000))
    .action(
      clientAction(async (opts: ClientOptions & { state?: string; requestedBy?: string; limit?: number }) => {
        const gw = gatewayOf(opts);
        const data = await gw.client.request<{ removals: { totalCount: number; nodes: RemovalView[] } }>(
          `query($s: RemovalState, $a: String, $n: Int) { removals(state: $s, requestedBy: $a, first: $n) { totalCount nodes { ${REMOVAL_FIELDS} } } }`,
          { s: opts.state ?? null, a: opts.requestedBy ?? null, n: opts.limit ?? 100 },
        );
        const { nodes, totalCount } = data.removals;
        emit(opts, data.removals, () => [
          ...table(
            ["ID", "STATE", "ASKED BY", "CREATED", "DELETED/PLANNED", "KEPT", "REASON"],
            nodes.map((r) => [
              r.id ?? "",
              r.state,
              r.requestedBy,
              r.createdAt,
              `${r.perFacility.reduce((n, p) => n + p.filesDeleted, 0)}/${r.perFacility.reduce((n, p) => n + p.filesPlanned, 0)}`,
              String(r.perFacility.reduce((n, p) => n + p.kept, 0)),
              r.reason,
            ]),
          ),
          ...(totalCount > nodes.length ? [`(${nodes.length} of ${totalCount}; raise --limit for more)`] : []),
        ]);
      }),
    );

  clientOptions(removal.command("cancel").description("cancel a removal while files are pending: copies no agent took yet are kept (token with catalog:remove)").argument("<id>", "the removal's id")).action(
    clientAction(async (id: string, opts: ClientOptions) => {
      const gw = gatewayOf(opts);
      gw.requireToken("catalog:remove");
      const data = await gw.client.request<{ cancelRemoval: RemovalView }>(`mutation($id: String!) { cancelRemoval(id: $id) { ${REMOVAL_FIELDS} } }`, { id });
      emit(opts, data.cancelRemoval, () => removalLines(data.cancelRemoval));
    }),
  );
}
