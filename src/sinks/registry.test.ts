import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../util/logger';
import { createSink, sinkConfigSchema } from './registry';

test('createSink builds the sink its `type` names', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tailplow-sink-registry-')), 'out.ndjson');
  const sink = await createSink(sinkConfigSchema.parse({ type: 'file', path }), { logger: silentLogger, dataDir: '/nonexistent', kafka: { brokers: ['127.0.0.1:1'] } as never });
  assert.equal(sink.name, 'file');
  await sink.write([{ event_id: 'x' }]);
  await sink.close();
  assert.equal(readFileSync(path, 'utf8'), '{"event_id":"x"}\n');
});

test('kafka sink defaults: topic tracking_persisted, gzip, idempotent; its own cluster is optional', () => {
  const k = sinkConfigSchema.parse({ type: 'kafka' });
  assert.ok(k.type === 'kafka');
  assert.equal(k.topic, 'tracking_persisted');
  assert.equal(k.compression, 'gzip');
  assert.equal(k.idempotent, true);
  assert.equal(k.kafka, undefined);
  const other = sinkConfigSchema.parse({ type: 'kafka', kafka: { brokers: ['other:9092'] } });
  assert.deepEqual(other.type === 'kafka' && other.kafka?.brokers, ['other:9092']);
});

test('an unknown sink type is refused at `type`', () => {
  const r = sinkConfigSchema.safeParse({ type: 's3' });
  assert.equal(r.success, false);
  assert.deepEqual(r.error!.issues.map((i) => i.path.join('.')), ['type']);
  assert.match(r.error!.issues[0]!.message, /Invalid discriminator value\. Expected 'kafka' \| 'file'/);
});
