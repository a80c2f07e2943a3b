/** Prometheus metrics of the tailer (and of `run`, which embeds it). Names are documented in README. */
import type { TailInputStats } from '../input/tail-input';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface TailMetrics {
  registry: Registry;
  linesRead: Counter;
  eventsProduced: Counter;
  badRows: Counter<'reason'>;
  skipped: Counter<'reason'>;
  bytesBehind: Gauge<'path'>;
  outputLatency: Histogram;
  outputErrors: Counter;
  inFlightBytes: Gauge;
  registryAge: Gauge;
}

export function createTailMetrics(registry = new Registry()): TailMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'tailplow_' });
  const r = [registry];
  return {
    registry,
    linesRead: new Counter({ name: 'tailplow_lines_read_total', help: 'Log lines read and decoded', registers: r }),
    eventsProduced: new Counter({ name: 'tailplow_events_produced_total', help: 'Events acknowledged by the output', registers: r }),
    badRows: new Counter({ name: 'tailplow_bad_rows_total', help: 'Bad rows by Snowplow bad-row type', labelNames: ['reason'], registers: r }),
    skipped: new Counter({ name: 'tailplow_lines_skipped_total', help: 'Lines that are not tracker hits, by reason', labelNames: ['reason'], registers: r }),
    bytesBehind: new Gauge({ name: 'tailplow_file_bytes_behind', help: 'Bytes of a followed file not yet acknowledged', labelNames: ['path'], registers: r }),
    outputLatency: new Histogram({
      name: 'tailplow_output_send_seconds',
      help: 'Time from handing a batch to the output until it was acknowledged',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    outputErrors: new Counter({ name: 'tailplow_output_errors_total', help: 'Failed sends to the output (each is retried)', registers: r }),
    inFlightBytes: new Gauge({ name: 'tailplow_in_flight_bytes', help: 'Bytes of lines read but not yet acknowledged', registers: r }),
    registryAge: new Gauge({ name: 'tailplow_registry_age_seconds', help: 'Seconds since the registry of offsets was last written', registers: r }),
  };
}

/**
 * The per-second gauges of a tail loop, from the input's stats: bytes behind per followed file,
 * and the registry's age. The registry's age counts from `sinceMs` (the input's start) until
 * its first save, so a registry that is never written (disk full) still ages into an alert.
 * Returns why the registry cannot be saved, if it cannot.
 */
export function refreshTailGauges(stats: Pick<TailInputStats, 'files' | 'registry'>, sinceMs: number, metrics: TailMetrics): string | null {
  metrics.bytesBehind.reset();
  for (const f of stats.files) metrics.bytesBehind.set({ path: f.path }, f.bytesBehind);
  metrics.registryAge.set((Date.now() - (stats.registry.savedAt ?? sinceMs)) / 1000);
  return stats.registry.error;
}

/** The health of a follower: unhealthy, and saying why, while its offsets cannot be saved. */
export function followerHealth(state: { healthy: boolean; detail: string; registryError?: string | null }): { ok: boolean; details: { state: string } } {
  if (state.registryError) return { ok: false, details: { state: `cannot save the input registry (${state.registryError}): a restart would read again what was sent since the last save` } };
  return { ok: state.healthy, details: { state: state.detail } };
}
