import "reflect-metadata";
import http from "node:http";
import net from "node:net";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { GatewayService, startGateway } from "../../gateway/server";
import { postGraphQL } from "../../gateway/subgraph-status";
import { loadConfig } from "../../lib/config";
import { graphql } from "../support/graphql-client";

/**
 * The gateway's edge: subscriptions are refused with a code, an oversized body gets 413 without
 * being read, and a read whose pooled connection a subgraph closed at the wrong moment (a
 * keep-alive race) is sent once more, a mutation never.
 */
let gateway: GatewayService;

beforeAll(async () => {
  const config = loadConfig(undefined, { DBB_AUTH_SECRET: "s".repeat(32), DBB_DATA_DIR: "/tmp/dbb-gateway-edge", DBB_LOG_LEVEL: "silent" });
  config.gateway = { ...config.gateway, catalog: "http://127.0.0.1:9/graphql", facilities: [], refreshSeconds: 3600, facilityTimeoutMs: 500 };
  gateway = await startGateway(config, { port: 0, sdl: await localSubgraphSdl() });
});
afterAll(() => gateway?.close());

it("refuses a subscription with OPERATION_NOT_SUPPORTED, not HTTP 500", async () => {
  const res = await graphql(gateway.url, `subscription { events { id } }`);
  expect(res.status).toBeLessThan(500);
  expect(res.errors?.[0]?.extensions?.code).toBe("OPERATION_NOT_SUPPORTED");
});

it("answers 413 at once to a body declared larger than the limit, without waiting for it", async () => {
  const { port } = new URL(gateway.url);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/graphql", method: "POST", headers: { "content-type": "application/json", "content-length": 100 * 1024 * 1024 } });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    // Only the first bytes are ever sent: an answer can only come from a server that did not wait.
    req.write('{"query":"{ rses { name } }", "variables": {"x": "');
  });
  expect(answer.status).toBe(413);
  expect(JSON.parse(answer.body).errors[0].extensions.code).toBe("BODY_TOO_LARGE");
}, 15000);

it("answers 413 to a query document over the document limit", async () => {
  const res = await graphql(gateway.url, `{ rses { name ${"name ".repeat(10000)} } }`);
  expect(res.status).toBe(413);
  expect(res.errors?.[0]?.extensions?.code).toBe("DOCUMENT_TOO_LARGE");
});

describe("keep-alive races", () => {
  let server: http.Server;
  let url: string;
  let requests = 0;
  beforeAll(async () => {
    // Cuts every other connection as its first request arrives: what a server closing an idle
    // keep-alive connection looks like to the client that just sent on it.
    let connections = 0;
    server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.socket.destroyed) return;
        requests++;
        res.end(JSON.stringify({ data: { ok: true } }));
      });
    });
    server.on("connection", (socket: net.Socket) => {
      if (connections++ % 2 === 0) socket.once("data", () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/graphql`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends a query once more when its connection broke before the answer", async () => {
    requests = 0;
    expect(await postGraphQL(url, { query: "{ ok }" }, { connection: "close" }, 2000)).toEqual({ data: { ok: true } });
    expect(requests).toBe(1);
  });

  it("never sends a mutation twice", async () => {
    requests = 0;
    await expect(postGraphQL(url, { query: "mutation { ok }" }, { connection: "close" }, 2000)).rejects.toThrow();
    expect(requests).toBe(0);
  });
});
