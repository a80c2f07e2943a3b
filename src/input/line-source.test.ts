import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fingerprintOf } from './fingerprint';
import { gzipTrailerSize, openLineSource } from './line-source';
import { makeTempDir, numberedLines } from './testing';
import type { LineRecord } from './types';

async function readAll(path: string, opts = {}): Promise<{ key: string; lines: LineRecord[]; sizes: number[] }> {
  const source = await openLineSource(path, opts);
  const lines: LineRecord[] = [];
  const sizes: number[] = [];
  for await (const batch of source) {
    assert.equal(batch.fileKey, source.fileKey);
    sizes.push(batch.lines.length);
    lines.push(...batch.lines);
  }
  return { key: source.fileKey, lines, sizes };
}

test('plain and .gz give the same lines, offsets and fingerprint', async (t) => {
  const dir = makeTempDir(t);
  const content = numberedLines('x', 0, 5000) + 'unterminated';
  writeFileSync(join(dir, 'a.log'), content);
  // Two gzip members, as `cat a.gz b.gz` produces: still one stream of lines.
  const half = Math.floor(content.length / 2);
  writeFileSync(join(dir, 'a.log.gz'), Buffer.concat([gzipSync(content.slice(0, half)), gzipSync(content.slice(half))]));
  const plain = await readAll(join(dir, 'a.log'), { maxBatchLines: 700, readBufferBytes: 4096 });
  const gz = await readAll(join(dir, 'a.log.gz'), { maxBatchLines: 700, readBufferBytes: 4096 });
  assert.equal(plain.lines.length, 5001);
  assert.deepEqual(gz.lines, plain.lines);
  assert.equal(gz.key, plain.key);
  assert.equal(plain.key, await fingerprintOf(join(dir, 'a.log.gz')));
  assert.ok(plain.sizes.every((n) => n <= 700));
  assert.deepEqual(plain.lines[5000], { text: 'unterminated', offset: 5000 * 41, nextOffset: 5000 * 41 + 12 });
  assert.deepEqual(plain.lines[1], { text: 'x-1'.padEnd(40, '.'), offset: 41, nextOffset: 82 });
});

test('startOffset resumes in both forms; the unterminated line can be left out', async (t) => {
  const dir = makeTempDir(t);
  const content = numberedLines('y', 0, 100) + 'partial';
  writeFileSync(join(dir, 'b.log'), content);
  writeFileSync(join(dir, 'b.log.gz'), gzipSync(content));
  for (const name of ['b.log', 'b.log.gz']) {
    const { lines } = await readAll(join(dir, name), { startOffset: 41 * 90, emitUnterminatedLastLine: false });
    assert.deepEqual(lines.map((l) => l.offset), Array.from({ length: 10 }, (_, i) => 41 * (90 + i)), name);
    assert.equal(lines[0]!.text, 'y-90'.padEnd(40, '.'));
  }
});

test('short files get an inode key; fingerprintOf is null for them', async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(join(dir, 's.log'), 'one\n');
  assert.equal(await fingerprintOf(join(dir, 's.log')), null);
  assert.match((await readAll(join(dir, 's.log'))).key, /^short:\d+:\d+$/);
  appendFileSync(join(dir, 's.log'), 'x'.repeat(2000));
  assert.match((await fingerprintOf(join(dir, 's.log'))) ?? '', /^[0-9a-f]{64}$/);
});

test('a corrupt .gz fails loudly', async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(join(dir, 'bad.gz'), 'this is not gzip at all, but long enough to matter\n'.repeat(50));
  await assert.rejects(readAll(join(dir, 'bad.gz')), /incorrect header check/);
});

test('gzipTrailerSize: the decompressed size from the trailer; null for a file too small to be gzip', async (t) => {
  const dir = makeTempDir(t);
  const content = Buffer.from('x'.repeat(70_000) + '\n');
  writeFileSync(join(dir, 'a.gz'), gzipSync(content));
  writeFileSync(join(dir, 'empty.gz'), gzipSync(Buffer.alloc(0)));
  writeFileSync(join(dir, 'tiny.gz'), 'abc');
  assert.equal(await gzipTrailerSize(join(dir, 'a.gz')), content.length);
  assert.equal(await gzipTrailerSize(join(dir, 'empty.gz')), 0);
  assert.equal(await gzipTrailerSize(join(dir, 'tiny.gz')), null);
});
