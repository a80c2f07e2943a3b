import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENRICHED_FIELD_COUNT, ENRICHED_FIELD_NAMES, ENRICHED_FIELDS, FIELD_MAX_LENGTHS, FIELD_TYPES } from './fields';

test('there are exactly 131 distinct enriched-event columns', () => {
  assert.equal(ENRICHED_FIELDS.length, 131);
  assert.equal(ENRICHED_FIELD_COUNT, 131);
  assert.equal(new Set(ENRICHED_FIELD_NAMES).size, 131);
});

test('columns sit at the positions Snowplow writes them (analytics SDK indices)', () => {
  const at: Record<number, string> = {
    0: 'app_id', 1: 'platform', 2: 'etl_tstamp', 3: 'collector_tstamp', 4: 'dvce_created_tstamp', 5: 'event',
    6: 'event_id', 7: 'txn_id', 16: 'domain_sessionidx', 17: 'network_userid', 22: 'geo_latitude', 23: 'geo_longitude',
    29: 'page_url', 34: 'page_urlport', 52: 'contexts', 53: 'se_category', 57: 'se_value', 58: 'unstruct_event',
    72: 'ti_quantity', 76: 'pp_yoffset_max', 77: 'useragent', 84: 'br_features_pdf', 94: 'br_colordepth',
    102: 'dvce_ismobile', 119: 'dvce_sent_tstamp', 120: 'refr_domain_userid', 121: 'refr_dvce_tstamp',
    122: 'derived_contexts', 123: 'domain_sessionid', 124: 'derived_tstamp', 125: 'event_vendor', 129: 'event_fingerprint',
    130: 'true_tstamp',
  };
  for (const [index, name] of Object.entries(at)) assert.equal(ENRICHED_FIELD_NAMES[Number(index)], name, `column ${index}`);
});

test('column types follow the Scala analytics SDK Event case class', () => {
  assert.equal(FIELD_TYPES.collector_tstamp, 'timestamp');
  assert.equal(FIELD_TYPES.txn_id, 'int');
  assert.equal(FIELD_TYPES.geo_latitude, 'float');
  assert.equal(FIELD_TYPES.br_cookies, 'bool');
  assert.equal(FIELD_TYPES.br_colordepth, 'string');
  assert.equal(FIELD_TYPES.contexts, 'json');
  assert.equal(FIELD_TYPES.unstruct_event, 'json');
  assert.equal(FIELD_TYPES.derived_contexts, 'json');
  const counts: Record<string, number> = {};
  for (const f of ENRICHED_FIELDS) counts[f.type] = (counts[f.type] ?? 0) + 1;
  assert.deepEqual(counts, { string: 84, timestamp: 7, int: 15, float: 11, bool: 11, json: 3 });
});

test('every length limit names a real string column', () => {
  for (const name of Object.keys(FIELD_MAX_LENGTHS)) assert.equal(FIELD_TYPES[name], 'string', name);
  assert.equal(FIELD_MAX_LENGTHS.page_url, 10000);
  assert.equal(FIELD_MAX_LENGTHS.useragent, 1000);
});
