import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { gzipSync } from "node:zlib";
import { subgraphFetch } from "../../gateway/subgraph-fetch";
import { isConnectionRace } from "../../gateway/subgraph-status";
import { httpHead } from "../../lib/http-get";
import { httpPut } from "../../lib/http-put";
import { copyObject } from "../../agents/copy";
import { checksumsOf } from "../../lib/checksum";
import { ErrorCode } from "../../lib/errors";
import type { StorageDriver } from "../../lib/storage/driver";
import { openStorage } from "../../lib/storage/factory";
import { startTestS3Server, TestS3Server } from "../support/s3-server";

/**
 * The node:http clients that replaced fetch and the SDK on hot paths, against real servers that
 * misbehave as networks and stores do: the gateway's subgraph requests (subgraph-fetch.ts) fail as
 * fetch fails, and the S3 driver's PUT (http-put.ts) never hangs on a store that refuses early or
 * goes silent; and an agent's copy (agents/copy.ts) stops on a stalled, broken or abandoned source.
 */
const servers: http.Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

describe("subgraphFetch", () => {
  it("posts the body and headers and answers as fetch does: status, headers, url, text or JSON read once, a gzip body decoded", async () => {
    const url = await serve((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const answer = JSON.stringify({ data: { method: req.method, body, authorization: req.headers.authorization, type: req.headers["content-type"] } });
        if (req.headers["x-gzip"]) {
          res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "cache-control": "max-age=5" });
          res.end(gzipSync(answer));
        } else {
          res.writeHead(207, "Odd", { "content-type": "application/json" });
          res.end(answer);
        }
      });
    });
    const res = await subgraphFetch(url, { method: "POST", headers: { "Content-Type": "application/json", authorization: "Bearer t" }, body: '{"query":"{ x }"}' });
    expect([res.status, res.statusText, res.ok, res.url, res.headers.get("content-type")]).toEqual([207, "Odd", true, url, "application/json"]);
    expect(await res.json()).toEqual({ data: { method: "POST", body: '{"query":"{ x }"}', authorization: "Bearer t", type: "application/json" } });
    await expect(res.text()).rejects.toThrow(/already been read/);
    const zipped = await subgraphFetch(url, { method: "POST", headers: new Headers({ "x-gzip": "1" }), body: "é" });
    expect(zipped.headers.get("cache-control")).toBe("max-age=5");
    expect(zipped.headers.get("content-encoding")).toBeNull();
    expect(JSON.parse(await zipped.text()).data.body).toBe("é");
  });

  it("rejects with the signal's TimeoutError, and with a connection race (retried for reads) when the answer breaks off, never hanging", async () => {
    const silent = await serve(() => undefined);
    const timedOut = await subgraphFetch(silent, { method: "POST", body: "{}", signal: AbortSignal.timeout(200) }).catch((e) => e);
    expect(timedOut.name).toBe("TimeoutError");
    expect(isConnectionRace(timedOut)).toBe(false);
    const cut = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      res.write('{"data":');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const broken = await subgraphFetch(cut, { method: "POST", body: "{}" }).catch((e) => e);
    expect(String(broken.message)).toMatch(/socket hang up|ECONNRESET|aborted/);
    expect(isConnectionRace(broken)).toBe(true);
    const refused = await subgraphFetch("http://127.0.0.1:1/graphql", { method: "POST", body: "{}" }).catch((e) => e);
    expect(refused.code).toBe("ECONNREFUSED");
  });
});

describe("httpPut", () => {
  it("sends a buffer or a stream with its headers, and drains a success so the connection is reused", async () => {
    const seen: Array<{ length: number; md5?: string; port: number }> = [];
    const url = await serve((req, res) => {
      let length = 0;
      req.on("data", (d: Buffer) => (length += d.length));
      req.on("end", () => {
        seen.push({ length, md5: req.headers["content-md5"] as string, port: req.socket.remotePort! });
        res.writeHead(200, { etag: '"abc"' });
        res.end("<ok/>");
      });
    });
    const first = await httpPut(url, Buffer.alloc(1000), { headers: { "content-length": 1000, "content-md5": "x" }, connectTimeoutMs: 5000, idleTimeoutMs: 5000 });
    expect([first.statusCode, first.headers.etag, first.errorBody]).toEqual([200, '"abc"', ""]);
    const body = new PassThrough();
    const second = httpPut(url, body, { headers: { "content-length": 6 }, connectTimeoutMs: 5000, idleTimeoutMs: 5000 });
    body.write("abc");
    body.end("def");
    expect((await second).statusCode).toBe(200);
    expect(seen.map((s) => s.length)).toEqual([1000, 6]);
    expect(seen[0].md5).toBe("x");
    expect(seen[1].port).toBe(seen[0].port);
  });

  it("gives a store's early refusal with its error document while the body is still coming, and a TimeoutError when the store goes silent", async () => {
    const refusing = await serve((_req, res) => {
      res.writeHead(403, { "content-type": "application/xml" });
      res.end("<Error><Code>AccessDenied</Code><Message>no</Message></Error>");
    });
    const body = new PassThrough();
    body.write(Buffer.alloc(1024));
    const refused = await httpPut(refusing, body, { headers: { "content-length": 10 * 1024 * 1024 }, connectTimeoutMs: 5000, idleTimeoutMs: 5000 });
    expect([refused.statusCode, refused.errorBody]).toEqual([403, expect.stringContaining("<Code>AccessDenied</Code>")]);
    const silent = await serve(() => undefined);
    const err = await httpPut(silent, Buffer.alloc(10), { headers: { "content-length": 10 }, connectTimeoutMs: 5000, idleTimeoutMs: 300 }).catch((e) => e);
    expect([err.name, err.message]).toEqual(["TimeoutError", expect.stringMatching(/nothing for 300 ms/)]);
  });
});

describe("httpHead", () => {
  it("gives the status of a HEAD over a kept-alive connection, and a TimeoutError when the server stays silent", async () => {
    const sockets = new Set<unknown>();
    const url = await serve((req, res) => {
      sockets.add(req.socket);
      if (req.url?.startsWith("/silent")) return;
      res.writeHead(req.url?.startsWith("/there") ? 200 : 404, { "content-length": 10 });
      res.end();
    });
    const base = url.replace(/\/graphql$/, "");
    expect(await httpHead(`${base}/there`, 5000)).toBe(200);
    expect(await httpHead(`${base}/missing`, 5000)).toBe(404);
    expect(sockets.size).toBe(1);
    const started = Date.now();
    const err = await httpHead(`${base}/silent`, 300).catch((e) => e);
    expect(err).toMatchObject({ name: "TimeoutError" });
    expect(Date.now() - started).toBeLessThan(3000);
    // The connection a timed-out HEAD held is not handed out again; the next HEAD answers.
    expect(await httpHead(`${base}/there`, 5000)).toBe(200);
  });
});

describe("copyObject (an agent's copy) from a source that misbehaves, into dbb serve s3", () => {
  let s3: TestS3Server;
  let destination: StorageDriver;
  beforeAll(async () => {
    s3 = await startTestS3Server(["copies"]);
    destination = openStorage({ rse: "DST_S3", kind: "S3", endpoint: s3.endpoint, bucket: "copies" }, { credentials: { DST_S3: s3.credentials }, multipartThresholdBytes: 64 << 20, partSizeBytes: 16 << 20 }, {});
  }, 60_000);
  afterAll(() => s3.stop());

  const data = randomBytes(64 * 1024);
  const expected = checksumsOf(data);
  /** A source that sends the headers, then `data` in 16 pieces `gapMs` apart, stopping after `pieces`. */
  const source = (gapMs: number, pieces = 16, end: "end" | "cut" | "hang" = "end") =>
    serve(async (_req, res) => {
      res.writeHead(200, { "content-length": data.length });
      for (let i = 0; i < pieces; i++) {
        res.write(data.subarray((i * data.length) / 16, ((i + 1) * data.length) / 16));
        await new Promise((r) => setTimeout(r, gapMs));
      }
      if (pieces === 16 && end === "end") res.end();
      else if (end === "cut") res.socket?.destroy();
    });
  const copy = (url: string, path: string, o: { stallMs?: number; signal?: AbortSignal } = {}) =>
    copyObject({ url, destination, path, expected, signal: o.signal ?? new AbortController().signal, stallMs: o.stallMs ?? 30_000 });

  it("goes on while bytes keep coming, slower than the stall limit allows in all but never between two of them", async () => {
    // 16 pieces 150 ms apart: 2.4 s in all, each gap under the 600 ms limit.
    const written = await copy(await source(150), "slow/steady.bin", { stallMs: 600 });
    expect(written).toMatchObject(expected);
    expect(await destination.stat("slow/steady.bin")).toEqual({ bytes: data.length });
  });

  it("fails with TIMEOUT when the source stops sending, and nothing appears at the destination", async () => {
    const started = Date.now();
    const err = await copy(await source(10, 4, "hang"), "slow/stalled.bin", { stallMs: 500 }).catch((e) => e);
    expect(err).toMatchObject({ code: ErrorCode.TIMEOUT, message: expect.stringMatching(/no bytes from the source/) });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await destination.stat("slow/stalled.bin")).toBeNull();
  });

  it("fails with NETWORK when the source's connection breaks mid-body, or the agent abandons the copy; nothing appears", async () => {
    const cut = await copy(await source(10, 4, "cut"), "slow/cut.bin").catch((e) => e);
    expect(cut).toMatchObject({ code: ErrorCode.NETWORK, message: expect.stringMatching(/reading the source failed/) });
    const controller = new AbortController();
    setTimeout(() => controller.abort("lease lost"), 300);
    const abandoned = await copy(await source(100), "slow/abandoned.bin", { signal: controller.signal }).catch((e) => e);
    expect(abandoned).toMatchObject({ code: ErrorCode.NETWORK, message: expect.stringMatching(/copy abandoned: lease lost/) });
    expect(await destination.stat("slow/cut.bin")).toBeNull();
    expect(await destination.stat("slow/abandoned.bin")).toBeNull();
  });
});
