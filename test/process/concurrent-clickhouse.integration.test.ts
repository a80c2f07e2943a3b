// Needs Kafka and ClickHouse (scripts/services/kafka.sh, clickhouse.sh start). The clickhouse sink
// with batches of several partitions in flight at once (source.partitionsConsumedConcurrently),
// whose inserts the store combines (storage/clickhouse-store.ts coalesceInserts): two processes
// in one group over 4 partitions, one stops (SIGTERM) while input flows, so the group rebalances
// with inserts in flight. Every event must be stored, and stored once: a batch is committed only
// after the (combined) insert holding it was acknowledged, and a member stores and commits its
// pending batches before it leaves or rejoins (kafka/consumer.ts), so the successor redoes nothing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAdmin, generateRawEvents, groupProgress, idPrefix, produceRaw, withFreshIds } from '../../bench/process/events';
import { createClickHouseStore } from '../../src/storage/clickhouse-store';
import { createTopics } from '../support/kafka-topic';
import { clickhouseUrl, kafkaBrokers, uniqueName, waitFor } from '../support/services';
import { killAllProcessors, startProcessor } from './processor-agent';

after(killAllProcessors);

test('clickhouse sink, 4 partitions consumed concurrently, inserts combined: a member leaving mid-stream (rebalance) loses nothing and duplicates nothing', async (t) => {
  const brokers = kafkaBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-process-ch-concurrent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = uniqueName('process-ch-concurrent-raw');
  const bad = `${raw}-bad`;
  const table = uniqueName('process_ch_concurrent').replace(/-/g, '_');
  await createTopics(brokers, [raw, bad], { partitions: 4 });
  const groupId = uniqueName('process-ch-concurrent');
  const input = withFreshIds(generateRawEvents(3000, { seed: 9 }).messages, 12_000, idPrefix());
  const admin = await connectAdmin(brokers);
  const ch = await createClickHouseStore({ url: clickhouseUrl(), username: 'default', password: '', database: 'default', requestTimeoutMs: 30_000, asyncInsert: false });
  const run = (name: string) => ({
    dir,
    name,
    brokers,
    topic: raw,
    groupId,
    badTopic: bad,
    sinks: [{ type: 'clickhouse', url: clickhouseUrl(), table }],
    // Small fetches: many batches, so the stop falls between inserts of every partition.
    source: { sessionTimeoutMs: 6000, partitionsConsumedConcurrently: 4, maxBytesPerPartition: 64 * 1024 },
  });
  const a = await startProcessor(run('a.yaml'));
  const b = await startProcessor(run('b.yaml'));
  try {
    await waitFor(async () => (await admin.fetchTopicOffsets(raw)).length === 4, 10_000);
    await produceRaw(brokers, raw, input.messages.slice(0, 6000));
    // a leaves while it is inserting: some of its partitions' batches are in flight.
    await waitFor(async () => (await a.metric('tailplow_events_consumed_total')) > 500, 60_000);
    const producing = produceRaw(brokers, raw, input.messages.slice(6000));
    assert.deepEqual(await a.stop(), { code: 0, signal: null });
    await producing;
    await waitFor(async () => (await groupProgress(admin, groupId, raw)).committed === input.ids.length, 120_000);
    const [row] = await ch.query<{ rows: number; ids: number }>(`SELECT count() AS rows, uniqExact(event_id) AS ids FROM ${table}`);
    const stored = new Set((await ch.query<{ event_id: string }>(`SELECT event_id FROM ${table}`)).map((r) => r.event_id));
    const missing = input.ids.filter((id) => !stored.has(id));
    t.diagnostic(`${input.ids.length} events: ${row?.rows} rows, ${row?.ids} event ids, ${missing.length} missing`);
    assert.equal(missing.length, 0);
    assert.deepEqual(row, { rows: input.ids.length, ids: input.ids.length }, 'no event inserted twice');
    assert.deepEqual(await b.stop(), { code: 0, signal: null });
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await ch.command(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await ch.close();
    await admin.disconnect();
  }
});
