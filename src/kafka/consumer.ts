/**
 * A consumer-group member behind our own interface: batches in, and offsets committed only once
 * what the handler made of them is stored (the processor: every sink acknowledged).
 *
 * A handler may accept a batch before it is stored (it resolves with `stored`): the consumer then
 * fetches and hands on the next batches while the sinks of earlier ones are still working, up to
 * `maxPendingEvents`, and commits each partition's offsets in order as its batches are stored
 * (commit-queue.ts). That lets the ClickHouse sink combine many batches into one INSERT. A handler
 * that throws, or a `stored` that fails, leaves the batch uncommitted and it is fetched again.
 */
import type { Consumer as KafkajsConsumer, Kafka } from 'kafkajs';
import { z } from 'zod';
import { CommitQueue } from './commit-queue';

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
    maxPendingEvents: z
      .number()
      .int()
      .min(0)
      .default(20_000)
      .describe(
        'Events accepted and not yet stored (in the stages or waiting for the sinks), across partitions, before consumption waits. The stages of the next batches then overlap the Redis round trips of earlier ones, the sinks of many batches overlap and a ClickHouse sink stores them in one INSERT (far cheaper for the server than many small ones); offsets are still committed only over stored batches, in order. 0: each batch goes through the stages and is stored before the next is fetched. Memory grows with it (a few KB per event).',
      ),
    drainTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('On stop, and before this member rejoins in a rebalance, how long to wait for the sinks to store what is pending so its offsets can be committed; what is still pending then is consumed again (by whichever member gets its partition).'),
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
  /** False once the consumer is stopping, the partition was taken away in a rebalance, or an earlier batch of it failed. */
  stillOwned(): boolean;
}

/**
 * Takes a batch. Resolving with nothing means it is stored; resolving with `stored` means it was
 * accepted and `stored` settles when it is: the consumer goes on meanwhile.
 */
export type BatchHandler = (batch: ConsumedBatch) => Promise<void | { stored: Promise<void> }>;

export interface GroupConsumer {
  /** Runs until stop(); a batch's offsets are committed once it and every earlier one of its partition are stored. */
  run(handle: BatchHandler): Promise<void>;
  /**
   * Resolves with the error when kafkajs gave up for good (a crash it does not restart from, e.g. a
   * non-retriable error while rejoining): the member then consumes nothing until it is replaced by
   * a new consumer.
   */
  readonly crashed: Promise<unknown>;
  /** Events handed over whose batches are not stored yet. */
  readonly pendingEvents: number;
  /** Stops fetching, waits (up to drainTimeoutMs) for pending batches to be stored and committed, leaves the group. */
  stop(): Promise<void>;
}

export interface GroupConsumerHooks {
  /** This member (re)joined the group: its partitions may have changed. */
  onJoin?: () => void;
}

export async function createGroupConsumer(kafka: Kafka, conf: ConsumerConfig, hooks: GroupConsumerHooks = {}): Promise<GroupConsumer> {
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
  let stopping = false;
  const handling = new Set<Promise<void>>();
  // A pending batch that failed: the partition is fetched again from it, and the next batch handed
  // to us throws the error, so kafkajs treats it as if the handler had thrown (it restarts from the
  // committed offsets).
  let failure: { err: unknown } | undefined;
  const queue = new CommitQueue({
    commit: (partition, offset) => consumer.commitOffsets([{ topic: conf.topic, partition, offset }]),
    onFailure(partition, firstOffset, err) {
      if (stopping) return;
      failure ??= { err };
      try {
        consumer.seek({ topic: conf.topic, partition, offset: firstOffset });
      } catch {
        // Not running any more: the next start fetches from the committed offsets anyway.
      }
    },
  });
  /** Waits up to drainTimeoutMs for every pending batch to be stored and committed. */
  const drainPending = async () => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([queue.drained(), new Promise((r) => (timer = setTimeout(r, conf.drainTimeoutMs)))]);
    clearTimeout(timer);
  };
  // After a rebalance kafkajs fetches every assigned partition again from its committed offset:
  // what was pending is redone, so none of it may be committed any more.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    queue.reset();
    hooks.onJoin?.();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [conf.topic], fromBeginning: conf.fromBeginning });

  return {
    crashed,
    get pendingEvents() {
      return queue.pendingEvents;
    },
    async run(handle) {
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: conf.partitionsConsumedConcurrently,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          if (batch.messages.length === 0 || stopping) return;
          if (failure) {
            const { err } = failure;
            failure = undefined;
            throw err;
          }
          const first = batch.messages[0]!.offset;
          const last = batch.messages[batch.messages.length - 1]!.offset;
          let queued = () => true;
          const work = (async () => {
            const accepted = await handle({
              topic: batch.topic,
              partition: batch.partition,
              messages: batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value })),
              lag: Number(batch.offsetLag()),
              heartbeat,
              stillOwned: () => isRunning() && !isStale() && queued(),
            });
            const stored = accepted ? accepted.stored : Promise.resolve();
            queued = queue.add({ partition: batch.partition, firstOffset: first, nextOffset: (BigInt(last) + 1n).toString(), events: batch.messages.length, stored });
            resolveOffset(last);
            const beat = () => heartbeat().then(() => undefined, (err: unknown) => err ?? new Error('heartbeat failed'));
            let beatError: unknown;
            // Bounded memory: consumption waits while too much is pending, heartbeating meanwhile.
            while (queue.pendingEvents > conf.maxPendingEvents && !stopping && beatError === undefined) {
              let timer: NodeJS.Timeout | undefined;
              await Promise.race([queue.changed(), new Promise((r) => (timer = setTimeout(r, 3000)))]);
              clearTimeout(timer);
              beatError = await beat();
            }
            // kafkajs heartbeats after every batch anyway (at most once per interval); doing it here
            // lets a rebalance wait until what is pending is stored and committed (commits of the
            // current generation are accepted until the group has rejoined), so the partitions'
            // next owners, this member included, start after it instead of storing it again.
            beatError ??= await beat();
            if (beatError !== undefined) {
              if ((beatError as { type?: string }).type === 'REBALANCE_IN_PROGRESS') await drainPending();
              throw beatError;
            }
          })();
          handling.add(work);
          try {
            await work;
          } finally {
            handling.delete(work);
          }
        },
      });
    },
    async stop() {
      stopping = true;
      try {
        consumer.pause([{ topic: conf.topic }]);
      } catch {
        // Never ran, or already crashed: nothing is being fetched.
      }
      await Promise.allSettled(handling);
      await drainPending();
      await consumer.disconnect();
    },
  };
}
