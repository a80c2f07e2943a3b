#!/usr/bin/env node
'use strict';
require('../dist/src/cli/main.js').main(process.argv).catch((err) => {
  process.stderr.write(`tailplow: ${err && err.stack ? err.stack : err}\n`);
  process.exit(70);
});
