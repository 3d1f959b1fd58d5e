import http from "node:http";
import https from "node:https";

/** Connections are kept open between requests (one pool per process, for http and https; the S3 driver's PUTs share it, lib/http-put.ts). */
export const keepAliveAgents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };

/**
 * GETs a URL with node:http (lighter than fetch and its web streams, over every chunk of every
 * copy): the response once its headers came, its body still to read. What an agent reads a source
 * with (agents/copy.ts, its sidecars in ingest-inputs.ts) and what the S3 driver lists with.
 */
export function httpGet(url: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== "http:" && target.protocol !== "https:") {
      reject(new Error(`a read URL must be http or https, not ${target.protocol}`));
      return;
    }
    const client = target.protocol === "https:" ? https : http;
    const agent = keepAliveAgents[target.protocol];
    const send = (retry: boolean) => {
      const request = client.get(target, { agent, signal }, resolve);
      request.on("error", (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed as it was reused: asked again once, on a new one (node:http's advice).
        if (retry && request.reusedSocket && err.code === "ECONNRESET" && !signal?.aborted) send(false);
        else reject(err);
      });
    };
    send(true);
  });
}
