import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AccessRecord } from '../nginx/record';
import { decodeRecord } from './decode';
import type { SnowplowEvent } from './event';
import { ENRICHED_FIELDS } from './fields';
import { eventToJson, eventToTsv } from './format';

const T0 = 1714561200123;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTEXTS_CRITERION = /^iglu:com\.snowplowanalytics\.snowplow\/contexts\/jsonschema\/1-\d+-\d+$/;
const UNSTRUCT_CRITERION = /^iglu:com\.snowplowanalytics\.snowplow\/unstruct_event\/jsonschema\/1-\d+-\d+$/;

/**
 * Reads a TSV row back the way Snowplow's analytics SDKs do (Scala SDK ValueDecoder rules):
 * exactly 131 tab-separated fields; '' is absent; ints, doubles, 1/0 booleans, "YYYY-MM-DD HH:MM:SS.mmm"
 * timestamps (reformatted to ISO by replacing ' ' with 'T' and appending 'Z'); event_id a UUID;
 * contexts/unstruct_event self-describing wrappers with the expected schemas. Throws on anything else.
 */
function readLikeAnalyticsSdk(row: string): Record<string, unknown> {
  const cells = row.split('\t');
  if (cells.length !== 131) throw new Error(`expected 131 fields, got ${cells.length}`);
  const out: Record<string, unknown> = {};
  ENRICHED_FIELDS.forEach((f, i) => {
    const v = cells[i] as string;
    if (v === '') {
      if (f.name === 'collector_tstamp' || f.name === 'event_id' || f.name === 'v_collector' || f.name === 'v_etl') throw new Error(`${f.name} cannot be empty`);
      return;
    }
    switch (f.type) {
      case 'int': {
        if (!/^-?\d+$/.test(v) || Number(v) > 2147483647 || Number(v) < -2147483648) throw new Error(`Cannot parse key ${f.name} into integer: ${v}`);
        out[f.name] = Number(v);
        return;
      }
      case 'float': {
        const n = Number(v);
        if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) || !Number.isFinite(n)) throw new Error(`Cannot parse key ${f.name} into double: ${v}`);
        out[f.name] = n;
        return;
      }
      case 'bool':
        if (v !== '0' && v !== '1') throw new Error(`Cannot parse key ${f.name} into boolean: ${v}`);
        out[f.name] = v === '1';
        return;
      case 'timestamp': {
        if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/.test(v)) throw new Error(`Cannot parse key ${f.name} into datetime: ${v}`);
        const iso = `${v.replace(' ', 'T')}Z`;
        if (Number.isNaN(Date.parse(iso))) throw new Error(`Cannot parse key ${f.name} into datetime: ${v}`);
        out[f.name] = iso;
        return;
      }
      case 'json': {
        const sd = JSON.parse(v) as { schema: string; data: unknown };
        if (f.name === 'unstruct_event') {
          if (!UNSTRUCT_CRITERION.test(sd.schema)) throw new Error(`Unknown payload: ${sd.schema}`);
          out[f.name] = sd.data;
        } else {
          if (!CONTEXTS_CRITERION.test(sd.schema) || !Array.isArray(sd.data)) throw new Error(`Unknown payload: ${sd.schema}`);
          out[f.name] = sd.data;
        }
        return;
      }
      default:
        if (f.name === 'event_id' && !UUID_RE.test(v)) throw new Error(`Cannot parse key event_id into UUID: ${v}`);
        out[f.name] = v;
    }
  });
  return out;
}

function b64(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

const unstruct = {
  schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
  data: { schema: 'iglu:com.acme/checkout/jsonschema/1-0-0', data: { note: 'line1\nline2\ttabbed', total: 12.5 } },
};
const contexts = {
  schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
  data: [{ schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: 'p1' } }],
};

function richEvent(): SnowplowEvent {
  const record: AccessRecord = {
    remoteAddr: '2001:db8::5', timestampMs: T0, method: 'GET', path: '/i', status: 200, userAgent: 'UA\twith tab',
    queryString: new URLSearchParams({
      e: 'ue', eid: 'c6ef3124-b53a-4b13-a233-0088f79dcbcb', aid: 'shop', p: 'web', tv: 'js-3', page: 'Grüße\tüber',
      ue_px: b64(unstruct), cx: b64(contexts), dtm: String(T0 - 1000), stm: String(T0 - 500), ttm: String(T0 - 700),
      res: '1920x1080', cookie: '0', f_pdf: '1', vid: '12', url: 'https://shop.example.com/c?x=1#f', tid: '42', se_va: '3.25',
    }).toString(),
  };
  const out = decodeRecord(record, { line: 'l', offset: 0, now: () => T0 + 60000 });
  assert.deepEqual(out.bad, []);
  return out.events[0] as SnowplowEvent;
}

test('TSV has 131 columns in Snowplow order with Snowplow value forms', () => {
  const ev = richEvent();
  const row = eventToTsv(ev);
  assert.equal(row.includes('\n'), false);
  const cells = row.split('\t');
  assert.equal(cells.length, 131);
  const cell = (name: string): string => cells[ENRICHED_FIELDS.findIndex((f) => f.name === name)] as string;
  assert.equal(cells[0], 'shop');
  assert.equal(cells[1], 'web');
  assert.equal(cell('collector_tstamp'), '2024-05-01 11:00:00.123');
  assert.equal(cell('etl_tstamp'), '2024-05-01 11:01:00.123');
  assert.equal(cell('true_tstamp'), '2024-05-01 10:59:59.423');
  assert.equal(cell('derived_tstamp'), '2024-05-01 10:59:59.423');
  assert.equal(cell('event'), 'unstruct');
  assert.equal(cell('txn_id'), '42');
  assert.equal(cell('br_cookies'), '0');
  assert.equal(cell('br_features_pdf'), '1');
  assert.equal(cell('br_features_flash'), '');
  assert.equal(cell('page_title'), 'Grüße    über');
  assert.equal(cell('useragent'), 'UA    with tab');
  assert.equal(cell('user_ipaddress'), '2001:db8::5');
  assert.equal(cell('page_urlport'), '443');
  assert.equal(cell('unstruct_event'), JSON.stringify(unstruct));
  assert.equal(cell('contexts'), JSON.stringify(contexts));
  assert.equal(cell('derived_contexts'), '');
  assert.equal(cell('event_vendor'), 'com.acme');
});

test('TSV reads back like the analytics SDK reads it, with the same values as the JSON form', () => {
  const ev = richEvent();
  const back = readLikeAnalyticsSdk(eventToTsv(ev));
  const json = JSON.parse(eventToJson(ev)) as Record<string, unknown>;
  assert.deepEqual(back, json);
});

test('values set by later stages are still written safely: tabs/newlines, derived_contexts, numbers', () => {
  const ev: SnowplowEvent = {
    ...richEvent(),
    geo_city: 'New\nYork\tCity',
    geo_latitude: 40.7128,
    derived_contexts: [{ schema: 'iglu:com.acme/geo/jsonschema/1-0-0', data: { x: 'a\tb' } }],
    dvce_ismobile: true,
  };
  const row = eventToTsv(ev);
  assert.equal(row.split('\t').length, 131);
  const back = readLikeAnalyticsSdk(row);
  assert.equal(back.geo_city, 'NewYork    City');
  assert.equal(back.geo_latitude, 40.7128);
  assert.equal(back.dvce_ismobile, true);
  assert.deepEqual(back.derived_contexts, ev.derived_contexts);
  const derived = row.split('\t')[ENRICHED_FIELDS.findIndex((f) => f.name === 'derived_contexts')] as string;
  assert.equal((JSON.parse(derived) as { schema: string }).schema, 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1');
});

test('JSON form: canonical names, only fields with values, ISO timestamps, contexts and unstruct_event as objects', () => {
  const ev = richEvent();
  const json = JSON.parse(eventToJson(ev)) as Record<string, unknown>;
  assert.equal(json.collector_tstamp, '2024-05-01T11:00:00.123Z');
  assert.deepEqual(json.contexts, contexts.data);
  assert.deepEqual(json.unstruct_event, unstruct.data);
  assert.equal(json.br_cookies, false);
  assert.equal('geo_city' in json, false);
  for (const key of Object.keys(json)) assert.ok(ENRICHED_FIELDS.some((f) => f.name === key), `${key} is a canonical field`);
  const withNull = JSON.parse(eventToJson({ ...ev, geo_city: null } as unknown as SnowplowEvent)) as Record<string, unknown>;
  assert.equal('geo_city' in withNull, false);
});

test('property: any decoded event writes a TSV row the analytics-SDK reader accepts', () => {
  const arbParams = fc.record(
    {
      e: fc.constantFrom('pv', 'pp', 'se', 'tr', 'ti'),
      aid: fc.string({ unit: 'binary' }),
      page: fc.string({ unit: 'binary' }),
      se_la: fc.string({ unit: 'binary' }),
      tr_tt: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      vid: fc.integer({ min: -2147483648, max: 2147483647 }).map(String),
      url: fc.webUrl(),
      refr: fc.oneof(fc.webUrl(), fc.string()),
      dtm: fc.integer({ min: 0, max: 253402300799999 }).map(String),
      stm: fc.integer({ min: 0, max: 253402300799999 }).map(String),
    },
    { requiredKeys: ['e'] },
  );
  fc.assert(
    fc.property(arbParams, (params) => {
      const out = decodeRecord(
        { timestampMs: T0, method: 'GET', path: '/i', queryString: new URLSearchParams(params).toString() },
        { line: JSON.stringify(params), offset: 1, now: () => T0 },
      );
      for (const ev of out.events) {
        const back = readLikeAnalyticsSdk(eventToTsv(ev));
        const json = JSON.parse(eventToJson(ev)) as Record<string, unknown>;
        assert.deepEqual(back, json);
      }
      return true;
    }),
    { numRuns: 500 },
  );
});
