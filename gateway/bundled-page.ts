import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type http from "node:http";
import path from "node:path";

/**
 * A page the gateway serves from a bundle made at build time (scripts/build-*.mjs): its HTML, one
 * script and one stylesheet, all from the gateway's own origin. Nothing is fetched from anywhere
 * else, and the Content-Security-Policy forbids the browser to. GraphiQL (`/`) and the status page
 * (`/status`) are two of these.
 */

/** Only same-origin scripts, styles, fonts and requests; inline styles are the libraries' own (GraphiQL's editors, Plot's charts). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export interface PageAssets {
  html: string;
  js: Buffer;
  css: Buffer;
  /** A short content hash of js and css: the HTML asks for `<name>.js?v=<version>`. */
  version: string;
}

export interface BundledPageSpec {
  /** Where the page is served: "/" or "/status". */
  path: string;
  /** The bundle's file names beside the page's module in dist/ (served at /<name>). */
  js: string;
  css: string;
  /** The directory holding the bundle (the page module's __dirname). */
  dir: string;
  /** What to run to make the bundle, for the message when it is missing. */
  buildHint: string;
  /** The HTML, given the asset version (asset URLs relative to the page, so a reverse proxy may add a prefix). */
  html(version: string): string;
}

function send(req: http.IncomingMessage, res: http.ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  res.writeHead(status, {
    "content-length": String(bytes.length),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...headers,
  });
  res.end(req.method === "HEAD" ? undefined : bytes);
}

function sendAsset(req: http.IncomingMessage, res: http.ServerResponse, url: URL, type: string, body: Buffer, version: string) {
  const etag = `"${version}"`;
  // The HTML names the current version, so a versioned URL never changes; others revalidate.
  const cacheControl = url.searchParams.get("v") === version ? "public, max-age=31536000, immutable" : "no-cache";
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, { etag, "cache-control": cacheControl });
    res.end();
    return;
  }
  send(req, res, 200, { "content-type": type, etag, "cache-control": cacheControl }, body);
}

export interface BundledPage {
  /** The page and its bundle, read once; throws, naming the fix, when the bundle has not been built. */
  assets(): PageAssets;
  /** Answers GET and HEAD for the page and its two assets; false for anything else (the caller handles it). */
  serve(req: http.IncomingMessage, res: http.ServerResponse, url?: URL): boolean;
}

export function bundledPage(spec: BundledPageSpec): BundledPage {
  let cached: PageAssets | undefined;
  const assets = (): PageAssets => {
    if (cached) return cached;
    let js: Buffer;
    let css: Buffer;
    try {
      js = readFileSync(path.join(spec.dir, spec.js));
      css = readFileSync(path.join(spec.dir, spec.css));
    } catch (err) {
      throw new Error(`the page bundle is missing from ${spec.dir} (${(err as Error).message}); run \`${spec.buildHint}\``);
    }
    const version = createHash("sha256").update(js).update(css).digest("hex").slice(0, 16);
    cached = { html: spec.html(version), js, css, version };
    return cached;
  };
  const serve = (req: http.IncomingMessage, res: http.ServerResponse, url?: URL): boolean => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const requestUrl = url ?? new URL(req.url ?? "/", "http://localhost");
    const pathname = requestUrl.pathname;
    if (pathname !== spec.path && pathname !== `/${spec.js}` && pathname !== `/${spec.css}`) return false;
    let a: PageAssets;
    try {
      a = assets();
    } catch (err) {
      send(req, res, 503, { "content-type": "text/plain; charset=utf-8" }, `${(err as Error).message}\n`);
      return true;
    }
    if (pathname === spec.path) {
      send(req, res, 200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache", "content-security-policy": CONTENT_SECURITY_POLICY }, a.html);
    } else if (pathname === `/${spec.js}`) {
      sendAsset(req, res, requestUrl, "text/javascript; charset=utf-8", a.js, a.version);
    } else {
      sendAsset(req, res, requestUrl, "text/css; charset=utf-8", a.css, a.version);
    }
    return true;
  };
  return { assets, serve };
}
