import type http from "node:http";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { Caller, createTokenVerifier } from "../lib/auth";
import type { Config } from "../lib/config";
import { ErrorCode } from "../lib/errors";
import { RunningService, sendJson, sendMetrics, startGraphQLService } from "../lib/http-server";
import { createLogger, Logger } from "../lib/logger";
import { FacilityRouter, RouterContext } from "./facility-router";
import { limitsPlugin, listSizesOf } from "./limits";
import { facilityErrorsPlugin } from "./plugins/facility-errors";
import { GatewayMetrics } from "./metrics";
import { refuseSubscriptionsPlugin } from "./plugins/refuse-subscriptions";
import { checkEndpoint, Endpoint, fetchOnceMore, isReadOnly } from "./subgraph-status";
import { composeSupergraph, SubgraphSdl } from "./supergraph";

export interface GatewayContext extends RouterContext {
  caller: Caller;
}

export interface GatewayStatus {
  ready: boolean;
  catalog: Endpoint;
  facilities: Endpoint[];
}

export interface GatewayService extends RunningService {
  metrics: GatewayMetrics;
  /** Re-checks every subgraph now (also done every `gateway.refreshSeconds`). */
  refresh(): Promise<GatewayStatus>;
  status(): GatewayStatus;
}

export interface GatewayOptions {
  port?: number;
  logger?: Logger;
  /** The subgraphs' SDL this gateway composes and expects the endpoints to serve. */
  sdl: SubgraphSdl;
  /** Serves the bundled pages and their assets (gateway/pages.ts: GraphiQL at /, the status page at /status); answers true when it handled the request. */
  page?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean | Promise<boolean>;
}

/**
 * Mutations are refused here, before any subgraph is asked, when the caller has no valid token;
 * the subgraphs still check the scopes themselves with the same token, which the gateway
 * forwards as it came (they never trust an unauthenticated caller).
 */
function authPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (operation?.operation !== "mutation" || contextValue.caller.principal) return;
          throw new GraphQLError(
            contextValue.caller.tokenError
              ? `the bearer token was refused: ${contextValue.caller.tokenError}`
              : "mutations need a bearer token (Authorization: Bearer <token>); create one with `dbb token`",
            // 200 like the subgraphs' own refusals: the error is in the GraphQL response.
            { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 200 } } },
          );
        },
      };
    },
  };
}

/** The GraphQL document of a request body the gateway sends to a subgraph (JSON text), if any. */
function queryOf(body: unknown): string | undefined {
  if (typeof body !== "string") return undefined;
  try {
    const q = (JSON.parse(body) as { query?: unknown }).query;
    return typeof q === "string" ? q : undefined;
  } catch {
    return undefined;
  }
}

/** The USDF gateway: composes catalog + facility subgraphs, routes facility data, serves people. */
export async function startGateway(config: Config, options: GatewayOptions): Promise<GatewayService> {
  const logger = options.logger ?? createLogger(config.log.level, "gateway");
  const g = config.gateway;
  const supergraphSdl = composeSupergraph(options.sdl, { catalog: g.catalog });
  const metrics = new GatewayMetrics();
  const catalog: Endpoint = { name: "catalog", url: g.catalog, state: "unknown" };
  const facilities = new Map<string, Endpoint>();
  for (const f of g.facilities) {
    if (facilities.has(f.code.toLowerCase())) throw new Error(`facility ${f.code} is configured twice in gateway.facilities`);
    facilities.set(f.code.toLowerCase(), { name: f.code, url: f.url, state: "unknown" });
  }
  const router = new FacilityRouter(facilities, { timeoutMs: g.facilityTimeoutMs, logger, metrics });

  const status = (): GatewayStatus => {
    const list = [...facilities.values()];
    return { ready: catalog.state === "up" && list.every((f) => f.state === "up"), catalog, facilities: list };
  };
  const checkAll = () =>
    Promise.all([
      checkEndpoint(catalog, options.sdl.catalog, g.facilityTimeoutMs, logger),
      ...[...facilities.values()].map((f) => checkEndpoint(f, options.sdl.facility, g.facilityTimeoutMs, logger)),
    ]).then(status);
  // One round at a time. A call during a round gets the next round, begun after the current one
  // ends (shared by all such calls): the running round may have asked an endpoint before it changed.
  let running: Promise<GatewayStatus> | undefined;
  let next: Promise<GatewayStatus> | undefined;
  const refresh = (): Promise<GatewayStatus> => {
    if (!running) return (running = checkAll().finally(() => (running = undefined)));
    return (next ??= running
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return refresh();
      }));
  };
  // The gateway serves while subgraphs are still down; they join when they come up.
  await refresh();
  const timer = setInterval(() => void refresh().catch((err) => logger.error({ err }, "refresh failed")), g.refreshSeconds * 1000);
  timer.unref();

  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      if (name === "facility") return router;
      return new RemoteGraphQLDataSource<GatewayContext>({
        url,
        // A read that lost its pooled connection to a keep-alive race is sent once more.
        fetcher: (input, init) => fetchOnceMore(String(input), init as RequestInit, isReadOnly(queryOf(init?.body))) as never,
        willSendRequest({ request, context }) {
          if (context.authorization) request.http?.headers.set("authorization", context.authorization);
          if (context.requestId) request.http?.headers.set("x-request-id", context.requestId);
        },
      });
    },
  });

  const verify = createTokenVerifier(config);
  const service = await startGraphQLService<GatewayContext>({
    name: "gateway",
    gateway,
    host: g.host,
    port: options.port ?? g.port,
    logger,
    maxBatch: g.limits.maxBatch,
    maxDocumentBytes: g.limits.maxDocumentBytes,
    browserPage: "/",
    plugins: [refuseSubscriptionsPlugin(), limitsPlugin(g.limits, listSizesOf(supergraphSdl)), authPlugin(), metrics.plugin(), facilityErrorsPlugin()],
    context: async ({ headers, requestId }) => {
      const authorization = typeof headers.authorization === "string" ? headers.authorization : undefined;
      return { authorization, requestId, caller: await verify(authorization) };
    },
    health: async () => {},
    routes: async (req, res, url) => {
      if (req.method === "GET" && url.pathname === "/ready") {
        const s = status();
        sendJson(res, s.ready ? 200 : 503, { status: s.ready ? "ready" : "not-ready", catalog: s.catalog, facilities: s.facilities });
        return true;
      }
      if (req.method === "GET" && url.pathname === "/metrics") {
        await sendMetrics(res, metrics.registry);
        return true;
      }
      if (req.method === "GET" && options.page) return options.page(req, res, url);
      return false;
    },
  });
  logger.info({ url: service.url, catalog: catalog.state, facilities: [...facilities.values()].map((f) => `${f.name}:${f.state}`) }, "gateway ready");
  return {
    ...service,
    metrics,
    refresh,
    status,
    async close() {
      clearInterval(timer);
      await service.close();
    },
  };
}
