// Needs Kafka (scripts/services/kafka.sh start). `workers: 2`: one `tailplow process` forks two
// processors that share a 4-partition topic; /metrics and /healthz speak for both; SIGTERM stops
// both cleanly; a worker that dies ends the instance (or, while it stops, its exit code), and a
// restart loses nothing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree } from '../../bench/lib/cpu';
import { connectAdmin, generateRawEvents, groupProgress, idPrefix, produceRaw, withFreshIds } from '../../bench/process/events';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { kafkaBrokers, uniqueName, waitFor } from '../support/services';
import { killAllProcessors, startProcessor } from './processor-agent';

after(killAllProcessors);

async function setUp(t: { after(fn: () => void): void }, name: string) {
  const brokers = kafkaBrokers();
  const dir = mkdtempSync(join(tmpdir(), `tailplow-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = uniqueName(`${name}-raw`);
  const persisted = `${raw}-persisted`;
  await createTopics(brokers, [raw, persisted, `${raw}-bad`], { partitions: 4 });
  const admin = await connectAdmin(brokers);
  await waitFor(async () => (await admin.fetchTopicOffsets(persisted)).length === 4 && (await admin.fetchTopicOffsets(raw)).length === 4, 10_000);
  const groupId = uniqueName(name);
  const options = { dir, brokers, topic: raw, groupId, badTopic: `${raw}-bad`, sinks: [{ type: 'kafka', topic: persisted }], source: { sessionTimeoutMs: 6000 }, workers: 2 };
  const groupOfTwo = () =>
    waitFor(async () => {
      const [group] = (await admin.describeGroups([groupId])).groups;
      return group?.state === 'Stable' && group.members.length === 2;
    }, 60_000);
  return { brokers, raw, persisted, groupId, admin, options, groupOfTwo };
}

test('workers: 2 share the partitions in one instance; /metrics sums them, /healthz covers both; SIGTERM stops both with nothing lost or twice', async (t) => {
  const s = await setUp(t, 'process-workers');
  const input = withFreshIds(generateRawEvents(3000, { seed: 5 }).messages, 12_000, idPrefix());
  const out = await startTopicCollector(s.brokers, s.persisted);
  const p = await startProcessor(s.options);
  try {
    const workers = processTree(p.pid).slice(1);
    assert.equal(workers.length, 2, `two worker processes under ${p.pid}: ${workers.join(', ')}`);
    await s.groupOfTwo();
    await produceRaw(s.brokers, s.raw, input.messages);
    await out.waitForAll(input.ids, 60_000);
    await waitFor(async () => (await groupProgress(s.admin, s.groupId, s.raw)).committed === input.ids.length, 30_000);
    // Each worker counts what it consumed; the primary's /metrics is their sum.
    await waitFor(async () => (await p.metric('tailplow_events_consumed_total')) === input.ids.length, 10_000);
    const health = await p.health();
    assert.equal(health.status, 200);
    assert.equal(Object.keys(health.body.workers as object).length, 2, JSON.stringify(health.body));
    assert.equal(out.missing(input.ids).length, 0);
    assert.equal(out.duplicates(), 0);
    assert.deepEqual(await p.stop(), { code: 0, signal: null });
    assert.deepEqual(processTree(p.pid), [p.pid], 'no worker outlives the instance');
    assert.ok(workers.every((pid) => !isAlive(pid)), 'the workers exited');
  } finally {
    await s.admin.disconnect();
    await p.stop();
    await out.stop();
  }
});

test('workers: a worker killed (SIGKILL) ends the instance with exit code 1 after stopping the other; a restart consumes the rest, nothing lost', async (t) => {
  const s = await setUp(t, 'process-workers-kill');
  const input = withFreshIds(generateRawEvents(3000, { seed: 6 }).messages, 12_000, idPrefix());
  const out = await startTopicCollector(s.brokers, s.persisted);
  const first = await startProcessor(s.options);
  let second: Awaited<ReturnType<typeof startProcessor>> | undefined;
  try {
    const workers = processTree(first.pid).slice(1);
    await s.groupOfTwo();
    await produceRaw(s.brokers, s.raw, input.messages.slice(0, 6000));
    await waitFor(async () => (await first.metric('tailplow_events_consumed_total')) > 0, 30_000);
    process.kill(workers[0]!, 'SIGKILL');
    const ended = await Promise.race([first.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    assert.deepEqual(ended, { code: 1, signal: null }, 'the instance ends with the internal-error code');
    assert.ok(!isAlive(workers[1]!), 'the other worker was stopped');
    assert.ok(first.logs().some((l) => l.includes('a worker ended on its own')), 'the primary says why it stopped');

    second = await startProcessor(s.options);
    await produceRaw(s.brokers, s.raw, input.messages.slice(6000));
    await out.waitForAll(input.ids, 60_000);
    await waitFor(async () => (await groupProgress(s.admin, s.groupId, s.raw)).committed === input.ids.length, 30_000);
    t.diagnostic(`${input.ids.length} events, ${out.messages} in the sink topic, 0 missing, ${out.duplicates()} duplicates (uncommitted batches of the killed worker, redone)`);
    assert.equal(out.missing(input.ids).length, 0);
    assert.deepEqual(await second.stop(), { code: 0, signal: null });
  } finally {
    await s.admin.disconnect();
    await first.stop();
    await second?.stop();
    await out.stop();
  }
});

test('workers: a worker killed while the instance stops makes the exit code 1, not a clean 0', async (t) => {
  const s = await setUp(t, 'process-workers-stop');
  const p = await startProcessor(s.options);
  try {
    const workers = processTree(p.pid).slice(1);
    await s.groupOfTwo();
    p.kill('SIGTERM');
    // A worker leaves the group and closes its clients in well over 50 ms.
    await new Promise((r) => setTimeout(r, 50));
    process.kill(workers[0]!, 'SIGKILL');
    const ended = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    assert.deepEqual(ended, { code: 1, signal: null });
    assert.ok(p.logs().some((l) => l.includes('a worker failed while stopping')), p.logs().slice(-5).join('\n'));
  } finally {
    await s.admin.disconnect();
    await p.stop();
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
