import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Browser, chromium, Page } from "playwright-core";
import { parse as parseYaml } from "yaml";
import { demoFiles } from "../../cli/demo/catalog-demo";
import { demoLfaFiles } from "../../cli/demo/lfa-demo";
import { loadConfig } from "../../lib/config";
import { healpixIndex } from "../../subgraphs/facility/sky/healpix";
import { fromLonLatDegrees } from "../../subgraphs/facility/sky/vector";
import { parseSkyFootprint } from "../../subgraphs/replicas/sky-footprint";
import { runDbb } from "../support/dbb-cli";
import { graphql, ok } from "../support/graphql-client";
import { freePorts, ServiceProcess, spawnDbb } from "../support/processes";
import { waitFor } from "../support/wait-for";

/**
 * The status page (GET /status) in Debian's Chromium against `dbb dev`: the whole local
 * federation in real processes, its agents moving the demo's raws by its policies. Once the demo
 * has settled, each section shows the numbers the demo's definition implies (computed here from
 * cli/demo, not read back from the API); a facility killed by its PID greys out while the rest
 * keeps updating; Retry on the STUCK rule re-queues it. Screenshots of the page and of each
 * section, light and dark, are saved for review in test-output/status-page/ (DBB_TEST_SCREENSHOTS).
 */

/** The page's DOM, inside page.evaluate callbacks (this project's tsc has no DOM library). */
declare const document: { querySelector(selector: string): any; querySelectorAll(selector: string): any };

const CHROMIUM = process.env.DBB_TEST_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = process.env.DBB_TEST_SCREENSHOTS ?? path.resolve(__dirname, "../../../test-output/status-page");
/** A first start loads the demo; on two busy cores that has taken over four minutes. */
const START_MS = 480_000;
const SECTIONS = ["facilities", "links", "policies", "sky", "ingest"];

let dataDir: string;
let base: number;
let dev: ServiceProcess | undefined;
let browser: Browser;
let page: Page;
let origin: string;
const requests: string[] = [];
const failed: string[] = [];
const badResponses: string[] = [];
const consoleErrors: string[] = [];

/** What the demo's definition says the settled state is. */
const demo = (() => {
  const files = demoFiles();
  const policies = parseYaml(readFileSync(path.resolve(__dirname, "../../../cli/demo/policies.yaml"), "utf8"));
  const uk = parseSkyFootprint(policies.subscriptions.find((s: any) => s.name === "raw-ukdf-footprint").filter.sky);
  const inFootprint = files.filter((f) => uk.contains(f.ra, f.dec)).length;
  const pixels = new Set(files.map((f) => healpixIndex(fromLonLatDegrees(f.ra, f.dec), 16, true))).size;
  const nights = new Set(files.map((f) => f.night)).size;
  // The Large File Annex's files go to USDF too (lfa-to-usdf); those agent.lfaIngest lists are ingested there.
  const lfa = demoLfaFiles(files);
  const lfaIngest = loadConfig(undefined, {}).agent.lfaIngest;
  const lfaIngested = lfa.filter((f) =>
    lfaIngest.some((r) => r.csc === f.event.csc && (!r.generator || r.generator === f.event.generator) && (!r.mimeType || r.mimeType === f.event.mimeType)),
  ).length;
  return { files: files.length, inFootprint, pixels, perNight: files.length / nights, lfa: lfa.length, lfaIngested };
})();

const text = (selector: string) => page.locator(selector).first().innerText();
async function shot(name: string, selector?: string) {
  if (selector) return page.locator(selector).screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
  // From the top, so the sticky header is where a reader sees it.
  await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
  return page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
const liveRounds = () => page.locator(".page").getAttribute("data-live-rounds").then(Number);

/**
 * The data of an answer, or undefined when it has errors: while the demo settles, a wait takes a
 * busy moment (an embedded database restarting its thread after a slow statement) as "not yet".
 */
async function answer(query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await graphql(dev!.url, query, variables).catch(() => undefined);
  return res && !res.errors?.length ? res.data : undefined;
}

/** The services table `dbb dev` prints: `  facility UKDF  pid 1234  http://127.0.0.1:4004/graphql`. */
function servicesOf(output: string) {
  return [...output.matchAll(/^ {2}(s3|catalog|gateway|facility \S+|agent \S+)\s+pid (\d+)\s+(http:\S+)$/gm)].map((m) => ({ name: m[1], pid: Number(m[2]), url: m[3] }));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set DBB_TEST_CHROMIUM`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-status-page-"));
  [base] = await freePorts(11, 26000, 30000);
  const env: NodeJS.ProcessEnv = { ...process.env, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn" };
  delete env.DBB_DATABASE_URL;
  dev = await spawnDbb(["dev", "--port-base", String(base)], base, env, START_MS);
  await dev.waitForOutput(/Status page: http:\/\/127\.0\.0\.1:\d+\/status/, START_MS);
  origin = `http://127.0.0.1:${base}`;
  // The demo settles: every raw at USDF and FrDF, the UK footprint at UKDF but for the rotten copy (STUCK).
  const states = async (subscription: string) =>
    (await answer(`query($s: String!) { rules(filter: { subscription: $s }, first: 200) { nodes { state } } }`, { s: subscription }))?.rules.nodes.map((r: any) => r.state);
  await waitFor(
    "the demo's rules to settle",
    async () => {
      const [usdf, frdf, ukdf, lfa] = await Promise.all(["raw-to-usdf", "raw-to-frdf", "raw-ukdf-footprint", "lfa-to-usdf"].map(states));
      if (!usdf || !frdf || !ukdf || !lfa) return false;
      return (
        lfa.length === demo.lfa && lfa.every((s: string) => s === "OK") &&
        usdf.length === demo.files && frdf.length === demo.files && [...usdf, ...frdf].every((s: string) => s === "OK") &&
        ukdf.length === demo.inFootprint && ukdf.filter((s: string) => s === "STUCK").length === 1 && ukdf.filter((s: string) => s === "OK").length === demo.inFootprint - 1
      );
    },
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
  // The Summit's agent has deleted the first night there; UKDF has ingested what it holds.
  await waitFor("the Summit's first-night copies deleted", async () => (await answer(`{ replicas(rse: "SUMMIT_DISK", first: 1) { totalCount } }`))?.replicas.totalCount === demo.files - demo.perNight, {
    timeoutMs: 120_000,
    intervalMs: 1000,
  });
  await waitFor(
    "UKDF's and USDF's arrivals ingested",
    async () => {
      const a = await answer(`{ ukdf: facility(code: "UKDF") { ingestSummary { ingested } } usdf: facility(code: "USDF") { ingestSummary { ingested notADataset } } }`);
      return (
        a?.ukdf.ingestSummary?.ingested === demo.inFootprint - 1 &&
        a?.usdf.ingestSummary?.ingested === demo.perNight + demo.lfaIngested &&
        a?.usdf.ingestSummary?.notADataset === demo.lfa - demo.lfaIngested
      );
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: "light" });
  page.on("request", (r) => requests.push(r.url()));
  page.on("requestfailed", (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    // /ready answers 503 while a subgraph is down, GraphQL errors may come with 4xx: both are answers the page reads.
    if (r.status() >= 400 && !r.url().endsWith("/graphql") && !r.url().endsWith("/ready")) badResponses.push(`${r.status()} ${r.url()}`);
  });
  page.on("console", (m) => {
    // Chromium logs every non-2xx answer; /ready's 503 (a subgraph not up) is one the page reads.
    if (m.type() === "error" && !(m.location().url.endsWith("/ready") && /status of 503/.test(m.text()))) consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
}, START_MS + 420_000);

afterAll(async () => {
  await browser?.close();
  if (dev) {
    await dev.stop();
    // Anything dev left behind (none on a clean stop) goes too: only processes of this data dir.
    for (const s of servicesOf(dev.output())) {
      try {
        if (readFileSync(`/proc/${s.pid}/cmdline`, "utf8").includes(dataDir)) process.kill(s.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

it("loads from the gateway alone, with no failed request, and shows every section", async () => {
  // Quick rounds, so the test sees the page refresh (the defaults are 5 s and 30 s).
  await page.goto(`${origin}/status?refresh=2&slow=4`, { waitUntil: "load" });
  await page.waitForFunction(() => Number(document.querySelector(".page")?.dataset.liveRounds) >= 1 && Number(document.querySelector(".page")?.dataset.slowRounds) >= 1, null, {
    timeout: 30_000,
  });
  await page.waitForSelector('[data-sky="all"] svg', { timeout: 30_000 });
  for (const s of SECTIONS) expect(await page.locator(`[data-section="${s}"]`).count()).toBe(1);
  expect(requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith("data:"))).toEqual([]);
  expect(requests).toEqual(expect.arrayContaining([`${origin}/status?refresh=2&slow=4`, expect.stringContaining("/status.js?v="), expect.stringContaining("/status.css?v="), `${origin}/ready`, `${origin}/graphql`]));
  expect(failed).toEqual([]);
  expect(badResponses).toEqual([]);
  expect(consoleErrors).toEqual([]);
  await shot("status-page");
  for (const s of SECTIONS) await shot(`section-${s}`, `[data-section="${s}"]`);
});

it("shows the settled demo's numbers in each section", async () => {
  // Problems: the rotten copy's rule, nothing else broken.
  await page.waitForSelector('[data-problem="rules-stuck"]', { timeout: 20_000 });
  expect(await page.locator('[data-problem^="facility-down"]').count()).toBe(0);

  // Facilities: all four up, an ALIVE agent each, storage per RSE as the policies placed the raws.
  for (const code of ["USDF", "FrDF", "UKDF", "SUMMIT"]) {
    expect(await page.locator(`[data-facility="${code}"]`).getAttribute("data-state")).toBe("up");
    expect(await page.locator(`[data-facility="${code}"] [data-agent][data-state="ALIVE"]`).count()).toBeGreaterThanOrEqual(1);
  }
  const files = (rse: string) => text(`[data-rse="${rse}"] [data-metric="files"]`);
  await waitFor("storage per RSE", async () => (await files("UKDF_DISK")) === String(demo.inFootprint - 1), { timeoutMs: 20_000, intervalMs: 500 });
  expect(await files("USDF_DISK")).toBe(String(demo.files + demo.lfa));
  expect(await files("FRDF_DISK")).toBe(String(demo.files));
  expect(await files("SUMMIT_DISK")).toBe(String(demo.files - demo.perNight));
  expect(await text('[data-facility="UKDF"] [data-rse="UKDF_DISK"] [data-metric="bytes"]')).toMatch(/^\d+(\.\d+)? (KiB|MiB)$/);

  // Links: the second night into USDF and FrDF (from the Summit, or from each other: their rules name no
  // source) and the LFA files into USDF, the footprint into UKDF from FrDF only, with its checksum failures.
  const intoFacility = async (code: string) =>
    (await page.locator(`[data-link$=">${code}"] [data-metric="day-done"]`).allInnerTexts()).reduce((n, t) => n + Number(t), 0);
  expect(await intoFacility("USDF")).toBe(demo.perNight + demo.lfa);
  expect(await intoFacility("FrDF")).toBe(demo.perNight);
  expect(Number(await text('[data-link="SUMMIT>USDF"] [data-metric="day-done"]'))).toBeGreaterThan(0);
  expect(await page.locator('[data-link$=">UKDF"]').count()).toBe(1);
  expect(await text('[data-link="FrDF>UKDF"] [data-metric="day-done"]')).toBe(String(demo.inFootprint - 1));
  expect(await text('[data-link="FrDF>UKDF"] [data-metric="failed"]')).toMatch(/CHECKSUM_MISMATCH ×3/);

  // Policies: every raw complete at USDF and FrDF; the footprint complete at UKDF but for one STUCK, with its error and a Retry.
  expect(await text('[data-policy="raw-to-usdf"] [data-metric="complete"]')).toBe(`${demo.files} of ${demo.files} (100 %)`);
  expect(await text('[data-policy="raw-to-frdf"] [data-metric="complete"]')).toBe(`${demo.files} of ${demo.files} (100 %)`);
  expect(await text('[data-policy="raw-ukdf-footprint"] [data-metric="complete"]')).toMatch(new RegExp(`^${demo.inFootprint - 1} of ${demo.inFootprint} \\(\\d+ %\\)$`));
  expect(await text('[data-metric="stuck-count"]')).toBe("1");
  expect(await text(".rules.stuck tbody tr .error-text")).toMatch(/not the catalog's file: adler32 \w+ != \w+/);
  expect(await page.locator(".rules.stuck button.retry").count()).toBe(1);
  expect(await text('[data-metric="replicating-count"]')).toBe("0");

  // Sky: the raws' pointings, every one at USDF and FrDF, only the footprint's at UKDF.
  expect(await text('[data-sky="all"] figcaption')).toBe(`All raws ${demo.files} files in ${demo.pixels} pixels`);
  expect(await text('[data-sky="USDF"] figcaption')).toBe(`USDF holds ${demo.files} of ${demo.files}`);
  expect(await text('[data-sky="UKDF"] figcaption')).toBe(`UKDF holds ${demo.inFootprint - 1} of ${demo.files}`);
  // The UK footprint is drawn on UKDF's map (and on the map of all raws), not on USDF's.
  expect(await page.locator(".legend").innerText()).toMatch(/raw-ukdf-footprint → UKDF/);

  // Ingest: the second night arrived at USDF and FrDF, the footprint at UKDF; nothing failed.
  const ingest = (code: string, metric: string) => text(`[data-ingest="${code}"] [data-metric="${metric}"]`);
  expect(await ingest("USDF", "ingested")).toBe(String(demo.perNight + demo.lfaIngested));
  expect(await ingest("USDF", "not-a-dataset")).toBe(String(demo.lfa - demo.lfaIngested));
  expect(await ingest("FrDF", "ingested")).toBe(String(demo.perNight));
  expect(await ingest("UKDF", "ingested")).toBe(String(demo.inFootprint - 1));
  for (const code of ["USDF", "FrDF", "UKDF", "SUMMIT"]) expect(await ingest(code, "failed")).toBe("0");

  // The same page in dark mode, for review.
  const dark = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: "dark" });
  await dark.goto(`${origin}/status?refresh=2&slow=4`);
  await dark.waitForSelector('[data-sky="all"] svg', { timeout: 30_000 });
  expect(await dark.evaluate(() => (document as any).documentElement.dataset.theme)).toBe("dark");
  await dark.screenshot({ path: path.join(SCREENSHOTS, "status-page-dark.png"), fullPage: true });
  await dark.close();
});

it("shows a sky pixel's counts per facility on hover", async () => {
  const panel = page.locator('[data-sky="UKDF"] svg').first();
  await panel.scrollIntoViewIfNeeded();
  const box = (await panel.boundingBox())!;
  let tip = "";
  // Sweep the map until the pointer is near a pixel with raws and Plot shows its tip.
  for (let y = box.y + 10; y < box.y + box.height - 10 && !tip; y += 12) {
    for (let x = box.x + 10; x < box.x + box.width - 10 && !tip; x += 12) {
      await page.mouse.move(x, y);
      tip = await page.evaluate(() => {
        const t = document.querySelector('[data-sky="UKDF"] g[aria-label="tip"]');
        return t ? t.textContent : "";
      });
    }
  }
  expect(tip).toMatch(/HEALPix \d+ \(nside 16\)/);
  expect(tip).toMatch(/\d+ raws/);
  for (const code of ["FrDF", "SUMMIT", "UKDF", "USDF"]) expect(tip).toMatch(new RegExp(`${code}: \\d+`));
  await shot("section-sky-hover", '[data-section="sky"]');
});

it("Retry on the STUCK rule, with a token pasted in, re-queues it", async () => {
  const row = page.locator(".rules.stuck tbody tr").first();
  const ruleId = await row.getAttribute("data-rule");
  const TRANSFERS = `query($r: String!) { transfers(filter: { ruleId: $r }) { totalCount } }`;
  const before = (await ok(dev!.url, TRANSFERS, { r: ruleId })).transfers.totalCount;

  // Without a token the gateway refuses, and the page says so.
  await row.locator("button.retry").click();
  await page.waitForSelector(".retry-outcome", { timeout: 10_000 });
  expect(await text(".retry-outcome")).toMatch(/: UNAUTHENTICATED: mutations need a bearer token/);

  const token = (await runDbb(["token", "--subject", "ops", "--scope", "catalog:admin"], { DBB_DATA_DIR: dataDir })).stdout.trim();
  await page.fill(".token input", token);
  await row.locator("button.retry").click();
  await page.waitForFunction(() => /: re-queued: now REPLICATING/.test(document.querySelector(".retry-outcome")?.textContent ?? ""), null, { timeout: 10_000 });
  // The rule leaves the STUCK table at the next refresh; the outcome stays.
  await page.waitForFunction((id) => !document.querySelector(`.rules.stuck tr[data-rule="${id}"]`), ruleId, { timeout: 20_000 });
  expect(await text(".retry-outcome")).toMatch(/re-queued/);
  // A fresh transfer request for its copy; the agents try again (and, the source being rotten, it goes STUCK again).
  expect((await ok(dev!.url, TRANSFERS, { r: ruleId })).transfers.totalCount).toBe(before + 1);
  await shot("section-policies-retried", '[data-section="policies"]');
});

it("greys out a facility killed by its PID while the rest keeps updating", async () => {
  const ukdf = servicesOf(dev!.output()).find((s) => s.name === "facility UKDF")!;
  // Its agent reports through UKDF's service: known before the kill, shown as of then.
  await page.waitForSelector('[data-facility="UKDF"] [data-agent][data-state="ALIVE"]');
  process.kill(ukdf.pid, "SIGTERM");
  await dev!.waitForOutput(new RegExp(`facility UKDF \\(pid ${ukdf.pid}\\) exited`));
  await page.waitForSelector('[data-facility="UKDF"][data-state="down"]', { timeout: 30_000 });
  await page.waitForSelector('[data-problem="facility-down:UKDF"]', { timeout: 30_000 });
  await page.waitForSelector('[data-ingest="UKDF"][data-state="down"]', { timeout: 30_000 });
  await page.waitForSelector('[data-sky="UKDF"].sky-panel.down', { timeout: 30_000 });
  // Its last known agents stay, marked as such; the catalog's numbers for it still come.
  expect(await page.locator('[data-facility="UKDF"] [data-stale="true"]').count()).toBe(1);
  expect(await page.locator('[data-facility="UKDF"] [data-agent]').count()).toBeGreaterThanOrEqual(1);
  expect(await text('[data-rse="UKDF_DISK"] [data-metric="files"]')).toBe(String(demo.inFootprint - 1));
  const greyed = await page.locator('[data-facility="UKDF"] .card-body').evaluate((el: any) => getComputedStyle(el).filter);
  expect(greyed).toMatch(/grayscale/);

  // The rest keeps updating: more rounds come, the others stay up with their own numbers.
  const rounds = await liveRounds();
  await waitFor("two more refreshes", async () => (await liveRounds()) >= rounds + 2, { timeoutMs: 30_000, intervalMs: 200 });
  for (const code of ["USDF", "FrDF", "SUMMIT"]) {
    expect(await page.locator(`[data-facility="${code}"]`).getAttribute("data-state")).toBe("up");
    expect(await page.locator(`[data-ingest="${code}"]`).getAttribute("data-state")).toBe("up");
  }
  expect(await text('[data-ingest="USDF"] [data-metric="ingested"]')).toBe(String(demo.perNight + demo.lfaIngested));
  const res = await graphql(dev!.url, `{ facilities { code agents { id } } }`);
  expect(res.errors?.map((e: any) => [e.extensions?.code, e.extensions?.facility])).toEqual([["FACILITY_UNAVAILABLE", "UKDF"]]);
  await shot("status-page-ukdf-down");
  await shot("section-facilities-ukdf-down", '[data-section="facilities"]');
  expect(consoleErrors).toEqual([]);
  expect(failed).toEqual([]);
});

/** Keeps tsc from flagging getComputedStyle, a browser global used inside evaluate. */
declare function getComputedStyle(el: unknown): { filter: string };
