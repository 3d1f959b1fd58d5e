import type { Command } from "commander";
import { loadConfig } from "../lib/config";
import { createLogger } from "../lib/logger";
import { runRound } from "../lib/loop";
import { judgeSettings, JudgeSettings, runJudgeOnce, startJudge } from "../subgraphs/replicas/judge";
import { openCatalogDatabase } from "../subgraphs/replicas/service";
import { startSubscriptionMatcher } from "../subgraphs/replicas/subscription-matcher";
import { stopOn } from "./options";

/** `dbb judge`: the catalog's periodic housekeeping on its own, as a daemon or one round at a time. */
export function registerJudgeCommands(program: Command): void {
  program
    .command("judge")
    .description(
      "the catalog's periodic work without serving GraphQL (rule expiry, lapsed transfer leases every transfers.judgeIntervalSeconds; the subscription matcher every subscriptions.intervalSeconds); " +
        "safe beside other catalog processes on the same database. --once runs one round, prints what it did as JSON, and exits",
    )
    .option("--once", "run one round and exit (for cron-style operation and tests)")
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { once?: boolean; config?: string }) => {
      const config = loadConfig(opts.config);
      const logger = createLogger(config.log.level, "judge");
      const database = await openCatalogDatabase(config, logger);
      const db = database.dataSource.manager;
      const settings: JudgeSettings = judgeSettings(config);
      try {
        await database.runMigrations();
        if (opts.once) {
          const result = await runRound({ name: "judge", round: () => runJudgeOnce(db, settings), logger });
          process.stdout.write(JSON.stringify(result) + "\n");
          await database.close();
          return;
        }
        const stopJudge = await startJudge(db, settings, logger);
        const stopMatcher = startSubscriptionMatcher(db, config.subscriptions, logger);
        const stop = () => Promise.all([stopJudge(), stopMatcher()]);
        process.stderr.write(`judge running every ${settings.judgeIntervalSeconds} s; Ctrl-C stops it\n`);
        stopOn(async () => {
          await stop();
          await database.close();
        });
      } catch (err) {
        await database.close();
        throw err;
      }
    });
}
