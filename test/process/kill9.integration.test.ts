// Needs Kafka (scripts/services/kafka.sh start). `tailplow process` is killed with SIGKILL at random
// moments, round after round, while input keeps flowing into tracking_raw. At-least-once: every
// event_id must reach the sink topic (zero missing); duplicates are allowed only for batches the
// sinks stored but whose offsets were not committed yet when the process died.
//   TAILPLOW_PROCESS_KILL_ROUNDS (default 6), TAILPLOW_KILL_SEED (default: random, printed)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../../bench/lib/generate';
import { connectAdmin, generateRawEvents, groupProgress, idPrefix, produceRaw, withFreshIds } from '../../bench/process/events';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { kafkaBrokers, uniqueName, waitFor } from '../support/services';
import { killAllProcessors, startProcessor } from './processor-agent';

after(killAllProcessors);

const ROUNDS = Number(process.env.TAILPLOW_PROCESS_KILL_ROUNDS ?? 6);
const SEED = Number(process.env.TAILPLOW_KILL_SEED ?? Math.floor(Math.random() * 1e9));
const RATE = 1000; // events/s into tracking_raw
const MAX_BYTES_PER_PARTITION = 256 * 1024;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test(`kill -9 in ${ROUNDS} rounds while input flows: zero missing, duplicates only from uncommitted batches`, async (t) => {
  t.diagnostic(`seed ${SEED} (TAILPLOW_KILL_SEED to repeat the kill moments)`);
  const random = prng(SEED);
  const brokers = kafkaBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-process-kill9-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = uniqueName('process-kill9-raw');
  const persisted = `${raw}-persisted`;
  const bad = `${raw}-bad`;
  await createTopics(brokers, [raw, persisted, bad]);
  const groupId = uniqueName('process-kill9');
  const templates = generateRawEvents(2000, { seed: 9, geoEvery: 5 }).messages;
  const prefix = idPrefix();
  const all = withFreshIds(templates, 200_000, prefix);
  let produced = 0;
  let producing = true;
  const feeder = (async () => {
    const start = performance.now();
    while (producing && produced < all.messages.length) {
      const due = Math.min(all.messages.length, Math.floor(((performance.now() - start) / 1000) * RATE));
      if (due > produced) {
        await produceRaw(brokers, raw, all.messages.slice(produced, due));
        produced = due;
      }
      await sleep(100);
    }
  })();
  const out = await startTopicCollector(brokers, persisted);
  const run = {
    dir,
    brokers,
    topic: raw,
    groupId,
    badTopic: bad,
    sinks: [{ type: 'kafka', topic: persisted }],
    source: { sessionTimeoutMs: 6000, maxBytesPerPartition: MAX_BYTES_PER_PARTITION },
  };
  const lives: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const p = await startProcessor(run);
      // Sometimes right after it joined (first batches in flight), sometimes after a while.
      const lifeMs = Math.floor(random() < 0.3 ? random() * 500 : 500 + random() * 3000);
      await sleep(lifeMs);
      p.kill('SIGKILL');
      assert.equal((await p.exited).signal, 'SIGKILL');
      lives.push(lifeMs);
    }
    t.diagnostic(`killed after (ms, after "processing"): ${lives.join(' ')}`);
  } finally {
    producing = false;
    await feeder;
  }
  const ids = all.ids.slice(0, produced);
  const last = await startProcessor(run);
  const admin = await connectAdmin(brokers);
  try {
    await out.waitForAll(ids, 120_000);
    await waitFor(async () => (await groupProgress(admin, groupId, raw)).committed === produced, 30_000);
    const delivered = await startTopicCollector(brokers, persisted);
    await waitFor(() => delivered.messages >= out.messages, 30_000);
    await delivered.stop();
    const avgBytes = all.messages.slice(0, 1000).reduce((s, m) => s + m.value.length, 0) / 1000;
    // One death re-delivers at most what was stored but not committed: the batch in the handler
    // (one partition at a time) — at most maxBytesPerPartition of messages.
    const bound = Math.ceil(ROUNDS * (MAX_BYTES_PER_PARTITION / avgBytes));
    const duplicates = out.duplicates();
    t.diagnostic(`${produced} events produced; ${out.messages} in the sink topic, 0 missing, ${duplicates} duplicates (${((100 * duplicates) / produced).toFixed(2)}%, bound ${bound})`);
    assert.equal(out.missing(ids).length, 0);
    assert.ok(duplicates <= bound, `${duplicates} duplicates exceed ${ROUNDS} uncommitted batches (${bound})`);
    assert.deepEqual(await last.stop(), { code: 0, signal: null });
  } finally {
    await admin.disconnect();
    await last.stop();
    await out.stop();
  }
});
