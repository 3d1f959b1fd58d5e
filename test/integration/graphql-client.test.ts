import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { DbbError } from "../../lib/errors";
import { GraphqlClient } from "../../lib/graphql-client";
import { startTestCatalog, TestCatalog } from "../support/catalog";

/**
 * lib/graphql-client.ts against a real catalog service and against servers that fail in the ways
 * a network does: errors come back as DbbErrors with the server's code, partial answers keep
 * their data, and an answer that is no GraphQL gets NETWORK, TIMEOUT, HTTP_ERROR or BODY_TOO_LARGE.
 */
let cat: TestCatalog;
const servers: Array<http.Server | net.Server> = [];
const sockets: net.Socket[] = [];

beforeAll(async () => {
  cat = await startTestCatalog("graphql_client");
});
afterAll(async () => {
  for (const s of servers) {
    const closed = new Promise((r) => s.close(r));
    if (s instanceof http.Server) s.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    await closed;
  }
  await cat?.close();
});

async function listen<T extends http.Server | net.Server>(server: T): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

async function thrown(p: Promise<unknown>): Promise<DbbError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DbbError);
    return err as DbbError;
  }
  throw new Error("expected a DbbError");
}

it("sends the token and returns data; a GraphQL error becomes a DbbError with the server's code and extensions", async () => {
  const admin = new GraphqlClient({ url: cat.url, token: () => cat.tokens.admin });
  expect(await admin.request(`mutation { addScope(name: "gqlclient") { name account } }`)).toEqual({ addScope: { name: "gqlclient", account: "alice" } });
  const reader = new GraphqlClient({ url: cat.url, token: cat.tokens.reader });
  const forbidden = await thrown(reader.request(`mutation { addScope(name: "other") { name } }`));
  expect(forbidden.code).toBe("FORBIDDEN");
  expect(forbidden.details).toMatchObject({ requiredScopes: ["catalog:admin"], path: ["addScope"] });
  const missing = await thrown(admin.request(`{ rule(id: "00000000-0000-0000-0000-000000000000") { id } }`));
  expect(missing.code).toBe("RULE_NOT_FOUND");
});

it("send keeps a partial answer: the data that came and every error", async () => {
  const client = new GraphqlClient({ url: cat.url });
  const answer = await client.send<{ scopes: Array<{ name: string }>; rule: null }>(`{ scopes { name } rule(id: "00000000-0000-0000-0000-000000000000") { id } }`);
  expect(answer.data?.scopes.map((s) => s.name)).toContain("gqlclient");
  expect(answer.data?.rule).toBeNull();
  expect(answer.errors.map((e) => e.extensions?.code)).toEqual(["RULE_NOT_FOUND"]);
});

it("gives NETWORK for a closed port, TIMEOUT for a server that never answers", async () => {
  const closed = net.createServer();
  const url = await listen(closed);
  await new Promise((r) => closed.close(r));
  servers.splice(servers.indexOf(closed), 1);
  const network = await thrown(new GraphqlClient({ url }).request(`{ scopes { name } }`));
  expect([network.code, network.message]).toEqual(["NETWORK", expect.stringMatching(/cannot reach .*ECONNREFUSED/)]);

  const silent = net.createServer((socket) => {
    sockets.push(socket); // accepted, never answered
  });
  const timeout = await thrown(new GraphqlClient({ url: await listen(silent), timeoutMs: 300 }).request(`{ scopes { name } }`));
  expect([timeout.code, timeout.message]).toEqual(["TIMEOUT", expect.stringMatching(/did not answer within 300 ms$/)]);
});

it("gives HTTP_ERROR for a proxy's error page and BODY_TOO_LARGE for HTTP 413, with the status", async () => {
  const proxy = http.createServer((_req, res) => {
    res.statusCode = 502;
    res.end("<html>Bad Gateway</html>");
  });
  const url = await listen(proxy);
  const bad = await thrown(new GraphqlClient({ url }).request(`{ scopes { name } }`));
  expect([bad.code, bad.details.status, bad.message]).toEqual(["HTTP_ERROR", 502, expect.stringMatching(/answered HTTP 502 without a GraphQL answer: <html>Bad Gateway/)]);
  const big = http.createServer((_req, res) => {
    res.statusCode = 413;
    res.end("too large");
  });
  const large = await thrown(new GraphqlClient({ url: await listen(big) }).request(`{ scopes { name } }`));
  expect([large.code, large.details.status]).toEqual(["BODY_TOO_LARGE", 413]);
});

it("rejects with the caller's own abort reason when the caller aborts, as fetch does", async () => {
  const silent = net.createServer((socket) => {
    sockets.push(socket);
  });
  const client = new GraphqlClient({ url: await listen(silent), timeoutMs: 10_000 });
  const controller = new AbortController();
  const answer = client.send(`{ scopes { name } }`, {}, { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("the agent is stopping")), 100);
  await expect(answer).rejects.toThrow("the agent is stopping");
});
