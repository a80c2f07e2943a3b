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

// A child allocating fast with some survivors (what grows V8's young generation) reports the
// largest new space it saw; `cap` calls capYoungGeneration() first.
const youngPeakMb = (cap: boolean, args: string[] = []) =>
  Number(
    execFileSync(process.execPath, [
      ...args,
      '-e',
      `
  if (${cap}) require(${heapModule}).capYoungGeneration(4);
  const v8 = require('node:v8');
  const keep = [];
  let peak = 0;
  let i = 0;
  const step = () => {
    for (let n = 0; n < 200000; n++, i++) {
      const o = { a: i, b: 'x' + i, c: [i] };
      if (i % 10 === 0) keep.push(o);
      if (keep.length > 50000) keep.splice(0, 25000);
    }
    const size = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    if (size > peak) peak = size;
    // Yield between slices, as the tailer does between batches, so GC observers get to run.
    if (i < 6e6) setImmediate(step);
    else console.log(Math.round(peak / 1048576));
  };
  step();
`,
    ]).toString().trim(),
  );

test('capYoungGeneration stops the young generation near 4 MiB semi-spaces, set at run time', () => {
  const free = youngPeakMb(false);
  const capped = youngPeakMb(true);
  // V8's default grows the new space (two semi-spaces) to 32 MB under this load; the cap stops it at 8 MB, 16 at worst.
  assert.ok(free >= 32, `without the cap the new space reached ${free} MB`);
  assert.ok(capped <= 16, `with the cap the new space reached ${capped} MB`);
});

test('capYoungGeneration leaves a size given at start-up alone', () => {
  assert.equal(youngPeakMb(true, ['--max-semi-space-size=8']), 16);
});
