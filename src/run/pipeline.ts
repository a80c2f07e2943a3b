/**
 * One life of `tailplow run`: the tailer's loop (pipeline/tail.ts) whose output is not Kafka but
 * the stages and sinks in this process (processing.ts). The tail loop acknowledges a batch to the
 * input only when `send` resolved, and `send` resolves only when every sink and the bad-row file
 * acknowledged, so the registry of offsets never moves past an event that is not stored.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runInputPaths, type RunConfig } from '../config/run';
import type { LineBatch } from '../input/types';
import { registryPath } from '../input/registry';
import { createTailInput, type TailInputStats } from '../input/tail-input';
import { refreshTailGauges, type TailMetrics } from '../observe/tail-metrics';
import { createDecodePool } from '../pipeline/decode-pool';
import type { BatchGuard, StageSinkMetrics } from '../pipeline/process';
import { startTailLoop, type EventOutput } from '../pipeline/tail';
import type { SnowplowEvent } from '../snowplow/event';
import type { Logger } from '../util/logger';
import type { RetryPolicy } from '../util/retry';
import { embeddedStorePath } from '../sinks/embedded';
import { runPidFileOf } from './defaults';
import { isStoreLocked, runningPidOf } from './store-query';
import { openProcessing, type Processing } from './processing';
import type { RunTally } from './summary';

export interface RunState {
  healthy: boolean;
  detail: string;
  /** Why the input registry cannot be saved, while it cannot. */
  registryError?: string | null;
}

export interface RunLifeOptions {
  logger: Logger;
  metrics: TailMetrics;
  stageSinkMetrics: StageSinkMetrics;
  state: RunState;
  /** Aborted by SIGTERM/SIGINT/SIGHUP: stop reading, store what is in flight. */
  signal: AbortSignal;
  /** Stop by itself once every file was read to its end and stored. */
  once: boolean;
  tally: RunTally;
  /** Told once the stores are open, with where everything is (for the start-up message). */
  onReady?: (where: RunLocations) => void;
  retry?: RetryPolicy;
  /** How often `once` checks whether everything was read and stored. */
  onceCheckMs?: number;
}

export interface RunLocations {
  paths: string[];
  dataDir: string;
  registry: string;
  badRows: string;
  embedded?: { path: string; table: string };
  sinks: string[];
  stages: string[];
}

/** Another process holds the embedded store's directory. */
export class StoreInUseError extends Error {
  override name = 'StoreInUseError';
}

/** The input's last save at shutdown failed; the command says what that costs. */
export class RegistryNotSaved extends Error {
  constructor(readonly reason: unknown) {
    super(`cannot save the input registry: ${String(reason)}`);
  }
}

/** A batch given up at shutdown (the sinks stayed down past the timeout): read again at the next start. */
class RunAbandoned extends Error {}

export interface RunLifeResult {
  embedded?: { path: string; table: string };
  badRowsPath: string;
  /** Bytes read but not stored when the shutdown timeout ran out. */
  unacknowledgedBytes: number;
}

export async function runPipelineOnce(config: RunConfig, opts: RunLifeOptions): Promise<RunLifeResult> {
  const { logger, metrics, state, tally } = opts;
  const dataDir = resolve(config.dataDir);
  state.detail = 'opening stores';
  const pidFile = runPidFileOf(dataDir);
  const processing: Processing = await openProcessing({ ...config, dataDir }, logger, opts.stageSinkMetrics, { retry: opts.retry, signal: opts.signal }).catch((err: unknown) => {
    const embedded = config.sinks.find((s) => s.type === 'embedded');
    const storePath = embedded?.type === 'embedded' ? embeddedStorePath(embedded, dataDir) : undefined;
    if (storePath && isStoreLocked(err, storePath)) {
      const pid = runningPidOf(pidFile);
      throw new StoreInUseError(`the embedded store ${storePath} is in use by ${pid ? `tailplow run (pid ${pid})` : 'another process'}; chDB allows one process per data directory: stop it, or give this run another dataDir`);
    }
    throw err;
  });
  writeFileSync(pidFile, `${process.pid}\n`);

  const { format, ...inputOptions } = config.input;
  const paths = runInputPaths(config);
  const input = createTailInput({ ...inputOptions, paths, dataDir }, { logger });
  const pool = createDecodePool({ format, maxLineBytes: config.input.maxLineBytes, serialise: 'json', fingerprint: { type: 'fingerprint', ...config.fingerprint } }, config.pipeline.decodeWorkers);
  const abandon = new AbortController();
  const onOutputState = (ok: boolean) => {
    state.healthy = ok;
    state.detail = ok ? 'following' : 'a stage or sink is failing; reading paused, retrying';
  };
  const guard: BatchGuard = {
    check() {
      if (abandon.signal.aborted) throw new RunAbandoned('stopping: batch left unacknowledged, it is read again at the next start');
    },
    isAbandon: (e) => e instanceof RunAbandoned,
    onRetry: () => onOutputState(false),
    waiting: '(reading pauses)',
  };
  const output: EventOutput = {
    async send(events, bad) {
      const decoded = events.map((m) => JSON.parse(String(m.value)) as SnowplowEvent);
      await processing.run(decoded, bad, guard);
      tally.events += events.length;
      tally.bad += bad.length;
    },
    // The runner already retries what can be retried; what reaches the loop is fatal.
    isRetriable: () => false,
  };
  const source = {
    batches: () => input.batches(),
    ack(batch: LineBatch) {
      tally.lines += batch.lines.length;
      input.ack(batch);
    },
  };

  const reading = new AbortController();
  const stopReading = () => reading.abort();
  opts.signal.addEventListener('abort', stopReading, { once: true });
  if (opts.signal.aborted) reading.abort();
  const loop = startTailLoop(source, pool, output, { maxInFlightBytes: config.pipeline.maxInFlightBytes, signal: reading.signal, onOutputState }, metrics, logger);

  const where: RunLocations = {
    paths,
    dataDir,
    registry: resolve(registryPath(dataDir)),
    badRows: processing.badRowsPath,
    embedded: processing.embedded,
    sinks: processing.sinks.map((s) => s.name),
    stages: processing.stages.map((s) => s.name),
  };
  logger.info({ ...where, format, startAt: config.input.startAt, once: opts.once }, 'following');
  opts.onReady?.(where);
  state.healthy = true;
  state.detail = 'following';

  const watchers: NodeJS.Timeout[] = [];
  const startedAt = Date.now();
  watchers.push(setInterval(() => (state.registryError = refreshTailGauges(input.stats(), startedAt, metrics)), 1000));
  if (opts.once) {
    const caughtUp = createCaughtUpCheck(config.input.pollIntervalMs);
    watchers.push(
      setInterval(() => {
        if (caughtUp(input.stats(), Date.now())) {
          logger.info('every file was read to its end and stored (--once): stopping');
          reading.abort();
        }
      }, opts.onceCheckMs ?? 200),
    );
  }

  let failure: unknown;
  try {
    await loop.done;
  } catch (err) {
    failure = err;
  }
  for (const w of watchers) clearInterval(w);
  opts.signal.removeEventListener('abort', stopReading);
  state.healthy = false;
  state.detail = 'stopping';
  const left = failure ? 0 : await loop.drain(config.pipeline.shutdownTimeoutMs);
  if (left > 0) {
    logger.warn({ bytesInFlight: left }, 'shutdown timeout: lines not yet stored will be read again at the next start');
    abandon.abort();
  }
  await pool.close();
  // The stores are closed whatever the input's last save does (disk full): nothing is left open.
  const unsaved = await input.close().then(
    () => undefined,
    (err: unknown) => err,
  );
  await processing.close();
  rmSync(pidFile, { force: true });
  if (failure) throw failure;
  if (unsaved !== undefined) throw new RegistryNotSaved(unsaved);
  logger.info('stopped; the registry covers everything the sinks stored');
  return { embedded: processing.embedded, badRowsPath: processing.badRowsPath, unacknowledgedBytes: left };
}

/**
 * For --once: true when every followed file was read to its end and all of it was stored. A file
 * whose last line has no newline yet never reaches its size, so "read to the end, nothing in
 * flight and no progress for a few checks" counts as the end too. With no file at all, it waits
 * two scans (a glob may match a moment later) and then gives up.
 */
export function createCaughtUpCheck(pollIntervalMs: number, stableChecks = 3): (stats: TailInputStats, now: number) => boolean {
  let startedAt: number | undefined;
  let lastSignature = '';
  let stable = 0;
  return (stats, now) => {
    startedAt ??= now;
    const files = stats.files.filter((f) => f.state !== 'compressed');
    if (files.length === 0) return now - startedAt >= 2 * pollIntervalMs;
    if (stats.inFlightBatches > 0) return (stable = 0), false;
    if (files.every((f) => f.bytesBehind === 0)) return true;
    if (!files.every((f) => f.readOffset >= f.size)) return (stable = 0), false;
    const signature = files.map((f) => `${f.fileKey}:${f.offset}:${f.size}`).join(',');
    stable = signature === lastSignature ? stable + 1 : 0;
    lastSignature = signature;
    return stable >= stableChecks;
  };
}
