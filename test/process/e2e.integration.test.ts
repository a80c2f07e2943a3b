// Needs Kafka (scripts/services/kafka.sh start). The real tailer turns a generated access log into
// tracking_raw; the real `tailplow process` enriches it into a kafka sink and a file sink. Then a
// poison message in the middle of a partition: a bad row, and the partition goes on.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLineGenerator } from '../../bench/lib/generate';
import { connectAdmin, generateRawEvents, groupProgress, MAXMIND_TEST_IPS, produceRaw } from '../../bench/process/events';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { eventIdsOf } from '../support/log-writer';
import { kafkaBrokers, uniqueName, waitFor } from '../support/services';
import { killAllAgents, startTailAgent } from '../support/tail-agent';
import { killAllProcessors, startProcessor } from './processor-agent';

after(() => {
  killAllAgents();
  killAllProcessors();
});

const brokers = kafkaBrokers();
const COUNTRY = new Map(MAXMIND_TEST_IPS.map(([ip, country]) => [ip.replace(/\.\d+$/, '.x'), country]));

test('raw -> enriched end to end: tailer output through `tailplow process` into the kafka and file sinks, every event once, enriched', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-process-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = uniqueName('process-e2e-raw');
  const persisted = `${raw}-persisted`;
  const bad = `${raw}-bad`;
  await createTopics(brokers, [raw, persisted, bad, `${raw}-tailbad`]);

  // A log whose every 4th hit comes from an address MaxMind's test database knows.
  const next = createLineGenerator({ seed: 101, startMs: Date.now() - 60_000 });
  const lines: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < 1500; i++) {
    let line = next();
    if (i % 4 === 0) line = line.replace(/"http_x_forwarded_for":"[^"]*"/, `"http_x_forwarded_for":"${MAXMIND_TEST_IPS[(i / 4) % MAXMIND_TEST_IPS.length]![0]}"`);
    lines.push(line);
    ids.push(...eventIdsOf(line));
  }
  writeFileSync(join(dir, 'access.log'), lines.join('\n') + '\n');

  const rawTopic = await startTopicCollector(brokers, raw);
  const tailer = await startTailAgent({ dir, paths: [join(dir, 'access.log')], brokers, topic: raw, badTopic: `${raw}-tailbad` });
  await rawTopic.waitForAll(ids, 60_000);
  assert.deepEqual(await tailer.stop(), { code: 0, signal: null });
  await rawTopic.stop();

  const out = await startTopicCollector(brokers, persisted);
  const badRows = await startTopicCollector(brokers, bad);
  const file = join(dir, 'out', 'events.ndjson');
  const groupId = uniqueName('process-e2e');
  const started = performance.now();
  const processor = await startProcessor({ dir, brokers, topic: raw, groupId, badTopic: bad, sinks: [{ type: 'file', path: file }, { type: 'kafka', topic: persisted }] });
  try {
    await out.waitForAll(ids, 60_000);
    t.diagnostic(`${ids.length} events from ${lines.length} lines (from the tailer's topic) through process in ${((performance.now() - started) / 1000).toFixed(1)} s (process start included)`);
    const admin = await connectAdmin(brokers);
    try {
      await waitFor(async () => {
        const p = await groupProgress(admin, groupId, raw);
        return p.committed === p.end && p.end === ids.length;
      }, 20_000);
    } finally {
      await admin.disconnect();
    }
    assert.equal(out.duplicates(), 0, 'no restarts: every event_id exactly once in the kafka sink');
    assert.equal(out.messages, ids.length);
    assert.equal(badRows.messages, 0);

    const stored = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(stored.length, ids.length, 'file sink: every event once');
    assert.deepEqual(new Set(stored.map((e) => e.event_id)), new Set(ids));
    for (const e of stored) {
      assert.equal(typeof e.br_family, 'string', `br_family on ${String(e.event_id)}`);
      assert.equal(e.mkt_source, 'newsletter');
      assert.equal(e.mkt_medium, 'email');
      assert.match(String(e.user_ipaddress), /\.x$/, 'anon_ip masked the last octet');
    }
    const chrome = stored.filter((e) => e.br_family === 'Chrome').length;
    assert.ok(chrome > 0, 'some Chrome visitors');
    const withReferer = stored.filter((e) => typeof e.page_referrer === 'string' && String(e.page_referrer).includes('google'));
    assert.ok(withReferer.length > 0);
    for (const e of withReferer) assert.equal(e.refr_medium, 'search');
    const located = stored.filter((e) => COUNTRY.has(String(e.user_ipaddress)));
    assert.ok(located.length >= ids.length / 5, `${located.length} events from MaxMind test addresses`);
    for (const e of located) assert.equal(e.geo_country, COUNTRY.get(String(e.user_ipaddress)), `geo_country of ${String(e.user_ipaddress)}`);
    t.diagnostic(`enriched: ${chrome} Chrome, ${withReferer.length} google referers (refr_medium=search), ${located.length} with geo_country`);
    assert.equal(await processor.metric('tailplow_sink_events_total'), 2 * ids.length);
    assert.deepEqual(await processor.stop(), { code: 0, signal: null });
  } finally {
    await processor.stop();
    await Promise.all([out.stop(), badRows.stop()]);
  }
});

test('poison messages in the middle of a partition become generic_error bad rows; everything around them is processed, the partition is not stuck', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-process-poison-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = uniqueName('process-poison-raw');
  const persisted = `${raw}-persisted`;
  const bad = `${raw}-bad`;
  await createTopics(brokers, [raw, persisted, bad], { partitions: 1 });
  const input = generateRawEvents(600, { seed: 5 });
  const poison = ['{"event_id": "cut-off', '[{"event_id":"in-an-array"}]', '"just a string"'];
  const groupId = uniqueName('process-poison');
  const out = await startTopicCollector(brokers, persisted);
  const badRows = await startTopicCollector(brokers, bad);
  await produceRaw(brokers, raw, [...input.messages.slice(0, 300), ...poison.map((value) => ({ key: null, value })), ...input.messages.slice(300)]);
  const processor = await startProcessor({ dir, brokers, topic: raw, groupId, badTopic: bad, stages: [], sinks: [{ type: 'kafka', topic: persisted }] });
  const admin = await connectAdmin(brokers);
  try {
    await out.waitForAll(input.ids, 60_000);
    await waitFor(() => badRows.messages >= poison.length, 20_000);
    // Produced after the poison: the partition keeps moving.
    const later = generateRawEvents(50, { seed: 6 });
    await produceRaw(brokers, raw, later.messages);
    await out.waitForAll(later.ids, 30_000);
    const total = input.messages.length + poison.length + later.messages.length;
    await waitFor(async () => (await groupProgress(admin, groupId, raw)).committed === total, 20_000);
    assert.equal(out.messages, input.ids.length + later.ids.length);
    assert.equal(out.duplicates(), 0);
    assert.equal(badRows.messages, poison.length);
    assert.equal(await processor.metric('tailplow_bad_rows_total'), poison.length);
  } finally {
    await admin.disconnect();
    await processor.stop();
    await Promise.all([out.stop(), badRows.stop()]);
  }
  // The bad rows themselves: Snowplow generic_error with the message as payload, saying where it was.
  const rows: Array<{ schema: string; data: { payload: string; failure: { errors: string[] } } }> = [];
  const { Kafka, logLevel } = await import('kafkajs');
  const consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueName('poison-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic: bad, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void rows.push(JSON.parse(message.value!.toString())) });
  await waitFor(() => rows.length >= poison.length, 20_000);
  await consumer.disconnect();
  assert.deepEqual(rows.map((r) => r.data.payload), poison);
  for (const [i, r] of rows.entries()) {
    assert.equal(r.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/1-0-0');
    assert.match(r.data.failure.errors[0]!, new RegExp(`message at ${raw}/0@${300 + i} is not a JSON event`));
  }
});
