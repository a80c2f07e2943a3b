/**
 * The processor's batch step: messages -> events -> stages in order -> every sink -> bad rows.
 * The returned promise resolves only when every sink acknowledged and the bad rows are in Kafka,
 * so the consumer commits exactly what is stored. Bad data costs one event (a bad row); a sink or
 * store that is down is retried with backoff while consumption waits (memory stays bounded:
 * one batch per partition).
 */
import type { ConsumedBatch } from '../kafka/consumer';
import type { OutMessage } from '../kafka/producer';
import type { ProcessMetrics } from '../observe/process-metrics';
import { enrichmentFailures, genericError, type BadRow } from '../snowplow/badrow';
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

export type BatchProcessor = (batch: ConsumedBatch) => Promise<void>;

/** Raised when a partition was taken away mid-batch: abandon it uncommitted, its new owner redoes it. */
export class PartitionRevoked extends Error {}

export function createBatchProcessor(
  stages: Stage[],
  sinks: Sink[],
  badRows: BadRowSender,
  metrics: ProcessMetrics,
  logger: Logger,
  opts: BatchProcessorOptions = {},
): BatchProcessor {
  const now = opts.now ?? Date.now;
  const retrying = <T>(batch: ConsumedBatch, what: string, label: string, isRetriable: (e: unknown) => boolean, fn: () => Promise<T>) =>
    withRetry(
      async () => {
        if (!batch.stillOwned()) throw new PartitionRevoked(`partition ${batch.partition} revoked`);
        return fn();
      },
      {
        policy: opts.retry,
        isRetriable: (e) => !(e instanceof PartitionRevoked) && isRetriable(e),
        onRetry: (err, attempt, delayMs) => {
          if (label) metrics.sinkErrors.inc({ sink: label });
          logger.warn({ err: String(err), attempt, delayMs, partition: batch.partition }, `${what} failed; retrying (consumption waits)`);
          void batch.heartbeat().catch(() => {});
        },
      },
    );

  return async (batch) => {
    metrics.consumed.inc(batch.messages.length);
    metrics.lag.set({ partition: String(batch.partition) }, batch.lag);
    const bad: BadRow[] = [];
    const timestamp = () => new Date(now()).toISOString();
    let events: SnowplowEvent[] = [];
    for (const m of batch.messages) {
      const text = m.value?.toString('utf8') ?? '';
      try {
        const e = JSON.parse(text) as unknown;
        if (e && typeof e === 'object' && !Array.isArray(e)) events.push(e as SnowplowEvent);
        else throw new Error('not a JSON object');
      } catch (err) {
        // A poison message costs itself, never the partition.
        bad.push(genericError(text, timestamp(), [`message at ${batch.topic}/${batch.partition}@${m.offset} is not a JSON event: ${(err as Error).message}`]));
        metrics.badRows.inc({ reason: 'poison_message' });
      }
    }

    const asBadRows = (failed: StageFailure[], origin: string) => {
      for (const f of failed) {
        metrics.badRows.inc({ reason: f.reason });
        bad.push(
          enrichmentFailures(
            {
              enriched: f.event as unknown as Record<string, unknown>,
              raw: { vendor: 'com.snowplowanalytics.snowplow', version: 'tp2', parameters: [], loaderName: 'tailplow', encoding: 'UTF-8', headers: [] },
              // The raw line is not carried past the tailer; the event id finds it in the logs.
              line: '',
            },
            timestamp(),
            [{ enrichment: null, message: { error: `${origin}: ${f.reason}: ${f.message}` } }],
          ),
        );
      }
    };

    for (const stage of stages) {
      const out = await retrying(batch, `stage ${stage.name}`, '', () => true, () => stage.run(events));
      events = out.events;
      metrics.processed.inc({ stage: stage.name }, events.length);
      for (const [reason, n] of Object.entries(out.dropped)) metrics.dropped.inc({ stage: stage.name, reason }, n);
      asBadRows(out.failed, `stage ${stage.name}`);
    }

    await Promise.all(
      sinks.map(async (sink) => {
        const started = performance.now();
        const out = await retrying(batch, `sink ${sink.name}`, sink.name, (e) => sink.isRetriable?.(e) ?? true, () => sink.write(events));
        metrics.sinkLatency.observe({ sink: sink.name }, (performance.now() - started) / 1000);
        metrics.stored.inc({ sink: sink.name }, events.length - out.failed.length);
        asBadRows(out.failed, `sink ${sink.name}`);
      }),
    );

    if (bad.length) {
      await retrying(batch, 'bad-row output', '', () => true, () => badRows.send(bad.map((b) => ({ key: null, value: JSON.stringify(b) }))));
    }
    metrics.committed.inc();
  };
}
