/**
 * `workers: N` of `tailplow process`. One processor is one JavaScript thread, so one core: the
 * primary forks N copies of the command (node's cluster module), each a whole processor with its
 * own consumer in `source.groupId`, which share the partitions as separate instances would. The
 * primary processes nothing. It serves /metrics (the workers' metrics, summed by prom-client's
 * AggregatorRegistry) and /healthz (healthy while every worker is), passes SIGTERM/SIGINT on, and
 * ends when they have all stopped.
 *
 * A worker that ends on its own (a sink refusing its credentials, a bug) ends the command with
 * its exit code, after stopping the others, as a single process's fatal error would: the
 * supervisor (systemd, Kubernetes) restarts the whole, and what was not committed is consumed
 * again from the committed offsets.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { ProcessConfig } from '../config/process';
import { startObservabilityServer } from '../observe/server';
import type { Logger } from '../util/logger';
import { CliError, ExitCode } from './errors';

export interface WorkerState {
  healthy: boolean;
  detail: string;
}

const STATE_MESSAGE = 'tailplow:worker-state';

/** In a worker: tells the primary what /healthz should say about it. */
export function reportWorkerState(state: WorkerState): void {
  process.send?.({ type: STATE_MESSAGE, healthy: state.healthy, detail: state.detail });
}

/** In a worker: its metrics are what it answers the primary's /metrics requests with. */
export function serveMetricsToPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what makes a worker answer those requests (prom-client).
  new AggregatorRegistry();
}

const isStateMessage = (m: unknown): m is WorkerState & { type: string } => (m as { type?: unknown } | null)?.type === STATE_MESSAGE;

const KNOWN_EXIT_CODES = new Set<number>(Object.values(ExitCode));

export async function superviseWorkers(config: ProcessConfig, logger: Logger): Promise<void> {
  const states = new Map<number, WorkerState>();
  const aggregator = new AggregatorRegistry();
  const health = () => {
    const workers = Object.fromEntries([...states].map(([id, s]) => [id, s.detail]));
    const ok = states.size === config.workers && [...states.values()].every((s) => s.healthy);
    return { ok, details: { state: ok ? 'processing' : 'not every worker is processing', workers } };
  };
  const server = config.http.enabled
    ? await startObservabilityServer({ listen: config.http.listen, registry: { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType }, logger, health })
    : undefined;
  if (server) logger.info({ address: server.address }, 'metrics on /metrics, health on /healthz (of every worker)');

  let stopping = false;
  let failure: { worker: number; code: number | null; signal: string | null } | undefined;
  const stopWorkers = () => {
    for (const w of Object.values(cluster.workers ?? {})) if (w && !w.isDead()) w.process.kill('SIGTERM');
  };
  const onSignal = () => {
    if (!stopping) logger.info({ workers: config.workers }, 'stopping the workers');
    stopping = true;
    stopWorkers();
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  let everyOneProcessing = false;
  const onMessage = (w: { id: number }, m: unknown) => {
    if (!isStateMessage(m)) return;
    states.set(w.id, { healthy: m.healthy, detail: m.detail });
    if (!everyOneProcessing && health().ok) {
      everyOneProcessing = true;
      logger.info({ workers: config.workers }, 'every worker is processing');
    }
  };
  cluster.on('message', onMessage);
  try {
    await new Promise<void>((resolve) => {
      let alive = config.workers;
      cluster.on('exit', (w, code, signal) => {
        states.delete(w.id);
        if (!stopping) {
          stopping = true;
          failure = { worker: w.id, code, signal };
          logger.error({ worker: w.id, pid: w.process.pid, code, signal }, 'a worker ended on its own: stopping the others');
          stopWorkers();
        } else if (code || (signal && signal !== 'SIGTERM' && signal !== 'SIGINT')) {
          // Stopping, but this one did not finish cleanly (it crashed, or was killed): the exit code says so.
          failure ??= { worker: w.id, code, signal };
          logger.error({ worker: w.id, pid: w.process.pid, code, signal }, 'a worker failed while stopping');
        }
        if (--alive === 0) resolve();
      });
      for (let i = 0; i < config.workers; i++) cluster.fork();
      logger.info({ workers: config.workers }, 'workers started');
    });
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    cluster.off('message', onMessage);
    await server?.close();
  }
  if (failure) {
    const { worker, code, signal } = failure;
    const exitCode = code !== null && code !== 0 && KNOWN_EXIT_CODES.has(code) ? (code as ExitCode) : ExitCode.internal;
    throw new CliError(`worker ${worker} ended ${signal ? `by ${signal}` : `with exit code ${code}`}; every worker has stopped (what was not committed is consumed again from the committed offsets)`, exitCode);
  }
  logger.info('every worker stopped; committed offsets cover everything the sinks acknowledged');
}
