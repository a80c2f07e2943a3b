import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENRICHED_FIELD_NAMES } from '../snowplow/fields';
import type { SnowplowEvent } from '../snowplow/event';
import { createTableSql, eventColumns, eventRowOf, insertColumns, schemaVariantFor, tsvEscape, tsvRows, versionAtLeast, type SchemaVariant } from './clickhouse-schema';

/** A TabSeparated line read back as ClickHouse reads it: column name -> text, or null for \N. */
function fieldsOf(line: string, variant: SchemaVariant): Record<string, string | null> {
  const columns = insertColumns(variant);
  const values = line.split('\t');
  assert.equal(values.length, columns.length, 'one field per insert column');
  const unescape = (text: string) => text.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? `\\${c}`);
  return Object.fromEntries(columns.map((name, i) => [name, values[i] === '\\N' ? null : unescape(values[i]!)]));
}

function rowOf(event: SnowplowEvent, variant: SchemaVariant): Record<string, string | null> {
  const outcome = eventRowOf(event, variant);
  assert.ok(outcome.ok, JSON.stringify(outcome));
  return fieldsOf(outcome.line, variant);
}

const EVENT: SnowplowEvent = {
  app_id: 'web',
  event: 'page_view',
  event_id: 'beefd024-267e-4d88-958f-58df8a45dd55',
  collector_tstamp: '2026-11-27T21:09:52.353Z',
  derived_tstamp: '2026-11-27T21:09:52.329Z',
  dvce_created_tstamp: '1999-12-31T23:59:59.007Z',
  domain_sessionidx: 3,
  geo_latitude: 52.52,
  br_cookies: true,
  dvce_ismobile: false,
  contexts: [{ schema: 'iglu:com.acme/product/jsonschema/1-0-0', data: { sku: 'A-1' } }],
  unstruct_event: { schema: 'iglu:com.acme/click/jsonschema/1-0-0', data: { x: 1 } },
};

test('the server version picks the layout: modern from 22.3, legacy before (18.16, 21.8, garbage)', () => {
  assert.equal(schemaVariantFor('18.16.1'), 'legacy');
  assert.equal(schemaVariantFor('21.8.15.7'), 'legacy');
  assert.equal(schemaVariantFor('22.2.3.5'), 'legacy');
  assert.equal(schemaVariantFor('22.3.1.1'), 'modern');
  assert.equal(schemaVariantFor('26.7.2.1'), 'modern');
  assert.equal(schemaVariantFor(''), 'legacy');
  assert.equal(versionAtLeast('21.11.1', [21, 11]), true);
  assert.equal(versionAtLeast('21.10.9', [21, 11]), false);
});

test('both layouts have the same column names: the 131 canonical ones in TSV order, then one _ms per timestamp', () => {
  const legacy = eventColumns('legacy');
  const modern = eventColumns('modern');
  const msColumns = ['etl_tstamp_ms', 'collector_tstamp_ms', 'dvce_created_tstamp_ms', 'dvce_sent_tstamp_ms', 'refr_dvce_tstamp_ms', 'derived_tstamp_ms', 'true_tstamp_ms'];
  assert.deepEqual(legacy.map((c) => c.name), [...ENRICHED_FIELD_NAMES, ...msColumns]);
  assert.deepEqual(modern.map((c) => c.name), [...ENRICHED_FIELD_NAMES, ...msColumns, 'context_schemas']);
  const typeOf = (columns: typeof legacy, name: string) => columns.find((c) => c.name === name)?.type;
  assert.equal(typeOf(legacy, 'derived_tstamp'), "DateTime('UTC')");
  assert.equal(typeOf(modern, 'derived_tstamp'), "DateTime64(3, 'UTC')");
  assert.equal(typeOf(legacy, 'dvce_created_tstamp'), "Nullable(DateTime('UTC'))");
  assert.equal(typeOf(legacy, 'dvce_created_tstamp_ms'), 'Nullable(UInt16)');
  assert.equal(typeOf(modern, 'app_id'), 'LowCardinality(String)');
  assert.equal(typeOf(modern, 'br_name'), 'LowCardinality(Nullable(String))');
  assert.equal(typeOf(legacy, 'br_name'), 'Nullable(String)');
  assert.equal(typeOf(modern, 'br_cookies'), 'Nullable(Bool)');
  assert.equal(typeOf(legacy, 'br_cookies'), 'Nullable(UInt8)');
  assert.equal(typeOf(modern, 'contexts'), 'Nullable(String)');
  assert.equal(typeOf(legacy, 'event_id'), 'String');
  // Computed columns exist only where the engine computes them; legacy _ms columns are stored.
  assert.match(modern.find((c) => c.name === 'derived_tstamp_ms')?.computed ?? '', /^ALIAS /);
  assert.equal(legacy.some((c) => c.computed), false);
});

test('DDL: ReplacingMergeTree, monthly partitions of derived_tstamp, sorting key ending in event_id', () => {
  const sql = createTableSql('db.events', 'legacy');
  assert.match(sql, /^CREATE TABLE IF NOT EXISTS db\.events \(/);
  assert.match(sql, /\) ENGINE = ReplacingMergeTree\nPARTITION BY toYYYYMM\(derived_tstamp\)\nORDER BY \(app_id, event, toDate\(derived_tstamp\), event_id\)$/);
  assert.doesNotMatch(sql, /LowCardinality|DateTime64|Bool/);
  assert.match(createTableSql('events', 'modern'), /context_schemas Array\(LowCardinality\(String\)\) MATERIALIZED/);
});

test('rows: modern keeps milliseconds in the timestamp, legacy splits seconds and _ms; flags, JSON text, absent fields NULL', () => {
  const modern = rowOf(EVENT, 'modern');
  const legacy = rowOf(EVENT, 'legacy');
  assert.equal(modern.derived_tstamp, '2026-11-27 21:09:52.329');
  assert.equal('derived_tstamp_ms' in modern, false, 'an ALIAS on modern: not sent');
  assert.equal(legacy.derived_tstamp, '2026-11-27 21:09:52');
  assert.equal(legacy.derived_tstamp_ms, '329');
  assert.equal(legacy.dvce_created_tstamp_ms, '7');
  assert.equal(legacy.etl_tstamp_ms, null);
  assert.equal(modern.br_cookies, 'true');
  assert.equal(modern.dvce_ismobile, 'false');
  assert.equal(legacy.br_cookies, '1');
  assert.equal(legacy.dvce_ismobile, '0');
  assert.equal(modern.domain_sessionidx, '3');
  assert.equal(modern.geo_latitude, '52.52');
  assert.equal(modern.contexts, '[{"schema":"iglu:com.acme/product/jsonschema/1-0-0","data":{"sku":"A-1"}}]');
  assert.equal(modern.unstruct_event, '{"schema":"iglu:com.acme/click/jsonschema/1-0-0","data":{"x":1}}');
  assert.equal(modern.page_url, null);
  assert.equal(Object.values(modern).filter((v) => v !== null).length, Object.keys(EVENT).length);
  assert.deepEqual(insertColumns('modern'), eventColumns('modern').filter((c) => !c.computed).map((c) => c.name));
  assert.deepEqual(insertColumns('legacy'), eventColumns('legacy').map((c) => c.name));
});

test('rows: absent key strings are empty (not Nullable), other absent strings NULL; an empty string stays empty', () => {
  const { app_id: _a, event: _e, ...rest } = EVENT;
  const row = rowOf({ ...rest, page_title: '' }, 'legacy');
  assert.equal(row.app_id, '');
  assert.equal(row.event, '');
  assert.equal(row.page_title, '');
  assert.equal(row.page_url, null);
});

test('rows: tabs, newlines, carriage returns and backslashes are escaped, so a line is one row; \\N as text is not NULL', () => {
  const awkward = 'a\tb\nc\rd\\e \\N "q" \'s\' é 日本 \u{1F600} \0';
  const outcome = eventRowOf({ ...EVENT, page_title: awkward, se_label: '\\N', contexts: [{ schema: 'iglu:x/y/jsonschema/1-0-0', data: { t: 'tab\there\nline' } }] }, 'modern');
  assert.ok(outcome.ok);
  assert.equal(outcome.line.includes('\n'), false);
  assert.equal(outcome.line.split('\t').length, insertColumns('modern').length);
  const row = fieldsOf(outcome.line, 'modern');
  assert.equal(row.page_title, awkward);
  assert.equal(row.se_label, '\\N');
  assert.equal(row.contexts, '[{"schema":"iglu:x/y/jsonschema/1-0-0","data":{"t":"tab\\there\\nline"}}]');
  assert.equal(tsvEscape('plain'), 'plain');
  assert.equal(tsvEscape('a\\b\tc\nd\re'), 'a\\\\b\\tc\\nd\\re');
  assert.equal(tsvRows(['x', 'y']).body.toString(), 'x\ny\n');
  assert.equal(tsvRows(['x', 'y']).count, 2);
  // Multi-byte text: every byte in place, nothing left of the buffer unwritten.
  const rows = tsvRows(['é日', '', '\u{1F600}\tz']);
  assert.equal(rows.body.toString('utf8'), 'é日\n\n\u{1F600}\tz\n');
  assert.equal(rows.body.length, Buffer.byteLength('é日\n\n\u{1F600}\tz\n'));
  assert.equal(rows.count, 3);
  assert.equal(tsvRows([]).body.length, 0);
});

test('rows: fields that are not canonical are not stored', () => {
  const outcome = eventRowOf({ ...EVENT, profile_visits: 3 } as SnowplowEvent, 'modern');
  assert.ok(outcome.ok);
  assert.deepEqual(fieldsOf(outcome.line, 'modern'), rowOf(EVENT, 'modern'));
});

test('rows: what ClickHouse would wrap or refuse is a failure with a reason naming the field', () => {
  const cases: Array<[Record<string, unknown>, 'legacy' | 'modern', string, RegExp]> = [
    [{ event_id: undefined }, 'modern', 'missing_field', /^event_id is missing$/],
    [{ event_id: '' }, 'modern', 'missing_field', /^event_id is empty$/],
    [{ derived_tstamp: null }, 'legacy', 'missing_field', /^derived_tstamp is missing$/],
    [{ domain_sessionidx: 'abc' }, 'modern', 'invalid_value', /^domain_sessionidx: expected a 32-bit integer, got "abc"$/],
    [{ domain_sessionidx: 99_999_999_999 }, 'legacy', 'invalid_value', /domain_sessionidx: expected a 32-bit integer/],
    [{ geo_latitude: Number.NaN }, 'modern', 'invalid_value', /geo_latitude: expected a finite number/],
    [{ br_cookies: 'yes' }, 'modern', 'invalid_value', /br_cookies: expected true or false/],
    [{ collector_tstamp: 'yesterday' }, 'modern', 'invalid_value', /collector_tstamp: expected an ISO-8601 timestamp/],
    [{ dvce_created_tstamp: '1960-01-01T00:00:00.000Z' }, 'legacy', 'invalid_value', /dvce_created_tstamp: outside 1970-01-01/],
    [{ dvce_created_tstamp: '2200-01-01T00:00:00.000Z' }, 'legacy', 'invalid_value', /outside .* \.\. 2106-02-07/],
    [{ contexts: '{not json' }, 'modern', 'invalid_value', /contexts: expected JSON/],
    [{ page_url: 42 }, 'modern', 'invalid_value', /page_url: expected a string, got 42/],
  ];
  for (const [patch, variant, reason, message] of cases) {
    const outcome = eventRowOf({ ...EVENT, ...patch } as SnowplowEvent, variant);
    assert.equal(outcome.ok, false, JSON.stringify(patch));
    if (!outcome.ok) {
      assert.equal(outcome.reason, reason, JSON.stringify(patch));
      assert.match(outcome.message, message);
    }
  }
  // The modern layout stores what the legacy one cannot.
  assert.equal(eventRowOf({ ...EVENT, dvce_created_tstamp: '1960-01-01T00:00:00.000Z' }, 'modern').ok, true);
});

test('rows: a timestamp column holds its instant in UTC, whether cut from the text or parsed', () => {
  // What the column must read, from Date: the reference the fast path has to agree with.
  const expected = (text: string, variant: SchemaVariant) => {
    const iso = new Date(Date.parse(text)).toISOString();
    return variant === 'modern' ? { derived_tstamp: `${iso.slice(0, 10)} ${iso.slice(11, 23)}` } : { derived_tstamp: `${iso.slice(0, 10)} ${iso.slice(11, 19)}`, derived_tstamp_ms: String(Number(iso.slice(20, 23))) };
  };
  const texts = [
    '2026-11-27T21:09:52.000Z',
    '2026-01-09T00:00:00.009Z',
    '2024-02-29T23:59:59.999Z', // day 29: parsed
    '2026-02-30T10:00:00.000Z', // rolls over to 03-02, as Date.parse reads it
    '2026-11-27T21:09:52Z', // no milliseconds
    '2026-11-27T23:09:52.120+02:00', // an offset
    '1970-01-01T00:00:00.000Z',
    '2105-12-31T23:59:59.999Z',
    '2106-02-07T06:28:15.000Z', // the legacy layout's last second: parsed
    '1900-01-01T00:00:00.000Z', // modern only
    '2299-12-28T23:59:59.999Z',
  ];
  for (let i = 0; i < 200; i++) texts.push(new Date(Date.UTC(1971, 0, 1) + Math.floor(Math.random() * 4e12)).toISOString());
  for (const variant of ['legacy', 'modern'] as const) {
    for (const text of texts) {
      const outcome = eventRowOf({ ...EVENT, derived_tstamp: text } as SnowplowEvent, variant);
      const ms = Date.parse(text);
      const storable = variant === 'modern' || (ms >= 0 && ms < 4294967296000);
      assert.equal(outcome.ok, storable, `${variant} ${text}`);
      if (!outcome.ok) continue;
      const row = fieldsOf(outcome.line, variant);
      const want = expected(text, variant);
      for (const [column, value] of Object.entries(want)) assert.equal(row[column], value, `${variant} ${text} ${column}`);
    }
  }
  for (const bad of ['2026-13-01T00:00:00.000Z', '2026-00-10T00:00:00.000Z', '2026-11-27T21:61:00.000Z']) {
    assert.equal(eventRowOf({ ...EVENT, derived_tstamp: bad } as SnowplowEvent, 'modern').ok, false, bad);
  }
});

test('rows: JSON fields read as JSON.stringify writes them, shared frozen entities included', () => {
  const shared = Object.freeze({ schema: 'iglu:a/b/jsonschema/1-0-0', data: Object.freeze({ x: 'tab\there', n: null }) });
  const shallow = Object.freeze({ schema: 'iglu:a/c/jsonschema/1-0-0', data: { count: 1 } });
  const contexts: unknown[] = [shared, { schema: 'iglu:a/d/jsonschema/1-0-0', data: { y: [1, 'z'] } }, shallow, undefined];
  const stored = (value: unknown) => {
    const outcome = eventRowOf({ ...EVENT, derived_contexts: value } as unknown as SnowplowEvent, 'modern');
    assert.ok(outcome.ok);
    return JSON.parse(fieldsOf(outcome.line, 'modern').derived_contexts!) as unknown;
  };
  for (let i = 0; i < 2; i++) assert.deepEqual(stored(contexts), JSON.parse(JSON.stringify(contexts)), `pass ${i}`);
  // A frozen entity whose data is not frozen may change between events: its text is not reused.
  (shallow.data as { count: number }).count = 2;
  assert.deepEqual(stored(contexts), JSON.parse(JSON.stringify(contexts)));
  assert.deepEqual(stored([]), []);
  assert.deepEqual(stored({ not: 'an array' }), { not: 'an array' });
  // An object with no JSON (its toJSON gives undefined) is an invalid value, not an empty field.
  const noJson = eventRowOf({ ...EVENT, derived_contexts: { toJSON: () => undefined } } as unknown as SnowplowEvent, 'modern');
  assert.equal(noJson.ok, false);
  assert.equal(!noJson.ok && noJson.reason, 'invalid_value');
});
