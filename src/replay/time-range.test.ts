import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTimeBound } from './time-range';

test('relative durations count back from now', () => {
  const now = Date.UTC(2026, 10, 27, 12);
  assert.equal(parseTimeBound('2d', now), now - 2 * 86_400_000);
  assert.equal(parseTimeBound('90m', now), now - 90 * 60_000);
  assert.equal(parseTimeBound('1w', now), now - 7 * 86_400_000);
});

test('ISO dates are UTC midnight, ISO times keep their zone', () => {
  assert.equal(parseTimeBound('2026-11-01'), Date.UTC(2026, 10, 1));
  assert.equal(parseTimeBound('2026-11-01T10:30:00+01:00'), Date.UTC(2026, 10, 1, 9, 30));
});

test('anything else is rejected', () => {
  for (const bad of ['yesterday', '2d ago', '11/01/2026', '', '2026-13-45T00:00:00Z']) assert.equal(parseTimeBound(bad), undefined, bad);
});
