#!/usr/bin/env node
"use strict";
// The dbb command. The TypeScript sources are compiled to dist/ by `npm run build`
// (run automatically by `npm install`, `npm start` and `npm test`).
require("../dist/cli/main.js").main(process.argv);
