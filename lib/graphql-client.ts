import type { IncomingMessage } from "node:http";
import { DbbError, ErrorCode } from "./errors";
import { httpRequest } from "./http-get";

/**
 * The one GraphQL client of the CLI and the agents: POSTs an operation to a gateway or subgraph
 * and turns the answer's errors back into DbbErrors carrying their `extensions.code`, so callers
 * branch on codes exactly as the server names them (lib/errors.ts).
 */
export interface GraphqlError {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GraphqlAnswer<T> {
  data: T | null;
  errors: GraphqlError[];
}

export interface GraphqlClientOptions {
  /** The endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** Bearer token; a function is asked before every request (tokens may be renewed). */
  token?: string | (() => string | undefined);
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
  /** Sent as `user-agent`, so a service's logs say who called. */
  userAgent?: string;
}

/** Codes of failures that are the network's or the server's, not the request's: worth a retry. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.DATABASE_UNAVAILABLE,
  ErrorCode.QUERY_TIMEOUT,
  ErrorCode.FACILITY_UNAVAILABLE,
  ErrorCode.NETWORK,
  ErrorCode.TIMEOUT,
]);

export class GraphqlClient {
  constructor(readonly options: GraphqlClientOptions) {}

  private token(): string | undefined {
    const t = this.options.token;
    return typeof t === "function" ? t() : t;
  }

  /**
   * Sends one operation and returns data and errors as they came (a partial answer keeps both).
   * Throws a DbbError only when there is no GraphQL answer at all: NETWORK (unreachable),
   * TIMEOUT, or the HTTP status's code (BODY_TOO_LARGE, BAD_REQUEST, …) from a non-GraphQL body.
   */
  async send<T>(query: string, variables: Record<string, unknown> = {}, options: { signal?: AbortSignal } = {}): Promise<GraphqlAnswer<T>> {
    const { url } = this.options;
    const token = this.token();
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 60_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let res: { status: number; text: string };
    try {
      res = await post(
        url,
        JSON.stringify({ query, variables }),
        {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(this.options.userAgent ? { "user-agent": this.options.userAgent } : {}),
        },
        signal,
      );
    } catch (err) {
      if (timeout.aborted) {
        const ms = this.options.timeoutMs ?? 60_000;
        throw new DbbError(ErrorCode.TIMEOUT, `${url} did not answer within ${ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`}`, { url });
      }
      if (options.signal?.aborted) throw err;
      if (err instanceof ReadError) throw new DbbError(ErrorCode.NETWORK, `reading the answer of ${url} failed: ${causeOf(err.cause)}`, { url });
      throw new DbbError(ErrorCode.NETWORK, `cannot reach ${url}: ${causeOf(err)}`, { url });
    }
    const text = res.text;
    let body: { data?: T | null; errors?: GraphqlError[] } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!body || typeof body !== "object" || (!("data" in body) && !Array.isArray(body.errors))) {
      throw new DbbError(res.status === 413 ? ErrorCode.BODY_TOO_LARGE : ErrorCode.HTTP_ERROR, `${url} answered HTTP ${res.status} without a GraphQL answer: ${text.slice(0, 200)}`, {
        url,
        status: res.status,
      });
    }
    return { data: body.data ?? null, errors: Array.isArray(body.errors) ? body.errors : [] };
  }

  /** Sends one operation and returns its data; the first error, if any, is thrown as a DbbError. */
  async request<T>(query: string, variables: Record<string, unknown> = {}, options: { signal?: AbortSignal } = {}): Promise<T> {
    const answer = await this.send<T>(query, variables, options);
    if (answer.errors.length) throw errorOf(answer.errors[0]);
    if (answer.data === null) throw new DbbError(ErrorCode.HTTP_ERROR, `${this.options.url} answered without data`, { url: this.options.url });
    return answer.data;
  }
}

/** A GraphQL error as a DbbError: its code (INTERNAL_SERVER_ERROR when it has none), message and extensions. */
export function errorOf(e: GraphqlError): DbbError {
  const { code, ...details } = e.extensions ?? {};
  return new DbbError(typeof code === "string" ? code : "INTERNAL_SERVER_ERROR", e.message, { ...details, ...(e.path ? { path: e.path } : {}) });
}

function causeOf(err: unknown): string {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? (typeof e.code === "string" && !e.message.includes(e.code) ? `${e.code} ${e.message}` : e.message);
}

/** The answer's body broke off after its headers came. */
class ReadError extends Error {
  constructor(readonly cause: unknown) {
    super("reading the answer failed");
  }
}

/**
 * POSTs `body` with node:http on the process's kept-alive connections and reads the whole answer
 * as text. fetch (undici) cost 0.6 against 0.25 ms of CPU per call (web streams, abort signals,
 * DOMExceptions), and an agent calls the gateway several times a second.
 */
async function post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(body, "utf8");
  let res: IncomingMessage;
  try {
    res = await httpRequest("POST", url, { what: "a GraphQL endpoint", signal, headers: { ...headers, "content-length": payload.length }, body: payload });
  } catch (err) {
    throw signal.aborted ? signal.reason : err; // as fetch rejects: with the signal's reason
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
    res.on("error", (err) => reject(signal.aborted ? err : new ReadError(err)));
    res.on("close", () => {
      if (!res.complete) reject(signal.aborted ? signal.reason : new ReadError(new Error("the connection closed before the answer was whole")));
    });
  });
}
