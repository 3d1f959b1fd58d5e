import type http from "node:http";
import type { Readable } from "node:stream";
import { httpTarget } from "./http-get";

/** What a PUT was answered: its status and headers, and the body when it was not a success (at most ERROR_BODY_LIMIT bytes). */
export interface PutAnswer {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** The error document (S3's XML) of a non-2xx answer; empty for a success. */
  errorBody: string;
}

const ERROR_BODY_LIMIT = 64 * 1024;

export interface PutOptions {
  /** Sent as they are; content-length is required (the body is streamed, never chunked). */
  headers: Record<string, string | number>;
  signal?: AbortSignal;
  /** No connection within this long: fails with a TimeoutError. */
  connectTimeoutMs: number;
  /** The socket idle for this long (nothing sent or received): fails with a TimeoutError. */
  idleTimeoutMs: number;
}

function timeoutError(message: string): Error {
  const err = new Error(message);
  err.name = "TimeoutError";
  return err;
}

/**
 * PUTs a body (a buffer, or a stream piped as it comes) to a URL with node:http, on the kept-alive
 * connections the GETs use: what the S3 driver sends a presigned PUT with, where the SDK's
 * PutObject cost an agent more CPU per small file than reading and hashing its bytes. Resolves
 * once the answer has come (a success's body drained, so the connection serves the next
 * request); rejects with the socket's error, a TimeoutError, or the AbortError of `signal`. An
 * answer that comes before the whole body was sent (a refusal) ends the upload.
 */
export function httpPut(url: string, body: Buffer | Readable, options: PutOptions): Promise<PutAnswer> {
  return new Promise((resolve, reject) => {
    const { target, client, agent } = httpTarget(url, "a PUT URL");
    const request = client.request(target, { method: "PUT", agent, headers: options.headers, signal: options.signal });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      if (!Buffer.isBuffer(body)) body.unpipe(request);
      request.destroy();
      reject(err);
    };
    let connectTimer: NodeJS.Timeout | undefined;
    request.on("socket", (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => fail(timeoutError(`no connection to ${target.host} within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
      socket.once("connect", () => clearTimeout(connectTimer));
    });
    request.setTimeout(options.idleTimeoutMs, () => fail(timeoutError(`${target.host} sent and received nothing for ${options.idleTimeoutMs} ms`)));
    request.on("error", fail);
    request.on("response", (res) => {
      clearTimeout(connectTimer);
      const statusCode = res.statusCode ?? 0;
      // Early: before the whole body was handed over (end() not yet called). Not "before it was
      // flushed": the store's answer to the last bytes can be read in the same turn of the event
      // loop as the write of those bytes completes, and must still count as an answer.
      const early = !request.writableEnded;
      if (statusCode >= 200 && statusCode < 300 && !early) {
        res.resume();
        res.on("end", () => {
          settled = true;
          resolve({ statusCode, headers: res.headers, errorBody: "" });
        });
        res.on("error", fail);
        return;
      }
      // An error (or an answer before the body was all sent): its document is read, the upload ends.
      if (!Buffer.isBuffer(body)) body.unpipe(request);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size < ERROR_BODY_LIMIT) chunks.push(chunk);
        size += chunk.length;
      });
      const done = () => {
        if (settled) return;
        settled = true;
        const errorBody = Buffer.concat(chunks).toString("utf8").slice(0, ERROR_BODY_LIMIT);
        if (early) request.destroy();
        resolve({ statusCode: early && statusCode < 300 ? 0 : statusCode, headers: res.headers, errorBody });
      };
      res.on("end", done);
      res.on("error", done);
      res.on("close", done);
    });
    if (Buffer.isBuffer(body)) request.end(body);
    else {
      body.once("error", (err) => fail(err));
      body.pipe(request);
    }
  });
}
