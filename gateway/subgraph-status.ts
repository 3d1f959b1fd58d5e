import type { Logger } from "../lib/logger";

/**
 * What the gateway knows of each subgraph endpoint: up, down, or serving a schema different from
 * the one this gateway composed (left out of routing until it matches). Checked at start and
 * every refresh by asking the endpoint for its SDL (`{ _service { sdl } }`).
 */
export type EndpointState = "unknown" | "up" | "down" | "schema-mismatch";

export interface Endpoint {
  name: string;
  url: string;
  state: EndpointState;
  error?: string;
  checkedAt?: string;
}

/** POSTs a GraphQL request with a deadline. */
export async function postGraphQL(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ data?: any; errors?: any[] }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
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

/** Checks one endpoint against the SDL the gateway expects from it; updates and returns its state. */
export async function checkEndpoint(endpoint: Endpoint, expectedSdl: string, timeoutMs: number, logger?: Logger): Promise<Endpoint> {
  const before = endpoint.state;
  try {
    const res = await postGraphQL(endpoint.url, { query: "{ _service { sdl } }" }, {}, timeoutMs);
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
