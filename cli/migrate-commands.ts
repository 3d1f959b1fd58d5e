import type { Command } from "commander";
import { loadConfig } from "../lib/config";
import { createLogger } from "../lib/logger";
import { openCatalogDatabase } from "../subgraphs/replicas/service";
import { emit } from "./options";

/** `dbb migrate`: the catalog database's pending migrations, then exit. */
export function registerMigrateCommands(program: Command): void {
  program
    .command("migrate")
    .description("run pending database migrations of the catalog and exit")
    .option("-c, --config <file>", "YAML configuration file")
    .option("--json", 'print {"applied": [names]} instead')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const config = loadConfig(opts.config);
      const logger = createLogger(config.log.level, "migrate");
      const database = await openCatalogDatabase(config, logger);
      try {
        const ran = await database.runMigrations();
        emit(opts, { applied: ran }, () => (ran.length ? `applied: ${ran.join(", ")}` : "the catalog database is up to date"));
      } finally {
        await database.close();
      }
    });
}
