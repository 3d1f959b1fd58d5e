import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type http from "node:http";
import path from "node:path";

/**
 * The GraphiQL page the gateway serves at GET /: GraphiQL with the explorer plugin and the saved
 * example queries (examples.ts), bundled at build time (`npm run build`, scripts/build-graphiql.mjs)
 * into graphiql.js and graphiql.css beside this module in dist/. The page loads nothing from
 * anywhere but its own origin, and its Content-Security-Policy forbids the browser to.
 */

export const GRAPHIQL_JS = "graphiql.js";
export const GRAPHIQL_CSS = "graphiql.css";

export interface GraphiqlAssets {
  html: string;
  js: Buffer;
  css: Buffer;
  /** A short content hash of js and css: the HTML asks for `graphiql.js?v=<version>`. */
  version: string;
}

/** Only same-origin scripts, styles, fonts and requests; inline styles are GraphiQL's own. */
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

function renderHtml(version: string): string {
  // Asset URLs are relative to the page, like the GraphQL endpoint the page posts to ("graphql"),
  // so the gateway also works behind a reverse proxy that adds a path prefix.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Data Backbone gateway · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${GRAPHIQL_CSS}?v=${version}">
</head>
<body>
<div id="graphiql"><p class="dbb-loading">Loading GraphiQL…</p></div>
<noscript>GraphiQL needs JavaScript. Without it, POST GraphQL as JSON to <code>graphql</code> on this server.</noscript>
<script src="${GRAPHIQL_JS}?v=${version}"></script>
</body>
</html>
`;
}

let cached: GraphiqlAssets | undefined;

/**
 * The page and its bundle, read once from dist/gateway/graphiql/. Throws, naming the fix, when
 * the bundle has not been built.
 */
export function graphiqlAssets(): GraphiqlAssets {
  if (cached) return cached;
  let js: Buffer;
  let css: Buffer;
  try {
    js = readFileSync(path.join(__dirname, GRAPHIQL_JS));
    css = readFileSync(path.join(__dirname, GRAPHIQL_CSS));
  } catch (err) {
    throw new Error(
      `the GraphiQL bundle is missing from ${__dirname} (${(err as Error).message}); run \`npm run build\``,
    );
  }
  const version = createHash("sha256").update(js).update(css).digest("hex").slice(0, 16);
  cached = { html: renderHtml(version), js, css, version };
  return cached;
}

function send(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
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

/**
 * Answers GET and HEAD for `/` (the page), `/graphiql.js` and `/graphiql.css`; returns false for
 * anything else, which the caller then handles. Fits GatewayOptions.page:
 * `startGateway(config, { sdl, page: serveGraphiql })`.
 */
export function serveGraphiql(req: http.IncomingMessage, res: http.ServerResponse, url?: URL): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const requestUrl = url ?? new URL(req.url ?? "/", "http://localhost");
  const pathname = requestUrl.pathname;
  if (pathname !== "/" && pathname !== `/${GRAPHIQL_JS}` && pathname !== `/${GRAPHIQL_CSS}`) return false;
  let assets: GraphiqlAssets;
  try {
    assets = graphiqlAssets();
  } catch (err) {
    send(req, res, 503, { "content-type": "text/plain; charset=utf-8" }, `${(err as Error).message}\n`);
    return true;
  }
  if (pathname === "/") {
    send(
      req,
      res,
      200,
      {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-cache",
        "content-security-policy": CONTENT_SECURITY_POLICY,
      },
      assets.html,
    );
  } else if (pathname === `/${GRAPHIQL_JS}`) {
    sendAsset(req, res, requestUrl, "text/javascript; charset=utf-8", assets.js, assets.version);
  } else {
    sendAsset(req, res, requestUrl, "text/css; charset=utf-8", assets.css, assets.version);
  }
  return true;
}
