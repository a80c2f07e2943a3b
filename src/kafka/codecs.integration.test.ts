// Needs Kafka (scripts/services/kafka.sh start, which also exports TAILPLOW_KAFKA_LIBS). Batches
// compressed by our snappy and lz4 codecs must be accepted by the broker (it decompresses them to
// validate), read back by kafkajs, and read by Kafka's own Java client byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CompressionTypes } from 'kafkajs';
import { createTopics } from '../../test/support/kafka-topic';
import { kafkaBrokers, uniqueName } from '../../test/support/services';
import { silentLogger } from '../util/logger';
import { KAFKA_COMPRESSION_TYPES, kafkaCodecs, type Codec } from './codecs';
import { createKafka } from './connection';
import { consumerSchema, createGroupConsumer } from './consumer';
import { createKafkaProducer, producerSchema } from './producer';

const brokers = kafkaBrokers();
const MESSAGES = 3000;
const repoRoot = join(__dirname, '../../..');

function javaConsume(topic: string, count: number): Promise<string> {
  const libs = process.env.TAILPLOW_KAFKA_LIBS;
  assert.ok(libs, 'TAILPLOW_KAFKA_LIBS is exported by `eval "$(scripts/services/kafka.sh start)"`');
  return new Promise((resolve, reject) => {
    execFile('java', ['-cp', `${libs}/*`, join(repoRoot, 'test/support/java/KafkaConsume.java'), brokers[0]!, topic, String(count)], { timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`java: ${err.message}\n${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

/** Counts calls of a codec's compress and decompress, so the test knows ours did the work. */
function spyOn(type: CompressionTypes): { compressed: number; decompressed: number } {
  const factory = kafkaCodecs[type]!;
  const counts = { compressed: 0, decompressed: 0 };
  kafkaCodecs[type] = (): Codec => {
    const codec = factory();
    return {
      compress: (e) => (counts.compressed++, codec.compress(e)),
      decompress: (b) => (counts.decompressed++, codec.decompress(b)),
    };
  };
  return counts;
}

for (const compression of ['snappy', 'lz4'] as const) {
  test(`${compression}: kafkajs writes, the broker accepts, kafkajs and Kafka's Java client read the same bytes`, { timeout: 180_000 }, async () => {
    const topic = uniqueName(`codec-${compression}`);
    await createTopics(brokers, [topic], { partitions: 1 });
    const kafka = createKafka({ brokers, clientId: 'tailplow-test', tls: false, connectionTimeoutMs: 3000, requestTimeoutMs: 30000 }, silentLogger);
    const counts = spyOn(KAFKA_COMPRESSION_TYPES[compression]);
    const values = Array.from({ length: MESSAGES }, (_, i) => JSON.stringify({ event: 'page_view', i, event_id: createHash('md5').update(String(i)).digest('hex'), text: 'é ü 日本 '.repeat(i % 40) }));
    const producer = await createKafkaProducer(kafka, producerSchema.parse({ compression, batchBytes: 200_000 }));
    await producer.send(topic, values.map((value, i) => ({ key: `visitor-${i % 7}`, value })));
    await producer.close();
    assert.ok(counts.compressed >= 2, `our ${compression} codec compressed ${counts.compressed} batches`);

    const read: string[] = [];
    const consumer = await createGroupConsumer(
      kafka,
      consumerSchema.parse({ topic, groupId: uniqueName('codec'), fromBeginning: true, sessionTimeoutMs: 10_000, partitionsConsumedConcurrently: 1 }),
    );
    try {
      await consumer.run(async (batch) => {
        for (const m of batch.messages) read.push(m.value!.toString());
      });
      const deadline = Date.now() + 60_000;
      while (read.length < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await consumer.stop();
    }
    assert.equal(read.length, MESSAGES);
    assert.deepEqual(read, values, 'kafkajs reads back every value in order');
    assert.ok(counts.decompressed >= 1, `our ${compression} codec decompressed ${counts.decompressed} batches`);

    const sha = createHash('sha256');
    for (const v of values) sha.update(v);
    assert.equal(await javaConsume(topic, MESSAGES), `${MESSAGES} ${sha.digest('hex')}`, "Kafka's Java client reads the same values");
  });
}
