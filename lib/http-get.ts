import http from "node:http";
import https from "node:https";

/** Connections are kept open between requests (one pool per process, for http and https, shared by every client through httpTarget). */
const keepAliveAgents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };

/**
 * The URL parsed, with the node:http module and kept-alive pool for its scheme; throws a TypeError
 * naming `what` for any scheme but http and https (thrown inside a Promise executor, it rejects).
 * The one entry of this process's node:http clients: GETs here, the S3 driver's PUTs
 * (http-put.ts), the GraphQL client and the gateway's subgraph requests.
 */
export function httpTarget(url: string, what: string): { target: URL; client: typeof http | typeof https; agent: http.Agent } {
  const target = new URL(url);
  if (target.protocol === "http:") return { target, client: http, agent: keepAliveAgents["http:"] };
  if (target.protocol === "https:") return { target, client: https, agent: keepAliveAgents["https:"] };
  throw new TypeError(`${what} must be http or https, not ${target.protocol}`);
}

/**
 * GETs a URL with node:http (lighter than fetch and its web streams, over every chunk of every
 * copy): the response once its headers came, its body still to read. What an agent reads a source
 * with (agents/copy.ts, its sidecars in ingest-inputs.ts) and what the S3 driver lists with.
 */
export function httpGet(url: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
  return httpRequest("GET", url, { signal });
}

/**
 * The status of a HEAD of a URL (the S3 driver's presigned HEADs: whether an object is there);
 * a TimeoutError when the server stays silent for `timeoutMs` (a socket timeout: no AbortSignal
 * made for each of a read door's thousands of HEADs).
 */
export async function httpHead(url: string, timeoutMs: number): Promise<number> {
  const res = await httpRequest("HEAD", url, { timeoutMs });
  // Answered once the (empty) response has ended: its connection is back in the pool for the next.
  await new Promise<void>((resolve, reject) => res.on("end", resolve).on("error", reject).resume());
  return res.statusCode ?? 0;
}

/**
 * One request with node:http on the kept-alive pool, resolved with the response once its headers
 * came (its body still to read). A kept-alive connection the server had closed as it was reused
 * (ECONNRESET before any answer: the request never reached it) is asked again once, on a new
 * one (node:http's advice). What httpGet, httpHead and the GraphQL client's POST send with.
 */
export function httpRequest(
  method: "GET" | "HEAD" | "POST",
  url: string,
  options: { what?: string; signal?: AbortSignal; timeoutMs?: number; headers?: Record<string, string | number>; body?: Buffer } = {},
): Promise<http.IncomingMessage> {
  const { signal, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    const { target, client, agent } = httpTarget(url, options.what ?? "a read URL");
    const attempt = (retry: boolean) => {
      const request = client.request(target, { method, agent, signal, timeout: timeoutMs, headers: options.headers }, (res) => {
        request.setTimeout(0);
        resolve(res);
      });
      if (timeoutMs) request.on("timeout", () => request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: "TimeoutError" })));
      request.on("error", (err: NodeJS.ErrnoException) => {
        if (retry && request.reusedSocket && err.code === "ECONNRESET" && !signal?.aborted) attempt(false);
        else reject(err);
      });
      request.end(options.body);
    };
    attempt(true);
  });
}
