/**
 * The processor half of `tailplow run` (and of `replay --output embedded`): the configured stages
 * and sinks opened in this process, and the shared stage+sink runner (pipeline/process.ts) over
 * them, with bad rows appended to a file in the data directory.
 */
import type { RunConfig } from '../config/run';
import type { OutMessage } from '../kafka/producer';
import { createStageSinkPhases, type BatchGuard, type StagedBatch, type StageSinkMetrics, type StageSinkPhases, type StageSinkRunner } from '../pipeline/process';
import { embeddedStorePath } from '../sinks/embedded';
import { createSink } from '../sinks/registry';
import type { Sink } from '../sinks/sink';
import type { SnowplowEvent } from '../snowplow/event';
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
  const phases = createStageSinkPhases(stages, sinks, badRows, metrics, logger, { retry: opts.retry });
  const run = pipelinedGroupCommit(phases);
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
 *
 * The two halves overlap: while the sinks write one group (the embedded engine parses and writes on
 * its own thread), the batches that arrive go through the stages on this one and wait, staged, to
 * be written together by the next sinks call (at most `maxEvents` of them). If the sinks fail
 * for a group whose successor already passed the profile stage, the successor's events are counted
 * there; when they come again (the failed group's lines are read again) the profile's
 * de-duplication takes them as redeliveries, as after a crash.
 */
export function pipelinedGroupCommit(phases: StageSinkPhases, maxEvents = MAX_GROUP_EVENTS): StageSinkRunner {
  interface Waiting {
    events: SnowplowEvent[];
    bad: OutMessage[];
    guard: BatchGuard;
    resolve: () => void;
    reject: (err: unknown) => void;
  }
  const queue: Waiting[] = [];
  let running = false;
  /** The next batches in order, up to `room` events (the first one whatever its size). */
  const nextGroup = (room: number): Waiting[] => {
    const group: Waiting[] = [queue.shift()!];
    let size = group[0]!.events.length;
    while (queue.length && size + queue[0]!.events.length <= room) {
      size += queue[0]!.events.length;
      group.push(queue.shift()!);
    }
    return group;
  };
  // The group the sinks are writing, if any; it clears itself when settled (it never rejects).
  let storing: Promise<void> | undefined;
  // Staged groups waiting for the sinks, written together by the next sinks call.
  let ready: { group: Waiting[]; batch: StagedBatch } | undefined;
  // Wakes a drain that waits for the next batch or for the sinks.
  let wake: (() => void) | undefined;
  const startSinks = ({ group, batch }: { group: Waiting[]; batch: StagedBatch }) => {
    const settled: Promise<void> = phases.sinks(batch).then(
      () => group.forEach((w) => w.resolve()),
      (err: unknown) => group.forEach((w) => w.reject(err)),
    );
    const current = settled.then(() => {
      if (storing === current) storing = undefined;
      wake?.();
    });
    storing = current;
  };
  const drain = async () => {
    running = true;
    for (;;) {
      if (ready && !storing) {
        startSinks(ready);
        ready = undefined;
        continue;
      }
      const room = maxEvents - (ready?.batch.events.length ?? 0);
      if (queue.length && room > 0) {
        const group = nextGroup(room);
        try {
          const batch = await phases.stages(
            group.flatMap((w) => w.events),
            group.flatMap((w) => w.bad),
            group[0]!.guard,
          );
          ready = ready ? { group: [...ready.group, ...group], batch: { ...ready.batch, events: [...ready.batch.events, ...batch.events], bad: [...ready.batch.bad, ...batch.bad] } } : { group, batch };
        } catch (err) {
          for (const w of group) w.reject(err);
        }
        continue;
      }
      if (!storing && !ready && !queue.length) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    running = false;
  };
  return (events, bad, guard) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ events, bad, guard, resolve, reject });
      if (!running) void drain();
      else wake?.();
    });
}
