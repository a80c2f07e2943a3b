import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileStats, TailInputStats } from '../input/tail-input';
import { createCaughtUpCheck } from './pipeline';

const file = (over: Partial<FileStats>): FileStats => ({ fileKey: 'k', path: '/l', offset: 0, readOffset: 0, size: 100, bytesBehind: 100, open: true, state: 'reading', ...over });
const stats = (files: FileStats[], inFlightBatches = 0): TailInputStats => ({ files, openFiles: files.length, inFlightBatches, registry: { savedAt: null, error: null } });

test('--once: done when every file is stored to its end and nothing is in flight', () => {
  const check = createCaughtUpCheck(1000);
  assert.equal(check(stats([file({ offset: 50, readOffset: 100, bytesBehind: 50 })], 1), 0), false);
  assert.equal(check(stats([file({ offset: 100, readOffset: 100, bytesBehind: 0 }), file({ fileKey: 'k2', offset: 10, readOffset: 10, size: 30, bytesBehind: 20 })]), 10), false);
  assert.equal(check(stats([file({ offset: 100, readOffset: 100, bytesBehind: 0 }), file({ fileKey: 'k2', offset: 30, readOffset: 30, size: 30, bytesBehind: 0 })]), 20), true);
});

test('--once: a last line without newline counts as the end once nothing moves for a few checks', () => {
  const check = createCaughtUpCheck(1000, 3);
  const partial = stats([file({ offset: 90, readOffset: 100, bytesBehind: 10 })]);
  assert.equal(check(partial, 0), false);
  assert.equal(check(partial, 200), false);
  assert.equal(check(partial, 400), false);
  assert.equal(check(partial, 600), true);
});

test('--once: no file matched gives up after two scans; gz rotations are not waited for', () => {
  const check = createCaughtUpCheck(1000);
  assert.equal(check(stats([]), 0), false);
  assert.equal(check(stats([]), 1500), false);
  assert.equal(check(stats([]), 2000), true);
  const gz = createCaughtUpCheck(1000);
  assert.equal(gz(stats([file({ state: 'compressed', bytesBehind: 5000 }), file({ fileKey: 'b', offset: 100, readOffset: 100, bytesBehind: 0 })]), 0), true);
});
