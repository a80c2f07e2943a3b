import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flatness } from './soak';

test('flatness: a level that keeps rising is growth; single peaks (a merge, a catch-up) are not', () => {
  const leak = Array.from({ length: 30 }, (_, i) => 100 + i * 10);
  assert.equal(flatness(leak, 64).flat, false, 'a leak of 10 MB per sample');
  const spikes = Array.from({ length: 30 }, (_, i) => (i % 7 === 6 ? 1500 : 80));
  assert.equal(flatness(spikes, 16).flat, true, 'fds at 80 with merge peaks at 1500');
  const plateau = [...Array(10).fill(200), ...Array(20).fill(230)];
  assert.equal(flatness(plateau, 64).flat, true, 'a heap that grew once and stayed');
});
