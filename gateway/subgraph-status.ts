import type { Logger } from "../lib/logger";
import { sharedRead } from "./in-flight";
import { subgraphFetch } from "./subgraph-fetch";

/**
 * What the gateway knows of each subgraph endpoint: up, down, or serving a schema different from
 * the one this gateway composed (left out of routing until it matches). Checked at start and
 * every refresh by asking the endpoint for its health (GET /health, which checks the subgraph's
 * database) and its SDL (`{ _service { sdl } }`).
 */
export type EndpointState = "unknown" | "up" | "down" | "schema-mismatch";

export interface Endpoint {
  name: string;
  url: string;
  state: EndpointState;
  error?: string;
  checkedAt?: string;
}

/**
 * Whether a fetch failed because the connection broke before an answer came: a pooled keep-alive
 * connection the server closed just as the request went out ("socket hang up", ECONNRESET).
 * Such a request never reached the server's resolvers, or its answer was lost.
 */
export function isConnectionRace(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return false;
  const text = `${e?.message ?? ""} ${e?.code ?? ""} ${e?.cause?.code ?? ""} ${e?.cause?.message ?? ""}`;
  return /socket hang up|ECONNRESET|EPIPE|other side closed|UND_ERR_SOCKET|fetch failed/i.test(text);
}

/**
 * A subgraph request (subgraph-fetch.ts), once more when the connection broke before an answer
 * and the request is an idempotent read (`retry`): keep-alive races lose about one request in a
 * hundred under load otherwise. Mutations are never sent twice. A read is shared with an
 * identical one in flight.
 */
export async function fetchOnceMore(url: string, init: RequestInit, retry: boolean): Promise<Response> {
  const send = async () => {
    try {
      return await subgraphFetch(url, init);
    } catch (err) {
      if (!retry || !isConnectionRace(err)) throw err;
      return subgraphFetch(url, init);
    }
  };
  // Reads are also shared with an identical read in flight (in-flight.ts).
  return retry ? sharedRead(url, init, send) : send();
}

/** Whether a GraphQL document is a read only (queries; no mutation), judged without a full parse. */
export function isReadOnly(query: string | undefined): boolean {
  return typeof query === "string" && !/\bmutation\b/.test(query);
}

/** POSTs a GraphQL request with a deadline; a read is retried once after a keep-alive race. */
export async function postGraphQL(
  url: string,
  body: { query?: string } & Record<string, unknown>,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ data?: any; errors?: any[] }> {
  const signal = AbortSignal.timeout(timeoutMs);
  const res = await fetchOnceMore(
    url,
    { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal },
    isReadOnly(body.query),
  );
  const text = await res.text();
  let parsed: { data?: any; errors?: any[] };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${res.status} with a body that is not JSON`);
  }
  if (!res.ok && !parsed.data) throw new Error(`HTTP ${res.status}: ${parsed.errors?.[0]?.message ?? text.slice(0, 200)}`);
  return parsed;
}

const normalize = (sdl: string) => sdl.replace(/\s+/g, " ").trim();

/** The /health address of a subgraph served at `<origin>/graphql`. */
export function healthUrl(graphqlUrl: string): string {
  return new URL("/health", graphqlUrl).toString();
}

/**
 * Checks one endpoint: its /health (which checks its database) must answer 200, and it must serve
 * the SDL the gateway expects from it. Updates and returns its state.
 */
export async function checkEndpoint(endpoint: Endpoint, expectedSdl: string, timeoutMs: number, logger?: Logger): Promise<Endpoint> {
  const before = endpoint.state;
  try {
    // Both questions at once: a check takes one round trip, not two.
    const [health, res] = await Promise.all([
      fetchOnceMore(healthUrl(endpoint.url), { signal: AbortSignal.timeout(timeoutMs) }, true),
      postGraphQL(endpoint.url, { query: "{ _service { sdl } }" }, {}, timeoutMs),
    ]);
    if (health.status !== 200) {
      const body = (await health.json().catch(() => ({}))) as { error?: string };
      throw new Error(`/health answered ${health.status}${body.error ? `: ${String(body.error).slice(0, 200)}` : ""}`);
    }
    const sdl = res.data?._service?.sdl;
    if (typeof sdl !== "string") throw new Error("no SDL in the answer to { _service { sdl } }");
    if (normalize(sdl) === normalize(expectedSdl)) {
      endpoint.state = "up";
      delete endpoint.error;
    } else {
      endpoint.state = "schema-mismatch";
      endpoint.error = "serves a schema different from this gateway's (another version?); left out until it matches";
    }
  } catch (err) {
    endpoint.state = "down";
    endpoint.error = (err as Error).message;
  }
  endpoint.checkedAt = new Date().toISOString();
  if (before !== endpoint.state) {
    const log = endpoint.state === "up" ? logger?.info.bind(logger) : logger?.warn.bind(logger);
    log?.({ subgraph: endpoint.name, url: endpoint.url, state: endpoint.state, error: endpoint.error }, "subgraph state changed");
  }
  return endpoint;
}
