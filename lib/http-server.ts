import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, ApolloServerPlugin, BaseContext, HeaderMap } from "@apollo/server";
import type { GatewayInterface } from "@apollo/server-gateway-interface";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { unwrapResolverError } from "@apollo/server/errors";
import type { GraphQLFormattedError, GraphQLSchema } from "graphql";
import type { Registry } from "prom-client";
import { ArgumentValidationError } from "type-graphql";
import { isDatabaseUnavailable, isQueryTimeout, sqlState } from "./database-errors";
import { DbbError, ErrorCode } from "./errors";
import { unstorableTextPlugin } from "./input-text";
import type { Logger } from "./logger";

/** The largest request body accepted (10,000-item bulk mutations with metadata fit easily). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ServiceOptions<TContext extends BaseContext> {
  name: string;
  /** A subgraph's own schema, or a gateway that supplies the (super)schema. */
  schema?: GraphQLSchema;
  gateway?: GatewayInterface;
  plugins?: ApolloServerPlugin<TContext>[];
  /** Query documents longer than this many bytes are refused before parsing (DOCUMENT_TOO_LARGE). */
  maxDocumentBytes?: number;
  /** Batched requests (a JSON array of operations) allowed up to this many; off when unset. */
  maxBatch?: number;
  /** Where a browser opening /graphql (GET, HTML accepted, no query) is sent: the gateway's GraphiQL. Unset: Apollo's 400. */
  browserPage?: string;
  /** Answers other paths (GraphiQL page, /ready, /metrics); resolves true when it answered. */
  routes?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<boolean>;
  host: string;
  port: number;
  logger: Logger;
  /** Builds the per-request context (auth, DataLoaders) from the request headers. */
  context: (req: { headers: http.IncomingHttpHeaders; requestId: string }) => Promise<TContext>;
  /** Answers GET /health: resolves when the service can answer queries, throws otherwise. */
  health: () => Promise<void>;
}

export interface RunningService {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** An error never quotes more of the input than this: messages and string details are cut. */
const MAX_MESSAGE = 1000;
const MAX_DETAIL = 200;

function short(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function shortDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) out[k] = typeof v === "string" ? short(v, MAX_DETAIL) : v;
  return out;
}

/**
 * Turns any error into the client-facing shape: domain errors keep their code and details;
 * argument validation becomes INVALID_INPUT; anything unexpected is logged in full and reported
 * without internals.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof DbbError) {
      return { ...formatted, message: short(original.message, MAX_MESSAGE), extensions: { ...shortDetails(original.details), code: original.code } };
    }
    if (original instanceof ArgumentValidationError) {
      const details = original.extensions?.validationErrors ?? [];
      return { ...formatted, extensions: { code: ErrorCode.INVALID_INPUT, validationErrors: details } };
    }
    const code = formatted.extensions?.code;
    if (code === "INTERNAL_SERVER_ERROR" || code === undefined) {
      const mapped = databaseError(original);
      if (mapped) {
        logger.warn({ err: original, path: formatted.path }, mapped.message);
        return { message: mapped.message, path: formatted.path, locations: formatted.locations, extensions: { code: mapped.code } };
      }
      logger.error({ err: original, path: formatted.path }, "internal error");
      return { message: "internal error; the service log has the details", path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
    }
    return formatted;
  };
}

/**
 * What a failure of the database means to the caller, when it is one: a statement that ran out
 * of time, a database that is not there, or a value the database refused (a data exception or a
 * statement beyond its limits, which only input can cause). Null for anything else.
 */
function databaseError(err: unknown): { code: ErrorCode; message: string } | null {
  if (isQueryTimeout(err)) {
    return { code: ErrorCode.QUERY_TIMEOUT, message: "the query ran longer than the database's statement timeout and was cancelled: ask for less (a narrower filter, a smaller page) or retry later" };
  }
  if (isDatabaseUnavailable(err)) {
    return { code: ErrorCode.DATABASE_UNAVAILABLE, message: "the service's database is not answering; retry once the service's /health answers 200" };
  }
  const state = sqlState(err);
  if (state?.startsWith("22") || state?.startsWith("54")) {
    const reason = String((err as Error).message ?? "").slice(0, 200);
    return { code: ErrorCode.INVALID_INPUT, message: `the database refused a value of this request: ${reason}` };
  }
  return null;
}

class BodyTooLarge extends Error {
  constructor(readonly size: number) {
    super(`the request body has ${size > MAX_BODY_BYTES ? `more than ${MAX_BODY_BYTES}` : size} bytes; the limit is ${MAX_BODY_BYTES}`);
  }
}

/** Reads the body; refuses (without reading on) one that declares or reaches more than MAX_BODY_BYTES. */
function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new BodyTooLarge(declared));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        chunks.length = 0;
        reject(new BodyTooLarge(size));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Answers 413 at once and closes the connection, so the client stops sending the rest. */
function refuseTooLarge(res: http.ServerResponse, req: http.IncomingMessage, message: string, extensions: Record<string, unknown>): void {
  res.setHeader("connection", "close");
  sendJson(res, 413, { errors: [{ message, extensions }] });
  res.once("finish", () => req.destroy());
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Answers GET /metrics with a Prometheus registry's text. */
export async function sendMetrics(res: http.ServerResponse, registry: Registry): Promise<void> {
  const text = await registry.metrics();
  res.writeHead(200, { "content-type": registry.contentType });
  res.end(text);
}

/**
 * A GraphQL service on plain node:http: POST/GET /graphql through Apollo Server, GET /health.
 */
export async function startGraphQLService<TContext extends BaseContext>(
  options: ServiceOptions<TContext>,
): Promise<RunningService> {
  const { logger } = options;
  const apollo = new ApolloServer<TContext>({
    ...(options.gateway ? { gateway: options.gateway } : { schema: options.schema! }),
    allowBatchedHttpRequests: (options.maxBatch ?? 0) > 1,
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    // The command stops its services itself on SIGINT/SIGTERM (cli/main.ts stopOn). Apollo's own
    // handlers (on unless NODE_ENV=test) would race it and re-raise the signal, and `dbb dev` hung.
    stopOnTerminationSignals: false,
    formatError: formatError(logger),
    // Traces are for Apollo's hosted service, which this deployment does not use.
    // No cache hints are set anywhere, and the cache-control plugin would wrap every resolver of
    // every field (a 40,000-object answer spends seconds in it).
    // Apollo's landing page (its Sandbox, or a production notice) loads from Apollo's CDN, which this
    // deployment cannot reach: GraphiQL is the gateway's own page at /, bundled.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      unstorableTextPlugin(),
      ...(options.plugins ?? []),
    ],
  });
  await apollo.start();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const requestId = (req.headers["x-request-id"] as string | undefined)?.slice(0, 128) || randomUUID();
    res.setHeader("x-request-id", requestId);
    try {
      if (url.pathname === "/health" && (req.method === "GET" || req.method === "HEAD")) {
        try {
          await options.health();
          sendJson(res, 200, { status: "ok", service: options.name });
        } catch (err) {
          sendJson(res, 503, { status: "unavailable", service: options.name, error: (err as Error).message });
        }
        return;
      }
      if (options.routes && (await options.routes(req, res, url))) return;
      if (url.pathname !== "/graphql") {
        sendJson(res, 404, { error: `no such path ${url.pathname}; GraphQL is served at /graphql` });
        return;
      }
      if (options.browserPage && req.method === "GET" && !url.searchParams.has("query") && /text\/html/.test(req.headers.accept ?? "")) {
        res.writeHead(302, { location: options.browserPage, "content-type": "text/plain; charset=utf-8" });
        res.end(`GraphiQL is at ${options.browserPage}\n`);
        return;
      }
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
      }
      let body: unknown = undefined;
      if (req.method === "POST") {
        let text: string;
        try {
          text = await readBody(req);
        } catch (err) {
          if (!(err instanceof BodyTooLarge)) throw err;
          refuseTooLarge(res, req, err.message, { code: ErrorCode.BODY_TOO_LARGE, limit: MAX_BODY_BYTES });
          return;
        }
        try {
          body = text.length ? JSON.parse(text) : {};
        } catch {
          sendJson(res, 400, { errors: [{ message: "request body is not valid JSON", extensions: { code: ErrorCode.BAD_REQUEST } }] });
          return;
        }
        if (Array.isArray(body) && body.length > (options.maxBatch ?? 1)) {
          sendJson(res, 400, {
            errors: [
              {
                message: options.maxBatch && options.maxBatch > 1
                  ? `a batch of ${body.length} operations; the limit is ${options.maxBatch}`
                  : "batched requests are not accepted here; send one operation per request",
                extensions: { code: "BATCH_TOO_LARGE", size: body.length, limit: options.maxBatch ?? 1 },
              },
            ],
          });
          return;
        }
      }
      if (options.maxDocumentBytes) {
        const operations = Array.isArray(body) ? body : [body ?? { query: url.searchParams.get("query") }];
        for (const op of operations) {
          const query = (op as { query?: unknown })?.query;
          const size = typeof query === "string" ? Buffer.byteLength(query, "utf8") : 0;
          if (size > options.maxDocumentBytes) {
            refuseTooLarge(res, req, `the query document has ${size} bytes; the limit is ${options.maxDocumentBytes}`, {
              code: "DOCUMENT_TOO_LARGE",
              size,
              limit: options.maxDocumentBytes,
            });
            return;
          }
        }
      }
      const started = process.hrtime.bigint();
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? "GET", headers, search: url.search, body },
        context: () => options.context({ headers: req.headers, requestId }),
      });
      for (const [key, value] of response.headers) res.setHeader(key, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === "complete") {
        res.end(response.body.string);
      } else {
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        res.end();
      }
      logger.debug(
        { requestId, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        "graphql request",
      );
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500;
      if (status >= 500) logger.error({ err, requestId }, "request failed");
      if (!res.headersSent) sendJson(res, status, { errors: [{ message: (err as Error).message }] });
      else res.end();
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host}:${port}/graphql`;
  logger.info({ url }, `${options.name} listening`);
  return {
    url,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apollo.stop();
    },
  };
}
