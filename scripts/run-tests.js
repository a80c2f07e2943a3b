#!/usr/bin/env node
// Runs the compiled tests with Node's built-in runner. `unit` = every *.test.js
// except *.integration.test.js (those need real servers: scripts/integration.sh).
'use strict';
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');
const { runnerArgs } = require('./test-runner-args');

const kind = process.argv[2] || 'unit';
const filter = process.argv.slice(3);
const roots = ['dist/src', 'dist/test', 'dist/bench', 'dist/scripts'];

function walk(dir, out) {
  let names;
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const all = roots.flatMap((r) => walk(r, []));
const isIntegration = (f) => f.endsWith('.integration.test.js');
let files = all.filter((f) => (kind === 'integration' ? isIntegration(f) : !isIntegration(f)));
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no ${kind} test files found`);
  process.exit(1);
}
const args = runnerArgs(kind, files);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
