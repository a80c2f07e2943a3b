// Needs scripts/services/elasticsearch.sh (Elasticsearch 9 at TAILPLOW_ELASTICSEARCH_URL). The
// `elasticsearch` sink against a real node: the index template it installs, the real tracker
// capture indexed with _id = event_id (twice: still one document per event), a document that
// violates the mapping as a failed event while the rest of the batch is stored, a dated index,
// and a stopped node (a private instance) as a retriable error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { createLineParser } from '../../src/nginx/index';
import { createElasticsearchSink, ElasticsearchUnavailableError, elasticsearchSinkSchema } from '../../src/sinks/elasticsearch';
import type { Sink } from '../../src/sinks/sink';
import { decodeLine } from '../../src/snowplow/decode';
import type { SnowplowEvent } from '../../src/snowplow/event';
import { eventDocument } from '../../src/storage/elasticsearch-template';
import { silentLogger } from '../../src/util/logger';
import { elasticsearchUrl, runServiceScript, uniqueName } from '../support/services';

const REPO = resolve(__dirname, '../../..');

/** The real tracker capture, decoded as `tailplow parse` does (58 events, 57 distinct event ids). */
function fixtureEvents(): SnowplowEvent[] {
  const parser = createLineParser('json');
  return readFileSync(join(REPO, 'test/fixtures/tracker/tailplow-json.log'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .flatMap((line) => decodeLine(line, parser, { now: () => Date.parse('2030-01-01T00:00:00Z'), source: 'tailplow-json.log' }).events);
}

const admin = () => new Client({ node: elasticsearchUrl(), requestTimeout: 30_000, maxRetries: 0 });

async function openSink(index: string, extra: Record<string, unknown> = {}, node = elasticsearchUrl()): Promise<Sink> {
  const config = elasticsearchSinkSchema.parse({ type: 'elasticsearch', nodes: [node], index, template: { shards: 1, replicas: 0 }, ...extra });
  return createElasticsearchSink(config, { logger: silentLogger, dataDir: '/nonexistent' });
}

async function dropAll(client: Client, base: string): Promise<void> {
  await client.indices.delete({ index: `${base}*`, allow_no_indices: true, ignore_unavailable: true });
  await client.indices.deleteIndexTemplate({ name: `tailplow-${base}` }).catch(() => undefined);
}

test('template installed at startup; the tracker capture indexed with _id = event_id; a second delivery keeps one document per event', async () => {
  const client = admin();
  const index = uniqueName('tailplow-es-sink').toLowerCase();
  const sink = await openSink(index, { refresh: true });
  try {
    const templates = await client.indices.getIndexTemplate({ name: `tailplow-${index}` });
    const template = templates.index_templates[0]?.index_template;
    assert.deepEqual(template?.index_patterns, [index]);
    assert.equal(template?.template?.mappings?.properties?.event_id?.type, 'keyword');

    const events = fixtureEvents();
    const ids = new Set(events.map((e) => e.event_id));
    assert.equal(events.length, 58);
    assert.equal(ids.size, 57, 'the capture holds one tracker retry (same eid twice)');

    assert.deepEqual((await sink.write(events)).failed, []);
    assert.equal((await client.count({ index })).count, 57);

    // The index got the template's mappings, not dynamic ones.
    const mapping = (await client.indices.getMapping({ index }))[index]?.mappings;
    const typeOf = (name: string) => (mapping?.properties?.[name] as { type?: string } | undefined)?.type;
    assert.equal(mapping?.dynamic, 'false');
    assert.deepEqual(
      ['event_id', 'collector_tstamp', 'derived_tstamp', 'user_ipaddress', 'user_ip', 'geo_location', 'contexts', 'unstruct_event', 'dvce_screenwidth', 'br_cookies'].map(typeOf),
      ['keyword', 'date', 'date', 'keyword', 'ip', 'geo_point', 'flattened', 'flattened', 'long', 'boolean'],
    );

    // A stored document is the event's JSON form plus the derived user_ip.
    const last = events.findLast((e) => e.event_id === events[10]?.event_id) as SnowplowEvent;
    const stored = await client.get({ index, id: last.event_id as string });
    assert.deepEqual(stored._source, JSON.parse(JSON.stringify(eventDocument(last))));

    // Redelivery (a replay, a crash before the Kafka commit): overwritten, not duplicated.
    assert.deepEqual((await sink.write(events)).failed, []);
    assert.equal((await client.count({ index })).count, 57);
    const perId = await client.search({ index, size: 0, aggs: { ids: { terms: { field: 'event_id', size: 100, min_doc_count: 2 } } } });
    assert.deepEqual((perId.aggregations?.ids as { buckets: unknown[] }).buckets, []);
    assert.equal((await client.get({ index, id: last.event_id as string }))._version, 2);

    // The typed fields answer typed queries: CIDR on user_ip, terms on flattened contexts.
    const cidr = await client.count({ index, query: { term: { user_ip: '203.0.113.0/24' } } });
    assert.equal(cidr.count, new Set(events.filter((e) => e.user_ipaddress?.startsWith('203.0.113.')).map((e) => e.event_id)).size);
    assert.ok(cidr.count > 0);
    const withContexts = new Set(events.filter((e) => e.contexts?.some((c) => c.schema.includes('/web_page/'))).map((e) => e.event_id)).size;
    assert.ok(withContexts > 0);
    assert.equal((await client.count({ index, query: { prefix: { 'contexts.schema': 'iglu:com.snowplowanalytics.snowplow/web_page/' } } })).count, withContexts);
  } finally {
    await sink.close();
    await dropAll(client, index);
    await client.close();
  }
});

test('a document that violates the mapping is a failed event (mapping_conflict); the rest of the batch is stored', async () => {
  const client = admin();
  const index = uniqueName('tailplow-es-bad').toLowerCase();
  const sink = await openSink(index, { refresh: true });
  try {
    const events = fixtureEvents().slice(0, 5);
    // A stage bug or a hand-made replay: a latitude that is no number, a timestamp that is no date.
    const badLatitude = { ...events[1], geo_latitude: 'north' } as unknown as SnowplowEvent;
    const badTime = { ...events[3], collector_tstamp: 'yesterday' } as SnowplowEvent;
    const batch = [events[0], badLatitude, events[2], badTime, events[4]] as SnowplowEvent[];
    const out = await sink.write(batch);
    assert.deepEqual(out.failed.map((f) => [f.event, f.reason]), [[badLatitude, 'mapping_conflict'], [badTime, 'mapping_conflict']]);
    assert.match(out.failed[0]?.message ?? '', /^mapping_conflict: status 400 document_parsing_exception: .*geo_latitude/);
    assert.match(out.failed[1]?.message ?? '', /collector_tstamp/);
    const stored = await client.search({ index, size: 10, _source: false });
    assert.deepEqual(stored.hits.hits.map((h) => h._id).sort(), [events[0], events[2], events[4]].map((e) => e?.event_id).sort());
  } finally {
    await sink.close();
    await dropAll(client, index);
    await client.close();
  }
});

test('anonymised addresses stay in user_ipaddress (keyword) without user_ip; unknownFields: reject refuses a stray field', async () => {
  const client = admin();
  const index = uniqueName('tailplow-es-ip').toLowerCase();
  const sink = await openSink(index, { refresh: true, template: { shards: 1, replicas: 0, unknownFields: 'reject' } });
  try {
    const [a, b] = fixtureEvents();
    const anonymised = { ...a, user_ipaddress: '203.0.x.x' } as SnowplowEvent;
    const stray = { ...b, profile_visits: 3 } as SnowplowEvent;
    const out = await sink.write([anonymised, stray]);
    assert.deepEqual(out.failed.map((f) => [f.event, f.reason]), [[stray, 'mapping_conflict']]);
    assert.match(out.failed[0]?.message ?? '', /strict_dynamic_mapping_exception/);
    const doc = (await client.get<Record<string, unknown>>({ index, id: anonymised.event_id as string }))._source;
    assert.equal(doc?.user_ipaddress, '203.0.x.x');
    assert.equal(doc && 'user_ip' in doc, false);
    assert.equal((await client.count({ index, query: { term: { user_ipaddress: '203.0.x.x' } } })).count, 1);
  } finally {
    await sink.close();
    await dropAll(client, index);
    await client.close();
  }
});

test('date-pattern index: one index per UTC day of derived_tstamp, each created from the template', async () => {
  const client = admin();
  const base = uniqueName('tailplow-es-daily').toLowerCase();
  const sink = await openSink(`${base}-{yyyy.MM.dd}`);
  try {
    const [a, b, c] = fixtureEvents();
    const batch = [
      { ...a, derived_tstamp: '2024-05-01T23:59:59.999Z' },
      { ...b, derived_tstamp: '2024-05-02T00:00:00.000Z' },
      { ...c, derived_tstamp: undefined, collector_tstamp: '2024-05-02T08:00:00.000Z' },
    ] as SnowplowEvent[];
    assert.deepEqual((await sink.write(batch)).failed, []);
    // refresh is off by default: make the writes visible for the count.
    await client.indices.refresh({ index: `${base}-*` });
    const indices = await client.cat.indices({ index: `${base}-*`, format: 'json', h: ['index', 'docs.count'] });
    assert.deepEqual(
      indices.map((i) => [i.index, i['docs.count']]).sort(),
      [
        [`${base}-2024.05.01`, '1'],
        [`${base}-2024.05.02`, '2'],
      ],
    );
    const mapping = await client.indices.getMapping({ index: `${base}-2024.05.02` });
    assert.equal((mapping[`${base}-2024.05.02`]?.mappings.properties?.geo_location as { type?: string } | undefined)?.type, 'geo_point');
  } finally {
    await sink.close();
    await dropAll(client, base);
    await client.close();
  }
});

test('node stopped: write throws a retriable error; started again, the same write succeeds', { timeout: 240_000 }, async (t) => {
  // A private node, so stopping it never disturbs the shared one. Its run dir is kept between
  // runs (the unpacked distribution), only its data is wiped at the end.
  const runDir = '/tmp/tailplow-es-outage';
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const env = { TAILPLOW_RUN_DIR: runDir, TAILPLOW_ELASTICSEARCH_PORT: '19211', TAILPLOW_ELASTICSEARCH_TRANSPORT_PORT: '19311' };
  const node = 'http://127.0.0.1:19211';
  await runServiceScript('elasticsearch', 'start', env);
  let sink: Sink | undefined;
  try {
    sink = await openSink('tailplow-outage', { requestTimeoutMs: 5_000 }, node);
    const events = fixtureEvents().slice(0, 10);
    assert.deepEqual((await sink.write(events)).failed, []);

    await runServiceScript('elasticsearch', 'stop', env);
    const started = Date.now();
    let thrown: unknown;
    await sink.write(events).catch((e: unknown) => (thrown = e));
    t.diagnostic(`write against the stopped node failed after ${Date.now() - started} ms: ${String(thrown)}`);
    assert.ok(thrown instanceof ElasticsearchUnavailableError, String(thrown));
    assert.equal(sink.isRetriable?.(thrown), true);

    await runServiceScript('elasticsearch', 'start', env);
    assert.deepEqual((await sink.write(events)).failed, []);
    const client = new Client({ node, maxRetries: 0 });
    await client.indices.refresh({ index: 'tailplow-outage' });
    assert.equal((await client.count({ index: 'tailplow-outage' })).count, 10);
    await client.close();
  } finally {
    await sink?.close();
    await runServiceScript('elasticsearch', 'wipe', env);
  }
});
