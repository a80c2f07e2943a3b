import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

// A child keeps ~40 MB live in batches that come and go (like a window of events in flight)
// while allocating fast, and reports the largest old space it saw.
const churn = (limit: boolean) => `
  ${limit ? `require(${JSON.stringify(require.resolve('./heap'))}).limitHeapGrowth();` : ''}
  const v8 = require('node:v8');
  let live = [];
  let peak = 0;
  for (let round = 0; round < 400; round++) {
    const batch = [];
    for (let i = 0; i < 2000; i++) batch.push({ value: 'x'.repeat(900) + round + ':' + i, offset: i });
    live.push(batch);
    if (live.length > 20) live.shift();
    const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
    if (old > peak) peak = old;
  }
  console.log(Math.round(peak / 1e6));
`;
const peakOldMb = (limit: boolean, args: string[] = []) => Number(execFileSync(process.execPath, [...args, '-e', churn(limit)]).toString().trim());

test('limitHeapGrowth keeps the old generation near the live set when set at run time', () => {
  const limited = peakOldMb(true);
  const unlimited = peakOldMb(false);
  // ~40 MB live: 30% growth plus V8's minimum step stays well under 100 MB; V8's own factor (up to 4x) does not.
  assert.ok(limited < 100, `old space peaked at ${limited} MB with the limit (${unlimited} MB without)`);
});

test('limitHeapGrowth leaves a growth percent given on the command line alone', () => {
  const out = execFileSync(process.execPath, ['--heap-growing-percent=50', '-e', `console.log(require(${JSON.stringify(require.resolve('./heap'))}).limitHeapGrowth())`]);
  assert.equal(out.toString().trim(), 'false');
});
