// Needs Kafka (scripts/services/kafka.sh start). Two `tailplow process` in one consumer group over a
// 4-partition topic share the work; when one stops (SIGTERM) the other takes its partitions over
// and nothing is lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAdmin, generateRawEvents, groupProgress, idPrefix, produceRaw, withFreshIds } from '../../bench/process/events';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { kafkaBrokers, uniqueName, waitFor } from '../support/services';
import { killAllProcessors, startProcessor } from './processor-agent';

after(killAllProcessors);

test('scale out: two processes in one group split 4 partitions; one stops (SIGTERM), the other takes over without loss', async (t) => {
  const brokers = kafkaBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-process-scale-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = uniqueName('process-scale-raw');
  const persisted = `${raw}-persisted`;
  const bad = `${raw}-bad`;
  await createTopics(brokers, [raw, persisted, bad], { partitions: 4 });
  const groupId = uniqueName('process-scale');
  const input = withFreshIds(generateRawEvents(3000, { seed: 4 }).messages, 24_000, idPrefix());
  const [first, second, third] = [input.messages.slice(0, 8000), input.messages.slice(8000, 16_000), input.messages.slice(16_000)];
  const admin = await connectAdmin(brokers);
  // Metadata for fresh topics can lag behind their creation for a moment.
  await waitFor(async () => (await admin.fetchTopicOffsets(persisted)).length === 4 && (await admin.fetchTopicOffsets(raw)).length === 4, 10_000);
  const out = await startTopicCollector(brokers, persisted);
  const run = (name: string) => ({ dir, name, brokers, topic: raw, groupId, badTopic: bad, sinks: [{ type: 'kafka', topic: persisted }], source: { sessionTimeoutMs: 6000 } });
  const a = await startProcessor(run('a.yaml'));
  const b = await startProcessor(run('b.yaml'));
  try {
    // "processing" means the consumer runs, not that the group has rebalanced with both: events
    // produced before that can all go to the first member (CI saw a: 16000, b: 0).
    await waitFor(async () => {
      const [group] = (await admin.describeGroups([groupId])).groups;
      return group?.state === 'Stable' && group.members.length === 2;
    }, 60_000);
    await produceRaw(brokers, raw, first!);
    await out.waitForAll(input.ids.slice(0, 8000), 60_000);
    await produceRaw(brokers, raw, second!);
    await out.waitForAll(input.ids.slice(8000, 16_000), 60_000);
    const [consumedA, consumedB] = [await a.metric('tailplow_events_consumed_total'), await b.metric('tailplow_events_consumed_total')];
    t.diagnostic(`while both ran: a consumed ${consumedA}, b consumed ${consumedB}`);
    assert.ok(consumedA > 0 && consumedB > 0, 'both members got partitions');

    assert.deepEqual(await a.stop(), { code: 0, signal: null });
    await produceRaw(brokers, raw, third!);
    await out.waitForAll(input.ids, 60_000);
    const consumedB2 = await b.metric('tailplow_events_consumed_total');
    t.diagnostic(`after a stopped: b consumed ${consumedB2 - consumedB} more (all ${third!.length} produced after the stop)`);
    assert.ok(consumedB2 - consumedB >= third!.length);
    await waitFor(async () => (await groupProgress(admin, groupId, raw)).committed === input.ids.length, 30_000);
    t.diagnostic(`${input.ids.length} events, ${out.messages} in the sink topic, 0 missing, ${out.duplicates()} duplicates`);
    assert.equal(out.missing(input.ids).length, 0);
    // A clean stop commits what its sinks stored, so its successor redoes nothing.
    assert.equal(out.duplicates(), 0);
    assert.deepEqual(await b.stop(), { code: 0, signal: null });
  } finally {
    await admin.disconnect();
    await Promise.all([a.stop(), b.stop()]);
    await out.stop();
  }
});
