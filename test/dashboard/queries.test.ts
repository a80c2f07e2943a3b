// The dashboard's views on chDB (the embedded store, in-process) against the fixture's answers
// computed in JavaScript: whole range, every granularity, each filter, both ways of passing the
// parameters (chDB's binding, and the literals used for ClickHouse 18.16), and hostile values.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildViewQuery, filtersFrom, FilterError, GRANULARITIES, runViews, VIEW_NAMES, type Filters } from '../../src/dashboard/queries';
import { inlineParams, openChdbSource, stringLiteral, type AnalyticsSource } from '../../src/dashboard/source';
import { createChdbStore } from '../../src/storage/chdb-store';
import type { EventStore } from '../../src/storage/event-store';
import { openEventTable } from '../../src/storage/event-table';
import { dashboardEvents, expectedViews, FIXTURE_RANGE, FIXTURE_START, FILTER_CASES } from './fixture';

const dataDir = mkdtempSync(join(tmpdir(), 'tailplow-dashboard-'));
const path = join(dataDir, 'clickhouse');
const events = dashboardEvents();
let store: EventStore;
let bound: AnalyticsSource;
let inline: AnalyticsSource;

before(async () => {
  store = await createChdbStore(path);
  const writer = await openEventTable(store, { table: 'events' });
  // Two inserts, so the redelivered copies sit in another part (uncollapsed until a merge).
  const half = Math.floor(events.length / 2);
  assert.deepEqual(await writer.write(events.slice(0, half)), { failed: [] });
  assert.deepEqual(await writer.write(events.slice(half)), { failed: [] });
  bound = await openChdbSource({ path, table: 'events' });
  inline = await openChdbSource({ path, table: 'events', binding: 'inline' });
});
after(async () => {
  await bound?.close();
  await inline?.close();
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const whole: Filters = { ...FIXTURE_RANGE, granularity: 'day' };

test('the fixture really exercises every view (non-empty answers, duplicates stored)', async () => {
  const expected = expectedViews(events, whole);
  for (const name of VIEW_NAMES) assert.ok(expected[name].length > 0, `${name} is empty in the fixture`);
  assert.equal(expected.new_vs_returning.length, 2);
  assert.ok(expected.engagement[0].bounces > 0 && expected.engagement[0].engaged_sessions > 0);
  const [row] = await store.query<{ rows: number; ids: number }>('SELECT count() AS rows, uniqExact(event_id) AS ids FROM events');
  assert.ok(row && row.rows > row.ids, `copies stored: ${JSON.stringify(row)}`);
});

for (const [label, filters] of FILTER_CASES) {
  test(`views equal the answers computed from the events: ${label}`, async () => {
    const expected = expectedViews(events, filters);
    for (const source of [bound, inline]) {
      const { views } = await runViews(source, filters);
      for (const name of VIEW_NAMES) assert.deepEqual(views[name], expected[name], `${name} (${source === bound ? 'bound' : 'inlined'} parameters)`);
    }
  });
}

test('the summary next to the time series (its bucket sums, visitors and sessions apart) equals its own query, bound and inlined, for every filter and granularity', async () => {
  for (const [label, filters] of FILTER_CASES) {
    for (const granularity of ['hour', 'day'] as const) {
      for (const source of [bound, inline]) {
        const alone = await runViews(source, { ...filters, granularity }, { views: ['summary'] });
        const together = await runViews(source, { ...filters, granularity }, { views: ['summary', 'timeseries'] });
        assert.deepEqual(together.views.summary, alone.views.summary, `${label}, ${granularity}`);
        assert.ok(together.views.timeseries !== undefined && alone.views.timeseries === undefined);
      }
    }
  }
});

test('filters change the answers (the fixture is not uniform)', () => {
  const all = expectedViews(events, whole).summary[0];
  assert.notDeepEqual(expectedViews(events, { ...whole, appId: 'blog' }).summary[0], all);
  assert.notDeepEqual(expectedViews(events, { ...whole, page: '/pricing' }).summary[0], all);
});

test('filtersFrom: defaults, ISO/relative/Unix times, granularity whitelist, length and control-character checks', () => {
  const now = Date.parse('2026-03-05T12:00:00Z');
  const d = filtersFrom(new URLSearchParams(), now);
  assert.equal(d.to - d.from, 7 * 86_400);
  assert.equal(d.granularity, 'hour');
  assert.deepEqual(filtersFrom({ from: '2026-03-01', to: '2026-03-02T06:00:00Z', granularity: 'hour', app_id: 'shop', page: '/a' }, now), {
    from: Date.UTC(2026, 2, 1) / 1000,
    to: Date.UTC(2026, 2, 2, 6) / 1000,
    granularity: 'hour',
    appId: 'shop',
    page: '/a',
  });
  assert.equal(filtersFrom({ from: '24h' }, now).from, now / 1000 - 86_400);
  assert.equal(filtersFrom({ from: '1700000000', to: '1700003600' }, now).granularity, 'minute');
  for (const bad of [
    { granularity: 'hour; DROP TABLE events' },
    { granularity: 'toStartOfHour' },
    { from: "2026-03-01' OR 1=1 --" },
    { from: '2026-03-02', to: '2026-03-01' },
    { from: '1000000000', granularity: 'minute' },
    { app_id: 'x'.repeat(256) },
    { page: '/a\nb' },
    { page: '/a\u0000' },
    { to: '9999999999' },
  ]) assert.throws(() => filtersFrom(bad, now), FilterError, JSON.stringify(bad));
  assert.deepEqual(GRANULARITIES, ['minute', 'hour', 'day', 'week', 'month']);
});

test('no user value is ever part of the SQL text: it travels as a parameter', () => {
  const hostile: Filters = { ...whole, appId: "x' OR 1=1 --", page: "'); DROP TABLE events; --" };
  for (const name of VIEW_NAMES) {
    const { sql, params } = buildViewQuery(name, 'events', hostile);
    assert.ok(!sql.includes('OR 1=1') && !sql.includes('DROP'), name);
    if (name !== 'apps') assert.equal(params.app_id, hostile.appId);
    assert.equal(params.page, hostile.page);
  }
});

test('hostile filter values match nothing and harm nothing, bound or inlined', async () => {
  const values = ["x' OR 1=1 --", "shop'; DROP TABLE events; --", '\\', "\\'", "'", 'shop\\', '{app_id:String}', "' UNION SELECT name, 1 FROM system.tables --", '../../etc/passwd'];
  for (const source of [bound, inline]) {
    for (const value of values) {
      const { views } = await runViews(source, { ...whole, appId: value, page: value });
      assert.deepEqual(views.summary, [{ visitors: 0, sessions: 0, page_views: 0, events: 0 }], `${value} via ${source === bound ? 'bound' : 'inlined'}`);
      assert.deepEqual(views.apps, [], value);
    }
  }
  const [row] = await store.query<{ ids: number }>('SELECT uniqExact(event_id) AS ids FROM events');
  assert.equal(row?.ids, new Set(events.map((e) => e.event_id)).size, 'the table is intact');
});

test('inlined literals read back as exactly the value (quotes, backslashes, unicode, placeholders in values)', async () => {
  const values = ["it's", 'a\\b', "\\'", "''", 'é — 日本', '{page:String}', 'tab\there', "end\\"];
  for (const value of values) {
    const [row] = await inline.query<{ v: string }>('SELECT {v:String} AS v', { v: value });
    assert.equal(row?.v, value);
    assert.equal(inlineParams('SELECT {v:String}', { v: value }), `SELECT ${stringLiteral(value)}`);
  }
  assert.equal(inlineParams('SELECT {n:UInt32}', { n: 7 }), 'SELECT 7');
  for (const n of [-1, 1.5, 2 ** 32, Number.NaN]) assert.throws(() => inlineParams('SELECT {n:UInt32}', { n }));
  assert.throws(() => inlineParams('SELECT {n:UInt32}', { n: '1 OR 1' }));
  assert.throws(() => inlineParams('SELECT {s:String}', {}));
});

test('the table check and the engine facts', async () => {
  assert.equal(await bound.tableExists(), true);
  const other = await openChdbSource({ path, table: 'no_such_table' });
  try {
    assert.equal(await other.tableExists(), false);
  } finally {
    await other.close();
  }
  assert.equal(bound.engine, 'chdb');
  assert.equal(bound.variant, 'modern');
  await assert.rejects(openChdbSource({ path, table: 'events; DROP TABLE x' }), /invalid ClickHouse identifier/);
});
