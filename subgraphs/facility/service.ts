import { createTokenVerifier } from "../../lib/auth";
import type { Config } from "../../lib/config";
import { Database, openDatabase } from "../../lib/database";
import { RunningService, startGraphQLService } from "../../lib/http-server";
import { createLogger, Logger } from "../../lib/logger";
import type { FacilityContext } from "./graphql/context";
import { createLoaders } from "./loaders";
import { facilityMigrations } from "./migrations";
import { checkFacilityCode } from "./names";
import { buildFacilitySchema } from "./schema";

/**
 * The facility's registry database: a server given by database.url (DBB_DATABASE_URL), or the
 * embedded one under `<dataDir>/facility-<CODE>`, so several facilities can run from one data dir.
 */
export function openFacilityDatabase(config: Config, code: string, logger?: Logger): Promise<Database> {
  return openDatabase({
    url: config.database.url,
    dataDir: config.dataDir,
    name: `facility-${checkFacilityCode(code)}`,
    poolSize: config.database.poolSize,
    migrations: facilityMigrations,
    logger,
  });
}

export interface FacilityService extends RunningService {
  code: string;
  database: Database;
}

/**
 * Starts a facility subgraph: opens the facility's database, runs pending migrations, then serves
 * POST /graphql and GET /health. The code is `options.code`, else facility.code (DBB_FACILITY).
 */
export async function startFacilityService(
  config: Config,
  options: { code?: string; port?: number; logger?: Logger } = {},
): Promise<FacilityService> {
  const code = checkFacilityCode(options.code ?? config.facility.code ?? "");
  const logger = options.logger ?? createLogger(config.log.level, `facility-${code}`);
  const database = await openFacilityDatabase(config, code, logger);
  try {
    const ran = await database.runMigrations();
    if (ran.length) logger.info({ migrations: ran }, "migrations applied");
    const verify = createTokenVerifier(config);
    const schema = await buildFacilitySchema();
    const service = await startGraphQLService<FacilityContext>({
      name: `facility-${code}`,
      schema,
      host: config.facility.host,
      port: options.port ?? config.facility.port,
      logger,
      context: async ({ headers, requestId }) => ({
        db: database.dataSource.manager,
        caller: await verify(headers.authorization),
        loaders: createLoaders(database.dataSource.manager),
        facility: code,
        requestId,
      }),
      health: async () => {
        await database.dataSource.query("SELECT 1");
      },
    });
    return {
      ...service,
      code,
      database,
      async close() {
        await service.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
