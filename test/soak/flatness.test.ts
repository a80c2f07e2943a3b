import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flatChecks } from './checks';
import { flatness, type Sample } from './soak';

test('flatness: a level that keeps rising is growth; single peaks (a merge, a catch-up) are not', () => {
  const leak = Array.from({ length: 30 }, (_, i) => 100 + i * 10);
  assert.equal(flatness(leak, 64).flat, false, 'a leak of 10 MB per sample');
  const spikes = Array.from({ length: 30 }, (_, i) => (i % 7 === 6 ? 1500 : 80));
  assert.equal(flatness(spikes, 16).flat, true, 'fds at 80 with merge peaks at 1500');
  const plateau = [...Array(10).fill(200), ...Array(20).fill(230)];
  assert.equal(flatness(plateau, 64).flat, true, 'a heap that grew once and stayed');
});

test('flatChecks: RSS is judged after the warm-up, fds over the whole run; a leak after the warm-up still fails', () => {
  const sample = (atS: number, rssMb: number): Sample => ({ atS, written: 0, run: { pid: 1, rssMb, fds: 80 }, load1: 0 });
  // 30 minutes, a sample a minute: RSS grows for the 10-minute window, then stays.
  const filling = Array.from({ length: 31 }, (_, m) => sample(m * 60, 700 + Math.min(m, 10) * 50));
  const rssCheck = (checks: ReturnType<typeof flatChecks>) => checks.find((c) => c.name.startsWith('run RSS flat'))!;
  assert.equal(rssCheck(flatChecks(filling, ['run'], 1800)).ok, false, 'from the start, the filling window looks like growth');
  assert.equal(rssCheck(flatChecks(filling, ['run'], 1800, 600)).ok, true, 'after the window filled, flat');
  assert.match(rssCheck(flatChecks(filling, ['run'], 1800, 600)).name, /after the 600 s warm-up/);
  const leaking = Array.from({ length: 31 }, (_, m) => sample(m * 60, 700 + Math.min(m, 10) * 50 + Math.max(0, m - 10) * 20));
  assert.equal(rssCheck(flatChecks(leaking, ['run'], 1800, 600)).ok, false, '20 MB a minute after the window filled');
  const short = flatChecks(Array.from({ length: 12 }, (_, i) => sample(i * 10, 700 + i * 30)), ['run'], 120, 600);
  assert.ok(short.every((c) => c.ok), 'a 2-minute run reports, never fails, with no sample after the warm-up');
});
