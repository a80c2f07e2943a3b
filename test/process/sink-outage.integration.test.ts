// Starts a second Kafka of its own (scripts/services/kafka.sh with a private run dir and ports) as
// the kafka sink's cluster, while the processor reads from the shared one. The sink's cluster is
// stopped under a steady input: consumption must pause (lag grows, nothing committed past what
// the sink stored), tailplow_sink_errors_total shows it, memory stays bounded; once the cluster
// is back, everything is delivered.
//   TAILPLOW_SINK_OUTAGE_MS (default 20000), TAILPLOW_SINK_KAFKA_PORT (default 19392; +1 controller)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAdmin, generateRawEvents, groupProgress, idPrefix, produceRaw, withFreshIds } from '../../bench/process/events';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { kafkaBrokers, startPrivateService, uniqueName, waitFor, type PrivateService } from '../support/services';
import { killAllProcessors, startProcessor } from './processor-agent';

const OUTAGE_MS = Number(process.env.TAILPLOW_SINK_OUTAGE_MS ?? 20_000);
const PORT = Number(process.env.TAILPLOW_SINK_KAFKA_PORT ?? 19392);
const RATE = 500; // events/s
const RSS_LIMIT_MB = 300;

const sinkBrokers = [`127.0.0.1:${PORT}`];
let sinkKafka: PrivateService | undefined;

after(async () => {
  killAllProcessors();
  await sinkKafka?.stop();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test(`the kafka sink's cluster down for ${OUTAGE_MS / 1000} s: consumption pauses, errors show, memory bounded, then everything is delivered`, async (t) => {
  const brokers = kafkaBrokers();
  sinkKafka = await startPrivateService('kafka', { port: PORT, secondPort: PORT + 1 });
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-process-outage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = uniqueName('process-outage-raw');
  const persisted = `${raw}-persisted`;
  const bad = `${raw}-bad`;
  await createTopics(brokers, [raw, bad]);
  await createTopics(sinkBrokers, [persisted]);
  const groupId = uniqueName('process-outage');
  const all = withFreshIds(generateRawEvents(2000, { seed: 3 }).messages, 100_000, idPrefix());
  const processor = await startProcessor({
    dir,
    brokers,
    topic: raw,
    groupId,
    badTopic: bad,
    sinks: [{ type: 'kafka', topic: persisted, kafka: { brokers: sinkBrokers, connectionTimeoutMs: 1000, requestTimeoutMs: 5000 } }],
  });
  const admin = await connectAdmin(brokers);
  let produced = 0;
  let producing = true;
  const feeder = (async () => {
    const start = performance.now();
    while (producing) {
      const due = Math.min(all.messages.length, Math.floor(((performance.now() - start) / 1000) * RATE));
      if (due > produced) {
        await produceRaw(brokers, raw, all.messages.slice(produced, due));
        produced = due;
      }
      await sleep(100);
    }
  })();
  const rss: number[] = [];
  const sampler = setInterval(() => {
    const kb = processor.rssKb();
    if (kb !== undefined) rss.push(kb / 1024);
  }, 1000);
  try {
    await sleep(4000);
    const before = await groupProgress(admin, groupId, raw);
    assert.ok(before.committed > 0, 'events flow before the outage');

    await sinkKafka.run('stop');
    const stoppedAt = performance.now();
    await sleep(OUTAGE_MS / 2);
    const mid = await groupProgress(admin, groupId, raw);
    await sleep(Math.max(0, OUTAGE_MS - (performance.now() - stoppedAt)));
    const end = await groupProgress(admin, groupId, raw);
    const errors = await processor.metric('tailplow_sink_errors_total');
    const pending = await processor.metric('tailplow_events_pending');
    t.diagnostic(`during the outage: lag ${mid.end - mid.committed} after ${OUTAGE_MS / 2000} s, ${end.end - end.committed} after ${OUTAGE_MS / 1000} s; committed moved by ${end.committed - mid.committed}; tailplow_sink_errors_total ${errors}; tailplow_events_pending ${pending}`);
    assert.ok(errors > 0, 'the outage shows in tailplow_sink_errors_total');
    assert.ok(pending > 0, 'events wait for the sink: tailplow_events_pending');
    assert.ok(end.end - end.committed > mid.end - mid.committed, 'lag grows while the sink is down');
    assert.ok(end.end - end.committed >= (RATE * OUTAGE_MS) / 2000, 'consumption paused');

    await sinkKafka.run('start');
    const restartedAt = performance.now();
    await waitFor(async () => (await groupProgress(admin, groupId, raw)).committed > end.committed, 90_000, 500).catch((err: unknown) => {
      // Seen once in a full CI run (never alone): keep what the processor said for the next time.
      throw new Error(`nothing committed within 90 s of the sink's cluster coming back; the processor's last log lines:\n${processor.logs().slice(-40).join('\n')}`, { cause: err });
    });
    t.diagnostic(`first commit ${((performance.now() - restartedAt) / 1000).toFixed(1)} s after the sink's cluster was back`);
    await sleep(3000);
  } finally {
    producing = false;
    await feeder;
  }
  const out = await startTopicCollector(sinkBrokers, persisted);
  try {
    const ids = all.ids.slice(0, produced);
    await out.waitForAll(ids, 120_000);
    await waitFor(async () => (await groupProgress(admin, groupId, raw)).committed === produced, 30_000);
    await waitFor(async () => (await processor.metric('tailplow_events_pending')) === 0, 10_000);
    clearInterval(sampler);
    const max = Math.max(...rss);
    t.diagnostic(`${produced} events produced; ${out.messages} in the sink topic, 0 missing, ${out.duplicates()} duplicates`);
    t.diagnostic(`RSS (MB) each second: ${rss.map((m) => m.toFixed(0)).join(' ')}; max ${max.toFixed(1)}`);
    assert.equal(out.missing(ids).length, 0);
    assert.ok(max < RSS_LIMIT_MB, `RSS reached ${max.toFixed(0)} MB (limit ${RSS_LIMIT_MB})`);
    assert.deepEqual(await processor.stop(), { code: 0, signal: null });
  } finally {
    clearInterval(sampler);
    await admin.disconnect();
    await processor.stop();
    await out.stop();
  }
});
