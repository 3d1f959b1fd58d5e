import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { loadConfig } from "../lib/config";
import { DbbError, ErrorCode } from "../lib/errors";
import { GraphqlClient } from "../lib/graphql-client";
import type { RemovalCounts as RemovedCounts } from "../subgraphs/facility/removal";
import type { ImportSummary } from "../subgraphs/facility/transfers/import";
import { readZipMember } from "../subgraphs/facility/transfers/zip-file";
import { clientAction, collect, emit, note, UsageError } from "./options";

/**
 * `dbb butler import|export|remove-runs|remove-collections|prune-datasets`: the Butler registry
 * of one facility, talked to over GraphQL at the facility's service (its registry is its own;
 * `--url`, default http://<facility.host>:<facility.port>/graphql). The token comes from
 * DBB_TOKEN or cli.token, as for every client command.
 */

interface ButlerOptions {
  facility: string;
  url?: string;
  config?: string;
  json?: boolean;
}

interface FacilityClient {
  client: GraphqlClient;
  url: string;
  /** The token, or UNAUTHENTICATED saying how to get one for this facility. */
  token(): string;
}

function facilityClient(opts: ButlerOptions): FacilityClient {
  const config = loadConfig(opts.config);
  const url = opts.url ?? `http://${config.facility.host}:${config.facility.port}/graphql`;
  const token = config.cli.token;
  return {
    url,
    client: new GraphqlClient({ url, token, userAgent: `dbb-cli/${process.pid}` }),
    token() {
      if (token) return token;
      throw new DbbError(
        ErrorCode.UNAUTHENTICATED,
        `this command needs a token with the scope 'agent:${opts.facility}' or 'butler:admin': set DBB_TOKEN (or cli.token in the config) to one (see \`dbb token\`)`,
      );
    },
  };
}

/** Refuses to talk to a service that serves another facility than the one asked for. */
async function checkFacility(opts: ButlerOptions, f: FacilityClient): Promise<void> {
  const data = await f.client.request<{ localFacility: { code: string } }>(`{ localFacility { code } }`);
  if (data.localFacility.code.toLowerCase() !== opts.facility.toLowerCase()) {
    throw new DbbError(ErrorCode.INVALID_INPUT, `the service at ${f.url} serves facility ${data.localFacility.code}, not ${opts.facility}`);
  }
}

/** The import file's text: a YAML export, a zip index JSON, or a Butler zip (its index is read). */
function importContent(file: string): string {
  const bytes = readFileSync(file);
  if (bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    const index = readZipMember(bytes, "_butler_zip_index.json");
    if (!index) throw new Error(`${file} is a zip file without _butler_zip_index.json: not a Butler zip`);
    return index.toString("utf8");
  }
  return bytes.toString("utf8");
}

/** What a removal answers: the counts its query selects. */
type RemovalCounts = Omit<RemovedCounts, "dryRun">;

interface RemovalOptions extends ButlerOptions {
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
}

function describeRemoval(r: RemovalCounts): string {
  const parts = [`${r.datasets} datasets (${r.fileRecords} file records, ${r.associations} tags and certifications)`];
  if (r.runs || r.collections || r.collectionNames.length) parts.push(`${r.runs} runs`, `${r.collections} other collections`);
  if (r.chainLinks) parts.push(`${r.chainLinks} chain links`);
  const names = r.collectionNames.length ? `: ${r.collectionNames.join(", ")}` : "";
  return parts.join(", ") + names;
}

/**
 * A removal as daf_butler's commands do it: say what would go (a dry run), stop there with
 * --dry-run, otherwise ask (unless --yes; without a terminal to ask on, refuse), then remove and
 * print what went.
 */
async function runRemoval(opts: RemovalOptions, what: string, send: (f: FacilityClient, dryRun: boolean) => Promise<RemovalCounts>): Promise<void> {
  const f = facilityClient(opts);
  f.token();
  await checkFacility(opts, f);
  const planned = await send(f, true);
  const nothing = !planned.datasets && !planned.runs && !planned.collections && !planned.chainLinks && !planned.associations;
  // With --json the plan is a message (stderr), the answer is what was removed.
  const say = (line: string) => (opts.json ? note(line) : process.stdout.write(line + "\n"));
  say(`${opts.dryRun ? "would remove" : "to remove"} from ${opts.facility}: ${describeRemoval(planned)}`);
  if (opts.dryRun) return emit(opts, { facility: opts.facility, dryRun: true, removed: planned }, () => []);
  if (nothing) {
    say("nothing to remove");
    return emit(opts, { facility: opts.facility, dryRun: false, removed: planned }, () => []);
  }
  if (!opts.yes) {
    if (!process.stdin.isTTY) {
      throw new DbbError(ErrorCode.INVALID_INPUT, `refusing to remove ${what} without confirmation: standard input is not a terminal to ask on; pass --yes to remove without asking, or --dry-run to only see what would go`);
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`remove them from ${opts.facility}? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      say("nothing removed");
      return emit(opts, { facility: opts.facility, dryRun: false, removed: null }, () => []);
    }
  }
  const done = await send(f, false);
  emit(opts, { facility: opts.facility, dryRun: false, removed: done }, () => `removed from ${opts.facility}: ${describeRemoval(done)}`);
}

const REMOVAL_FIELDS = "datasets runs collections fileRecords associations chainLinks collectionNames";

/** Dataset IDs from the arguments and, with --ids-file, a file of one ID a line (blank lines and # comments skipped). */
function datasetIds(ids: string[], file?: string): string[] {
  const fromFile = file
    ? readFileSync(file, "utf8")
        .split(/\r?\n/)
        .map((l) => l.replace(/#.*/, "").trim())
        .filter(Boolean)
    : [];
  const all = [...ids, ...fromFile];
  if (!all.length) throw new UsageError("which datasets? give their IDs as arguments or in --ids-file FILE (one a line)");
  return all;
}

function removalCommand(butler: Command, name: string, description: string) {
  return butler
    .command(name)
    .description(description)
    .requiredOption("-f, --facility <code>", "the facility whose registry to change")
    .option("-u, --url <url>", "the facility service's GraphQL URL (default http://<facility.host>:<facility.port>/graphql)")
    .option("--dry-run", "only say what would be removed")
    .option("-y, --yes", "remove without asking")
    .option("-c, --config <file>", "YAML configuration file")
    .option("--json", "print the counts as JSON on stdout, and nothing else there");
}

export function registerButlerCommands(program: Command): void {
  const butler = program.command("butler").description("the Butler registry of a facility: import, export and remove datasets");
  butler
    .command("import")
    .description("import a daf_butler YAML export, a Butler zip, or its _butler_zip_index.json into a facility's registry (token from DBB_TOKEN)")
    .argument("<file>", "the export file")
    .requiredOption("-f, --facility <code>", "the facility whose registry receives the data")
    .option("-u, --url <url>", "the facility service's GraphQL URL (default http://<facility.host>:<facility.port>/graphql)")
    .option("--did-scope <scope>", "record each file as the DID (scope, path) it came from")
    .option("-c, --config <file>", "YAML configuration file")
    .option("--json", "print the import summary as JSON on stdout, and nothing else there")
    .action(
      clientAction(async (file: string, opts: ButlerOptions & { didScope?: string }) => {
        const f = facilityClient(opts);
        f.token();
        const content = importContent(file);
        await checkFacility(opts, f);
        const data = await f.client.request<{ importButlerData: ImportSummary }>(
          `mutation($content: String!, $didScope: String) { importButlerData(content: $content, didScope: $didScope) {
             format datasetTypes collections dimensionRecordsInserted datasets datasetsInserted associations
             conflictingRecordsKept conflictingRecordExamples { element key fields stored given } } }`,
          { content, didScope: opts.didScope ?? null },
        );
        const r = data.importButlerData;
        emit(opts, { file, facility: opts.facility, ...r }, () => {
          const lines = [
            `imported ${file} (${r.format}) into ${opts.facility}: ${r.datasets} datasets (${r.datasetsInserted} new), ` +
              `${r.dimensionRecordsInserted} new dimension records, ${r.datasetTypes} dataset types, ${r.collections} collections, ${r.associations} associations, ` +
              `${r.conflictingRecordsKept} differing dimension records kept as stored`,
          ];
          for (const c of r.conflictingRecordExamples) {
            const show = (v: Record<string, unknown>) => c.fields.map((k) => `${k}=${JSON.stringify(v[k])}`).join(", ");
            lines.push(`  kept ${c.element} ${JSON.stringify(c.key)}: stored ${show(c.stored)}; the file has ${show(c.given)}`);
          }
          if (r.conflictingRecordsKept > r.conflictingRecordExamples.length) {
            lines.push(`  … and ${r.conflictingRecordsKept - r.conflictingRecordExamples.length} more`);
          }
          return lines;
        });
      }),
    );
  butler
    .command("export")
    .description("write datasets of a facility's registry in daf_butler's YAML export format")
    .requiredOption("-f, --facility <code>", "the facility whose registry is read")
    .option("-u, --url <url>", "the facility service's GraphQL URL")
    .option("-t, --dataset-type <name>", "dataset type name or glob (default all)")
    .option("--collection <name>", "collection name or glob, in search order (repeatable; default all)", collect, [])
    .option("-w, --where <expression>", "a daf_butler where expression")
    .option("-o, --output <file>", "write here instead of stdout")
    .option("-c, --config <file>", "YAML configuration file")
    .option("--json", 'print {"facility", "output", "bytes"} (with -o) or {"facility", "content"} as JSON instead')
    .action(
      clientAction(async (opts: ButlerOptions & { datasetType?: string; collection: string[]; where?: string; output?: string }) => {
        const f = facilityClient(opts);
        await checkFacility(opts, f);
        const data = await f.client.request<{ localFacility: { exportButlerData: string } }>(
          `query($t: String, $c: [String!], $w: String) { localFacility { exportButlerData(datasetType: $t, collections: $c, where: $w) } }`,
          { t: opts.datasetType ?? null, c: opts.collection.length ? opts.collection : null, w: opts.where ?? null },
        );
        const content = data.localFacility.exportButlerData;
        if (opts.output) {
          writeFileSync(opts.output, content);
          note(`wrote ${opts.output}`);
          emit(opts, { facility: opts.facility, output: opts.output, bytes: Buffer.byteLength(content) }, () => []);
        } else if (opts.json) emit(opts, { facility: opts.facility, content }, () => []);
        else process.stdout.write(content);
      }),
    );

  removalCommand(butler, "remove-runs", "remove RUN collections with all their datasets, as `butler remove-runs` (token from DBB_TOKEN)")
    .argument("<names...>", "run names or globs")
    .option("--force", "also remove runs that are in CHAINED collections (they are dropped from the chains)")
    .action(
      clientAction(async (names: string[], opts: RemovalOptions) => {
        await runRemoval(opts, "runs", async (f, dryRun) => {
          const data = await f.client.request<{ removeRuns: RemovalCounts }>(
            `mutation($f: String, $n: [String!]!, $force: Boolean, $dry: Boolean) { removeRuns(facility: $f, names: $n, force: $force, dryRun: $dry) { ${REMOVAL_FIELDS} } }`,
            { f: opts.facility, n: names, force: opts.force ?? false, dry: dryRun },
          );
          return data.removeRuns;
        });
      }),
    );
  removalCommand(butler, "remove-collections", "remove TAGGED, CHAINED and CALIBRATION collections (not their datasets), as `butler remove-collections` (token from DBB_TOKEN)")
    .argument("<names...>", "collection names or globs")
    .option("--force", "also remove collections that are in CHAINED collections (they are dropped from the chains)")
    .action(
      clientAction(async (names: string[], opts: RemovalOptions) => {
        await runRemoval(opts, "collections", async (f, dryRun) => {
          const data = await f.client.request<{ removeCollections: RemovalCounts }>(
            `mutation($f: String, $n: [String!]!, $force: Boolean, $dry: Boolean) { removeCollections(facility: $f, names: $n, force: $force, dryRun: $dry) { ${REMOVAL_FIELDS} } }`,
            { f: opts.facility, n: names, force: opts.force ?? false, dry: dryRun },
          );
          return data.removeCollections;
        });
      }),
    );
  removalCommand(butler, "prune-datasets", "remove datasets by ID with their file records, tags and certifications, as `butler prune-datasets --purge` (token from DBB_TOKEN)")
    .argument("[ids...]", "dataset IDs (UUIDs)")
    .option("--ids-file <file>", "a file of dataset IDs, one a line")
    .action(
      clientAction(async (ids: string[], opts: RemovalOptions & { idsFile?: string }) => {
        const all = datasetIds(ids, opts.idsFile);
        await runRemoval(opts, "datasets", async (f, dryRun) => {
          const data = await f.client.request<{ removeDatasets: RemovalCounts }>(
            `mutation($f: String, $ids: [String!]!, $dry: Boolean) { removeDatasets(facility: $f, ids: $ids, dryRun: $dry) { ${REMOVAL_FIELDS} } }`,
            { f: opts.facility, ids: all, dry: dryRun },
          );
          return data.removeDatasets;
        });
      }),
    );
}
