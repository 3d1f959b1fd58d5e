#!/usr/bin/env -S node --max-semi-space-size=32
"use strict";
// --max-semi-space-size=32 (MiB, Node's default is 16): the services allocate many short-lived
// objects per request (a batch of arrivals, a bulk registration); a larger young generation
// collects them in fewer scavenges (about a fifth of the facility's CPU in the ingest bench).
// Children started by `dbb dev` get it too (cli/service-process.ts); `node bin/dbb.js` does not.
// The dbb command. The TypeScript sources are compiled to dist/ by `npm run build`
// (run automatically by `npm install`, `npm start` and `npm test`).
// The AWS SDK warns at every start that its releases after January 2027 will need Node 22; the
// version package-lock.json pins runs on Node 20, and operators read our logs, not that notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Unless told otherwise, the libraries run as in production: graphql-js otherwise checks every
// failed instanceof of its execution for a second copy of itself (a quarter of the catalog's CPU on
// a 10,000-DID status query, measured in bench/status). What NODE_ENV also switches in Apollo Server
// (introspection, stack traces, landing page) is set explicitly in lib/http-server.ts.
process.env.NODE_ENV ??= "production";
require("../dist/cli/main.js").main(process.argv);
