/**
 * `tailplow tail`: follow nginx access logs and produce Snowplow events to Kafka — the agent a
 * sysadmin runs next to nginx instead of Filebeat. SIGTERM/SIGINT: stop reading, wait for Kafka
 * to acknowledge what is in flight, save the registry. SIGHUP: reload the config.
 */
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, parseConfigText } from '../../config/load';
import { tailConfigSchema, type TailConfig } from '../../config/tail';
import { createTailInput } from '../../input/tail-input';
import { createKafka } from '../../kafka/connection';
import { createKafkaProducer } from '../../kafka/producer';
import { startObservabilityServer, type ObservabilityServer } from '../../observe/server';
import { createTailMetrics, followerHealth, refreshTailGauges, type TailMetrics } from '../../observe/tail-metrics';
import { createDecodePool, DECODE_WORKER_LIMITS } from '../../pipeline/decode-pool';
import { createKafkaEventOutput, isRetriableKafkaError } from '../../pipeline/kafka-output';
import { createHeapGrowthLimiter, isCatchingUp, type HeapGrowthLimiter } from '../../pipeline/heap';
import { startTailLoop } from '../../pipeline/tail';
import { createLogger, type Logger } from '../../util/logger';
import { backoffDelay, sleep, withRetry, type RetryPolicy } from '../../util/retry';
import { ExitCode, outputError, usageError } from '../errors';
import { checkInputRegistry, parserFromOptions, registryNotSaved } from '../options';

interface TailOptions {
  config?: string;
  brokers?: string;
  dataDir?: string;
  fromBeginning?: boolean;
  format?: string;
}

export function registerTail(program: Command): void {
  program
    .command('tail')
    .description('Follow nginx access logs and produce Snowplow events to Kafka (tracking_raw), bad rows to tracking_bad')
    .argument('[paths...]', 'files or globs to follow (override input.paths)')
    .option('-c, --config <file>', 'YAML config (see README "Configuration")')
    .option('--brokers <list>', 'Kafka brokers, comma separated (override kafka.brokers)')
    .option('--data-dir <dir>', 'state directory for the registry of offsets (override dataDir)')
    .option('--from-beginning', 'read files found at startup from their beginning (input.startAt: beginning)')
    .option('-f, --format <format>', 'log format (override input.format)')
    .action(async (paths: string[], opts: TailOptions) => {
      const load = () => loadTailConfig(paths, opts);
      let config = load();
      const logger = createLogger({ level: config.logLevel, name: 'tailplow-tail' });
      const metrics = createTailMetrics();
      const state: PipelineState = { healthy: false, detail: 'starting', delivered: false };
      const server: ObservabilityServer | undefined = config.http.enabled
        ? await startObservabilityServer({ listen: config.http.listen, registry: metrics.registry, logger, health: () => followerHealth(state) })
        : undefined;
      if (server) logger.info({ address: server.address }, 'metrics on /metrics, health on /healthz');

      let stopSignal: 'stop' | 'reload' | undefined;
      let wake: () => void = () => {};
      const onStop = () => ((stopSignal = 'stop'), wake());
      const onReload = () => ((stopSignal ??= 'reload'), wake());
      process.on('SIGTERM', onStop).on('SIGINT', onStop).on('SIGHUP', onReload);
      let restarts = 0;
      // While catching up a backlog the heap follows what is live, not V8's throughput-first sizing.
      const heap = createHeapGrowthLimiter();
      try {
        for (;;) {
          const outcome = await runOnce(config, logger, metrics, state, (w) => (wake = w), () => stopSignal, heap);
          if (outcome === 'stop') break;
          if (outcome === 'restart') {
            // A fresh producer and input from the saved registry: what was not acknowledged is read again.
            // The backoff grows only while restarts make no progress; one delivered batch resets it.
            restarts = state.delivered ? 1 : restarts + 1;
            const delayMs = backoffDelay(restarts - 1, RESTART_BACKOFF, () => 1);
            state.detail = `restarting after a Kafka error in ${(delayMs / 1000).toFixed(1)} s`;
            await sleep(delayMs);
            if (stopSignal === 'stop') break;
            continue;
          }
          restarts = 0;
          stopSignal = undefined;
          try {
            config = load();
            logger.info('config reloaded');
          } catch (err) {
            logger.error({ err: err instanceof ConfigError ? err.message : String(err) }, 'config reload failed; keeping the running config');
          }
        }
      } finally {
        process.off('SIGTERM', onStop).off('SIGINT', onStop).off('SIGHUP', onReload);
        await server?.close();
        logger.flush();
        // kafkajs may go on retrying a connection for a send abandoned at the shutdown timeout
        // (Kafka down) for seconds after its producer disconnected. Everything of ours is saved and
        // closed by now, so that must not hold the process: SIGTERM ends within shutdownTimeoutMs.
        setTimeout(() => process.exit(), 250).unref();
      }
      if (stopSignal === 'stop') process.exitCode = ExitCode.ok;
    });
}

function loadTailConfig(paths: string[], opts: TailOptions): TailConfig {
  const overrides = (raw: Record<string, unknown>) => {
    const input = { ...((raw.input ?? {}) as Record<string, unknown>) };
    if (paths.length) input.paths = paths;
    if (opts.fromBeginning) input.startAt = 'beginning';
    if (opts.format) input.format = opts.format;
    raw.input = input;
    if (opts.brokers) raw.kafka = { ...((raw.kafka ?? {}) as object), brokers: opts.brokers.split(',').map((s) => s.trim()) };
    if (opts.dataDir) raw.dataDir = opts.dataDir;
  };
  try {
    return opts.config
      ? loadConfigFile(opts.config, tailConfigSchema, { overrides })
      : parseConfigText('', '(command line)', tailConfigSchema, { overrides });
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message, opts.config ? undefined : 'give paths to follow, or a config file with -c');
    throw err;
  }
}

/** Pipeline restarts: 0.5 s, doubling, at most 16 s (no jitter: one agent, one broker connection). */
const RESTART_BACKOFF: RetryPolicy = { initialMs: 500, maxMs: 16_000, maxAttempts: Infinity };

interface PipelineState {
  healthy: boolean;
  detail: string;
  /** A batch was acknowledged in the current life of the pipeline. */
  delivered: boolean;
  /** Why the input registry cannot be saved, while it cannot. */
  registryError?: string | null;
}

/**
 * One life of the pipeline: until a stop or reload signal, or a fatal output error.
 * Kafka being down at startup is not fatal: we retry, unhealthy, until it answers.
 */
async function runOnce(
  config: TailConfig,
  logger: Logger,
  metrics: TailMetrics,
  state: PipelineState,
  setWake: (wake: () => void) => void,
  signalled: () => 'stop' | 'reload' | undefined,
  heap: HeapGrowthLimiter,
): Promise<'stop' | 'reload' | 'restart'> {
  // Compiles the format once here so a bad log_format is a usage error, not a worker crash.
  parserFromOptions({ logFormat: config.input.format, maxLineBytes: config.input.maxLineBytes });
  const abort = new AbortController();
  setWake(() => abort.abort());
  if (signalled()) abort.abort();

  await checkInputRegistry(config.dataDir);
  const kafka = createKafka(config.kafka, logger);
  state.detail = 'connecting to Kafka';
  const producer = await withRetry(() => createKafkaProducer(kafka, config.output), {
    isRetriable: isRetriableKafkaError,
    signal: abort.signal,
    onRetry: (err, attempt) => logger.warn({ err: String(err), attempt, brokers: config.kafka.brokers }, 'cannot connect to Kafka; retrying'),
  }).catch((err: unknown) => {
    if (abort.signal.aborted) return undefined;
    throw outputError(`Kafka: ${String(err)}`, `brokers: ${config.kafka.brokers.join(', ')}`);
  });
  if (!producer) return signalled() ?? 'stop';
  await producer
    .prepare([config.output.topic, config.output.badTopic])
    .catch((err: unknown) => logger.warn({ err: String(err), topics: [config.output.topic, config.output.badTopic] }, 'cannot load topic metadata yet; the first send retries'));

  const { format, ...inputOptions } = config.input;
  const input = createTailInput({ ...inputOptions, dataDir: config.dataDir }, { logger });
  logger.info({ paths: config.input.paths, format, topic: config.output.topic, brokers: config.kafka.brokers, dataDir: config.dataDir }, 'following');
  state.healthy = true;
  state.detail = 'following';
  const output = createKafkaEventOutput(producer, config.output);
  const pool = createDecodePool({ format, maxLineBytes: config.input.maxLineBytes, serialise: 'json', fingerprint: { type: 'fingerprint', ...config.fingerprint } }, config.output.decodeWorkers, { limits: DECODE_WORKER_LIMITS, nice: config.output.decodeWorkerNice });
  // Unhealthy while Kafka refuses: the health check then says what a sysadmin must look at.
  state.delivered = false;
  const onOutputState = (ok: boolean) => {
    state.healthy = ok;
    if (ok) state.delivered = true;
    state.detail = ok ? 'following' : 'output failing; reading paused, retrying';
  };
  const loop = startTailLoop(input, pool, output, { maxInFlightBytes: config.output.maxInFlightBytes, signal: abort.signal, onOutputState }, metrics, logger);
  // Limited until the first look at the files says there is no backlog: a catch-up starts at once.
  heap.set(true);
  const startedAt = Date.now();
  const gauges = setInterval(() => {
    const stats = input.stats();
    state.registryError = refreshTailGauges(stats, startedAt, metrics);
    heap.set(isCatchingUp(stats.files.reduce((n, f) => n + f.bytesBehind, 0), config.output.maxInFlightBytes));
  }, 1000);

  let failure: unknown;
  try {
    await loop.done;
  } catch (err) {
    failure = err;
  }
  state.healthy = false;
  state.detail = 'stopping';
  const left = failure ? 0 : await loop.drain(config.output.shutdownTimeoutMs);
  if (left > 0) logger.warn({ bytesInFlight: left }, 'shutdown timeout: unacknowledged lines will be read again at the next start');
  clearInterval(gauges);
  await pool.close();
  // The producer is closed whatever the input's last save does: an open connection would keep the
  // process alive after SIGTERM.
  const unsaved = await input.close().then(
    () => undefined,
    (err: unknown) => err,
  );
  // After a drain that timed out (Kafka down), nothing in flight is waited for any longer.
  await producer.close(left > 0 || failure ? 0 : config.output.shutdownTimeoutMs).catch((err: unknown) => logger.warn({ err: String(err) }, 'closing the Kafka producer failed'));
  if (unsaved !== undefined) throw registryNotSaved(config.dataDir, unsaved);
  if (failure) {
    // E.g. an idempotent producer whose state the broker lost in a restart: the agent heals itself
    // with a new producer (and backs off) instead of exiting; the registry makes that lossless.
    logger.error({ err: String(failure) }, 'Kafka rejected a batch; restarting the pipeline from the saved registry');
    return signalled() === 'stop' ? 'stop' : 'restart';
  }
  logger.info('stopped; registry saved');
  return signalled() ?? 'stop';
}
