/**
 * The processor's batch step: messages -> events -> stages in order -> every sink -> bad rows.
 * It resolves once the batch is decoded, with `stored`, which settles only when the stages ran,
 * every sink acknowledged and the bad rows are in Kafka, so the consumer commits exactly what is
 * stored. Bad data costs one event (a bad row); a sink or store that is down is retried with
 * backoff while consumption waits (memory stays bounded: the consumer's maxPendingEvents).
 *
 * The part after decoding (stages, sinks, bad rows) is `createStageSinkRunner`, which `tailplow
 * run` shares: there the batch comes from the tail loop instead of a Kafka consumer.
 */
import type { ConsumedBatch } from '../kafka/consumer';
import type { OutMessage } from '../kafka/producer';
import type { ProcessMetrics } from '../observe/process-metrics';
import { enrichmentFailures, genericError } from '../snowplow/badrow';
import type { SnowplowEvent } from '../snowplow/event';
import type { Sink } from '../sinks/sink';
import type { Stage, StageFailure } from '../stages/stage';
import type { Logger } from '../util/logger';
import { withRetry, type RetryPolicy } from '../util/retry';

export interface BadRowSender {
  send(rows: OutMessage[]): Promise<void>;
}

export interface BatchProcessorOptions {
  retry?: RetryPolicy;
  now?: () => number;
}

/**
 * Resolves once the batch is decoded; `stored` settles when it went through the stages (a
 * partition's batches in order) and every sink acknowledged it and its bad rows are in Kafka,
 * which is when the consumer may commit it.
 */
export type BatchProcessor = (batch: ConsumedBatch) => Promise<{ stored: Promise<void> }>;

/** Raised when a partition was taken away mid-batch: abandon it uncommitted, its new owner redoes it. */
export class PartitionRevoked extends Error {}

/** The metrics the stage and sink part counts (`run` registers them next to the tailer's). */
export type StageSinkMetrics = Pick<ProcessMetrics, 'processed' | 'dropped' | 'badRows' | 'stored' | 'sinkLatency' | 'sinkErrors'>;

/** What the caller of a runner knows about its batch: whether to go on retrying, and what to log. */
export interface BatchGuard {
  /** Throws (e.g. PartitionRevoked) when the batch must be abandoned; checked before every attempt. */
  check(): void;
  /** An error `check` throws: never retried. */
  isAbandon(err: unknown): boolean;
  /** Called on every retry, e.g. to heartbeat or to turn /healthz unhealthy. */
  onRetry?(): void;
  /** Fields for the retry log lines. */
  logFields?: Record<string, unknown>;
  /** How the retry log lines end, e.g. "(consumption waits)". */
  waiting: string;
}

/**
 * Runs decoded events through the stages in order, writes them to every sink and sends the bad
 * rows (those passed in, already serialised, and those stages and sinks produce). Resolves only
 * when every sink and the bad-row output acknowledged.
 */
export type StageSinkRunner = (events: SnowplowEvent[], bad: OutMessage[], guard: BatchGuard) => Promise<void>;

/** A batch that went through the stages and waits for the sinks. */
export interface StagedBatch {
  events: SnowplowEvent[];
  /** Bad rows so far: those passed in and those the stages made. */
  bad: OutMessage[];
  guard: BatchGuard;
}

/**
 * The runner in its two halves, so a caller can overlap them: the stages are CPU work in this
 * process, the sinks mostly wait for a store (the embedded engine works on its own thread).
 */
export interface StageSinkPhases {
  stages(events: SnowplowEvent[], bad: OutMessage[], guard: BatchGuard): Promise<StagedBatch>;
  /** Writes to every sink and sends the bad rows; resolves when all of them acknowledged. */
  sinks(batch: StagedBatch): Promise<void>;
}

/** Both halves, one after the other. */
export function createStageSinkRunner(...args: Parameters<typeof createStageSinkPhases>): StageSinkRunner {
  const phases = createStageSinkPhases(...args);
  return async (events, bad, guard) => phases.sinks(await phases.stages(events, bad, guard));
}

export function createStageSinkPhases(
  stages: Stage[],
  sinks: Sink[],
  badRows: BadRowSender,
  metrics: StageSinkMetrics,
  logger: Logger,
  opts: BatchProcessorOptions = {},
): StageSinkPhases {
  const now = opts.now ?? Date.now;
  const retrying = <T>(guard: BatchGuard, what: string, label: string, isRetriable: (e: unknown) => boolean, fn: () => Promise<T>) =>
    withRetry(
      async () => {
        guard.check();
        return fn();
      },
      {
        policy: opts.retry,
        isRetriable: (e) => !guard.isAbandon(e) && isRetriable(e),
        onRetry: (err, attempt, delayMs) => {
          if (label) metrics.sinkErrors.inc({ sink: label });
          logger.warn({ err: String(err), attempt, delayMs, ...guard.logFields }, `${what} failed; retrying ${guard.waiting}`);
          guard.onRetry?.();
        },
      },
    );
  const timestamp = () => new Date(now()).toISOString();
  const asBadRows = (bad: OutMessage[], failed: StageFailure[], origin: string) => {
    for (const f of failed) {
      metrics.badRows.inc({ reason: f.reason });
      const row = enrichmentFailures(
        {
          enriched: f.event as unknown as Record<string, unknown>,
          raw: { vendor: 'com.snowplowanalytics.snowplow', version: 'tp2', parameters: [], loaderName: 'tailplow', encoding: 'UTF-8', headers: [] },
          // The raw line is not carried past the decoder; the event id finds it in the logs.
          line: '',
        },
        timestamp(),
        [{ enrichment: null, message: { error: `${origin}: ${f.reason}: ${f.message}` } }],
      );
      bad.push({ key: null, value: JSON.stringify(row) });
    }
  };

  return {
    async stages(input, passedBad, guard) {
      const bad: OutMessage[] = [...passedBad];
      let events = input;
      for (const stage of stages) {
        const out = await retrying(guard, `stage ${stage.name}`, '', () => true, () => stage.run(events));
        events = out.events;
        metrics.processed.inc({ stage: stage.name }, events.length);
        for (const [reason, n] of Object.entries(out.dropped)) metrics.dropped.inc({ stage: stage.name, reason }, n);
        asBadRows(bad, out.failed, `stage ${stage.name}`);
      }
      return { events, bad, guard };
    },
    async sinks({ events, bad, guard }) {
      await Promise.all(
        sinks.map(async (sink) => {
          const started = performance.now();
          const out = await retrying(guard, `sink ${sink.name}`, sink.name, (e) => sink.isRetriable?.(e) ?? true, () => sink.write(events));
          metrics.sinkLatency.observe({ sink: sink.name }, (performance.now() - started) / 1000);
          metrics.stored.inc({ sink: sink.name }, events.length - out.failed.length);
          asBadRows(bad, out.failed, `sink ${sink.name}`);
        }),
      );
      if (bad.length) await retrying(guard, 'bad-row output', '', () => true, () => badRows.send(bad));
    },
  };
}

export function createBatchProcessor(
  stages: Stage[],
  sinks: Sink[],
  badRows: BadRowSender,
  metrics: ProcessMetrics,
  logger: Logger,
  opts: BatchProcessorOptions = {},
): BatchProcessor {
  const now = opts.now ?? Date.now;
  const phases = createStageSinkPhases(stages, sinks, badRows, metrics, logger, opts);
  /** Per partition, the stages of its latest batch: the next one's start after them. */
  const staging = new Map<number, Promise<StagedBatch>>();

  return async (batch) => {
    metrics.consumed.inc(batch.messages.length);
    metrics.lag.set({ partition: String(batch.partition) }, batch.lag);
    const bad: OutMessage[] = [];
    const events: SnowplowEvent[] = [];
    for (const m of batch.messages) {
      const text = m.value?.toString('utf8') ?? '';
      try {
        const e = JSON.parse(text) as unknown;
        if (e && typeof e === 'object' && !Array.isArray(e)) events.push(e as SnowplowEvent);
        else throw new Error('not a JSON object');
      } catch (err) {
        // A poison message costs itself, never the partition.
        const row = genericError(text, new Date(now()).toISOString(), [`message at ${batch.topic}/${batch.partition}@${m.offset} is not a JSON event: ${(err as Error).message}`]);
        bad.push({ key: null, value: JSON.stringify(row) });
        metrics.badRows.inc({ reason: 'poison_message' });
      }
    }
    // The guard outlives the batch's messages (it stays with the batch until stored): it must not
    // hold them, or every pending batch would keep its fetch's buffers alive.
    const { partition, stillOwned, heartbeat } = batch;
    const guard: BatchGuard = {
      check() {
        if (!stillOwned()) throw new PartitionRevoked(`partition ${partition} revoked`);
      },
      isAbandon: (e) => e instanceof PartitionRevoked,
      onRetry: () => void heartbeat().catch(() => {}),
      logFields: { partition },
      waiting: '(consumption waits)',
    };
    // The batch is accepted once decoded: the consumer fetches on while its stages wait for a
    // store (the profile's Redis round trip), so this process parses and enriches the next
    // batches meanwhile instead of idling. A partition's batches still go through the stages in
    // order; when one fails, those chained behind it fail with it (and are fetched again).
    const previous = staging.get(partition);
    const staged = previous ? previous.then(() => phases.stages(events, bad, guard)) : phases.stages(events, bad, guard);
    staging.set(partition, staged);
    const forget = () => {
      if (staging.get(partition) === staged) staging.delete(partition);
    };
    staged.then(forget, forget);
    return { stored: staged.then((s) => phases.sinks(s)).then(() => metrics.committed.inc()) };
  };
}
