import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { loadConfig } from "../lib/config";
import { DbbError, ErrorCode } from "../lib/errors";
import { startFacilityService } from "../subgraphs/facility/service";
import type { RemovalCounts as RemovedCounts } from "../subgraphs/facility/removal";
import type { ImportSummary } from "../subgraphs/facility/transfers/import";
import { readZipMember } from "../subgraphs/facility/transfers/zip-file";
import { port, stopOn } from "./main";

/**
 * The facility's commands: `dbb serve facility` (the facility subgraph, the facility's Butler
 * registry view) and `dbb butler import|export|remove-runs|remove-collections|prune-datasets`,
 * which talk GraphQL to a facility service.
 */

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface ClientOptions {
  facility: string;
  url?: string;
  config?: string;
}

/** Sends one GraphQL operation to the facility's service; errors become DbbErrors with their code. */
async function facilityRequest<T>(opts: ClientOptions, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const config = loadConfig(opts.config);
  const url = opts.url ?? `http://${config.facility.host}:${config.facility.port}/graphql`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    throw new Error(`cannot reach the facility service at ${url}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) {
    const e = body.errors[0];
    throw new DbbError(e.extensions?.code ?? "INTERNAL_SERVER_ERROR", e.message, e.extensions ?? {});
  }
  if (!res.ok || !body.data) throw new Error(`the facility service at ${url} answered HTTP ${res.status}`);
  return body.data;
}

/** Refuses to talk to a service that serves another facility than the one asked for. */
async function checkFacility(opts: ClientOptions): Promise<void> {
  const data = await facilityRequest<{ localFacility: { code: string } }>(opts, `{ localFacility { code } }`, {});
  if (data.localFacility.code.toLowerCase() !== opts.facility.toLowerCase()) {
    throw new DbbError(ErrorCode.INVALID_INPUT, `the service at ${opts.url ?? "the configured URL"} serves facility ${data.localFacility.code}, not ${opts.facility}`);
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

interface RemovalOptions extends ClientOptions {
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
async function runRemoval(opts: RemovalOptions, what: string, send: (dryRun: boolean, token: string) => Promise<RemovalCounts>): Promise<void> {
  const token = process.env.DBB_TOKEN;
  if (!token) throw new Error("set DBB_TOKEN to a token with the scope agent:<FACILITY> or butler:admin (see `dbb token`)");
  await checkFacility(opts);
  const planned = await send(true, token);
  const nothing = !planned.datasets && !planned.runs && !planned.collections && !planned.chainLinks && !planned.associations;
  process.stdout.write(`${opts.dryRun ? "would remove" : "to remove"} from ${opts.facility}: ${describeRemoval(planned)}\n`);
  if (opts.dryRun) return;
  if (nothing) {
    process.stdout.write(`nothing to remove\n`);
    return;
  }
  if (!opts.yes) {
    if (!process.stdin.isTTY) {
      throw new DbbError(ErrorCode.INVALID_INPUT, `refusing to remove ${what} without confirmation: standard input is not a terminal to ask on; pass --yes to remove without asking, or --dry-run to only see what would go`);
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`remove them from ${opts.facility}? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      process.stdout.write("nothing removed\n");
      return;
    }
  }
  const done = await send(false, token);
  process.stdout.write(`removed from ${opts.facility}: ${describeRemoval(done)}\n`);
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
  if (!all.length) throw new DbbError(ErrorCode.INVALID_INPUT, "which datasets? give their IDs as arguments or in --ids-file FILE (one a line)");
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
    .option("-c, --config <file>", "YAML configuration file");
}

export function registerFacilityCommands(program: Command, serve: Command): void {
  serve
    .command("facility")
    .description("a facility subgraph: the facility's Butler registry view (POST /graphql, GET /health)")
    .option("-f, --facility <code>", "the facility served (USDF, FrDF, UKDF, SUMMIT, …; or facility.code / DBB_FACILITY)")
    .option("-p, --port <port>", "port to listen on (default 4002, or facility.port / DBB_FACILITY_PORT)", port)
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { facility?: string; port?: number; config?: string }) => {
      const config = loadConfig(opts.config);
      const code = opts.facility ?? config.facility.code;
      if (!code) throw new Error("which facility? give --facility CODE (or set facility.code / DBB_FACILITY)");
      const service = await startFacilityService(config, { code, port: opts.port });
      const where = service.database.kind === "embedded" ? `embedded database in ${config.dataDir}/facility-${service.code}` : "Postgres server";
      process.stderr.write(`facility ${service.code} ready at ${service.url} (${where}); Ctrl-C stops it\n`);
      stopOn(() => service.close());
    });

  const butler = program.command("butler").description("the Butler registry of a facility: import and export datasets");
  butler
    .command("import")
    .description("import a daf_butler YAML export, a Butler zip, or its _butler_zip_index.json into a facility's registry (token from DBB_TOKEN)")
    .argument("<file>", "the export file")
    .requiredOption("-f, --facility <code>", "the facility whose registry receives the data")
    .option("-u, --url <url>", "the facility service's GraphQL URL (default http://<facility.host>:<facility.port>/graphql)")
    .option("--did-scope <scope>", "record each file as the DID (scope, path) it came from")
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (file: string, opts: ClientOptions & { didScope?: string }) => {
      const token = process.env.DBB_TOKEN;
      if (!token) throw new Error("set DBB_TOKEN to a token with the scope agent:<FACILITY> or butler:admin (see `dbb token`)");
      const content = importContent(file);
      await checkFacility(opts);
      const data = await facilityRequest<{ importButlerData: ImportSummary }>(
        opts,
        `mutation($content: String!, $didScope: String) { importButlerData(content: $content, didScope: $didScope) {
           format datasetTypes collections dimensionRecordsInserted datasets datasetsInserted associations
           conflictingRecordsKept conflictingRecordExamples { element key fields stored given } } }`,
        { content, didScope: opts.didScope ?? null },
        token,
      );
      const r = data.importButlerData;
      process.stdout.write(
        `imported ${file} (${r.format}) into ${opts.facility}: ${r.datasets} datasets (${r.datasetsInserted} new), ` +
          `${r.dimensionRecordsInserted} new dimension records, ${r.datasetTypes} dataset types, ${r.collections} collections, ${r.associations} associations, ` +
          `${r.conflictingRecordsKept} differing dimension records kept as stored\n`,
      );
      for (const c of r.conflictingRecordExamples) {
        const show = (v: Record<string, unknown>) => c.fields.map((f) => `${f}=${JSON.stringify(v[f])}`).join(", ");
        process.stdout.write(`  kept ${c.element} ${JSON.stringify(c.key)}: stored ${show(c.stored)}; the file has ${show(c.given)}\n`);
      }
      if (r.conflictingRecordsKept > r.conflictingRecordExamples.length) {
        process.stdout.write(`  … and ${r.conflictingRecordsKept - r.conflictingRecordExamples.length} more\n`);
      }
    });
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
    .action(async (opts: ClientOptions & { datasetType?: string; collection: string[]; where?: string; output?: string }) => {
      await checkFacility(opts);
      const data = await facilityRequest<{ localFacility: { exportButlerData: string } }>(
        opts,
        `query($t: String, $c: [String!], $w: String) { localFacility { exportButlerData(datasetType: $t, collections: $c, where: $w) } }`,
        { t: opts.datasetType ?? null, c: opts.collection.length ? opts.collection : null, w: opts.where ?? null },
      );
      if (opts.output) {
        writeFileSync(opts.output, data.localFacility.exportButlerData);
        process.stderr.write(`wrote ${opts.output}\n`);
      } else process.stdout.write(data.localFacility.exportButlerData);
    });

  removalCommand(butler, "remove-runs", "remove RUN collections with all their datasets, as `butler remove-runs` (token from DBB_TOKEN)")
    .argument("<names...>", "run names or globs")
    .option("--force", "also remove runs that are in CHAINED collections (they are dropped from the chains)")
    .action(async (names: string[], opts: RemovalOptions) => {
      await runRemoval(opts, "runs", async (dryRun, token) => {
        const data = await facilityRequest<{ removeRuns: RemovalCounts }>(
          opts,
          `mutation($f: String, $n: [String!]!, $force: Boolean, $dry: Boolean) { removeRuns(facility: $f, names: $n, force: $force, dryRun: $dry) { ${REMOVAL_FIELDS} } }`,
          { f: opts.facility, n: names, force: opts.force ?? false, dry: dryRun },
          token,
        );
        return data.removeRuns;
      });
    });
  removalCommand(butler, "remove-collections", "remove TAGGED, CHAINED and CALIBRATION collections (not their datasets), as `butler remove-collections` (token from DBB_TOKEN)")
    .argument("<names...>", "collection names or globs")
    .option("--force", "also remove collections that are in CHAINED collections (they are dropped from the chains)")
    .action(async (names: string[], opts: RemovalOptions) => {
      await runRemoval(opts, "collections", async (dryRun, token) => {
        const data = await facilityRequest<{ removeCollections: RemovalCounts }>(
          opts,
          `mutation($f: String, $n: [String!]!, $force: Boolean, $dry: Boolean) { removeCollections(facility: $f, names: $n, force: $force, dryRun: $dry) { ${REMOVAL_FIELDS} } }`,
          { f: opts.facility, n: names, force: opts.force ?? false, dry: dryRun },
          token,
        );
        return data.removeCollections;
      });
    });
  removalCommand(butler, "prune-datasets", "remove datasets by ID with their file records, tags and certifications, as `butler prune-datasets --purge` (token from DBB_TOKEN)")
    .argument("[ids...]", "dataset IDs (UUIDs)")
    .option("--ids-file <file>", "a file of dataset IDs, one a line")
    .action(async (ids: string[], opts: RemovalOptions & { idsFile?: string }) => {
      const all = datasetIds(ids, opts.idsFile);
      await runRemoval(opts, "datasets", async (dryRun, token) => {
        const data = await facilityRequest<{ removeDatasets: RemovalCounts }>(
          opts,
          `mutation($f: String, $ids: [String!]!, $dry: Boolean) { removeDatasets(facility: $f, ids: $ids, dryRun: $dry) { ${REMOVAL_FIELDS} } }`,
          { f: opts.facility, ids: all, dry: dryRun },
          token,
        );
        return data.removeDatasets;
      });
    });
}
