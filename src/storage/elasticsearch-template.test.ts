import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENRICHED_FIELDS } from '../snowplow/fields';
import type { SnowplowEvent } from '../snowplow/event';
import { buildIndexTemplate, compileIndexName, eventDocument, eventMappings, indexNameProblem, KEYWORD_IGNORE_ABOVE } from './elasticsearch-template';

// Types the Elasticsearch 9 integ-test distribution accepts (scripts/services/README.md) plus
// `double`, a core numeric type of every distribution.
const AVAILABLE_TYPES = new Set(['keyword', 'text', 'date', 'date_nanos', 'ip', 'geo_point', 'flattened', 'long', 'boolean', 'object', 'nested', 'double']);

test('mappings: every canonical column plus geo_location and user_ip, typed by the field list', () => {
  const { properties, dynamic } = eventMappings();
  assert.equal(dynamic, 'false');
  assert.equal(Object.keys(properties).length, 131 + 2);
  for (const field of ENRICHED_FIELDS) assert.ok(properties[field.name], `${field.name} is mapped`);
  const typeOf = (name: string) => properties[name]?.type;
  assert.deepEqual(
    ['event_id', 'domain_userid', 'collector_tstamp', 'derived_tstamp', 'txn_id', 'page_urlport', 'geo_latitude', 'tr_total', 'br_cookies', 'contexts', 'derived_contexts', 'unstruct_event', 'user_ipaddress', 'user_ip', 'geo_location'].map(typeOf),
    ['keyword', 'keyword', 'date', 'date', 'long', 'long', 'double', 'double', 'boolean', 'flattened', 'flattened', 'flattened', 'keyword', 'ip', 'geo_point'],
  );
  assert.equal(properties.page_url?.ignore_above, KEYWORD_IGNORE_ABOVE);
  assert.deepEqual(properties.page_title?.fields, { text: { type: 'text' } });
  for (const [name, mapping] of Object.entries(properties)) assert.ok(AVAILABLE_TYPES.has(String(mapping.type)), `${name}: ${String(mapping.type)}`);
  assert.equal(eventMappings('reject').dynamic, 'strict');
});

test('index template body: patterns, priority, optional shard settings', () => {
  const body = buildIndexTemplate({ indexPatterns: ['tracking_persisted-*'], priority: 200, shards: 1, replicas: 0 });
  assert.deepEqual(body.index_patterns, ['tracking_persisted-*']);
  assert.equal(body.priority, 200);
  assert.deepEqual(body.template.settings, { number_of_shards: 1, number_of_replicas: 0 });
  assert.deepEqual(buildIndexTemplate({ indexPatterns: ['x'], priority: 1 }).template.settings, {});
  assert.equal(body.template.mappings.properties.event_id?.type, 'keyword');
});

test('document: valid IPv4/IPv6 get user_ip, anonymised or garbage addresses do not', () => {
  const base: SnowplowEvent = { event_id: 'e1', collector_tstamp: '2024-05-01T10:00:00.000Z' };
  assert.equal(eventDocument({ ...base, user_ipaddress: '203.0.113.7' }).user_ip, '203.0.113.7');
  assert.equal(eventDocument({ ...base, user_ipaddress: '2001:db8::1' }).user_ip, '2001:db8::1');
  for (const ip of ['1.2.x.x', '203.0.113', '', 'unknown']) {
    const doc = eventDocument({ ...base, user_ipaddress: ip });
    assert.equal('user_ip' in doc, false, ip);
    assert.equal(doc.user_ipaddress, ip);
  }
});

test('document: geo_location from latitude/longitude only when both are present and in range', () => {
  const base: SnowplowEvent = { event_id: 'e1' };
  assert.deepEqual(eventDocument({ ...base, geo_latitude: 52.52, geo_longitude: 13.405 }).geo_location, { lat: 52.52, lon: 13.405 });
  assert.deepEqual(eventDocument({ ...base, geo_latitude: -90, geo_longitude: 180 }).geo_location, { lat: -90, lon: 180 });
  assert.equal('geo_location' in eventDocument({ ...base, geo_latitude: 52.52 }), false);
  assert.equal('geo_location' in eventDocument({ ...base, geo_latitude: 91, geo_longitude: 0 }), false);
  assert.equal('geo_location' in eventDocument({ ...base, geo_latitude: Number.NaN, geo_longitude: 0 }), false);
});

test('document: the event itself is not changed and keeps its canonical JSON form', () => {
  const event: SnowplowEvent = {
    event_id: 'e1',
    user_ipaddress: '10.0.0.1',
    contexts: [{ schema: 'iglu:com.acme/product/jsonschema/1-0-0', data: { sku: 'A-1' } }],
  };
  const before = JSON.stringify(event);
  const doc = eventDocument(event);
  assert.equal(JSON.stringify(event), before);
  assert.deepEqual(doc.contexts, event.contexts);
  assert.deepEqual(Object.keys(doc), ['event_id', 'user_ipaddress', 'contexts', 'user_ip']);
});

test('index names: a fixed name, and UTC date patterns', () => {
  const fixed = compileIndexName('tracking_persisted');
  assert.equal(fixed.dated, false);
  assert.equal(fixed.templatePattern, 'tracking_persisted');
  assert.equal(fixed.at(Date.parse('2024-05-01T10:00:00Z')), 'tracking_persisted');

  const daily = compileIndexName('tracking_persisted-{yyyy.MM.dd}');
  assert.equal(daily.dated, true);
  assert.equal(daily.templatePattern, 'tracking_persisted-*');
  assert.equal(daily.at(Date.parse('2024-05-01T23:59:59.999Z')), 'tracking_persisted-2024.05.01');
  assert.equal(daily.at(Date.parse('2024-05-02T00:00:00.000Z')), 'tracking_persisted-2024.05.02');
  assert.equal(compileIndexName('ev-{yyyy}-{MM}_{HH}').at(Date.parse('2030-12-31T07:00:00Z')), 'ev-2030-12_07');
});

test('index names: invalid names are refused with a reason', () => {
  assert.equal(indexNameProblem('tracking_persisted-{yyyy.MM.dd}'), undefined);
  assert.match(indexNameProblem('Tracking') ?? '', /lower case/);
  assert.match(indexNameProblem('t-{yy.mm}') ?? '', /yyyy, MM, dd, HH/);
  assert.match(indexNameProblem('t-{yyyy') ?? '', /unbalanced/);
  assert.match(indexNameProblem('-t') ?? '', /must not start/);
  assert.match(indexNameProblem('a b') ?? '', /lower case without/);
  assert.match(indexNameProblem('') ?? '', /empty/);
  assert.throws(() => compileIndexName('a*'), /lower case without/);
});
