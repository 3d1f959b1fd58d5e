import type http from "node:http";
import type { BaseContext } from "@apollo/server";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { GraphQLSchema } from "graphql";
import type { EntityManager } from "typeorm";
import { Caller, createTokenVerifier } from "./auth";
import type { Config } from "./config";
import type { Database } from "./database";
import { RunningService, sendMetrics, startGraphQLService } from "./http-server";
import type { Logger } from "./logger";
import { LoopMetrics } from "./loop";

/** How long GET /health waits for the database's `SELECT 1`. */
const HEALTH_TIMEOUT_MS = 2000;

export interface SubgraphService extends RunningService {
  database: Database;
}

/** What every subgraph request context starts from. */
export interface BaseSubgraphContext {
  db: EntityManager;
  caller: Caller;
  requestId: string;
  /** The request's Authorization header as sent (a subgraph that calls another on the caller's behalf forwards it). */
  authorization?: string;
}

export interface SubgraphServiceOptions<TContext extends BaseContext> {
  name: string;
  config: Config;
  logger: Logger;
  /** Opened by the caller; closed here on failure and on close. */
  database: Database;
  schema: () => Promise<GraphQLSchema>;
  host: string;
  port: number;
  /** Adds the subgraph's own parts (loaders, settings, …) to the base context. */
  context: (base: BaseSubgraphContext) => TContext;
  /** Answers more paths than /graphql, /health and /metrics (the facility's /objects door); resolves true when it answered. */
  routes?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<boolean>;
  /** Background work started once serving (its loops report to the service's /metrics); its stop function runs on close. */
  background?: (metrics: LoopMetrics) => Promise<() => Promise<void>>;
}

/**
 * Starts a subgraph service: runs pending migrations on its database, then serves POST /graphql
 * (with the caller's token verified per request), GET /health (200 while the database answers)
 * and GET /metrics (Prometheus: process metrics and the service's periodic loops).
 */
export async function startSubgraphService<TContext extends BaseContext>(o: SubgraphServiceOptions<TContext>): Promise<SubgraphService> {
  const { database, logger } = o;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  try {
    const ran = await database.runMigrations();
    if (ran.length) logger.info({ migrations: ran }, "migrations applied");
    const verify = createTokenVerifier(o.config);
    const service = await startGraphQLService<TContext>({
      name: o.name,
      schema: await o.schema(),
      host: o.host,
      port: o.port,
      logger,
      context: async ({ headers, requestId }) =>
        o.context({ db: database.dataSource.manager, caller: await verify(headers.authorization), requestId, authorization: headers.authorization }),
      // 503 when the database is gone or hung: a subgraph without its database cannot answer.
      health: () => database.ping(HEALTH_TIMEOUT_MS),
      routes: async (req, res, url) => {
        if (req.method === "GET" && url.pathname === "/metrics") {
          await sendMetrics(res, registry);
          return true;
        }
        return o.routes ? o.routes(req, res, url) : false;
      },
    });
    let stopBackground: (() => Promise<void>) | undefined;
    try {
      stopBackground = await o.background?.(new LoopMetrics(registry));
    } catch (err) {
      await service.close();
      throw err;
    }
    return {
      ...service,
      database,
      async close() {
        await service.close();
        await stopBackground?.();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
