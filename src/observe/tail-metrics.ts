/** Prometheus metrics of the tailer (and of `run`, which embeds it). Names are documented in README. */
import { stat } from 'node:fs/promises';
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

/** The per-second gauges of a tail loop: bytes behind per followed file, and the registry's age. */
export function refreshTailGauges(files: ReadonlyArray<{ path: string; bytesBehind: number }>, registryFile: string, metrics: TailMetrics): void {
  metrics.bytesBehind.reset();
  for (const f of files) metrics.bytesBehind.set({ path: f.path }, f.bytesBehind);
  stat(registryFile).then(
    (st) => metrics.registryAge.set((Date.now() - st.mtimeMs) / 1000),
    () => metrics.registryAge.set(-1),
  );
}
