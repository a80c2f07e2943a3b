import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isoOf, isStorableMs, tsvTimestampOf } from './tstamp';

test('isoOf formats like Date#toISOString', () => {
  assert.equal(isoOf(0), '1970-01-01T00:00:00.000Z');
  assert.equal(isoOf(1714561200123), '2024-05-01T11:00:00.123Z');
  assert.equal(isoOf(951782400000), '2000-02-29T00:00:00.000Z');
  assert.equal(isoOf(-62167219200000), '0000-01-01T00:00:00.000Z');
  assert.equal(isoOf(253402300799999), '9999-12-31T23:59:59.999Z');
});

test('float noise from seconds*1000 does not lose a millisecond', () => {
  assert.equal(isoOf(1714561200.123 * 1000), '2024-05-01T11:00:00.123Z');
  assert.equal(isoOf(1714561200122.9998), '2024-05-01T11:00:00.123Z');
});

test('only years 0..9999 are storable', () => {
  assert.equal(isStorableMs(253402300800000), false);
  assert.equal(isStorableMs(-62167219200001), false);
  assert.equal(isStorableMs(Number.NaN), false);
  assert.equal(isStorableMs(Number.POSITIVE_INFINITY), false);
  assert.equal(isStorableMs(0), true);
});

test('property: isoOf equals toISOString over the whole storable range', () => {
  fc.assert(
    fc.property(fc.integer({ min: -62167219200000, max: 253402300799999 }), (ms) => isoOf(ms) === new Date(ms).toISOString()),
    { numRuns: 2000 },
  );
});

test('TSV timestamps are YYYY-MM-DD HH:MM:SS.mmm', () => {
  assert.equal(tsvTimestampOf('2024-05-01T11:00:00.123Z'), '2024-05-01 11:00:00.123');
});

test('property: isoOf stays exact for runs of nearby times (the remembered day) and across midnight', () => {
  fc.assert(
    fc.property(fc.integer({ min: -62167219200000, max: 253402300799999 - 3 * 86400000 }), fc.array(fc.integer({ min: 0, max: 3 * 86400000 }), { maxLength: 20 }), (start, steps) => {
      for (const step of steps) if (isoOf(start + step) !== new Date(start + step).toISOString()) return false;
      return isoOf(start) === new Date(start).toISOString();
    }),
    { numRuns: 500 },
  );
  const midnight = Date.UTC(2026, 9, 1);
  for (const ms of [midnight - 1, midnight, midnight - 1, midnight + 86400000, midnight]) assert.equal(isoOf(ms), new Date(ms).toISOString());
});
