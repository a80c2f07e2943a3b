// Needs scripts/services/clickhouse.sh (Debian's ClickHouse 18.16 at TAILPLOW_CLICKHOUSE_URL).
// The dashboard's views on the real server (the legacy layout: DateTime + _ms columns, no query
// parameters, so the values go in as escaped literals) give the answers computed from the
// fixture events in JavaScript, the same as on chDB (queries.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runViews, VIEW_NAMES, type Filters } from '../../src/dashboard/queries';
import { openClickHouseSource, type AnalyticsSource } from '../../src/dashboard/source';
import { createClickHouseStore, type ClickHouseStore } from '../../src/storage/clickhouse-store';
import { openEventTable } from '../../src/storage/event-table';
import { clickhouseUrl, uniqueName } from '../support/services';
import { dashboardEvents, expectedViews, FIXTURE_RANGE, FIXTURE_START, FILTER_CASES } from './fixture';

const table = uniqueName('dashboard_events').replace(/-/g, '_');
const events = dashboardEvents();
let admin: ClickHouseStore;
let source: AnalyticsSource;

before(async () => {
  admin = await createClickHouseStore({ url: clickhouseUrl(), username: 'default', password: '', database: 'default', requestTimeoutMs: 10_000, asyncInsert: false });
  const writer = await openEventTable(admin, { table, database: 'default' });
  const half = Math.floor(events.length / 2);
  assert.deepEqual(await writer.write(events.slice(0, half)), { failed: [] });
  assert.deepEqual(await writer.write(events.slice(half)), { failed: [] });
  source = await openClickHouseSource({ url: clickhouseUrl(), database: 'default', table });
});
after(async () => {
  await source?.close();
  await admin?.command(`DROP TABLE IF EXISTS default.${table}`);
  await admin?.close();
});

const whole: Filters = { ...FIXTURE_RANGE, granularity: 'day' };

test('the server is 18.16 with the legacy layout, and holds the redelivered copies', async () => {
  assert.equal(source.variant, 'legacy', `server ${source.version}`);
  assert.equal(await source.tableExists(), true);
  const [row] = await admin.query<{ rows: number; ids: number }>(`SELECT count() AS rows, uniqExact(event_id) AS ids FROM default.${table}`);
  assert.ok(row && row.rows > row.ids, JSON.stringify(row));
});

for (const [label, filters] of FILTER_CASES) {
  test(`views on ClickHouse 18.16 equal the answers computed from the events: ${label}`, async () => {
    const expected = expectedViews(events, filters);
    const { views } = await runViews(source, filters);
    for (const name of VIEW_NAMES) assert.deepEqual(views[name], expected[name], name);
  });
}

test('hostile filter values match nothing and harm nothing on 18.16 (inlined literals)', async () => {
  for (const value of ["x' OR 1=1 --", "shop'; DROP TABLE events; --", '\\', "\\'", 'shop\\', "' UNION SELECT name, 1 FROM system.tables --"]) {
    const { views } = await runViews(source, { ...whole, appId: value, page: value });
    assert.deepEqual(views.summary, [{ visitors: 0, sessions: 0, page_views: 0, events: 0 }], value);
    assert.deepEqual(views.apps, [], value);
  }
  const [echo] = await source.query<{ v: string }>('SELECT {v:String} AS v', { v: "it's a \\ test" });
  assert.equal(echo?.v, "it's a \\ test");
  const [row] = await admin.query<{ ids: number }>(`SELECT uniqExact(event_id) AS ids FROM default.${table}`);
  assert.equal(row?.ids, new Set(events.map((e) => e.event_id)).size);
});
