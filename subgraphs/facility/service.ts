import type { Config } from "../../lib/config";
import { Database, openDatabase } from "../../lib/database";
import { startSubgraphService, SubgraphService } from "../../lib/subgraph-service";
import { createLogger, Logger } from "../../lib/logger";
import type { StorageDriver } from "../../lib/storage/driver";
import { serveSignedObject } from "../../lib/storage/object-door";
import { resolveSigningKey } from "../../lib/storage/signed-url";
import { createReadDoor } from "./read-url";
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
    statementTimeoutMs: config.database.statementTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    migrations: facilityMigrations,
    logger,
  });
}

export interface FacilityService extends SubgraphService {
  code: string;
}

export interface FacilityServiceOptions {
  code?: string;
  port?: number;
  logger?: Logger;
  /**
   * The storage driver of one of the facility's RSEs, by name (null when it has none such): lets
   * GET /objects/<rse>/<path> serve signed reads (lib/storage/object-door.ts). Without it the door
   * answers 404.
   */
  resolveDriver?: (rse: string) => Promise<StorageDriver | null>;
}

/**
 * Starts a facility subgraph: opens the facility's database, runs pending migrations, then serves
 * POST /graphql, GET /health and the signed-read door GET /objects/…. The code is `options.code`,
 * else facility.code (DBB_FACILITY).
 */
export async function startFacilityService(config: Config, options: FacilityServiceOptions = {}): Promise<FacilityService> {
  const code = checkFacilityCode(options.code ?? config.facility.code ?? "");
  const logger = options.logger ?? createLogger(config.log.level, `facility-${code}`);
  // Read (or made) on the first signed read, so a service without storage writes no key file.
  let signingKey: string | undefined;
  const key = () => (signingKey ??= resolveSigningKey(config));
  // Known once listening when the port is chosen by the system (tests): http://host:port.
  let publicUrl = config.facility.publicUrl?.replace(/\/+$/, "");
  const readDoor = createReadDoor({
    facility: code,
    catalogUrl: config.facility.catalog,
    storage: config.storage,
    signingKey: key,
    publicUrl: () => publicUrl!,
    expiresSeconds: config.facility.readUrlSeconds,
    logger,
  });
  const resolveDriver = options.resolveDriver ?? readDoor.driver;
  const database = await openFacilityDatabase(config, code, logger);
  const service = await startSubgraphService<FacilityContext>({
    name: `facility-${code}`,
    config,
    logger,
    database,
    schema: buildFacilitySchema,
    host: config.facility.host,
    port: options.port ?? config.facility.port,
    context: (base) => ({ ...base, loaders: createLoaders(base.db), facility: code, readDoor }),
    routes: async (req, res, url) => {
      if (!url.pathname.startsWith("/objects/")) return false;
      await serveSignedObject(req, res, url, { key: key(), resolveDriver });
      return true;
    },
  });
  publicUrl ??= service.url.replace(/\/graphql$/, "");
  return { ...service, code };
}
