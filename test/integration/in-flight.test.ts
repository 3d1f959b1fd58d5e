import http from "node:http";
import type { AddressInfo } from "node:net";
import { readsInFlight } from "../../gateway/in-flight";
import { fetchOnceMore } from "../../gateway/subgraph-status";
import { waitFor } from "../support/wait-for";

/**
 * The gateway's subgraph requests (fetchOnceMore) against a real HTTP server that holds its
 * answers until the test releases them: identical reads in flight reach the server once and every
 * caller gets the whole answer; mutations, other bodies and other tokens are sent each.
 */
let server: http.Server;
let url: string;
const received: Array<{ body: string; authorization?: string }> = [];
let held: Array<() => void> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const n = received.push({ body, authorization: req.headers.authorization });
      held.push(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ data: { n, echo: JSON.parse(body).query } }));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  received.length = 0;
  held = [];
});

const release = () => {
  for (const answer of held.splice(0)) answer();
};
const post = (query: string, retry: boolean, authorization?: string) =>
  fetchOnceMore(url, { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ query }) }, retry).then(
    (res) => res.json() as Promise<{ data: { n: number; echo: string } }>,
  );

it("sends identical reads in flight once and gives every caller the answer", async () => {
  const answers = Promise.all(Array.from({ length: 10 }, () => post("{ rses { name } }", true, "Bearer a")));
  await waitFor("the first read at the server", () => received.length === 1);
  expect(readsInFlight()).toBe(1);
  release();
  expect(await answers).toEqual(Array.from({ length: 10 }, () => ({ data: { n: 1, echo: "{ rses { name } }" } })));
  expect(readsInFlight()).toBe(0);
  // Answered: the next identical read is a request of its own.
  const later = post("{ rses { name } }", true, "Bearer a");
  await waitFor("the later read at the server", () => received.length === 2);
  release();
  expect((await later).data.n).toBe(2);
});

it("sends reads of other callers or other documents, and every mutation, each", async () => {
  const answers = Promise.all([
    post("{ rses { name } }", true, "Bearer a"),
    post("{ rses { name } }", true, "Bearer b"),
    post("{ rses { name } }", true),
    post("{ scopes { name } }", true, "Bearer a"),
    post("mutation { addScope(name: \"x\") { name } }", false, "Bearer a"),
    post("mutation { addScope(name: \"x\") { name } }", false, "Bearer a"),
  ]);
  await waitFor("six requests at the server", () => received.length === 6);
  release();
  expect(new Set((await answers).map((a) => a.data.n)).size).toBe(6);
  expect(received.map((r) => r.authorization ?? null)).toEqual(expect.arrayContaining(["Bearer a", "Bearer b", null]));
});

it("gives every caller of a shared read the failure when the server cannot be reached", async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const calls = Array.from({ length: 3 }, () => fetchOnceMore(`http://127.0.0.1:${port}/graphql`, { method: "POST", body: "{}" }, true));
  const outcomes = await Promise.allSettled(calls);
  expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
  expect(readsInFlight()).toBe(0);
});

it("gives each caller of a shared read its own answer to read once, as a Response", async () => {
  const send = () => fetchOnceMore(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ one }" }) }, true);
  const responses = Promise.all([send(), send(), send()]);
  await waitFor("the read at the server", () => received.length === 1);
  release();
  const [a, b, c] = await responses;
  for (const r of [a, b, c]) {
    expect(r.ok).toBe(true);
    expect(r.headers.get("content-type")).toBe("application/json");
  }
  const first = (await a.json()) as { data: { echo: string } };
  first.data.echo = "changed by the first caller";
  expect(await b.json()).toEqual({ data: { n: 1, echo: "{ one }" } });
  expect(JSON.parse(await c.text())).toEqual({ data: { n: 1, echo: "{ one }" } });
  expect(a.bodyUsed).toBe(true);
  await expect(a.text()).rejects.toThrow(/already been read/);
});
