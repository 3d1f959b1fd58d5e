import { DbbError, ErrorCode } from "./errors";

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
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(this.options.userAgent ? { "user-agent": this.options.userAgent } : {}),
        },
        body: JSON.stringify({ query, variables }),
        signal,
      });
    } catch (err) {
      if (timeout.aborted) {
        const ms = this.options.timeoutMs ?? 60_000;
        throw new DbbError(ErrorCode.TIMEOUT, `${url} did not answer within ${ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`}`, { url });
      }
      if (options.signal?.aborted) throw err;
      throw new DbbError(ErrorCode.NETWORK, `cannot reach ${url}: ${causeOf(err)}`, { url });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new DbbError(timeout.aborted ? ErrorCode.TIMEOUT : ErrorCode.NETWORK, `reading the answer of ${url} failed: ${causeOf(err)}`, { url });
    }
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
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
