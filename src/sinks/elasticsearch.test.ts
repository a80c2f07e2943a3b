import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errors } from '@elastic/elasticsearch';
import type { SnowplowEvent } from '../snowplow/event';
import { silentLogger } from '../util/logger';
import {
  clientOptionsOf,
  createElasticsearchSink,
  ElasticsearchUnavailableError,
  elasticsearchSinkSchema,
  isUnavailableError,
  type BulkItemOutcome,
  type ElasticsearchApi,
  type ElasticsearchSinkConfig,
} from './elasticsearch';
import { sinkConfigSchema } from './registry';

interface SentItem {
  index: string;
  id: string;
  doc: Record<string, unknown>;
}

/**
 * A fake Elasticsearch: records every bulk request and answers each item with `answer`
 * (status 201 unless told otherwise), so tests can inject busy, mapping and fatal rejections.
 */
function fakeApi(answer: (item: SentItem, call: number) => BulkItemOutcome | Error = () => ({ status: 201 })) {
  const calls: Array<{ items: SentItem[]; refresh: boolean }> = [];
  const templates: Array<{ name: string; body: unknown }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let closed = false;
  const api: ElasticsearchApi = {
    async bulk(lines, opts) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((done) => setImmediate(done));
      inFlight--;
      const items: SentItem[] = [];
      for (let k = 0; k < lines.length; k += 2) {
        const action = JSON.parse(lines[k] as string) as { index: { _index: string; _id: string } };
        items.push({ index: action.index._index, id: action.index._id, doc: JSON.parse(lines[k + 1] as string) as Record<string, unknown> });
      }
      const call = calls.length;
      calls.push({ items, refresh: opts.refresh });
      const outcomes: BulkItemOutcome[] = [];
      for (const item of items) {
        const outcome = answer(item, call);
        if (outcome instanceof Error) throw outcome;
        outcomes.push(outcome);
      }
      return outcomes;
    },
    async putIndexTemplate(name, body) {
      templates.push({ name, body });
    },
    async close() {
      closed = true;
    },
  };
  return { api, calls, templates, maxInFlight: () => maxInFlight, closed: () => closed };
}

const config = (extra: Record<string, unknown> = {}): ElasticsearchSinkConfig => elasticsearchSinkSchema.parse({ type: 'elasticsearch', ...extra });

const event = (n: number, extra: Partial<SnowplowEvent> = {}): SnowplowEvent => ({
  event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  event: 'page_view',
  collector_tstamp: '2024-05-01T10:00:00.000Z',
  derived_tstamp: '2024-05-01T09:59:59.500Z',
  user_ipaddress: '203.0.113.7',
  ...extra,
});

function sinkWith(fake: ReturnType<typeof fakeApi>, extra: Record<string, unknown> = {}, sleeps: number[] = []) {
  return createElasticsearchSink(config(extra), {
    logger: silentLogger,
    dataDir: '/nonexistent',
    api: fake.api,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
}

const MAPPING_ERROR: BulkItemOutcome = { status: 400, error: { type: 'document_parsing_exception', reason: "failed to parse field [geo_latitude] of type [double]" } };

test('config defaults: tracking_persisted, derived_tstamp, refresh off, template installed', () => {
  const c = config();
  assert.deepEqual(c.nodes, ['http://127.0.0.1:9200']);
  assert.equal(c.index, 'tracking_persisted');
  assert.equal(c.indexTimeField, 'derived_tstamp');
  assert.equal(c.refresh, false);
  assert.deepEqual(c.template, { install: true, priority: 200, unknownFields: 'keep' });
  assert.deepEqual(c.itemRetry, { maxAttempts: 5, initialMs: 200, maxMs: 5000 });
  assert.equal(sinkConfigSchema.parse({ type: 'elasticsearch' }).type, 'elasticsearch');
});

test('config: auth is an API key or username+password, never both; bad index names are refused', () => {
  assert.deepEqual(config({ auth: { apiKey: 'abc' } }).auth, { apiKey: 'abc' });
  assert.deepEqual(config({ auth: { username: 'u', password: 'p' } }).auth, { username: 'u', password: 'p' });
  assert.equal(elasticsearchSinkSchema.safeParse({ type: 'elasticsearch', auth: { apiKey: 'a', username: 'u', password: 'p' } }).success, false);
  assert.equal(elasticsearchSinkSchema.safeParse({ type: 'elasticsearch', auth: { username: 'u' } }).success, false);
  const badIndex = elasticsearchSinkSchema.safeParse({ type: 'elasticsearch', index: 'Tracking-{yyyy}' });
  assert.equal(badIndex.success, false);
  assert.match(JSON.stringify(badIndex.error?.issues), /lower case/);
  assert.equal(elasticsearchSinkSchema.safeParse({ type: 'elasticsearch', surprise: 1 }).success, false);
});

test('client options: API key, basic auth, CA file, no client-side retries', () => {
  assert.deepEqual(clientOptionsOf(config({ auth: { apiKey: 'k' } })).auth, { apiKey: 'k' });
  assert.deepEqual(clientOptionsOf(config({ auth: { username: 'u', password: 'p' } })).auth, { username: 'u', password: 'p' });
  assert.equal(clientOptionsOf(config()).maxRetries, 0);
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-es-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  assert.equal(String(clientOptionsOf(config({ tls: { caFile: caFile } })).tls?.ca), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  assert.throws(() => clientOptionsOf(config({ tls: { caFile: join(dir, 'missing.pem') } })), /elasticsearch\.tls\.caFile: cannot read .*missing\.pem: ENOENT/);
});

test('startup installs the index template for the index (dated: its wildcard pattern)', async () => {
  const fake = fakeApi();
  await sinkWith(fake, { index: 'tracking_persisted-{yyyy.MM.dd}', template: { shards: 1, replicas: 0 } });
  assert.equal(fake.templates.length, 1);
  const { name, body } = fake.templates[0] as { name: string; body: ReturnType<typeof import('../storage/elasticsearch-template').buildIndexTemplate> };
  assert.equal(name, 'tailplow-tracking_persisted');
  assert.deepEqual(body.index_patterns, ['tracking_persisted-*']);
  assert.deepEqual(body.template.settings, { number_of_shards: 1, number_of_replicas: 0 });

  const skipped = fakeApi();
  await sinkWith(skipped, { template: { install: false } });
  assert.equal(skipped.templates.length, 0);
});

test('startup with the node down fails with a retriable error and closes the client', async () => {
  const fake = fakeApi();
  fake.api.putIndexTemplate = async () => {
    throw new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9200');
  };
  await assert.rejects(sinkWith(fake), (err: unknown) => err instanceof ElasticsearchUnavailableError && /cannot install index template/.test((err as Error).message));
  assert.equal(fake.closed(), true);
});

test('write: one bulk index action per event, _id = event_id, document with derived fields', async () => {
  const fake = fakeApi();
  const sink = await sinkWith(fake);
  const events = [event(1, { geo_latitude: 52.52, geo_longitude: 13.405 }), event(2, { user_ipaddress: '1.2.x.x' })];
  const out = await sink.write(events);
  assert.deepEqual(out.failed, []);
  assert.equal(fake.calls.length, 1);
  const [call] = fake.calls;
  assert.equal(call?.refresh, false);
  assert.deepEqual(call?.items.map((i) => [i.index, i.id]), events.map((e) => ['tracking_persisted', e.event_id]));
  assert.deepEqual(call?.items[0]?.doc, { ...events[0], geo_location: { lat: 52.52, lon: 13.405 }, user_ip: '203.0.113.7' });
  assert.deepEqual(call?.items[1]?.doc, { ...events[1] });
  assert.deepEqual(await sink.write([]), { failed: [] });
  assert.equal(fake.calls.length, 1, 'an empty batch sends nothing');
});

test('write: refresh option asks for wait_for', async () => {
  const fake = fakeApi();
  const sink = await sinkWith(fake, { refresh: true });
  await sink.write([event(1)]);
  assert.equal(fake.calls[0]?.refresh, true);
});

test('items rejected with 429/503 are re-sent alone, with backoff, within one write', async () => {
  const busy = new Map<string, number>([
    [event(2).event_id as string, 2],
    [event(4).event_id as string, 1],
  ]);
  const fake = fakeApi((item) => {
    const left = busy.get(item.id) ?? 0;
    if (left === 0) return { status: 201 };
    busy.set(item.id, left - 1);
    return left === 2 ? { status: 429, error: { type: 'es_rejected_execution_exception' } } : { status: 503, error: { type: 'unavailable_shards_exception' } };
  });
  const sleeps: number[] = [];
  const sink = await sinkWith(fake, {}, sleeps);
  const out = await sink.write([1, 2, 3, 4].map((n) => event(n)));
  assert.deepEqual(out.failed, []);
  assert.deepEqual(
    fake.calls.map((c) => c.items.map((i) => i.id.slice(-1))),
    [['1', '2', '3', '4'], ['2', '4'], ['2']],
  );
  // Full jitter with random 0.5: half of 200·2^attempt.
  assert.deepEqual(sleeps, [100, 200]);
});

test('items still busy after itemRetry.maxAttempts: the write throws a retriable error', async () => {
  const fake = fakeApi((item) => (item.id.endsWith('2') ? { status: 429, error: { type: 'es_rejected_execution_exception' } } : { status: 201 }));
  const sleeps: number[] = [];
  const sink = await sinkWith(fake, { itemRetry: { maxAttempts: 3 } }, sleeps);
  let thrown: unknown;
  await sink.write([event(1), event(2)]).catch((e: unknown) => (thrown = e));
  assert.ok(thrown instanceof ElasticsearchUnavailableError, String(thrown));
  assert.match((thrown as Error).message, /1 of 1 documents rejected with status 429 \(es_rejected_execution_exception\) after 3 attempts/);
  assert.equal(sink.isRetriable?.(thrown), true);
  assert.equal(fake.calls.length, 3);
  assert.equal(sleeps.length, 2);
});

test('400 mapping errors become failed events with a reason; the rest of the batch is stored, nothing retried', async () => {
  const fake = fakeApi((item) => {
    if (item.id.endsWith('2')) return MAPPING_ERROR;
    if (item.id.endsWith('3')) return { status: 400, error: { type: 'illegal_argument_exception', reason: 'Limit of total fields [1000] has been exceeded' } };
    if (item.id.endsWith('4')) return { status: 409, error: { type: 'version_conflict_engine_exception' } };
    return { status: 200 };
  });
  const sink = await sinkWith(fake);
  const events = [1, 2, 3, 4, 5].map((n) => event(n));
  const out = await sink.write(events);
  assert.equal(fake.calls.length, 1);
  assert.deepEqual(
    out.failed.map((f) => [f.event, f.reason]),
    [
      [events[1], 'mapping_conflict'],
      [events[2], 'invalid_document'],
      [events[3], 'item_rejected'],
    ],
  );
  assert.equal(out.failed[0]?.message, 'mapping_conflict: status 400 document_parsing_exception: failed to parse field [geo_latitude] of type [double]');
});

test('per-item 403/404 (misconfiguration) throw a non-retriable error instead of bad-rowing every event', async () => {
  const fake = fakeApi(() => ({ status: 403, error: { type: 'security_exception', reason: 'action [indices:data/write/bulk[s]] is unauthorized' } }));
  const sink = await sinkWith(fake);
  let thrown: unknown;
  await sink.write([event(1)]).catch((e: unknown) => (thrown = e));
  assert.match(String(thrown), /status 403 security_exception.*check the sink's auth/);
  assert.equal(sink.isRetriable?.(thrown), false);
});

test('request-level failures: connection refused, timeouts, 429/503 are retriable; a 400 request is not', async () => {
  const meta = (statusCode: number) => ({ body: { error: { type: 'x' } }, statusCode, headers: {}, warnings: null, meta: {} as never });
  const fake = fakeApi(() => new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:19200'));
  const sink = await sinkWith(fake);
  let thrown: unknown;
  await sink.write([event(1)]).catch((e: unknown) => (thrown = e));
  assert.ok(thrown instanceof ElasticsearchUnavailableError);
  assert.match((thrown as Error).message, /bulk request failed: connect ECONNREFUSED/);
  assert.equal(sink.isRetriable?.(thrown), true);

  assert.equal(isUnavailableError(new errors.TimeoutError('Request timed out')), true);
  assert.equal(isUnavailableError(new errors.NoLivingConnectionsError('none', meta(0))), true);
  assert.equal(isUnavailableError(new errors.ResponseError(meta(429))), true);
  assert.equal(isUnavailableError(new errors.ResponseError(meta(503))), true);
  assert.equal(isUnavailableError(new errors.ResponseError(meta(400))), false);
  assert.equal(isUnavailableError(new errors.ResponseError(meta(401))), false);
  assert.equal(isUnavailableError(new Error('bug')), false);

  const badRequest = fakeApi(() => new errors.ResponseError(meta(400)));
  const sink2 = await sinkWith(badRequest);
  await assert.rejects(sink2.write([event(1)]), (err: unknown) => err instanceof errors.ResponseError && sink2.isRetriable?.(err) === false);
});

test('events without event_id fail as missing_event_id and are not sent', async () => {
  const fake = fakeApi();
  const sink = await sinkWith(fake);
  const noId = event(2);
  delete noId.event_id;
  const out = await sink.write([event(1), noId, event(3, { event_id: '' })]);
  assert.deepEqual(out.failed.map((f) => f.reason), ['missing_event_id', 'missing_event_id']);
  assert.equal(out.failed[0]?.event, noId);
  assert.deepEqual(fake.calls[0]?.items.map((i) => i.id), [event(1).event_id]);
});

test('dated index: derived_tstamp picks the day, collector_tstamp is the fallback, neither fails the event', async () => {
  const fake = fakeApi();
  const sink = await sinkWith(fake, { index: 'tracking_persisted-{yyyy.MM.dd}' });
  const noTime = event(4);
  delete noTime.derived_tstamp;
  delete noTime.collector_tstamp;
  const out = await sink.write([
    event(1, { derived_tstamp: '2024-04-30T23:59:59.999Z', collector_tstamp: '2024-05-01T00:00:01.000Z' }),
    event(2, { derived_tstamp: undefined, collector_tstamp: '2024-05-02T12:00:00.000Z' }),
    event(3, { derived_tstamp: 'not a time', collector_tstamp: '2024-05-03T12:00:00.000Z' }),
    noTime,
  ]);
  assert.deepEqual(fake.calls[0]?.items.map((i) => i.index), ['tracking_persisted-2024.04.30', 'tracking_persisted-2024.05.02', 'tracking_persisted-2024.05.03']);
  assert.deepEqual(out.failed.map((f) => [f.event, f.reason]), [[noTime, 'missing_index_time']]);

  const byCollector = fakeApi();
  const sink2 = await sinkWith(byCollector, { index: 'ev-{yyyy.MM}', indexTimeField: 'collector_tstamp' });
  await sink2.write([event(1, { derived_tstamp: '2024-04-30T23:59:59.999Z', collector_tstamp: '2024-05-01T00:00:01.000Z' })]);
  assert.equal(byCollector.calls[0]?.items[0]?.index, 'ev-2024.05');
});

test('a batch is split into bulk requests by maxBulkBytes, at most `concurrency` in flight, each event sent once', async () => {
  const fake = fakeApi((item) => (item.id.endsWith('07') ? MAPPING_ERROR : { status: 201 }));
  const sink = await sinkWith(fake, { maxBulkBytes: 1024, concurrency: 2 });
  const events = Array.from({ length: 20 }, (_, n) => event(n, { page_title: 'x'.repeat(300) }));
  const out = await sink.write(events);
  assert.ok(fake.calls.length >= 7, `${fake.calls.length} requests`);
  assert.ok(fake.calls.every((c) => c.items.length <= 2));
  assert.equal(fake.maxInFlight(), 2);
  assert.deepEqual(fake.calls.flatMap((c) => c.items.map((i) => i.id)).sort(), events.map((e) => e.event_id).sort());
  assert.deepEqual(out.failed.map((f) => f.event), [events[7]]);
});

test('batches written at the same time share `concurrency`: the sink never has more bulk requests in flight', async () => {
  const fake = fakeApi();
  const sink = await sinkWith(fake, { maxBulkBytes: 1024, concurrency: 2 });
  const batch = (from: number) => Array.from({ length: 10 }, (_, n) => event(from + n, { page_title: 'x'.repeat(300) }));
  const outs = await Promise.all([sink.write(batch(0)), sink.write(batch(100)), sink.write(batch(200))]);
  assert.equal(fake.maxInFlight(), 2);
  assert.equal(fake.calls.flatMap((c) => c.items).length, 30, 'every event sent once');
  assert.deepEqual(outs.map((o) => o.failed.length), [0, 0, 0]);
});

test('after one bulk request fails, no new request starts and the write throws once the others settled', async () => {
  let started = 0;
  const fake = fakeApi((_item, call) => (call === 0 ? new errors.ConnectionError('socket hang up') : { status: 201 }));
  const bulk = fake.api.bulk.bind(fake.api);
  fake.api.bulk = (lines, opts) => {
    started++;
    return bulk(lines, opts);
  };
  const sink = await sinkWith(fake, { maxBulkBytes: 1024, concurrency: 2 });
  await assert.rejects(sink.write(Array.from({ length: 20 }, (_, n) => event(n, { page_title: 'x'.repeat(300) }))), ElasticsearchUnavailableError);
  assert.ok(started <= 3, `${started} requests started`);
});

test('close closes the client', async () => {
  const fake = fakeApi();
  const sink = await sinkWith(fake);
  await sink.close();
  assert.equal(fake.closed(), true);
});
