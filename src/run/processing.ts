/**
 * The processor half of `tailplow run` (and of `replay --output embedded`): the configured stages
 * and sinks opened in this process, and the shared stage+sink runner (pipeline/process.ts) over
 * them, with bad rows appended to a file in the data directory.
 */
import type { RunConfig } from '../config/run';
import { createStageSinkRunner, type StageSinkMetrics, type StageSinkRunner } from '../pipeline/process';
import { embeddedStorePath } from '../sinks/embedded';
import { createSink } from '../sinks/registry';
import type { Sink } from '../sinks/sink';
import { createStage } from '../stages/registry';
import type { Stage } from '../stages/stage';
import type { Logger } from '../util/logger';
import { isRetriableDefault, withRetry, type RetryPolicy } from '../util/retry';
import { openBadRowFile, type BadRowFile } from './bad-row-file';
import { badRowsPathOf } from './defaults';

export type ProcessingConfig = Pick<RunConfig, 'dataDir' | 'stages' | 'sinks' | 'badRows' | 'kafka'>;

export interface Processing {
  run: StageSinkRunner;
  stages: Stage[];
  sinks: Sink[];
  badRowsPath: string;
  /** The first embedded sink's store (for the summary and `query`), if there is one. */
  embedded?: { path: string; table: string };
  close(): Promise<void>;
}

export async function openProcessing(config: ProcessingConfig, logger: Logger, metrics: StageSinkMetrics, opts: { retry?: RetryPolicy; signal?: AbortSignal } = {}): Promise<Processing> {
  const stages: Stage[] = [];
  const sinks: Sink[] = [];
  let badRows: BadRowFile | undefined;
  const close = async () => {
    for (const s of sinks) await s.close().catch((err: unknown) => logger.warn({ err: String(err), sink: s.name }, 'closing a sink failed'));
    for (const s of stages) await s.close?.().catch((err: unknown) => logger.warn({ err: String(err), stage: s.name }, 'closing a stage failed'));
    await badRows?.close();
  };
  try {
    const deps = { logger, dataDir: config.dataDir };
    for (const s of config.stages) stages.push(await createStage(s, deps));
    // A server sink (clickhouse, elasticsearch) that is down at start is waited for, as in `process`.
    for (const s of config.sinks) {
      sinks.push(
        await withRetry(() => createSink(s, { ...deps, kafka: config.kafka }), {
          policy: opts.retry,
          isRetriable: isRetriableDefault,
          signal: opts.signal,
          onRetry: (err, attempt, delayMs) => logger.warn({ err: String(err), attempt, delayMs, sink: s.type }, 'sink cannot start; retrying'),
        }),
      );
    }
    badRows = await openBadRowFile(badRowsPathOf(config.dataDir, config.badRows.path));
  } catch (err) {
    await close();
    throw err;
  }
  const embeddedConfig = config.sinks.find((s) => s.type === 'embedded');
  const runner = createStageSinkRunner(stages, sinks, badRows, metrics, logger, { retry: opts.retry });
  const run = serialisedGroupCommit(runner);
  return {
    run,
    stages,
    sinks,
    badRowsPath: badRows.path,
    embedded: embeddedConfig?.type === 'embedded' ? { path: embeddedStorePath(embeddedConfig, config.dataDir), table: embeddedConfig.table } : undefined,
    close,
  };
}

/** Events per combined runner call at most. */
const MAX_GROUP_EVENTS = 20_000;

/**
 * The tail loop and replay hand over the next batch before the previous one is stored. Batches go
 * through the stages one call at a time, in the order they came, so a visitor's profile sees its
 * events in order (the processor gets the same from Kafka: one batch per partition at a time).
 * Batches that queue up while a call runs are combined into the next call (group commit): one
 * insert and one profile transaction for many small batches, each resolved when that call is stored.
 */
export function serialisedGroupCommit(runner: StageSinkRunner, maxEvents = MAX_GROUP_EVENTS): StageSinkRunner {
  interface Waiting {
    events: Parameters<StageSinkRunner>[0];
    bad: Parameters<StageSinkRunner>[1];
    guard: Parameters<StageSinkRunner>[2];
    resolve: () => void;
    reject: (err: unknown) => void;
  }
  const queue: Waiting[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (queue.length) {
      const group: Waiting[] = [queue.shift()!];
      let size = group[0]!.events.length;
      while (queue.length && size + queue[0]!.events.length <= maxEvents) {
        size += queue[0]!.events.length;
        group.push(queue.shift()!);
      }
      try {
        await runner(
          group.flatMap((w) => w.events),
          group.flatMap((w) => w.bad),
          group[0]!.guard,
        );
        for (const w of group) w.resolve();
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    running = false;
  };
  return (events, bad, guard) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ events, bad, guard, resolve, reject });
      if (!running) void drain();
    });
}
