import "reflect-metadata";
import { Command, CommanderError } from "commander";
import { parseTtl, signToken } from "../lib/auth";
import { loadConfig } from "../lib/config";
import { createLogger } from "../lib/logger";
import { openCatalogDatabase } from "../subgraphs/replicas/service";
import { registerButlerCommands } from "./butler-commands";
import { registerCompletionCommands } from "./completion-commands";
import { registerDevCommands } from "./dev-commands";
import { registerDidCommands } from "./did-commands";
import { registerJudgeCommands } from "./judge-commands";
import { collect, ExitCode, reportError } from "./options";
import { registerRuleCommands } from "./rule-commands";
import { registerServeCommands } from "./serve-commands";
import { registerStatusCommands } from "./status-commands";
import { registerTransferCommands } from "./transfers-commands";

/**
 * The dbb command: commander's program tree, one `register…Commands` per file under cli/.
 * Command files import their helpers from cli/options.ts, never this file.
 */
export function buildProgram(): Command {
  const program = new Command("dbb")
    .description("Data Backbone metadata gateway: catalog and facility services, rules, status, DIDs, transfers, tokens")
    .showHelpAfterError()
    // Usage errors (unknown option, missing argument, bad value) throw instead of exiting, so
    // main() gives them exit code 2; set before the subcommands, which inherit it.
    .exitOverride();

  // Other command files add their services under `serve` (e.g. registerS3Commands(serve)).
  const serve = registerServeCommands(program);
  void serve;
  registerDevCommands(program);
  registerJudgeCommands(program);

  registerRuleCommands(program);
  registerStatusCommands(program);
  registerDidCommands(program);
  registerTransferCommands(program);
  registerButlerCommands(program);

  program
    .command("migrate")
    .description("run pending database migrations of the catalog and exit")
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { config?: string }) => {
      const config = loadConfig(opts.config);
      const logger = createLogger(config.log.level, "migrate");
      const database = await openCatalogDatabase(config, logger);
      try {
        const ran = await database.runMigrations();
        process.stdout.write(ran.length ? `applied: ${ran.join(", ")}\n` : "the catalog database is up to date\n");
      } finally {
        await database.close();
      }
    });

  program
    .command("token")
    .description("print a signed token for local use (HS256 with DBB_AUTH_SECRET or the local key in the data dir)")
    .requiredOption("-s, --subject <name>", "the account the token acts as")
    .option("--scope <scope>", "a scope to grant (repeatable): catalog:admin, catalog:write, agent:<FACILITY>, butler:admin", collect, [])
    .option("--ttl <ttl>", "lifetime, e.g. 30m, 1h, 7d", "1h")
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { subject: string; scope: string[]; ttl: string; config?: string }) => {
      const config = loadConfig(opts.config);
      const token = await signToken(config, { subject: opts.subject, scopes: opts.scope, ttlSeconds: parseTtl(opts.ttl) });
      process.stdout.write(token + "\n");
    });

  program
    .command("schema")
    .description("write the subgraphs' SDL into a folder (the repository keeps it under schema/)")
    .argument("[dir]", "target folder", "schema")
    .action(async (dir: string) => {
      const { mkdirSync, writeFileSync } = await import("node:fs");
      const path = await import("node:path");
      const { subgraphSdl } = await import("./schema");
      mkdirSync(dir, { recursive: true });
      for (const [file, sdl] of Object.entries(await subgraphSdl())) {
        writeFileSync(path.join(dir, file), sdl.endsWith("\n") ? sdl : sdl + "\n");
        process.stdout.write(`wrote ${path.join(dir, file)}\n`);
      }
    });

  registerCompletionCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const json = argv.includes("--json");
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; --help and --version end here with 0.
      process.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    }
    process.exit(reportError(err, { json }));
  }
}
