// Bundles the status page (gateway/status-page/app.jsx: React, Observable Plot with
// d3-geo-projection's Mollweide, the page's queries and helpers) into
// dist/gateway/status-page/status.{js,css}, which gateway/status-page/page.ts serves at /status.
// Everything the page needs is in these two files; nothing is fetched at run time.
import { bundlePage } from "./bundle-page.mjs";

await bundlePage({ label: "status page", name: "status", entry: "gateway/status-page/app.jsx", outdir: "dist/gateway/status-page" });
