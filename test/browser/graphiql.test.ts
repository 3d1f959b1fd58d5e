import "reflect-metadata";
import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { buildClientSchema, getIntrospectionQuery, parse, validate } from "graphql";
import { Browser, chromium, Page } from "playwright-core";
import { EXAMPLE_QUERIES } from "../../gateway/graphiql/examples";
import { graphiqlAssets, serveGraphiql } from "../../gateway/graphiql/page";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { GatewayService, startGateway } from "../../gateway/server";
import { startTestCatalog, TestCatalog } from "../support/catalog";

/**
 * The GraphiQL page in Debian's Chromium, served by the real gateway over a real catalog subgraph.
 */

/** The page's DOM, inside page.evaluate callbacks (this project's tsc has no DOM library). */
declare const document: { querySelector(selector: string): any };

const CHROMIUM = process.env.DBB_TEST_CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = process.env.DBB_TEST_SCREENSHOT ?? "/tmp/graphiql.png";

/** The real USDF gateway over the catalog, serving the page at / and GraphQL at /graphql. */
async function startPageServer(catalog: TestCatalog): Promise<{ origin: string; close(): Promise<void> }> {
  const config = { ...catalog.config, gateway: { ...catalog.config.gateway, catalog: catalog.url, facilities: [] } };
  const gateway: GatewayService = await startGateway(config, { port: 0, sdl: await localSubgraphSdl(), page: serveGraphiql });
  return { origin: gateway.url.replace(/\/graphql$/, ""), close: () => gateway.close() };
}

/** The text CodeMirror shows in the editor inside `selector` (it renders only visible lines). */
async function editorText(page: Page, selector: string): Promise<string> {
  return page.$eval(`${selector} .CodeMirror`, (el) => (el as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
}

async function waitForResponse(page: Page, contains: string): Promise<string> {
  try {
    await page.waitForFunction(
      (text) => {
        const el = document.querySelector(".graphiql-response .CodeMirror");
        return !!el && el.CodeMirror.getValue().includes(text);
      },
      contains,
      { timeout: 20000 },
    );
  } catch (err) {
    const query = await editorText(page, ".graphiql-query-editor").catch(() => "?");
    const response = await editorText(page, ".graphiql-response").catch(() => "?");
    throw new Error(`no ${contains} in the result pane: query ${query}\nresult ${response}\n${(err as Error).message}`);
  }
  return editorText(page, ".graphiql-response");
}

/** Replaces the active tab's query, as a person would: click, select all, type. */
async function typeQuery(page: Page, text: string): Promise<void> {
  await page.click(".graphiql-query-editor .CodeMirror-lines");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
}

describe("GraphiQL page (browser)", () => {
  let catalog: TestCatalog;
  let pageServer: Awaited<ReturnType<typeof startPageServer>>;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const failed: string[] = [];
  const badResponses: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set DBB_TEST_CHROMIUM`);
    }
    catalog = await startTestCatalog("browser_graphiql");
    await catalog.ok(`mutation { addRse(input: {name: "USDF_DISK", facility: "USDF", kind: POSIX, protocol: {root: "/data/usdf"}}) { name } }`);
    await catalog.ok(`mutation { addRse(input: {name: "FRDF_DISK", facility: "FrDF", kind: POSIX, protocol: {root: "/data/frdf"}}) { name } }`);
    pageServer = await startPageServer(catalog);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    page.on("request", (r) => requests.push(r.url()));
    page.on("requestfailed", (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on("response", (r) => {
      // GraphQL errors may come with 4xx (application/graphql-response+json); anything else may not.
      if (r.status() >= 400 && !r.url().endsWith("/graphql")) badResponses.push(`${r.status()} ${r.url()}`);
    });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (err) => consoleErrors.push(String(err)));
  });

  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
    await catalog?.close();
  });

  it("loads from the gateway alone and shows GraphiQL with the explorer and the example tabs", async () => {
    await page.goto(pageServer.origin + "/", { waitUntil: "load" });
    await page.waitForSelector(".graphiql-container", { timeout: 20000 });
    // The explorer is open and has the schema (from introspection through /graphql).
    await page.waitForSelector(".graphiql-plugin .graphiql-explorer-root", { timeout: 20000 });
    await page.waitForFunction(() => document.querySelector(".graphiql-plugin")?.textContent?.includes("facilities"), null, {
      timeout: 20000,
    });
    expect(await page.locator('.graphiql-sidebar button[aria-label*="GraphiQL Explorer"]').count()).toBe(1);
    expect(await page.locator('.graphiql-sidebar button[aria-label*="Examples"]').count()).toBe(1);

    const titles = await page.locator(".graphiql-tab-button").allTextContents();
    expect(titles.map((t) => t.trim())).toEqual(["WhereIsMyFile", "DatasetsAtUsdf", "StuckRules", "TransfersInFlight", "RawsCoveringPosition", "LargeFileAnnex"]);
    expect(await editorText(page, ".graphiql-query-editor")).toBe(EXAMPLE_QUERIES[0].query);

    expect(requests.length).toBeGreaterThan(0);
    const foreign = requests.filter((u) => !u.startsWith(pageServer.origin + "/") && !u.startsWith("data:"));
    expect(foreign).toEqual([]);
    expect(failed).toEqual([]);
    expect(badResponses).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual(
      expect.arrayContaining([pageServer.origin + "/", expect.stringContaining("/graphiql.js?v="), expect.stringContaining("/graphiql.css?v=")]),
    );
  });

  it("runs a typed query and shows the result JSON", async () => {
    await page.click(".graphiql-tab-add");
    await typeQuery(page, "{ facilities { code } }");
    await page.click(".graphiql-execute-button");
    const text = await waitForResponse(page, '"facilities"');
    expect(JSON.parse(text)).toEqual({ data: { facilities: [{ code: "FrDF" }, { code: "USDF" }] } });
    await page.screenshot({ path: SCREENSHOT });
  });

  it("runs a saved example picked from the Examples panel", async () => {
    await page.click('.graphiql-sidebar button[aria-label*="Examples"]');
    await page.waitForSelector(".dbb-example");
    expect((await page.locator(".dbb-example-title").allTextContents()).length).toBe(EXAMPLE_QUERIES.length);
    await page.click('.dbb-example:has-text("Stuck rules")');
    await page.waitForFunction(
      () => document.querySelector(".graphiql-tab-active")?.textContent?.includes("StuckRules"),
      null,
      { timeout: 10000 },
    );
    await page.click(".graphiql-execute-button");
    const text = await waitForResponse(page, '"totalCount"');
    expect(JSON.parse(text)).toEqual({ data: { rules: { totalCount: 0, nodes: [] } } });

    // An example whose tab was closed opens in a new tab.
    await page.click('.graphiql-tab-button:has-text("TransfersInFlight")');
    await page.click('.graphiql-tab-active .graphiql-tab-close');
    await page.waitForFunction(() => !document.querySelector(".graphiql-tabs")?.textContent?.includes("TransfersInFlight"));
    await page.click('.dbb-example:has-text("Transfers in flight")');
    await page.waitForFunction(
      () => document.querySelector(".graphiql-tab-active")?.textContent?.includes("TransfersInFlight"),
      null,
      { timeout: 10000 },
    );
    expect(await editorText(page, ".graphiql-query-editor")).toBe(EXAMPLE_QUERIES[3].query);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "-examples.png") });
    await page.click(".graphiql-execute-button");
    expect(JSON.parse(await waitForResponse(page, '"transfers"'))).toEqual({ data: { transfers: { totalCount: 0, nodes: [] } } });
  });

  it("sends the Authorization header set in the headers editor", async () => {
    await page.click(".graphiql-tab-add");
    await typeQuery(page, 'mutation { addScope(name: "browser") { name account } }');
    await page.click(".graphiql-execute-button");
    expect(await waitForResponse(page, "UNAUTHENTICATED")).toContain("UNAUTHENTICATED");

    await page.click('.graphiql-editor-tools button:has-text("Headers")');
    await page.click(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror-lines");
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${catalog.tokens.admin}` }));
    await page.click(".graphiql-execute-button");
    const text = await waitForResponse(page, '"addScope"');
    expect(JSON.parse(text)).toEqual({ data: { addScope: { name: "browser", account: "alice" } } });
  });

  it("lints the variables pane: valid JSON for a JSONObject argument is not marked, a non-object is", async () => {
    await page.click(".graphiql-tab-add");
    await typeQuery(page, 'query Meta($m: JSONObject) { dids(scope: "raw", metadata: $m) { totalCount } }');
    await page.click('.graphiql-editor-tools button:has-text("Variables")');
    const variables = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
    const setVariables = async (text: string) => {
      await page.$eval(variables, (el, t) => (el as unknown as { CodeMirror: { setValue(v: string): void } }).CodeMirror.setValue(t), text);
    };
    const marks = () => page.locator(`${variables} .CodeMirror-lint-mark-error`).count();
    // A non-object first: the lint runs and marks it (so a pane that never lints cannot pass).
    await setVariables('{"m": 5}');
    await page.waitForFunction((sel) => !!document.querySelector(`${sel} .CodeMirror-lint-mark-error`), variables, { timeout: 10000 });
    await setVariables('{"m": {"instrument": "LSSTCam", "day_obs": {"gte": 20250601}}}');
    await page.waitForFunction((sel) => !document.querySelector(`${sel} .CodeMirror-lint-mark-error`), variables, { timeout: 10000 });
    expect(await marks()).toBe(0);
    await page.click(".graphiql-execute-button");
    expect(JSON.parse(await waitForResponse(page, '"totalCount"'))).toEqual({ data: { dids: { totalCount: 0 } } });
  });

  it("shows argument values in the explorer whole, not cut off", async () => {
    await page.click(".graphiql-tab-add");
    await typeQuery(page, '{ facility(code: "USDF") { code } did(scope: "raw", name: "LSSTCam/raw/20250601/MC_O_20250601_000001") { name } }');
    if (!(await page.locator(".graphiql-plugin .graphiql-explorer-root").count())) {
      await page.click('.graphiql-sidebar button[aria-label*="GraphiQL Explorer"]');
    }
    await page.waitForFunction(() => {
      const inputs = [...(document as any).querySelectorAll(".graphiql-explorer-root input[type=text]")] as any[];
      return inputs.some((i) => i.value === "USDF") && inputs.some((i) => i.value.startsWith("LSSTCam/"));
    }, null, { timeout: 10000 });
    const sizes = await page.$$eval(".graphiql-explorer-root input[type=text]", (inputs) =>
      inputs.filter((i: any) => i.value).map((i: any) => ({ value: i.value, cut: i.scrollWidth > i.clientWidth + 1 })),
    );
    expect(sizes.filter((s) => s.value === "USDF" || s.value.startsWith("LSSTCam/")).sort((a, b) => a.value.localeCompare(b.value))).toEqual([
      { value: "LSSTCam/raw/20250601/MC_O_20250601_000001", cut: false },
      { value: "USDF", cut: false },
    ]);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "-explorer.png") });
  });

  it("kept every request on the gateway's origin, none failed", () => {
    expect(requests.filter((u) => !u.startsWith(pageServer.origin + "/") && !u.startsWith("data:"))).toEqual([]);
    expect(failed).toEqual([]);
    expect(badResponses).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});

describe("GraphiQL page (server side)", () => {
  it("answers its three paths for GET and HEAD, with a strict CSP, and nothing else", async () => {
    const server = http.createServer((req, res) => {
      if (!serveGraphiql(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const html = await fetch(origin + "/");
      expect(html.status).toBe(200);
      expect(html.headers.get("content-type")).toMatch(/^text\/html/);
      expect(html.headers.get("content-security-policy")).toContain("default-src 'none'");
      const body = await html.text();
      expect(body).not.toMatch(/https?:\/\//);

      const { version, js, css } = graphiqlAssets();
      const script = await fetch(`${origin}/graphiql.js?v=${version}`);
      expect(script.status).toBe(200);
      expect(script.headers.get("cache-control")).toContain("immutable");
      expect(Buffer.from(await script.arrayBuffer()).equals(js)).toBe(true);
      const style = await fetch(`${origin}/graphiql.css`, { method: "HEAD" });
      expect(style.status).toBe(200);
      expect(style.headers.get("content-type")).toMatch(/^text\/css/);
      expect(Number(style.headers.get("content-length"))).toBe(css.length);
      expect((await fetch(`${origin}/graphiql.css`, { headers: { "if-none-match": `"${version}"` } })).status).toBe(304);

      expect((await fetch(origin + "/graphql")).status).toBe(418);
      expect((await fetch(origin + "/other")).status).toBe(418);
      expect((await fetch(origin + "/", { method: "POST", body: "{}" })).status).toBe(418);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("GraphiQL example queries", () => {
  let catalog: TestCatalog;
  let server: { origin: string; close(): Promise<void> };
  beforeAll(async () => {
    catalog = await startTestCatalog("browser_examples");
    server = await startPageServer(catalog);
  });
  afterAll(async () => {
    await server?.close();
    await catalog?.close();
  });

  it("use the supergraph's real field names", async () => {
    const res = await fetch(`${server.origin}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: getIntrospectionQuery() }),
    });
    const schema = buildClientSchema(((await res.json()) as { data: any }).data);
    for (const example of EXAMPLE_QUERIES) {
      const errors = validate(schema, parse(example.query)).map((e) => e.message);
      expect({ example: example.title, errors }).toEqual({ example: example.title, errors: [] });
      if (example.variables) expect(() => JSON.parse(example.variables!)).not.toThrow();
    }
  });
});
