import { createTokenVerifier } from "../../lib/auth";
import type { Config } from "../../lib/config";
import { Database, openDatabase } from "../../lib/database";
import { RunningService, startGraphQLService } from "../../lib/http-server";
import { createLogger, Logger } from "../../lib/logger";
import type { ReplicasContext } from "./graphql/context";
import { JudgeSettings, startJudge } from "./judge";
import { createLoaders } from "./loaders";
import { catalogMigrations } from "./migrations";
import { buildReplicasSchema } from "./schema";

export function openCatalogDatabase(config: Config, logger?: Logger): Promise<Database> {
  return openDatabase({
    url: config.database.url,
    dataDir: config.dataDir,
    name: "replicas",
    poolSize: config.database.poolSize,
    migrations: catalogMigrations,
    logger,
  });
}

export interface ReplicasService extends RunningService {
  database: Database;
}

/**
 * Starts the central replica catalog subgraph: opens the database, runs pending migrations,
 * then serves POST /graphql and GET /health.
 */
export async function startReplicasService(config: Config, options: { port?: number; logger?: Logger } = {}): Promise<ReplicasService> {
  const logger = options.logger ?? createLogger(config.log.level, "replicas");
  const database = await openCatalogDatabase(config, logger);
  try {
    const ran = await database.runMigrations();
    if (ran.length) logger.info({ migrations: ran }, "migrations applied");
    const verify = createTokenVerifier(config);
    const settings: JudgeSettings = { ...config.transfers };
    const schema = await buildReplicasSchema();
    const service = await startGraphQLService<ReplicasContext>({
      name: "replicas",
      schema,
      host: config.replicas.host,
      port: options.port ?? config.replicas.port,
      logger,
      context: async ({ headers, requestId }) => ({
        db: database.dataSource.manager,
        caller: await verify(headers.authorization),
        loaders: createLoaders(database.dataSource.manager),
        requestId,
        settings,
      }),
      health: async () => {
        await database.dataSource.query("SELECT 1");
      },
    });
    const stopJudge = startJudge(database.dataSource.manager, settings, config.transfers.judgeIntervalSeconds, logger);
    return {
      ...service,
      database,
      async close() {
        await service.close();
        await stopJudge();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
