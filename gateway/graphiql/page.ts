import type http from "node:http";
import { bundledPage, PageAssets } from "../bundled-page";

export { CONTENT_SECURITY_POLICY } from "../bundled-page";

/**
 * The GraphiQL page the gateway serves at GET /: GraphiQL with the explorer plugin and the saved
 * example queries (examples.ts), bundled at build time (`npm run build`, scripts/build-graphiql.mjs)
 * into graphiql.js and graphiql.css beside this module in dist/. The page loads nothing from
 * anywhere but its own origin, and its Content-Security-Policy forbids the browser to.
 */

export const GRAPHIQL_JS = "graphiql.js";
export const GRAPHIQL_CSS = "graphiql.css";

export type GraphiqlAssets = PageAssets;

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

const page = bundledPage({ path: "/", js: GRAPHIQL_JS, css: GRAPHIQL_CSS, dir: __dirname, buildHint: "npm run build", html: renderHtml });

/** The page and its bundle, read once from dist/gateway/graphiql/. Throws, naming the fix, when the bundle has not been built. */
export function graphiqlAssets(): GraphiqlAssets {
  return page.assets();
}

/**
 * Answers GET and HEAD for `/` (the page), `/graphiql.js` and `/graphiql.css`; returns false for
 * anything else, which the caller then handles. Fits GatewayOptions.page:
 * `startGateway(config, { sdl, page: serveGraphiql })`.
 */
export function serveGraphiql(req: http.IncomingMessage, res: http.ServerResponse, url?: URL): boolean {
  return page.serve(req, res, url);
}
