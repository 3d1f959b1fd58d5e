import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Readable } from "node:stream";
import { httpTarget } from "../lib/http-get";
import { textResponse } from "./in-flight";

/**
 * The gateway's requests to its subgraphs: a fetch (the subset Apollo's RemoteGraphQLDataSource
 * and the facility router use: a string body, headers, a signal; an answer read as text or JSON)
 * made with node:http on kept-alive connections. Node's fetch (undici) cost about 0.35 ms of
 * CPU per call more, in web streams, abort signals and Response objects, and every operation
 * through the gateway makes one call or more. Fails as fetch fails: with the signal's reason
 * (a TimeoutError for AbortSignal.timeout), or with the socket's error ("socket hang up",
 * ECONNREFUSED, …).
 */
export function subgraphFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const { target, client, agent } = httpTarget(url, "a subgraph URL");
    const body = init.body;
    if (body != null && typeof body !== "string") {
      reject(new TypeError("subgraphFetch sends string bodies only"));
      return;
    }
    const headers: Record<string, string> = {};
    if (init.headers instanceof Headers || Array.isArray(init.headers)) for (const [k, v] of new Headers(init.headers)) headers[k] = v;
    else if (init.headers) for (const [k, v] of Object.entries(init.headers)) headers[k.toLowerCase()] = String(v);
    const payload = body == null ? null : Buffer.from(body, "utf8");
    if (payload) headers["content-length"] = String(payload.length);
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      reject(signal?.aborted ? signal.reason : err);
    };
    const request = client.request(target, { method: init.method ?? "GET", agent, headers }, (res) => {
      const encoding = String(res.headers["content-encoding"] ?? "").toLowerCase();
      const stream: Readable =
        encoding === "gzip" || encoding === "x-gzip" ? res.pipe(createGunzip()) : encoding === "deflate" ? res.pipe(createInflate()) : encoding === "br" ? res.pipe(createBrotliDecompress()) : res;
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", fail);
      res.on("error", fail);
      res.on("close", () => {
        if (!res.complete) fail(new Error("socket hang up: the connection closed before the answer was whole"));
      });
      stream.on("end", () => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i].toLowerCase();
          if (name !== "content-encoding" && name !== "content-length") pairs.push([name, res.rawHeaders[i + 1]]);
        }
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString("utf8");
        resolve(textResponse(status === 204 || status === 304 ? "" : text, { status, statusText: res.statusMessage ?? "", headers: pairs }, url));
      });
    });
    const onAbort = () => request.destroy(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    request.on("error", fail);
    request.end(payload ?? undefined);
  });
}
