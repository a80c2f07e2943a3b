import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { ConsumedBatch } from '../kafka/consumer';
import type { OutMessage } from '../kafka/producer';
import { createProcessMetrics, type ProcessMetrics } from '../observe/process-metrics';
import type { BadRow } from '../snowplow/badrow';
import type { SnowplowEvent } from '../snowplow/event';
import type { Sink, SinkResult } from '../sinks/sink';
import type { Stage, StageOutput } from '../stages/stage';
import { silentLogger } from '../util/logger';
import { RetriableError } from '../util/retry';
import { createBatchProcessor, PartitionRevoked, type BadRowSender } from './process';

const fastRetry = { initialMs: 1, maxMs: 4, maxAttempts: Infinity };

function batchOf(values: Array<string | null>, opts: { owned?: () => boolean } = {}): ConsumedBatch & { heartbeats: number } {
  const b = {
    topic: 'raw',
    partition: 3,
    messages: values.map((v, i) => ({ offset: String(100 + i), key: null, value: v === null ? null : Buffer.from(v) })),
    lag: 7,
    heartbeats: 0,
    async heartbeat() {
      b.heartbeats++;
    },
    stillOwned: opts.owned ?? (() => true),
  };
  return b;
}

const ev = (id: string, extra: Partial<SnowplowEvent> = {}): string => JSON.stringify({ event_id: id, event: 'page_view', ...extra });

/** A sink that records what it stored; `failTimes` throws before the first success. */
function recordingSink(name: string, opts: { failTimes?: number; error?: () => Error; reject?: (e: SnowplowEvent) => string | undefined; retriable?: (e: unknown) => boolean } = {}) {
  const stored: string[] = [];
  let calls = 0;
  const sink: Sink & { stored: string[]; calls: () => number } = {
    name,
    stored,
    calls: () => calls,
    async write(events): Promise<SinkResult> {
      calls++;
      if (calls <= (opts.failTimes ?? 0)) throw (opts.error ?? (() => new RetriableError(`${name} is down`)))();
      const failed = [];
      for (const e of events) {
        const why = opts.reject?.(e);
        if (why) failed.push({ event: e, reason: 'rejected', message: why });
        else stored.push(e.event_id!);
      }
      return { failed };
    },
    ...(opts.retriable ? { isRetriable: opts.retriable } : {}),
    close: async () => {},
  };
  return sink;
}

function badRowCollector(opts: { failTimes?: number } = {}): BadRowSender & { rows: BadRow[]; calls: number } {
  const c = {
    rows: [] as BadRow[],
    calls: 0,
    async send(messages: OutMessage[]) {
      c.calls++;
      if (c.calls <= (opts.failTimes ?? 0)) throw new RetriableError('bad topic down');
      for (const m of messages) c.rows.push(JSON.parse(String(m.value)) as BadRow);
    },
  };
  return c;
}

async function metricValue(m: ProcessMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((s, v) => s + v.value, 0);
}

/** Resolves to 'pending' if `p` has not settled after a few turns of the event loop. */
async function stateOf(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return state;
}

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

test('events go through the stages in order and to every sink; metrics count them', async () => {
  const seen: string[][] = [];
  const tagStage: Stage = {
    name: 'tag',
    async run(events) {
      seen.push(events.map((e) => e.event_id!));
      for (const e of events) e.app_id = 'tagged';
      return { events, failed: [], dropped: {} };
    },
  };
  const a = recordingSink('a');
  const b = recordingSink('b');
  const written: SnowplowEvent[] = [];
  const spy: Sink = { name: 'spy', write: async (events) => (written.push(...events), { failed: [] }), close: async () => {} };
  const bad = badRowCollector();
  const metrics = createProcessMetrics(new Registry());
  const handle = createBatchProcessor([tagStage], [a, b, spy], bad, metrics, silentLogger, { retry: fastRetry });
  await (await handle(batchOf([ev('e1'), ev('e2'), ev('e3')]))).stored;
  assert.deepEqual(seen, [['e1', 'e2', 'e3']]);
  assert.deepEqual(a.stored, ['e1', 'e2', 'e3']);
  assert.deepEqual(b.stored, ['e1', 'e2', 'e3']);
  assert.deepEqual(written.map((e) => e.app_id), ['tagged', 'tagged', 'tagged']);
  assert.equal(bad.calls, 0, 'no bad rows, no send');
  assert.equal(await metricValue(metrics, 'tailplow_events_consumed_total'), 3);
  assert.equal(await metricValue(metrics, 'tailplow_sink_events_total', { sink: 'a' }), 3);
  assert.equal(await metricValue(metrics, 'tailplow_batches_committed_total'), 1);
  assert.equal(await metricValue(metrics, 'tailplow_consumer_lag', { partition: '3' }), 7);
});

test('poison messages (not JSON, JSON but not an object, empty) become generic_error bad rows; the events around them go on', async () => {
  const sink = recordingSink('s');
  const bad = badRowCollector();
  const metrics = createProcessMetrics(new Registry());
  const handle = createBatchProcessor([], [sink], bad, metrics, silentLogger, { retry: fastRetry, now: () => Date.UTC(2026, 0, 2) });
  await (await handle(batchOf([ev('e1'), 'not json {', '[1,2]', '42', 'null', null, ev('e2')]))).stored;
  assert.deepEqual(sink.stored, ['e1', 'e2']);
  assert.equal(bad.rows.length, 5);
  for (const row of bad.rows) {
    assert.equal(row.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/1-0-0');
    assert.equal(row.data.failure.timestamp, '2026-01-02T00:00:00.000Z');
  }
  assert.deepEqual(
    bad.rows.map((r) => r.data.payload),
    ['not json {', '[1,2]', '42', 'null', ''],
  );
  const errors = bad.rows.map((r) => (r.data.failure as unknown as { errors: string[] }).errors[0]);
  assert.match(errors[0]!, /message at raw\/3@101 is not a JSON event/);
  assert.match(errors[1]!, /raw\/3@102 .*not a JSON object/);
  assert.equal(await metricValue(metrics, 'tailplow_bad_rows_total', { reason: 'poison_message' }), 5);
});

test('a sink that fails 3 times is retried until it succeeds; the batch resolves only then, with heartbeats meanwhile', async () => {
  const flaky = recordingSink('flaky', { failTimes: 3 });
  const steady = recordingSink('steady');
  const bad = badRowCollector();
  const metrics = createProcessMetrics(new Registry());
  const handle = createBatchProcessor([], [flaky, steady], bad, metrics, silentLogger, { retry: fastRetry });
  const batch = batchOf([ev('e1'), ev('e2')]);
  await (await handle(batch)).stored;
  assert.equal(flaky.calls(), 4);
  assert.deepEqual(flaky.stored, ['e1', 'e2']);
  assert.equal(steady.calls(), 1, 'a healthy sink is written once');
  assert.equal(await metricValue(metrics, 'tailplow_sink_errors_total', { sink: 'flaky' }), 3);
  assert.equal(await metricValue(metrics, 'tailplow_sink_errors_total', { sink: 'steady' }), 0);
  assert.ok(batch.heartbeats >= 3, `heartbeats while retrying: ${batch.heartbeats}`);
  assert.equal(bad.calls, 0);
});

test('nothing resolves before the slowest sink acknowledged', async () => {
  const gate = deferred();
  const slow: Sink = {
    name: 'slow',
    async write() {
      await gate.promise;
      return { failed: [] };
    },
    close: async () => {},
  };
  const metrics = createProcessMetrics(new Registry());
  const handle = createBatchProcessor([], [recordingSink('fast'), slow], badRowCollector(), metrics, silentLogger, { retry: fastRetry });
  // Accepted once the stages ran, so the consumer fetches on; stored only with the slow sink.
  const { stored: done } = await handle(batchOf([ev('e1')]));
  assert.equal(await stateOf(done), 'pending');
  assert.equal(await metricValue(metrics, 'tailplow_batches_committed_total'), 0);
  gate.release();
  await done;
  assert.equal(await metricValue(metrics, 'tailplow_batches_committed_total'), 1);
});

test('nothing resolves before the bad rows are in the bad topic (it is retried too)', async () => {
  const gate = deferred();
  let sendCalls = 0;
  const bad: BadRowSender = {
    async send() {
      sendCalls++;
      if (sendCalls === 1) throw new RetriableError('bad topic leader moved');
      await gate.promise;
    },
  };
  const handle = createBatchProcessor([], [recordingSink('s')], bad, createProcessMetrics(new Registry()), silentLogger, { retry: fastRetry });
  const { stored: done } = await handle(batchOf(['garbage', ev('e1')]));
  assert.equal(await stateOf(done), 'pending');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sendCalls, 2, 'retried after the first failure');
  assert.equal(await stateOf(done), 'pending');
  gate.release();
  await done;
});

test('an event a sink rejects becomes an enrichment_failures bad row; the others are stored and the batch completes', async () => {
  const picky = recordingSink('picky', { reject: (e) => (e.event_id === 'e2' ? 'document too large' : undefined) });
  const other = recordingSink('other');
  const bad = badRowCollector();
  const metrics = createProcessMetrics(new Registry());
  const handle = createBatchProcessor([], [picky, other], bad, metrics, silentLogger, { retry: fastRetry });
  await (await handle(batchOf([ev('e1'), ev('e2'), ev('e3')]))).stored;
  assert.deepEqual(picky.stored, ['e1', 'e3']);
  assert.deepEqual(other.stored, ['e1', 'e2', 'e3']);
  assert.equal(bad.rows.length, 1);
  const row = bad.rows[0]!;
  assert.equal(row.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/enrichment_failures/jsonschema/2-0-1');
  assert.equal((row.data.payload as { enriched: SnowplowEvent }).enriched.event_id, 'e2');
  assert.match(JSON.stringify(row.data.failure), /sink picky: rejected: document too large/);
  assert.equal(await metricValue(metrics, 'tailplow_sink_events_total', { sink: 'picky' }), 2);
  assert.equal(await metricValue(metrics, 'tailplow_bad_rows_total', { reason: 'rejected' }), 1);
});

test('stage results: failed events become bad rows, dropped ones are counted, neither reaches a sink', async () => {
  const stage: Stage = {
    name: 'judge',
    async run(events): Promise<StageOutput> {
      const out: StageOutput = { events: [], failed: [], dropped: {} };
      for (const e of events) {
        if (e.event_id === 'bot') out.dropped.bot = (out.dropped.bot ?? 0) + 1;
        else if (e.event_id === 'long') out.failed.push({ event: e, reason: 'field_too_long', message: 'mkt_term: too long' });
        else out.events.push(e);
      }
      return out;
    },
  };
  const sink = recordingSink('s');
  const bad = badRowCollector();
  const metrics = createProcessMetrics(new Registry());
  await (await createBatchProcessor([stage], [sink], bad, metrics, silentLogger, { retry: fastRetry })(batchOf([ev('a'), ev('bot'), ev('long'), ev('b')]))).stored;
  assert.deepEqual(sink.stored, ['a', 'b']);
  assert.equal(bad.rows.length, 1);
  assert.match(JSON.stringify(bad.rows[0]!.data.failure), /stage judge: field_too_long: mkt_term: too long/);
  assert.equal(await metricValue(metrics, 'tailplow_stage_dropped_total', { stage: 'judge', reason: 'bot' }), 1);
  assert.equal(await metricValue(metrics, 'tailplow_stage_events_total', { stage: 'judge' }), 2);
  assert.equal(await metricValue(metrics, 'tailplow_bad_rows_total', { reason: 'field_too_long' }), 1);
});

test('a stage that throws is retried (infrastructure trouble), no sink sees the batch before it succeeded', async () => {
  let runs = 0;
  const sink = recordingSink('s');
  const stage: Stage = {
    name: 'lookup',
    async run(events) {
      runs++;
      if (runs <= 2) throw new Error('redis: connection refused');
      assert.equal(sink.calls(), 0, 'the sink must not have been written yet');
      return { events, failed: [], dropped: {} };
    },
  };
  await (await createBatchProcessor([stage], [sink], badRowCollector(), createProcessMetrics(new Registry()), silentLogger, { retry: fastRetry })(batchOf([ev('e1')]))).stored;
  assert.equal(runs, 3);
  assert.deepEqual(sink.stored, ['e1']);
});

test('a partition revoked while a sink is down: the batch is abandoned uncommitted (PartitionRevoked), retries stop', async () => {
  let owned = true;
  const down = recordingSink('down', { failTimes: Infinity });
  const metrics = createProcessMetrics(new Registry());
  const { stored: done } = await createBatchProcessor([], [down], badRowCollector(), metrics, silentLogger, { retry: fastRetry })(batchOf([ev('e1')], { owned: () => owned }));
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(down.calls() >= 2);
  owned = false;
  await assert.rejects(done, PartitionRevoked);
  const calls = down.calls();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(down.calls(), calls, 'no more attempts after the rejection');
  assert.equal(await metricValue(metrics, 'tailplow_batches_committed_total'), 0);
});

test('an error the sink calls non-retriable rejects the batch at once (nothing committed, nothing swallowed)', async () => {
  const broken = recordingSink('broken', { failTimes: 1, error: () => new Error('schema mismatch'), retriable: () => false });
  const metrics = createProcessMetrics(new Registry());
  const { stored } = await createBatchProcessor([], [broken], badRowCollector(), metrics, silentLogger, { retry: fastRetry })(batchOf([ev('e1')]));
  await assert.rejects(stored, /schema mismatch/);
  assert.equal(broken.calls(), 1);
  assert.equal(await metricValue(metrics, 'tailplow_batches_committed_total'), 0);
});

/** A stage that passes every event on once `wait` (given the batch's first event id) resolved. */
function stageWaitingOn(name: string, wait: (firstId: string) => Promise<void>): Stage {
  return {
    name,
    async run(events): Promise<StageOutput> {
      await wait(events[0]!.event_id!);
      return { events, failed: [], dropped: {} };
    },
    close: async () => {},
  };
}

// With a timeout: a processor that waits for the stages before accepting would never return here.
test('a batch is accepted before its stages finish; a partition\'s next batch waits for them, another partition\'s does not', { timeout: 5000 }, async () => {
  const gates = new Map<string, ReturnType<typeof deferred>>([['a1', deferred()], ['b1', deferred()]]);
  const started: string[] = [];
  const slowStage = stageWaitingOn('slow', async (first) => {
    started.push(first);
    await gates.get(first)?.promise;
  });
  const sink = recordingSink('s');
  const handle = createBatchProcessor([slowStage], [sink], badRowCollector(), createProcessMetrics(new Registry()), silentLogger, { retry: fastRetry });
  const onPartition = (partition: number, ids: string[]) => ({ ...batchOf(ids.map((id) => ev(id))), partition });
  const a1 = await handle(onPartition(1, ['a1']));
  const a2 = await handle(onPartition(1, ['a2']));
  const b1 = await handle(onPartition(2, ['b1']));
  const b2 = await handle(onPartition(2, ['b2']));
  await stateOf(a2.stored);
  assert.deepEqual(started, ['a1', 'b1'], 'each partition\'s second batch waits for its first');
  gates.get('b1')!.release();
  await b2.stored;
  assert.deepEqual(sink.stored, ['b1', 'b2']);
  assert.equal(await stateOf(a1.stored), 'pending');
  gates.get('a1')!.release();
  await a2.stored;
  assert.deepEqual(started, ['a1', 'b1', 'b2', 'a2']);
  assert.deepEqual(sink.stored, ['b1', 'b2', 'a1', 'a2']);
});

test('when a batch\'s stages fail, the batches of its partition chained behind it fail too and never run', async () => {
  const ran: string[] = [];
  const stage = stageWaitingOn('picky', async (id) => {
    ran.push(id);
    await new Promise((r) => setTimeout(r, 5));
    if (id === 'bad') throw new PartitionRevoked('gone');
  });
  const sink = recordingSink('s');
  const handle = createBatchProcessor([stage], [sink], badRowCollector(), createProcessMetrics(new Registry()), silentLogger, { retry: fastRetry });
  const first = await handle(batchOf([ev('bad')]));
  const second = await handle(batchOf([ev('next')]));
  await assert.rejects(first.stored, PartitionRevoked);
  await assert.rejects(second.stored, PartitionRevoked);
  assert.deepEqual(ran, ['bad']);
  // Once settled, the partition starts afresh (e.g. fetched again after the failure).
  await (await handle(batchOf([ev('again')]))).stored;
  assert.deepEqual(sink.stored, ['again']);
});
