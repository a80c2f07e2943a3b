import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SnowplowEvent } from '../snowplow/event';
import { eventToJson, eventToTsv } from '../snowplow/format';
import { silentLogger } from '../util/logger';
import { createFileSink, fileSinkSchema } from './file';

const deps = { logger: silentLogger, dataDir: '/nonexistent' };
const events: SnowplowEvent[] = [
  { event_id: 'a1', event: 'page_view', app_id: 'site', collector_tstamp: '2026-10-01T00:00:00.000Z', br_family: 'Chrome' },
  { event_id: 'a2', event: 'struct', app_id: 'site', collector_tstamp: '2026-10-01T00:00:01.000Z', se_category: 'video\tplay' },
];

test('ndjson: one canonical JSON event per line, appended across batches and reopenings; the directory is created', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tailplow-file-sink-')), 'nested/dir/events.ndjson');
  const sink = await createFileSink(fileSinkSchema.parse({ type: 'file', path }), deps);
  assert.equal(sink.name, 'file');
  assert.deepEqual(await sink.write(events), { failed: [] });
  assert.deepEqual(await sink.write([]), { failed: [] });
  await sink.close();
  const again = await createFileSink(fileSinkSchema.parse({ type: 'file', path, fsync: false }), deps);
  await again.write([events[0]!]);
  await again.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  assert.deepEqual(lines, [eventToJson(events[0]!), eventToJson(events[1]!), eventToJson(events[0]!)]);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as SnowplowEvent).event_id), ['a1', 'a2', 'a1']);
});

test('tsv: Snowplow enriched TSV, 131 columns per line', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tailplow-file-sink-')), 'events.tsv');
  const sink = await createFileSink(fileSinkSchema.parse({ type: 'file', path, format: 'tsv' }), deps);
  await sink.write(events);
  await sink.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(lines, events.map(eventToTsv));
  for (const l of lines) assert.equal(l.split('\t').length, 131);
});

test('a write that cannot be stored rejects (the batch is retried, never acknowledged)', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tailplow-file-sink-')), 'events.ndjson');
  const sink = await createFileSink(fileSinkSchema.parse({ type: 'file', path }), deps);
  await sink.close();
  await assert.rejects(sink.write(events));
  assert.equal(readFileSync(path, 'utf8'), '');
});

test('a path that cannot be opened fails at start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-file-sink-'));
  await assert.rejects(createFileSink(fileSinkSchema.parse({ type: 'file', path: dir }), deps), /EISDIR/);
});
