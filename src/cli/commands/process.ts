/**
 * `tailplow process`: the processor. Consumes tracking_raw in a consumer group, runs the
 * configured stages, writes every batch to every sink and commits offsets only after all of
 * them acknowledged. Scale out by starting more processes with the same `source.groupId`, or
 * with `workers: N`, which forks them (src/cli/process-workers.ts).
 */
import cluster from 'node:cluster';
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, parseConfigText } from '../../config/load';
import { processConfigSchema, type ProcessConfig } from '../../config/process';
import { createKafka } from '../../kafka/connection';
import { createGroupConsumer } from '../../kafka/consumer';
import { createKafkaProducer } from '../../kafka/producer';
import { createProcessMetrics } from '../../observe/process-metrics';
import { startObservabilityServer } from '../../observe/server';
import { isRetriableKafkaError } from '../../pipeline/kafka-output';
import { createBatchProcessor, PartitionRevoked } from '../../pipeline/process';
import { createSink } from '../../sinks/registry';
import type { Sink } from '../../sinks/sink';
import { createStage } from '../../stages/registry';
import type { Stage } from '../../stages/stage';
import { createLogger } from '../../util/logger';
import { backoffDelay, RetriableError, sleep, withRetry } from '../../util/retry';
import { outputError, usageError } from '../errors';
import { reportWorkerState, serveMetricsToPrimary, superviseWorkers } from '../process-workers';

interface ProcessOptions {
  config?: string;
  brokers?: string;
}

export function loadProcessConfig(opts: ProcessOptions): ProcessConfig {
  const overrides = (raw: Record<string, unknown>) => {
    if (opts.brokers) raw.kafka = { ...((raw.kafka ?? {}) as object), brokers: opts.brokers.split(',').map((s) => s.trim()) };
  };
  try {
    return opts.config ? loadConfigFile(opts.config, processConfigSchema, { overrides }) : parseConfigText('', '(defaults)', processConfigSchema, { overrides });
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message);
    throw err;
  }
}

export function registerProcess(program: Command): void {
  program
    .command('process')
    .description('Consume tracking_raw, run the configured stages (enrich, …) and write to the sinks; offsets are committed after every sink acknowledged')
    .option('-c, --config <file>', 'YAML config (see README "Configuration")')
    .option('--brokers <list>', 'Kafka brokers, comma separated (override kafka.brokers)')
    .action(async (opts: ProcessOptions) => {
      const config = loadProcessConfig(opts);
      const root = createLogger({ level: config.logLevel, name: 'tailplow-process' });
      if (config.workers > 1 && cluster.isPrimary) return superviseWorkers(config, root);
      // A worker's metrics and health reach /metrics and /healthz through its primary.
      const worker = cluster.isWorker ? cluster.worker?.id : undefined;
      const logger = worker === undefined ? root : root.child({ worker });
      const metrics = createProcessMetrics();
      if (worker !== undefined) serveMetricsToPrimary(metrics.registry);
      const state = { healthy: false, detail: 'starting' };
      const setState = (healthy: boolean, detail: string) => {
        Object.assign(state, { healthy, detail });
        if (worker !== undefined) reportWorkerState(state);
      };
      const server =
        config.http.enabled && worker === undefined
          ? await startObservabilityServer({ listen: config.http.listen, registry: metrics.registry, logger, health: () => ({ ok: state.healthy, details: { state: state.detail } }) })
          : undefined;
      if (server) logger.info({ address: server.address }, 'metrics on /metrics, health on /healthz');

      const stop = new AbortController();
      const onStop = () => stop.abort();
      process.on('SIGTERM', onStop).on('SIGINT', onStop);
      const stages: Stage[] = [];
      const sinks: Sink[] = [];
      const deps = { logger, dataDir: config.dataDir, registry: metrics.registry };
      try {
        for (const s of config.stages) stages.push(await createStage(s, deps));
        const kafka = createKafka(config.kafka, logger);
        const connect = <T>(what: string, fn: () => Promise<T>, isRetriable: (err: unknown) => boolean = isRetriableKafkaError) =>
          withRetry(fn, {
            isRetriable,
            signal: stop.signal,
            onRetry: (err, attempt) => logger.warn({ err: String(err), attempt }, `${what}: cannot connect; retrying`),
          });
        setState(false, 'connecting');
        // A sink that cannot start says whether waiting helps (RetriableError: server down); a refused
        // password or certificate does not, so it stops the processor with its message.
        const sinkStartRetriable = (err: unknown) => err instanceof RetriableError || ((err as Error | null)?.name?.startsWith('KafkaJS') === true && isRetriableKafkaError(err));
        for (const s of config.sinks) sinks.push(await connect(`sink ${s.type}`, () => createSink(s, { ...deps, kafka: config.kafka }), sinkStartRetriable));
        const badProducer = await connect('bad-row producer', () => createKafkaProducer(kafka, config.badRows));
        const handle = createBatchProcessor(stages, sinks, { send: (rows) => badProducer.send(config.badRows.topic, rows) }, metrics, logger);
        const stopped = new Promise<'stop'>((resolve) => stop.signal.addEventListener('abort', () => resolve('stop'), { once: true }));
        // A consumer kafkajs gave up on (evicted from the group, then a non-retriable commit error)
        // consumes nothing while looking alive: it is replaced, with backoff, and /healthz says so.
        for (let crashes = 0; !stop.signal.aborted; ) {
          // The lag of partitions another member (or worker) now owns would stay at its last value.
          const consumer = await connect('consumer', () => createGroupConsumer(kafka, config.source, { onJoin: () => metrics.lag.reset() }));
          logger.info({ topic: config.source.topic, groupId: config.source.groupId, stages: stages.map((s) => s.name), sinks: sinks.map((s) => s.name) }, 'processing');
          setState(true, 'processing');
          // Takes the partition, not the batch: a pending batch must not keep its messages alive.
          const abandoned = (partition: number) => (err: unknown) => {
            if (err instanceof PartitionRevoked) logger.info({ partition }, 'batch abandoned uncommitted: partition revoked or stopping');
            throw err;
          };
          const showPending = setInterval(() => metrics.pending.set(consumer.pendingEvents), 1000).unref();
          await consumer.run(async (batch) => {
            // The handler only decodes; a revoked partition shows in `stored` (its stages and sinks).
            const { stored } = await handle(batch);
            return { stored: stored.catch(abandoned(batch.partition)) };
          });
          const outcome = await Promise.race([stopped, consumer.crashed.then((err) => ({ err }))]);
          setState(false, outcome === 'stop' ? 'stopping' : 'consumer crashed; reconnecting');
          await consumer.stop().catch((err: unknown) => logger.warn({ err: String(err) }, 'closing the consumer failed'));
          clearInterval(showPending);
          metrics.pending.set(consumer.pendingEvents);
          if (outcome === 'stop') break;
          crashes++;
          const delayMs = backoffDelay(crashes - 1, { initialMs: 500, maxMs: 30_000, maxAttempts: Infinity }, () => 1);
          logger.error({ err: String(outcome.err), delayMs }, 'Kafka consumer gave up; starting a new one from the committed offsets');
          metrics.consumerRestarts.inc();
          await sleep(delayMs, stop.signal).catch(() => undefined);
        }
        await badProducer.close();
        logger.info('stopped; committed offsets cover everything the sinks acknowledged');
      } catch (err) {
        if (stop.signal.aborted) return;
        throw err instanceof Error && err.name === 'CliError' ? err : outputError(String(err));
      } finally {
        process.off('SIGTERM', onStop).off('SIGINT', onStop);
        for (const s of sinks) await s.close().catch(() => {});
        for (const s of stages) await s.close?.().catch(() => {});
        await server?.close();
        logger.flush();
        // The channel to the primary would keep a worker alive after its work is done.
        if (worker !== undefined) process.disconnect?.();
      }
    });
}
