// Bundles the GraphiQL page (gateway/graphiql/app.jsx: GraphiQL, the explorer plugin, React and
// the example queries) into dist/gateway/graphiql/graphiql.{js,css}, which gateway/graphiql/page.ts
// serves. Everything the page needs is in these two files: fonts and icons are inlined.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const started = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: { graphiql: "gateway/graphiql/app.jsx" },
  outdir: "dist/gateway/graphiql",
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  define: { "process.env.NODE_ENV": '"production"' },
  // Anything a stylesheet references goes into the bundle itself; nothing is fetched at run time.
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".svg": "dataurl", ".png": "dataurl" },
  logLevel: "warning",
  metafile: true,
});
const sizes = Object.entries(result.metafile.outputs)
  .map(([file, { bytes }]) => `${path.basename(file)} ${(bytes / 1024).toFixed(0)} KiB`)
  .join(", ");
console.log(`GraphiQL bundle: ${sizes} in ${Date.now() - started} ms`);
