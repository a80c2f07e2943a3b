import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLineParser } from '../nginx';
import { generateLog, writeLog } from '../../test/support/replay-logs';
import { firstTimestamp, inTimeOrder, resolveInputs, uncompressedSize } from './files';

const parser = createLineParser('json', { maxLineBytes: 1 << 20 });
const day = 86_400_000;
const t0 = Date.UTC(2026, 9, 1);

function rotatedSet() {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-replay-files-'));
  // Named like logrotate leaves them: the highest number is the oldest.
  const current = writeLog(dir, 'access.log', generateLog({ seed: 1, count: 20, startMs: t0 + 3 * day }).lines);
  const one = writeLog(dir, 'access.log.1', generateLog({ seed: 2, count: 20, startMs: t0 + 2 * day }).lines);
  const two = writeLog(dir, 'access.log.2.gz', generateLog({ seed: 3, count: 20, startMs: t0 + day }).lines);
  const three = writeLog(dir, 'access.log.3.gz', generateLog({ seed: 4, count: 20, startMs: t0 }).lines);
  const empty = join(dir, 'access.log.4');
  writeFileSync(empty, '');
  const emptyGz = join(dir, 'access.log.5.gz');
  writeFileSync(emptyGz, gzipSync(''));
  return { dir, current, one, two, three, empty, emptyGz };
}

test('files are ordered by the time of their first line, gz and plain alike, whatever order they were given in', async () => {
  const s = rotatedSet();
  const expected = [s.three, s.two, s.one, s.current];
  for (const given of [[s.current, s.one, s.two, s.three], [s.two, s.current, s.three, s.one], [s.one, s.three, s.current, s.two]]) {
    assert.deepEqual(await inTimeOrder(given, parser), expected);
  }
});

test('files without a timestamp (empty, unreadable) go last, in the order given', async () => {
  const s = rotatedSet();
  const garbage = join(s.dir, 'garbage.gz');
  writeFileSync(garbage, 'not gzip at all');
  assert.deepEqual(await inTimeOrder([s.emptyGz, s.current, garbage, s.empty, s.three], parser), [s.three, s.current, s.emptyGz, garbage, s.empty]);
});

test('overlapping files are ordered by where they start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-replay-files-'));
  const lateLog = generateLog({ seed: 5, count: 50, startMs: t0 + 100, stepMs: 50 });
  const earlyLog = generateLog({ seed: 6, count: 50, startMs: t0, stepMs: 50 });
  assert.ok(earlyLog.times.at(-1)! > lateLog.times[0]!, 'the generated ranges overlap');
  const late = writeLog(dir, 'b.log', lateLog.lines);
  const early = writeLog(dir, 'a.log.gz', earlyLog.lines);
  assert.equal(await firstTimestamp(early, parser), earlyLog.times[0]);
  assert.equal(await firstTimestamp(late, parser), lateLog.times[0]);
  assert.deepEqual(await inTimeOrder([late, early], parser), [early, late]);
});

test('globs expand, duplicates collapse; missing files, directories and FIFOs are named and left out', async () => {
  const s = rotatedSet();
  mkdirSync(join(s.dir, 'sub'));
  execFileSync('mkfifo', [join(s.dir, 'pipe.log')]);
  const { files, unusable } = await resolveInputs([join(s.dir, 'access.log.*.gz'), s.current, join(s.dir, 'nope.log'), join(s.dir, 'none-*.log'), s.current, join(s.dir, 'sub'), join(s.dir, 'pipe.log')]);
  assert.deepEqual([...files].sort(), [s.current, s.two, s.three, s.emptyGz].sort());
  assert.deepEqual(unusable, [
    `${join(s.dir, 'none-*.log')}: no such file`,
    `${join(s.dir, 'nope.log')}: no such file`,
    `${join(s.dir, 'sub')}: is a directory (give its files, e.g. a quoted glob like dir/*.log*)`,
    `${join(s.dir, 'pipe.log')}: not a regular file (a FIFO or device would block the replay)`,
  ]);
});

test('uncompressed size: the file size for plain files, the gzip trailer for .gz', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-replay-files-'));
  const text = 'x'.repeat(100_000) + '\n';
  writeFileSync(join(dir, 'p.log'), text);
  writeFileSync(join(dir, 'c.log.gz'), gzipSync(text));
  writeFileSync(join(dir, 'e.log.gz'), gzipSync(''));
  assert.equal(await uncompressedSize(join(dir, 'p.log')), 100_001);
  assert.equal(await uncompressedSize(join(dir, 'c.log.gz')), 100_001);
  assert.equal(await uncompressedSize(join(dir, 'e.log.gz')), 0);
});
