// Needs Kafka (scripts/services/kafka.sh start). A member that stops heartbeating longer than its
// session timeout is evicted. It must not sit there alive, healthy and consuming nothing: either it
// rejoins and consumes what follows (commits run outside the handler, so kafkajs rejoins when it
// learns it is unknown), or `crashed` says kafkajs gave up, and the processor replaces it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics } from '../../test/support/kafka-topic';
import { kafkaBrokers, uniqueName } from '../../test/support/services';
import { consumerSchema, createGroupConsumer } from './consumer';

test('a member evicted for missing heartbeats consumes again, or `crashed` resolves with the error', async () => {
  const brokers = kafkaBrokers();
  const topic = uniqueName('consumer-evicted');
  await createTopics(brokers, [topic]);
  const kafka = new Kafka({ clientId: 'tailplow-test', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'a', value: '{"n":1}' }] });

  const consumer = await createGroupConsumer(
    kafka,
    consumerSchema.parse({
      topic,
      groupId: uniqueName('evicted'),
      fromBeginning: true,
      sessionTimeoutMs: 6000, // the broker's group.min.session.timeout.ms
      partitionsConsumedConcurrently: 1,
    }),
  );
  try {
    const seen: string[] = [];
    let stalled = false;
    let onSecond: () => void = () => {};
    const second = new Promise<void>((resolve) => (onSecond = resolve));
    await consumer.run(async (batch) => {
      for (const m of batch.messages) seen.push(m.value!.toString());
      // No heartbeat for twice the session timeout: the coordinator evicts the member.
      if (!stalled) {
        stalled = true;
        await new Promise((r) => setTimeout(r, 14_000));
      }
      if (seen.includes('{"n":2}')) onSecond();
    });
    // Sent once the member is surely evicted.
    await new Promise((r) => setTimeout(r, 15_000));
    await producer.send({ topic, messages: [{ key: 'a', value: '{"n":2}' }] });
    const outcome = await Promise.race([
      second.then(() => 'consumed' as const),
      consumer.crashed.then((err) => ({ err })),
      new Promise((r) => setTimeout(() => r('stuck'), 60_000)),
    ]);
    assert.notEqual(outcome, 'stuck', 'the evicted member neither consumed again nor said it gave up');
    if (typeof outcome === 'object') assert.match(String((outcome as { err: unknown }).err), /member|generation|rebalanc/i);
  } finally {
    await producer.disconnect();
    await consumer.stop().catch(() => undefined);
  }
});
