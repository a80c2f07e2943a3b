/**
 * A consumer-group member behind our own interface: batches in, and offsets committed only when
 * the handler resolved (the processor resolves after every sink acknowledged). A handler that
 * throws leaves the batch uncommitted; kafkajs re-fetches it from the last committed offset.
 */
import type { Consumer as KafkajsConsumer, Kafka } from 'kafkajs';
import { z } from 'zod';

export const consumerSchema = z
  .object({
    topic: z.string().min(1).default('tracking_raw').describe('Topic to consume (what `tailplow tail` produces).'),
    groupId: z.string().min(1).default('tailplow-processor').describe('Consumer group: start more processes with the same group to scale out (up to one per partition).'),
    fromBeginning: z.boolean().default(true).describe('Where a new group starts: the oldest retained message (true) or only new ones.'),
    sessionTimeoutMs: z.number().int().positive().default(30_000),
    maxBytesPerPartition: z.number().int().positive().default(1_048_576).describe('Upper bound of one fetch per partition: bounds memory per batch.'),
    partitionsConsumedConcurrently: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe(
        'Batches of different partitions processed at once (order within a partition is kept). Overlaps one partition\'s sink round trips with the stages of another; a ClickHouse sink combines the concurrent inserts into one.',
      ),
  })
  .strict();
export type ConsumerConfig = z.infer<typeof consumerSchema>;

export interface ConsumedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** Messages behind the end of the partition after this batch. */
  lag: number;
  /** Keeps group membership alive during long retries. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was taken away in a rebalance. */
  stillOwned(): boolean;
}

export interface GroupConsumer {
  /** Runs until stop(); `handle` resolving commits the batch's offsets. */
  run(handle: (batch: ConsumedBatch) => Promise<void>): Promise<void>;
  /**
   * Resolves with the error when kafkajs gave up for good (a crash it does not restart from, e.g.
   * "the coordinator is not aware of this member" after an eviction): the member then consumes
   * nothing until it is replaced by a new consumer.
   */
  readonly crashed: Promise<unknown>;
  stop(): Promise<void>;
}

export async function createGroupConsumer(kafka: Kafka, conf: ConsumerConfig): Promise<GroupConsumer> {
  const consumer: KafkajsConsumer = kafka.consumer({
    groupId: conf.groupId,
    sessionTimeout: conf.sessionTimeoutMs,
    maxBytesPerPartition: conf.maxBytesPerPartition,
    allowAutoTopicCreation: true,
  });
  let onCrashed: (err: unknown) => void = () => {};
  const crashed = new Promise<unknown>((resolve) => (onCrashed = resolve));
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) onCrashed(e.payload.error);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [conf.topic], fromBeginning: conf.fromBeginning });
  return {
    crashed,
    async run(handle) {
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: conf.partitionsConsumedConcurrently,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          if (batch.messages.length === 0) return;
          const last = batch.messages[batch.messages.length - 1]!.offset;
          await handle({
            topic: batch.topic,
            partition: batch.partition,
            messages: batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value })),
            lag: Number(batch.offsetLag()),
            heartbeat,
            stillOwned: () => isRunning() && !isStale(),
          });
          resolveOffset(last);
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        },
      });
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
