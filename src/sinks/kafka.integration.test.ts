// Needs Kafka (scripts/services/kafka.sh start): the kafka sink against a real broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAdmin, generateRawEvents } from '../../bench/process/events';
import { createTopics, startTopicCollector } from '../../test/support/kafka-topic';
import { kafkaBrokers, uniqueName, waitFor } from '../../test/support/services';
import { kafkaConnectionSchema } from '../kafka/connection';
import { silentLogger } from '../util/logger';
import { createKafkaSink } from './kafka';
import { sinkConfigSchema } from './registry';

const brokers = kafkaBrokers();
const deps = { logger: silentLogger, dataDir: '/nonexistent', kafka: kafkaConnectionSchema.parse({ brokers }) };

// Uncompressed, a batch over the broker's 1 MiB message limit must be split by the producer.
for (const compression of ['gzip', 'none'] as const) {
  test(`a batch of several MB (compression ${compression}) is acknowledged only when all of it is in the topic, keyed by visitor`, async () => {
    const topic = uniqueName('sink-kafka');
    await createTopics(brokers, [topic], { partitions: 2 });
    // Metadata for a fresh topic can lag behind its creation for a moment.
    const admin = await connectAdmin(brokers);
    await waitFor(async () => (await admin.fetchTopicOffsets(topic)).length === 2, 10_000).finally(() => admin.disconnect());
    const input = generateRawEvents(4000, { seed: 12 });
    const bytes = input.messages.reduce((s, m) => s + m.value.length, 0);
    assert.ok(bytes > 4 * 1024 * 1024, `input is ${bytes} bytes`);
    const config = sinkConfigSchema.parse({ type: 'kafka', topic, compression });
    assert.ok(config.type === 'kafka');
    const sink = await createKafkaSink(config, deps);
    const out = await startTopicCollector(brokers, topic);
    try {
      assert.deepEqual(await sink.write(input.events), { failed: [] });
      await out.waitForAll(input.ids, 30_000);
      assert.equal(out.messages, input.ids.length);
    } finally {
      await sink.close();
      await out.stop();
    }
  });
}
