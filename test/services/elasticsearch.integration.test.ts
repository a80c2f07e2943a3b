// Needs scripts/services/elasticsearch.sh (Elasticsearch 9, integ-test distribution, at
// TAILPLOW_ELASTICSEARCH_URL). Checks what the storage sink relies on with @elastic/elasticsearch
// 9: index templates with explicit mappings, bulk with _id, and that an _id written twice is one
// document — plus which field types this minimal distribution has at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, errors } from '@elastic/elasticsearch';
import { elasticsearchUrl, uniqueName } from '../support/services';

function connect(): Client {
  return new Client({ node: elasticsearchUrl(), requestTimeout: 30_000, maxRetries: 0 });
}

/** Index names must be lower case. */
const indexName = (prefix: string) => uniqueName(prefix).toLowerCase();

/** Modules the node loaded; the integ-test zip has only a handful. */
async function moduleNames(client: Client): Promise<Set<string>> {
  const info = await client.nodes.info({ metric: 'plugins' });
  return new Set(Object.values(info.nodes).flatMap((node) => (node.modules ?? []).map((module) => module.name)));
}

test('the node is up: cluster health green or yellow, version 9', async () => {
  const client = connect();
  try {
    const health = await client.cluster.health({ wait_for_status: 'yellow', timeout: '10s' });
    assert.ok(['green', 'yellow'].includes(health.status), `cluster status ${health.status}`);
    assert.equal(health.number_of_nodes, 1);
    const nodes = await client.nodes.info({ metric: 'process' });
    const versions = Object.values(nodes.nodes).map((node) => node.version);
    assert.equal(versions.length, 1);
    assert.match(versions[0] ?? '', /^9\./);
  } finally {
    await client.close();
  }
});

// Field types an events index might want. `integTest` = accepted by the integ-test distribution
// (server + x-pack core/security only); everything else lives in modules that zip lacks
// (mapper-extras, x-pack-wildcard, x-pack-constant-keyword, x-pack-unsigned-long, x-pack-spatial…).
const FIELD_TYPES: ReadonlyArray<{ type: string; extra?: Record<string, unknown>; integTest: boolean }> = [
  { type: 'keyword', integTest: true },
  { type: 'text', integTest: true },
  { type: 'date', integTest: true },
  { type: 'date_nanos', integTest: true },
  { type: 'ip', integTest: true },
  { type: 'geo_point', integTest: true },
  { type: 'flattened', integTest: true },
  { type: 'long', integTest: true },
  { type: 'boolean', integTest: true },
  { type: 'object', integTest: true },
  { type: 'nested', integTest: true },
  { type: 'dense_vector', extra: { dims: 3 }, integTest: true },
  { type: 'geo_shape', integTest: false },
  { type: 'wildcard', integTest: false },
  { type: 'constant_keyword', integTest: false },
  { type: 'match_only_text', integTest: false },
  { type: 'scaled_float', extra: { scaling_factor: 100 }, integTest: false },
  { type: 'unsigned_long', integTest: false },
  { type: 'version', integTest: false },
  { type: 'search_as_you_type', integTest: false },
];

test('field type matrix: which mapping types this distribution accepts', async (t) => {
  const client = connect();
  const prefix = indexName('tailplow-types');
  try {
    // A full distribution has mapper-extras; then everything in the list must work.
    const minimal = !(await moduleNames(client)).has('mapper-extras');
    const results: Array<{ type: string; accepted: boolean; reason?: string }> = [];
    for (const field of FIELD_TYPES) {
      try {
        await client.indices.create({
          index: `${prefix}-${field.type.replace(/_/g, '-')}`,
          mappings: { properties: { f: { type: field.type, ...field.extra } as never } },
        });
        results.push({ type: field.type, accepted: true });
      } catch (error) {
        if (!(error instanceof errors.ResponseError)) throw error;
        results.push({ type: field.type, accepted: false, reason: String(error.body?.error?.reason ?? error.message).slice(0, 90) });
      }
    }
    t.diagnostic(results.map((r) => `${r.accepted ? 'yes' : 'NO '} ${r.type}${r.reason ? ` (${r.reason})` : ''}`).join('\n'));
    assert.deepEqual(
      results.map((r) => [r.type, r.accepted]),
      FIELD_TYPES.map((f) => [f.type, minimal ? f.integTest : true]),
    );
  } finally {
    await client.indices.delete({ index: `${prefix}-*`, allow_no_indices: true });
    await client.close();
  }
});

test('index template with explicit mappings, bulk with _id, read back by id and by typed queries', async () => {
  const client = connect();
  const template = indexName('tailplow-tpl');
  const index = `${template}-2024.05`;
  try {
    await client.indices.putIndexTemplate({
      name: template,
      index_patterns: [`${template}-*`],
      template: {
        settings: { number_of_shards: 1, number_of_replicas: 0 },
        mappings: {
          dynamic: 'strict',
          properties: {
            event_id: { type: 'keyword' },
            collector_tstamp: { type: 'date' },
            user_ipaddress: { type: 'ip' },
            geo_location: { type: 'geo_point' },
            contexts: { type: 'flattened' },
            page_url: { type: 'keyword', ignore_above: 4096 },
          },
        },
      },
    });
    const events = [
      {
        event_id: 'c6ef3124-b53a-4b13-a233-0088f79dcbcb',
        collector_tstamp: '2024-05-01T10:00:00.123Z',
        user_ipaddress: '203.0.113.7',
        geo_location: { lat: 52.52, lon: 13.405 },
        contexts: { 'com.acme.product': { sku: 'A-1', price: '9.99' } },
        page_url: 'https://shop.example/a',
      },
      {
        event_id: '5f7b2b2e-0a4e-4d7e-9a0a-7d1a7c3b9f10',
        collector_tstamp: '2024-05-02T23:59:59.999Z',
        user_ipaddress: '2001:db8::1',
        geo_location: { lat: 48.137, lon: 11.575 },
        contexts: { 'com.acme.product': { sku: 'B-2', price: '19.99' } },
        page_url: 'https://shop.example/b',
      },
    ];
    const bulk = await client.bulk({
      refresh: 'wait_for',
      operations: events.flatMap((event) => [{ index: { _index: index, _id: event.event_id } }, event]),
    });
    assert.equal(bulk.errors, false, JSON.stringify(bulk.items));
    assert.deepEqual(bulk.items.map((item) => [item.index?._id, item.index?.status]), events.map((event) => [event.event_id, 201]));

    const mapping = await client.indices.getMapping({ index });
    const properties = mapping[index]?.mappings.properties ?? {};
    assert.deepEqual(
      Object.fromEntries(Object.entries(properties).map(([name, field]) => [name, field.type])),
      { event_id: 'keyword', collector_tstamp: 'date', user_ipaddress: 'ip', geo_location: 'geo_point', contexts: 'flattened', page_url: 'keyword' },
    );

    const got = await client.get({ index, id: events[0]!.event_id });
    assert.equal(got.found, true);
    assert.deepEqual(got._source, events[0]);

    const idsOf = async (query: Record<string, unknown>) =>
      (await client.search({ index, query, sort: [{ collector_tstamp: 'asc' }] })).hits.hits.map((hit) => hit._id);
    assert.deepEqual(await idsOf({ range: { collector_tstamp: { gte: '2024-05-02T00:00:00Z' } } }), [events[1]!.event_id]);
    assert.deepEqual(await idsOf({ term: { user_ipaddress: '203.0.113.0/24' } }), [events[0]!.event_id]);
    assert.deepEqual(await idsOf({ term: { user_ipaddress: '2001:db8::/32' } }), [events[1]!.event_id]);
    assert.deepEqual(
      await idsOf({ geo_distance: { distance: '50km', geo_location: { lat: 52.5, lon: 13.4 } } }),
      [events[0]!.event_id],
    );
    assert.deepEqual(await idsOf({ term: { 'contexts.com.acme.product.sku': 'B-2' } }), [events[1]!.event_id]);

    // dynamic: strict — a field the template does not know is a per-item error, not a silent add.
    const rejected = await client.bulk({ operations: [{ index: { _index: index, _id: 'x' } }, { event_id: 'x', surprise: 1 }] });
    assert.equal(rejected.errors, true);
    assert.equal(rejected.items[0]?.index?.error?.type, 'strict_dynamic_mapping_exception');
  } finally {
    await client.indices.delete({ index: `${template}-*`, allow_no_indices: true });
    await client.indices.deleteIndexTemplate({ name: template }).catch(() => undefined);
    await client.close();
  }
});

test('indexing the same _id twice keeps one document (last write wins); op_type create refuses the second', async () => {
  const client = connect();
  const index = indexName('tailplow-dedup');
  try {
    await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: { properties: { event_id: { type: 'keyword' }, n: { type: 'long' } } } });
    const write = (n: number) =>
      client.bulk({ refresh: 'wait_for', operations: [{ index: { _index: index, _id: 'event-1' } }, { event_id: 'event-1', n }] });
    const first = await write(1);
    const second = await write(2);
    assert.deepEqual([first.items[0]?.index?.result, first.items[0]?.index?._version], ['created', 1]);
    assert.deepEqual([second.items[0]?.index?.result, second.items[0]?.index?._version], ['updated', 2]);
    assert.equal((await client.count({ index })).count, 1);
    assert.deepEqual((await client.get({ index, id: 'event-1' }))._source, { event_id: 'event-1', n: 2 });

    // `create` keeps the first copy instead: the replay is reported as a 409 per item.
    const replay = await client.bulk({ refresh: 'wait_for', operations: [{ create: { _index: index, _id: 'event-1' } }, { event_id: 'event-1', n: 3 }] });
    assert.equal(replay.items[0]?.create?.status, 409);
    assert.equal(replay.items[0]?.create?.error?.type, 'version_conflict_engine_exception');
    assert.equal((await client.count({ index })).count, 1);
    assert.deepEqual((await client.get({ index, id: 'event-1' }))._source, { event_id: 'event-1', n: 2 });
  } finally {
    await client.indices.delete({ index, ignore_unavailable: true });
    await client.close();
  }
});
