// Bundles one of the gateway's pages (a React entry and everything it imports) into
// dist/gateway/<folder>/<name>.{js,css} with esbuild, for browsers, minified. Everything a page
// needs ends up in those two files (a stylesheet's fonts and images inlined): nothing is fetched at
// run time. Used by build-graphiql.mjs and build-status-page.mjs.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

export async function bundlePage({ label, name, entry, outdir }) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const started = Date.now();
  const result = await build({
    absWorkingDir: root,
    entryPoints: { [name]: entry },
    outdir,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    jsx: "automatic",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    define: { "process.env.NODE_ENV": '"production"' },
    loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".svg": "dataurl", ".png": "dataurl" },
    logLevel: "warning",
    metafile: true,
  });
  const sizes = Object.entries(result.metafile.outputs)
    .map(([file, { bytes }]) => `${path.basename(file)} ${(bytes / 1024).toFixed(0)} KiB`)
    .join(", ");
  console.log(`${label} bundle: ${sizes} in ${Date.now() - started} ms`);
}
