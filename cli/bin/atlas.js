#!/usr/bin/env node
// The compiled CLI; `npm ci` builds it (the root package's prepare script).
require('../dist/main.js')
  .run(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
