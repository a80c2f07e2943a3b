import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutMessage } from '../kafka/producer';
import type { DecodedBatch } from '../pipeline/batch-decode';
import { dropTornLastLine, fileStream, kafkaOutput, streamOutput } from './outputs';

function batch(events: string[], bad: string[] = []): DecodedBatch {
  return {
    path: '/logs/a.log',
    fileKey: 'k',
    lines: events.length + bad.length,
    endOffset: 100,
    events: events.map((value, i) => ({ key: `visitor-${i}`, value, offset: i * 10 })),
    bad: bad.map((value, i) => ({ value, offset: 50 + i })),
    outOfRange: 0,
    eventsByType: {},
    badByKind: {},
    skippedByReason: {},
  };
}

test('json/tsv output: one line per event, bad rows to their own stream, in write order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-replay-out-'));
  const out = streamOutput(fileStream(join(dir, 'events')), fileStream(join(dir, 'bad')));
  await out.write(batch(['{"a":1}', '{"a":2}'], ['{"bad":1}']));
  await out.write(batch([]));
  await out.write(batch(['{"a":3}']));
  await out.close();
  assert.equal(readFileSync(join(dir, 'events'), 'utf8'), '{"a":1}\n{"a":2}\n{"a":3}\n');
  assert.equal(readFileSync(join(dir, 'bad'), 'utf8'), '{"bad":1}\n');
});

test('fileStream truncates by default and appends when asked (a resumed run keeps earlier output)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-replay-out-'));
  const path = join(dir, 'events');
  writeFileSync(path, 'earlier\n');
  let out = streamOutput(fileStream(path, true), undefined);
  await out.write(batch(['later']));
  await out.close();
  assert.equal(readFileSync(path, 'utf8'), 'earlier\nlater\n');
  out = streamOutput(fileStream(path), undefined);
  await out.write(batch(['fresh']));
  await out.close();
  assert.equal(readFileSync(path, 'utf8'), 'fresh\n');
});

test('a full device rejects the write, and every later one, without an uncaught stream error', async () => {
  const out = streamOutput(fileStream('/dev/full'), undefined);
  await assert.rejects(out.write(batch(['{"a":1}'])), /ENOSPC/);
  await assert.rejects(out.write(batch(['{"a":2}'])), /ENOSPC/);
  await out.close();
});

test('an output path that cannot be opened fails the first write', async () => {
  const out = streamOutput(fileStream('/nonexistent-dir/events.ndjson'), undefined);
  await assert.rejects(out.write(batch(['{"a":1}'])), /ENOENT/);
  await out.close();
});

test('kafka output: events keyed by visitor to the topic, bad rows unkeyed to the bad topic, source and offset headers', async () => {
  const sent: Array<{ topic: string; messages: OutMessage[] }> = [];
  let closed = false;
  const out = kafkaOutput(
    { send: async (topic, messages) => void sent.push({ topic, messages }), prepare: async () => {}, close: async () => void (closed = true) },
    { topic: 'tracking_raw', badTopic: 'tracking_bad' },
  );
  await out.write(batch(['{"e":1}', '{"e":2}'], ['{"b":1}']));
  await out.close();
  assert.equal(closed, true);
  const byTopic = Object.fromEntries(sent.map((s) => [s.topic, s.messages]));
  assert.deepEqual(byTopic.tracking_raw, [
    { key: 'visitor-0', value: '{"e":1}', headers: { 'tailplow-source': '/logs/a.log', 'tailplow-offset': '0' } },
    { key: 'visitor-1', value: '{"e":2}', headers: { 'tailplow-source': '/logs/a.log', 'tailplow-offset': '10' } },
  ]);
  assert.deepEqual(byTopic.tracking_bad, [{ key: null, value: '{"b":1}', headers: { 'tailplow-source': '/logs/a.log', 'tailplow-offset': '50' } }]);
});

test('kafka output: a failed send fails the batch', async () => {
  const out = kafkaOutput({ send: async () => Promise.reject(new Error('broker down')), prepare: async () => {}, close: async () => {} }, { topic: 't', badTopic: 'b' });
  await assert.rejects(out.write(batch(['{"e":1}'])), /broker down/);
});

test('appending after a torn write first cuts the partial last line; complete lines and other files stay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-replay-out-'));
  const torn = join(dir, 'torn');
  writeFileSync(torn, '{"a":1}\n{"a":2}\n{"a":');
  dropTornLastLine(torn);
  assert.equal(readFileSync(torn, 'utf8'), '{"a":1}\n{"a":2}\n');
  dropTornLastLine(torn);
  assert.equal(readFileSync(torn, 'utf8'), '{"a":1}\n{"a":2}\n');
  const long = join(dir, 'long');
  writeFileSync(long, '{"a":1}\n' + 'x'.repeat(200_000));
  dropTornLastLine(long);
  assert.equal(readFileSync(long, 'utf8'), '{"a":1}\n');
  const noNewline = join(dir, 'partial-only');
  writeFileSync(noNewline, 'x'.repeat(100_000));
  dropTornLastLine(noNewline);
  assert.equal(readFileSync(noNewline, 'utf8'), '');
  dropTornLastLine(join(dir, 'missing'));
  dropTornLastLine('/dev/null');
});
