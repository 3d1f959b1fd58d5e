import type { Config } from "../../lib/config";
import { Database, openDatabase } from "../../lib/database";
import { startSubgraphService, SubgraphService } from "../../lib/subgraph-service";
import { createLogger, Logger } from "../../lib/logger";
import type { ReplicasContext } from "./graphql/context";
import { judgeSettings, JudgeSettings, startJudge } from "./judge";
import { createLoaders } from "./loaders";
import { catalogMigrations } from "./migrations";
import { buildReplicasSchema } from "./schema";
import { startSubscriptionMatcher } from "./subscription-matcher";

export function openCatalogDatabase(config: Config, logger?: Logger): Promise<Database> {
  return openDatabase({
    url: config.database.url,
    dataDir: config.dataDir,
    name: "replicas",
    poolSize: config.database.poolSize,
    statementTimeoutMs: config.database.statementTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    migrations: catalogMigrations,
    logger,
  });
}

export type ReplicasService = SubgraphService;

/**
 * Starts the central replica catalog subgraph: opens the database, runs pending migrations,
 * then serves POST /graphql and GET /health, and runs the judge (rule expiry, lapsed leases) and
 * the subscription matcher.
 */
export async function startReplicasService(config: Config, options: { port?: number; logger?: Logger } = {}): Promise<ReplicasService> {
  const logger = options.logger ?? createLogger(config.log.level, "replicas");
  const database = await openCatalogDatabase(config, logger);
  const settings: JudgeSettings = judgeSettings(config);
  return startSubgraphService<ReplicasContext>({
    name: "replicas",
    config,
    logger,
    database,
    schema: buildReplicasSchema,
    host: config.replicas.host,
    port: options.port ?? config.replicas.port,
    context: (base) => ({ ...base, loaders: createLoaders(base.db), settings }),
    background: async (metrics) => {
      const stopJudge = await startJudge(database.dataSource.manager, settings, logger, metrics);
      const stopMatcher = startSubscriptionMatcher(database.dataSource.manager, config.subscriptions, logger, metrics);
      return async () => {
        await Promise.all([stopJudge(), stopMatcher()]);
      };
    },
  });
}
