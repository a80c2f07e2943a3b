/** Prometheus metrics of the processor. Names are documented in README. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ProcessMetrics {
  registry: Registry;
  consumed: Counter;
  processed: Counter<'stage'>;
  dropped: Counter<'stage' | 'reason'>;
  badRows: Counter<'reason'>;
  stored: Counter<'sink'>;
  sinkLatency: Histogram<'sink'>;
  sinkErrors: Counter<'sink'>;
  lag: Gauge<'partition'>;
  committed: Counter;
  pending: Gauge;
  consumerRestarts: Counter;
}

export function createProcessMetrics(registry = new Registry()): ProcessMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'tailplow_' });
  const r = [registry];
  return {
    registry,
    consumed: new Counter({ name: 'tailplow_events_consumed_total', help: 'Messages consumed from the source topic', registers: r }),
    processed: new Counter({ name: 'tailplow_stage_events_total', help: 'Events a stage passed on', labelNames: ['stage'], registers: r }),
    dropped: new Counter({ name: 'tailplow_stage_dropped_total', help: 'Events a stage dropped on purpose (e.g. bots)', labelNames: ['stage', 'reason'], registers: r }),
    badRows: new Counter({ name: 'tailplow_bad_rows_total', help: 'Bad rows sent to the bad topic, by reason', labelNames: ['reason'], registers: r }),
    stored: new Counter({ name: 'tailplow_sink_events_total', help: 'Events a sink acknowledged', labelNames: ['sink'], registers: r }),
    sinkLatency: new Histogram({
      name: 'tailplow_sink_write_seconds',
      help: 'Time for a sink to acknowledge a batch (retries included)',
      labelNames: ['sink'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    sinkErrors: new Counter({ name: 'tailplow_sink_errors_total', help: 'Failed sink writes (each is retried)', labelNames: ['sink'], registers: r }),
    lag: new Gauge({ name: 'tailplow_consumer_lag', help: 'Messages behind the end of the partition', labelNames: ['partition'], registers: r }),
    committed: new Counter({ name: 'tailplow_batches_committed_total', help: 'Batches every sink stored: their offsets are committed once every earlier batch of their partition is stored too', registers: r }),
    pending: new Gauge({ name: 'tailplow_events_pending', help: 'Events accepted and not yet stored: in the stages or waiting for the sinks (bounded by source.maxPendingEvents)', registers: r }),
    consumerRestarts: new Counter({ name: 'tailplow_consumer_restarts_total', help: 'Kafka consumers replaced after kafkajs gave up on them', registers: r }),
  };
}
