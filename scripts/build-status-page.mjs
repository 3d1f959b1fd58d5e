// Bundles the status page (gateway/status-page/app.jsx: React, Observable Plot with
// d3-geo-projection's Mollweide, the page's queries and helpers) into
// dist/gateway/status-page/status.{js,css}, which gateway/status-page/page.ts serves at /status.
// Everything the page needs is in these two files; nothing is fetched at run time.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const started = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: { status: "gateway/status-page/app.jsx" },
  outdir: "dist/gateway/status-page",
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
  metafile: true,
});
const sizes = Object.entries(result.metafile.outputs)
  .map(([file, { bytes }]) => `${path.basename(file)} ${(bytes / 1024).toFixed(0)} KiB`)
  .join(", ");
console.log(`status page bundle: ${sizes} in ${Date.now() - started} ms`);
