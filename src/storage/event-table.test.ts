import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SnowplowEvent } from '../snowplow/event';
import { RetriableError } from '../util/retry';
import type { EventStore } from './event-store';
import { openEventTable, qualifiedTableName } from './event-table';

const event = (n: number, extra: Partial<SnowplowEvent> = {}): SnowplowEvent => ({
  event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  event: 'page_view',
  app_id: 'web',
  collector_tstamp: '2024-05-01T10:00:00.000Z',
  derived_tstamp: '2024-05-01T10:00:00.000Z',
  ...extra,
});

/** A store that refuses any insert containing a row whose page_title is 'poison', as ClickHouse refuses a whole insert. Keeps each insert's rows as column name -> field text. */
function fakeStore(opts: { failWith?: () => Error } = {}) {
  const inserts: Array<Array<Record<string, string>>> = [];
  const commands: string[] = [];
  const store: EventStore = {
    engine: 'clickhouse',
    version: '18.16.1',
    variant: 'legacy',
    command: async (sql) => void commands.push(sql),
    query: async () => [],
    async insert(_table, columns, tsv) {
      if (opts.failWith) throw opts.failWith();
      const lines = tsv.body.toString('utf8').split('\n').slice(0, -1);
      assert.equal(lines.length, tsv.count);
      const rows = lines.map((line) => Object.fromEntries(line.split('\t').map((value, i) => [columns[i]!, value])));
      const bad = rows.findIndex((r) => r.page_title === 'poison');
      if (bad >= 0) throw new Error(`Code: 27, e.displayText() = DB::Exception: Cannot parse input: (at row ${bad + 1})\n, e.what() = DB::Exception`);
      inserts.push(rows);
    },
    close: async () => undefined,
  };
  return { store, inserts, commands };
}

test('opening creates the table once, in the store\'s layout, under database.table', async () => {
  const { store, commands } = fakeStore();
  const table = await openEventTable(store, { table: 'events', database: 'analytics' });
  assert.equal(table.qualifiedTable, 'analytics.events');
  assert.equal(commands.length, 1);
  assert.match(commands[0]!, /^CREATE TABLE IF NOT EXISTS analytics\.events \(\n {2}app_id String,/);
  assert.throws(() => qualifiedTableName('events; DROP TABLE x'), /invalid ClickHouse identifier/);
});

test('a good batch is one insert of all rows', async () => {
  const { store, inserts } = fakeStore();
  const table = await openEventTable(store, { table: 'events' });
  const result = await table.write(Array.from({ length: 100 }, (_, i) => event(i)));
  assert.deepEqual(result.failed, []);
  assert.equal(inserts.length, 1);
  assert.equal(inserts[0]!.length, 100);
});

test('a batch the store refuses is bisected: every good event stored once, each refused one failed with the store\'s message', async () => {
  const { store, inserts } = fakeStore();
  const table = await openEventTable(store, { table: 'events' });
  const poisoned = new Set([3, 4, 77]);
  const events = Array.from({ length: 100 }, (_, i) => event(i, poisoned.has(i) ? { page_title: 'poison' } : {}));
  const result = await table.write(events);
  assert.deepEqual(
    result.failed.map((f) => [f.event.event_id, f.reason]),
    [...poisoned].map((i) => [events[i]!.event_id, 'rejected_by_store']),
  );
  assert.match(result.failed[0]!.message, /^Code: 27, e\.displayText\(\) = DB::Exception: Cannot parse input: \(at row 1\)$/);
  const stored = inserts.flat().map((r) => r.event_id);
  assert.equal(stored.length, 97);
  assert.equal(new Set(stored).size, 97);
  // Bisection, not one insert per row: 3 bad rows in 100 cost far fewer than 100 inserts.
  assert.ok(inserts.length < 20, `${inserts.length} inserts`);
});

test('events that cannot become rows fail before the insert; the rest are stored', async () => {
  const { store, inserts } = fakeStore();
  const table = await openEventTable(store, { table: 'events' });
  const result = await table.write([event(1), event(2, { domain_sessionidx: 'x' as unknown as number }), event(3, { event_id: undefined })]);
  assert.deepEqual(result.failed.map((f) => f.reason), ['invalid_value', 'missing_field']);
  assert.deepEqual(inserts.map((rows) => rows.length), [1]);
});

test('a store that is down throws a RetriableError; an unknown failure is thrown as it is', async () => {
  const down = fakeStore({ failWith: () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:18123'), { code: 'ECONNREFUSED' }) });
  const table = await openEventTable(down.store, { table: 'events' });
  await assert.rejects(table.write([event(1)]), (err: unknown) => err instanceof RetriableError && /ECONNREFUSED/.test(err.message));

  const auth = new Error('Code: 193, e.displayText() = DB::Exception: Wrong password for user tailplow, e.what() = DB::Exception');
  const locked = fakeStore({ failWith: () => auth });
  await assert.rejects((await openEventTable(locked.store, { table: 'events' })).write([event(1)]), (err: unknown) => err === auth);
});
