import type http from "node:http";
import { bundledPage, PageAssets } from "../bundled-page";

/**
 * The status page the gateway serves at GET /status: facilities, links, policies and rules, the
 * sky and ingest, drawn in the browser from ordinary GraphQL through this gateway (queries.ts) and
 * `GET /ready`. Bundled at build time (scripts/build-status-page.mjs: React, Observable Plot,
 * d3-geo-projection) into status.js and status.css beside this module in dist/; like GraphiQL it
 * loads nothing from anywhere but its own origin.
 */
export const STATUS_PATH = "/status";
export const STATUS_JS = "status.js";
export const STATUS_CSS = "status.css";

function renderHtml(version: string): string {
  // Relative URLs: the page at /status asks for status.js, graphql and ready beside it.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Data Backbone · status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STATUS_CSS}?v=${version}">
</head>
<body>
<div id="status"><p class="loading">Loading the status page…</p></div>
<noscript>The status page needs JavaScript. Without it, ask GET <code>ready</code> and POST GraphQL to <code>graphql</code> on this server.</noscript>
<script src="${STATUS_JS}?v=${version}"></script>
</body>
</html>
`;
}

const page = bundledPage({ path: STATUS_PATH, js: STATUS_JS, css: STATUS_CSS, dir: __dirname, buildHint: "npm run build", html: renderHtml });

export function statusPageAssets(): PageAssets {
  return page.assets();
}

/** Answers GET and HEAD for /status, /status.js and /status.css; false for anything else. */
export function serveStatusPage(req: http.IncomingMessage, res: http.ServerResponse, url?: URL): boolean {
  return page.serve(req, res, url);
}
