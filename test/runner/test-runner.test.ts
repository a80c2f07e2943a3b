// The flags CI runs the tests with must report every test that ran. With --test-force-exit alone,
// Node 20 on Linux loses the last results of a file now and then (nodejs/node#64833): here, 4 files
// of 200 tests with long names reported 795-799 of 800 in 7 of 12 runs. The generated files make
// that loss likely, so a missing preload shows as a count below 800.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const { runnerArgs } = require(join(ROOT, 'scripts/test-runner-args.js')) as { runnerArgs: (kind: string, files: string[]) => string[] };

test('the unit and integration runner flags report every test of every file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-runner-'));
  try {
    const files = ['a', 'b', 'c', 'd'].map((name) => {
      const file = join(dir, `${name}.test.js`);
      writeFileSync(file, `const { test } = require('node:test');\nfor (let i = 0; i < 200; i++) test(\`t\${i} \${'x'.repeat(2000)}\`, () => {});\n`);
      return file;
    });
    // As from a shell: this file's own runner context must not reach the nested runner.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const counts: string[] = [];
    for (const kind of ['unit', 'unit', 'unit', 'integration']) {
      const r = spawnSync(process.execPath, runnerArgs(kind, files), { encoding: 'utf8', env, maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, `${kind}: exit ${r.status} ${r.error ?? ''}: ${r.stderr}${r.stdout.slice(-300)}`);
      counts.push(/ℹ tests (\d+)/.exec(r.stdout)?.[1] ?? `no summary: ${r.stdout.slice(-200)}`);
    }
    assert.deepEqual(counts, ['800', '800', '800', '800']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
