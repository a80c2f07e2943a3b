import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAnyTime, parseMsec, parseTimeIso8601, parseTimeLocal } from './time';

test('$time_local with offsets', () => {
  assert.equal(parseTimeLocal('10/Oct/2000:13:55:36 -0700'), Date.UTC(2000, 9, 10, 20, 55, 36));
  assert.equal(parseTimeLocal('01/Jan/2026:00:00:00 +0000'), Date.UTC(2026, 0, 1));
  assert.equal(parseTimeLocal('01/Jan/2026:05:30:00 +0530'), Date.UTC(2026, 0, 1));
  assert.equal(parseTimeLocal('29/Feb/2024:23:59:59 +0100'), Date.UTC(2024, 1, 29, 22, 59, 59));
});

test('$time_local rejects what nginx never writes', () => {
  for (const bad of ['29/Feb/2023:00:00:00 +0000', '10/Foo/2000:13:55:36 -0700', '10/Oct/2000:24:00:00 -0700',
    '10/Oct/2000 13:55:36 -0700', '10/Oct/2000:13:55:36 0700', '10/Oct/2000:13:55:36', '', '-']) {
    assert.equal(parseTimeLocal(bad), undefined, bad);
  }
});

test('$time_iso8601, and what other writers of ISO time produce', () => {
  assert.equal(parseTimeIso8601('2000-10-10T13:55:36-07:00'), Date.UTC(2000, 9, 10, 20, 55, 36));
  assert.equal(parseTimeIso8601('2026-03-01T01:00:00+01:00'), Date.UTC(2026, 2, 1));
  assert.equal(parseTimeIso8601('2026-03-01T00:00:00Z'), Date.UTC(2026, 2, 1));
  assert.equal(parseTimeIso8601('2026-03-01T00:00:00.123Z'), Date.UTC(2026, 2, 1) + 123);
  assert.equal(parseTimeIso8601('2026-03-01T00:00:00.5+0000'), Date.UTC(2026, 2, 1) + 500);
  for (const bad of ['2026-03-01 00:00:00Z', '2026-13-01T00:00:00Z', '2026-03-01T00:00:00', '2026-03-01T00:00:00+1', '2026-03-01T00:00:00.Z']) {
    assert.equal(parseTimeIso8601(bad), undefined, bad);
  }
});

test('$msec keeps milliseconds exactly', () => {
  assert.equal(parseMsec('1700000000.123'), 1700000000123);
  assert.equal(parseMsec('1700000000.001'), 1700000000001);
  assert.equal(parseMsec('1700000000'), 1700000000000);
  assert.equal(parseMsec('1700000000.5'), 1700000000500);
  assert.equal(parseMsec('1700000000.123456'), 1700000000123);
  for (const bad of ['', '.123', '1700000000.', '17000000x0.123', '-1.000', '1.2.3']) assert.equal(parseMsec(bad), undefined, bad);
});

test('parseAnyTime reads ISO, time_local and msec', () => {
  assert.equal(parseAnyTime('2026-03-01T00:00:00+00:00'), Date.UTC(2026, 2, 1));
  assert.equal(parseAnyTime('01/Mar/2026:00:00:00 +0000'), Date.UTC(2026, 2, 1));
  assert.equal(parseAnyTime('1772323200.250'), Date.UTC(2026, 2, 1) + 250);
  assert.equal(parseAnyTime('yesterday'), undefined);
});

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

test('property: time_local and time_iso8601 written for any instant and offset parse back', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4_102_444_800 }), // 1970 .. 2100, in seconds
      fc.integer({ min: -12 * 60, max: 14 * 60 }).map((m) => m - (m % 15)),
      (seconds, offsetMinutes) => {
        const local = new Date((seconds + offsetMinutes * 60) * 1000);
        const sign = offsetMinutes < 0 ? '-' : '+';
        const oh = pad(Math.floor(Math.abs(offsetMinutes) / 60));
        const om = pad(Math.abs(offsetMinutes) % 60);
        const clock = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
        const timeLocal = `${pad(local.getUTCDate())}/${MONTHS[local.getUTCMonth()]}/${local.getUTCFullYear()}:${clock} ${sign}${oh}${om}`;
        const iso = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${clock}${sign}${oh}:${om}`;
        assert.equal(parseTimeLocal(timeLocal), seconds * 1000);
        assert.equal(parseTimeIso8601(iso), seconds * 1000);
        assert.equal(parseTimeIso8601(iso), Date.parse(iso));
      },
    ),
    { numRuns: 2000 },
  );
});
