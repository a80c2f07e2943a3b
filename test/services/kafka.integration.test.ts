// Needs scripts/services/kafka.sh (Kafka 4.x) running. Proves that kafkajs 2.2.4, unmaintained and
// written for Kafka 2.x, still speaks every protocol tailplow relies on after Kafka 4 dropped
// the old API versions (KIP-896): admin, idempotent gzip producer, consumer groups, commits.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompressionTypes, Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Consumer, IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';
import { kafkaBrokers, uniqueName, waitFor } from '../support/services';

// Retriable errors (coordinator loading, leader not yet elected) are logged by kafkajs and
// retried, so they can't fail a test on their own; collect them instead and check that none
// was the broker refusing an API version kafkajs chose.
const protocolErrors: string[] = [];
const kafka = new Kafka({
  clientId: 'tailplow-services-test',
  brokers: kafkaBrokers(),
  logLevel: logLevel.ERROR,
  logCreator: () => ({ log }) => {
    protocolErrors.push(`${log.message}: ${String(log.error ?? '')}`);
  },
  retry: { retries: 5, initialRetryTime: 200 },
});

function assertNoUnsupportedVersions(): void {
  const refused = protocolErrors.filter((line) => /UNSUPPORTED_VERSION|version of API is not supported/i.test(line));
  assert.deepEqual(refused, [], 'Kafka refused a request version that kafkajs sent');
}

afterEach(assertNoUnsupportedVersions);

interface Received {
  partition: number;
  offset: string;
  key: string;
  value: { seq: number; visitor: string };
  headers: Record<string, string>;
}

function headersAsStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    assert.ok(Buffer.isBuffer(value), `header ${name} should arrive as one Buffer`);
    out[name] = value.toString('utf8');
  }
  return out;
}

function received(partition: number, message: KafkaMessage): Received {
  assert.ok(message.key && message.value, 'message must keep its key and value');
  return {
    partition,
    offset: message.offset,
    key: message.key.toString('utf8'),
    value: JSON.parse(message.value.toString('utf8')) as Received['value'],
    headers: headersAsStrings(message.headers),
  };
}

function trackerMessages(from: number, count: number): Message[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = from + i;
    const visitor = `visitor-${seq % 10}`;
    return {
      key: visitor,
      value: JSON.stringify({ seq, visitor }),
      headers: { 'content-type': 'application/json', 'tailplow-seq': String(seq), 'tailplow-source': 'nginx-01' },
    };
  });
}

async function withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Starts a consumer in `groupId` that commits each message's offset after recording it. */
async function startConsumer(groupId: string, topic: string, into: Received[]): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      into.push(received(partition, message));
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
    },
  });
  return consumer;
}

test('admin creates, grows, describes and deletes topics with partitions', { timeout: 60_000 }, async () => {
  const raw = uniqueName('tracking_raw');
  const bad = uniqueName('tracking_bad');
  await withAdmin(async (admin) => {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: raw, numPartitions: 6, replicationFactor: 1 },
        { topic: bad, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    });
    assert.equal(created, true);
    assert.equal(await admin.createTopics({ topics: [{ topic: raw, numPartitions: 6 }] }), false, 'creating it again is a no-op');

    await admin.createPartitions({ topicPartitions: [{ topic: bad, count: 3 }] });
    const metadata = await admin.fetchTopicMetadata({ topics: [raw, bad] });
    const partitionsOf = (name: string) => metadata.topics.find((t) => t.name === name)?.partitions.length;
    assert.equal(partitionsOf(raw), 6);
    assert.equal(partitionsOf(bad), 3);

    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* ConfigResourceTypes.TOPIC */, name: bad, configNames: ['retention.ms'] }],
    });
    assert.equal(configs.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue, '3600000');

    await admin.deleteTopics({ topics: [raw, bad], timeout: 10_000 });
    await waitFor(async () => {
      const left = (await admin.listTopics()).filter((t) => t === raw || t === bad);
      return left.length === 0;
    }, 15_000);
  });
});

test('producing to an unknown topic auto-creates it with num.partitions=4 (kafka.sh config)', { timeout: 60_000 }, async () => {
  const topic = uniqueName('tracking_auto');
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const [record] = await producer.send({ topic, acks: -1, messages: [{ key: 'visitor-1', value: 'x' }] });
    assert.equal(record?.errorCode, 0);
    const partitions = await withAdmin(async (admin) => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length);
    assert.equal(partitions, 4);
  } finally {
    await producer.disconnect();
    await withAdmin((admin) => admin.deleteTopics({ topics: [topic] }));
  }
});

test('idempotent gzip producer and a consumer group: keys and headers intact, committed offsets resume', { timeout: 120_000 }, async () => {
  const topic = uniqueName('tracking_persisted');
  const groupId = uniqueName('tailplow-processor');
  await withAdmin((admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 4, replicationFactor: 1 }] }));

  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const consumers: Consumer[] = [];
  try {
    // Three requests so the batch spans several record batches per partition.
    const partitionOfVisitor = new Map<string, number>();
    for (const from of [0, 20, 40]) {
      const records = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: trackerMessages(from, 20) });
      assert.ok(records.length > 0);
      for (const record of records) assert.equal(record.errorCode, 0);
    }

    const first: Received[] = [];
    consumers.push(await startConsumer(groupId, topic, first));
    await waitFor(() => first.length >= 60, 60_000, 200);
    assert.equal(first.length, 60);
    assert.deepEqual(first.map((m) => m.value.seq).sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i));

    for (const message of first) {
      const { seq, visitor } = message.value;
      assert.equal(message.key, visitor);
      assert.deepEqual(message.headers, { 'content-type': 'application/json', 'tailplow-seq': String(seq), 'tailplow-source': 'nginx-01' });
      // One visitor, one partition: that is what keeps a visitor's profile updates ordered.
      const partition = partitionOfVisitor.get(visitor) ?? message.partition;
      partitionOfVisitor.set(visitor, partition);
      assert.equal(message.partition, partition, `${visitor} must stay on one partition`);
    }
    for (const visitor of partitionOfVisitor.keys()) {
      const seqs = first.filter((m) => m.key === visitor).map((m) => m.value.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${visitor}'s events must arrive in order`);
    }
    assert.ok(new Set(partitionOfVisitor.values()).size > 1, 'ten visitors should spread over more than one partition');

    // Every partition's committed offset reaches its high watermark.
    await withAdmin(async (admin) => {
      const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
      await waitFor(async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return committed?.partitions.every((p) => p.offset === high.get(p.partition)) === true;
      }, 15_000, 200);
    });
    await consumers[0]?.disconnect();

    await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: trackerMessages(60, 20) });

    // A new member of the same group starts where the first one committed, not at the beginning.
    const second: Received[] = [];
    consumers.push(await startConsumer(groupId, topic, second));
    await waitFor(() => second.length >= 20, 60_000, 200);
    // Anything replayed from before the commit would show up shortly after the new messages.
    await new Promise((done) => setTimeout(done, 1_500));
    assert.deepEqual(second.map((m) => m.value.seq).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => 60 + i));
    for (const message of second) assert.equal(message.partition, partitionOfVisitor.get(message.key));
  } finally {
    for (const consumer of consumers) await consumer.disconnect();
    await producer.disconnect();
    await withAdmin((admin) => admin.deleteTopics({ topics: [topic] })).catch(() => undefined);
  }
});
