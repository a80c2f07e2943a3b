import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { createKafkaProducer, producerSchema } from './producer';

/**
 * Fault injection a real broker does not give on demand: an idempotent producer whose sequence
 * numbers the broker rejects for good (the sink-outage integration test covers real restarts).
 */
interface FakeProducer {
  sent: string[];
  connects: number;
  disconnected: boolean;
}

function fakeKafka(behaviour: Array<{ connect?: 'fail'; send: 'fail' | 'ok' }>) {
  const made: FakeProducer[] = [];
  const kafka = {
    producer() {
      const plan = behaviour[Math.min(made.length, behaviour.length - 1)]!;
      const state: FakeProducer = { sent: [], connects: 0, disconnected: false };
      made.push(state);
      return {
        async connect() {
          state.connects++;
          if (plan.connect === 'fail') throw new Error('connection refused');
        },
        async disconnect() {
          state.disconnected = true;
        },
        async sendBatch(req: { topicMessages: Array<{ messages: Array<{ value: string }> }> }) {
          if (plan.send === 'fail') throw Object.assign(new Error('The broker received an out of order sequence number'), { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', retriable: false });
          for (const tm of req.topicMessages) for (const m of tm.messages) state.sent.push(m.value);
        },
      };
    },
  };
  return { kafka: kafka as unknown as Kafka, made };
}

const conf = (idempotent: boolean) => producerSchema.parse({ lingerMs: 0, idempotent, compression: 'none' });

test('an idempotent producer whose send failed is replaced by a new one (new producer id), so later sends go through', async () => {
  const { kafka, made } = fakeKafka([{ send: 'fail' }, { send: 'ok' }]);
  const producer = await createKafkaProducer(kafka, conf(true));
  await assert.rejects(producer.send('t', [{ key: 'k', value: 'a' }]), /out of order sequence/);
  await producer.send('t', [{ key: 'k', value: 'a' }]);
  await producer.send('t', [{ key: 'k', value: 'b' }]);
  assert.equal(made.length, 2);
  assert.equal(made[0]!.disconnected, true, 'the old producer is let go');
  assert.deepEqual(made[1]!.sent, ['a', 'b']);
  await producer.close();
  assert.equal(made[1]!.disconnected, true);
});

test('a renewal whose connect fails fails the next send, and the one after connects again', async () => {
  const { kafka, made } = fakeKafka([{ send: 'fail' }, { connect: 'fail', send: 'ok' }, { send: 'ok' }]);
  const producer = await createKafkaProducer(kafka, conf(true));
  await assert.rejects(producer.send('t', [{ key: null, value: 'a' }]), /out of order sequence/);
  await assert.rejects(producer.send('t', [{ key: null, value: 'a' }]), /connection refused/);
  await producer.send('t', [{ key: null, value: 'a' }]);
  assert.deepEqual(made.map((p) => p.sent), [[], [], ['a']]);
  await producer.close();
});

test('a producer that is not idempotent keeps its connection after a failed send', async () => {
  const { kafka, made } = fakeKafka([{ send: 'fail' }, { send: 'ok' }]);
  const producer = await createKafkaProducer(kafka, conf(false));
  await assert.rejects(producer.send('t', [{ key: null, value: 'a' }]));
  await assert.rejects(producer.send('t', [{ key: null, value: 'a' }]));
  assert.equal(made.length, 1);
  await producer.close();
});

test('close(waitMs) gives up on a send still in flight after waitMs: it fails, and the connection goes', async () => {
  let release: () => void = () => undefined;
  const made: Array<{ disconnected: boolean }> = [];
  const kafka = {
    producer() {
      const state = { disconnected: false };
      made.push(state);
      return {
        async connect() {},
        async disconnect() {
          state.disconnected = true;
          release();
        },
        sendBatch: () => new Promise<void>((_, fail) => (release = () => fail(new Error('disconnected')))),
      };
    },
  } as unknown as Kafka;
  const producer = await createKafkaProducer(kafka, conf(true));
  const sent = producer.send('t', [{ key: null, value: 'a' }]);
  sent.catch(() => undefined);
  const started = performance.now();
  await producer.close(100);
  assert.ok(performance.now() - started < 1000, 'close did not wait for the send');
  assert.equal(made[0]!.disconnected, true);
  await assert.rejects(sent);
});
