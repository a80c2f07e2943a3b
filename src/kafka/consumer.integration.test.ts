// Needs Kafka (scripts/services/kafka.sh start). A member that stops heartbeating longer than its
// session timeout is evicted; kafkajs then fails the commit and gives up on the consumer for good.
// `crashed` must say so, or a processor would sit there alive, healthy and consuming nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics } from '../../test/support/kafka-topic';
import { kafkaBrokers, uniqueName } from '../../test/support/services';
import { createGroupConsumer } from './consumer';

test('a member evicted for missing heartbeats: kafkajs gives up and `crashed` resolves with the error', async () => {
  const brokers = kafkaBrokers();
  const topic = uniqueName('consumer-evicted');
  await createTopics(brokers, [topic]);
  const kafka = new Kafka({ clientId: 'tailplow-test', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'a', value: '{}' }] });
  await producer.disconnect();

  const consumer = await createGroupConsumer(kafka, {
    topic,
    groupId: uniqueName('evicted'),
    fromBeginning: true,
    sessionTimeoutMs: 6000, // the broker's group.min.session.timeout.ms
    maxBytesPerPartition: 1_048_576,
    partitionsConsumedConcurrently: 1,
  });
  try {
    let handled = 0;
    await consumer.run(async () => {
      handled++;
      // No heartbeat for twice the session timeout: the coordinator evicts the member.
      if (handled === 1) await new Promise((r) => setTimeout(r, 14_000));
    });
    const outcome = await Promise.race([consumer.crashed.then((err) => ({ err })), new Promise((r) => setTimeout(() => r('no crash'), 60_000))]);
    assert.notEqual(outcome, 'no crash', 'kafkajs gave up on the evicted member and we were told');
    assert.match(String((outcome as { err: unknown }).err), /member|generation|rebalanc/i);
  } finally {
    await consumer.stop().catch(() => undefined);
  }
});
