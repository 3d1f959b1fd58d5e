// Bundles the GraphiQL page (gateway/graphiql/app.jsx: GraphiQL, the explorer plugin, React and
// the example queries) into dist/gateway/graphiql/graphiql.{js,css}, which gateway/graphiql/page.ts
// serves. Everything the page needs is in these two files: fonts and icons are inlined.
import { bundlePage } from "./bundle-page.mjs";

await bundlePage({ label: "GraphiQL", name: "graphiql", entry: "gateway/graphiql/app.jsx", outdir: "dist/gateway/graphiql" });
