import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { isCatchingUp } from './heap';

const heapModule = JSON.stringify(require.resolve('./heap'));

// A child keeps ~40 MB live in batches that come and go (like a window of events in flight)
// while allocating fast, and reports the largest old space it saw. `steps` says when the limit
// is on: e.g. [true] throughout, [true, false] for the first half only.
const churn = (steps: boolean[]) => `
  const limiter = require(${heapModule}).createHeapGrowthLimiter();
  const steps = ${JSON.stringify(steps)};
  const v8 = require('node:v8');
  let live = [];
  let peak = 0;
  const rounds = 400 * steps.length;
  for (let round = 0; round < rounds; round++) {
    if (round % 400 === 0) limiter.set(steps[round / 400]);
    const batch = [];
    for (let i = 0; i < 2000; i++) batch.push({ value: 'x'.repeat(900) + round + ':' + i, offset: i });
    live.push(batch);
    if (live.length > 20) live.shift();
    const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
    if (round % 400 === 0) peak = 0;
    if (old > peak) peak = old;
  }
  console.log(Math.round(peak / 1e6));
`;
const peakOldMb = (steps: boolean[], args: string[] = []) => Number(execFileSync(process.execPath, [...args, '-e', churn(steps)]).toString().trim());

test('the heap growth limit, set at run time, keeps the old generation near the live set', () => {
  const limited = peakOldMb([true]);
  const unlimited = peakOldMb([false]);
  // ~40 MB live: 30% growth plus V8's minimum step stays well under 100 MB; V8's own factor (up to 4x) does not.
  assert.ok(limited < 100, `old space peaked at ${limited} MB with the limit (${unlimited} MB without)`);
});

test('switching the limit off gives V8 its own growth back', () => {
  // Peak of the last phase only: after the limit is lifted the old space grows past the limited size again.
  const lifted = peakOldMb([true, false]);
  assert.ok(lifted >= 100, `old space peaked at ${lifted} MB after the limit was lifted`);
});

test('a --heap-growing-percent given on the command line is left alone', () => {
  const out = execFileSync(process.execPath, ['--heap-growing-percent=50', '-e', `console.log(require(${heapModule}).createHeapGrowthLimiter().owned)`]);
  assert.equal(out.toString().trim(), 'false');
  assert.equal(execFileSync(process.execPath, ['-e', `console.log(require(${heapModule}).createHeapGrowthLimiter().owned)`]).toString().trim(), 'true');
});

test('catching up means more waiting in the files than the in-flight window holds', () => {
  assert.equal(isCatchingUp(9 << 20, 8 << 20), true);
  assert.equal(isCatchingUp(8 << 20, 8 << 20), false);
  assert.equal(isCatchingUp(0, 8 << 20), false);
});
