// Needs scripts/services/clickhouse.sh (Debian's ClickHouse 18.16 at TAILPLOW_CLICKHOUSE_URL).
// The clickhouse sink against the real server: the legacy table layout, the capture's events
// delivered twice, the analytics queries giving the same answers as on chDB (the embedded sink,
// in this process), bad events, credentials and database from config, async_insert on a server
// without it, and a server that goes down and comes back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { z } from 'zod';
import { parseConfigText } from '../../src/config/load';
import { createClickHouseSink, clickhouseSinkSchema } from '../../src/sinks/clickhouse';
import { createEmbeddedSink, embeddedSinkSchema } from '../../src/sinks/embedded';
import type { Sink } from '../../src/sinks/sink';
import type { SnowplowEvent } from '../../src/snowplow/event';
import { createChdbStore } from '../../src/storage/chdb-store';
import { createClickHouseStore, type ClickHouseStore } from '../../src/storage/clickhouse-store';
import { eventColumns, tsvRows } from '../../src/storage/clickhouse-schema';
import type { EventStore } from '../../src/storage/event-store';
import { openEventTable } from '../../src/storage/event-table';
import { silentLogger, type Logger } from '../../src/util/logger';
import { RetriableError } from '../../src/util/retry';
import { CLICKHOUSE_PASSWORD_USER, clickhouseUrl, privateService, uniqueName } from '../support/services';
import { eventsOverTime, expectedAnswers, runAnalytics, trackerEvents } from './analytics';

const tableName = (prefix: string) => uniqueName(prefix).replace(/-/g, '_');
const sinkConfig = (extra: Record<string, unknown>) => clickhouseSinkSchema.parse({ type: 'clickhouse', url: clickhouseUrl(), ...extra });

let admin: ClickHouseStore;
const dropped: string[] = [];
before(async () => {
  admin = await createClickHouseStore({ url: clickhouseUrl(), username: 'default', password: '', database: 'default', requestTimeoutMs: 10_000, asyncInsert: false });
});
after(async () => {
  for (const table of dropped) await admin.command(`DROP TABLE IF EXISTS ${table}`);
  await admin.close();
});

async function sinkWithTable(prefix: string, extra: Record<string, unknown> = {}, logger: Logger = silentLogger): Promise<{ sink: Sink; table: string }> {
  const table = tableName(prefix);
  dropped.push(`${(extra.database as string | undefined) ?? 'default'}.${table}`);
  return { sink: await createClickHouseSink(sinkConfig({ table, ...extra }), { logger, dataDir: '/nonexistent' }), table };
}

test('the sink creates the legacy layout on 18.16: canonical names, DateTime + _ms, Nullable, ReplacingMergeTree keyed on event_id', async () => {
  const { sink, table } = await sinkWithTable('events_schema');
  try {
    assert.equal(admin.variant, 'legacy', `server ${admin.version}`);
    const columns = await admin.query<{ name: string; type: string }>(`SELECT name, type FROM system.columns WHERE database = 'default' AND table = '${table}'`);
    // 18.16's system.columns has no position; the set of (name, type) is what matters.
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
    assert.deepEqual(columns.sort(byName), eventColumns('legacy').map((c) => ({ name: c.name, type: c.type })).sort(byName));
    const [meta] = await admin.query<{ engine: string; sorting_key: string; partition_key: string }>(
      `SELECT engine, sorting_key, partition_key FROM system.tables WHERE database = 'default' AND name = '${table}'`,
    );
    assert.deepEqual(meta, { engine: 'ReplacingMergeTree', sorting_key: 'app_id, event, toDate(derived_tstamp), event_id', partition_key: 'toYYYYMM(derived_tstamp)' });
  } finally {
    await sink.close();
  }
});

test('events delivered twice: one row per event_id under FINAL, and the analytics queries answer the same on 18.16 and chDB', async () => {
  const events = eventsOverTime(3);
  const { sink, table } = await sinkWithTable('events_twice');
  const dataDir = await mkdtemp(join(tmpdir(), 'tailplow-ch-vs-chdb-'));
  const embedded = await createEmbeddedSink(embeddedSinkSchema.parse({ type: 'embedded' }), { logger: silentLogger, dataDir });
  const chdb = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    for (const target of [sink, embedded]) {
      assert.deepEqual(await target.write(events), { failed: [] });
      assert.deepEqual(await target.write(events), { failed: [] });
    }
    const ids = new Set(events.map((e) => e.event_id)).size;
    const [counts] = await admin.query<{ stored: number; final: number }>(`SELECT (SELECT count() FROM ${table}) AS stored, (SELECT count() FROM ${table} FINAL) AS final`);
    assert.equal(counts?.final, ids);
    assert.ok(counts && counts.stored >= ids && counts.stored <= 2 * events.length, `stored ${counts?.stored}`);
    assert.deepEqual(await admin.query(`SELECT event_id FROM ${table} FINAL GROUP BY event_id HAVING count() > 1`), []);

    const onServer = await runAnalytics(admin, table);
    const inProcess = await runAnalytics(chdb, 'events');
    assert.deepEqual(onServer, expectedAnswers(events));
    assert.deepEqual(inProcess, onServer);
  } finally {
    await chdb.close();
    await embedded.close();
    await sink.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('milliseconds survive in the _ms columns, JSON stays text, flags are 0/1, absent fields are NULL', async () => {
  const [pageView] = trackerEvents().filter((e) => e.event === 'page_view' && e.contexts?.length);
  assert.ok(pageView?.event_id);
  const { sink, table } = await sinkWithTable('events_values');
  try {
    await sink.write([pageView]);
    const [row] = await admin.query<Record<string, unknown>>(
      `SELECT toString(derived_tstamp) AS derived, derived_tstamp_ms, collector_tstamp_ms, contexts, br_cookies, page_title,
              visitParamExtractString(contexts, 'schema') AS first_context, mkt_clickid IS NULL AS no_clickid
       FROM ${table} WHERE event_id = '${pageView.event_id}'`,
    );
    assert.deepEqual(row, {
      derived: pageView.derived_tstamp!.slice(0, 19).replace('T', ' '),
      derived_tstamp_ms: Number(pageView.derived_tstamp!.slice(20, 23)),
      collector_tstamp_ms: Number(pageView.collector_tstamp!.slice(20, 23)),
      contexts: JSON.stringify(pageView.contexts),
      br_cookies: pageView.br_cookies ? 1 : 0,
      page_title: 'Custom title — Grüße ✓ 日本',
      first_context: pageView.contexts![0]!.schema,
      no_clickid: 1,
    });
  } finally {
    await sink.close();
  }
});

test('awkward values round-trip through the TabSeparated insert unchanged, on 18.16 and chDB: tabs, newlines, backslashes, \\N as text, quotes, unicode, empty strings and arrays, NULLs, extreme numbers', async () => {
  const [base] = trackerEvents();
  assert.ok(base);
  const awkward = (n: number, extra: Partial<SnowplowEvent>): SnowplowEvent => ({ ...base, event_id: `a0000000-0000-4000-8000-00000000000${n}`, ...extra });
  const events = [
    awkward(1, {
      page_title: 'tab\there, newline\nthere, cr\r, backslash \\ and \\t, \\N, "double" \'single\' `back`',
      page_url: 'https://example.com/a?b=c\td&e=%0A#\\',
      se_label: '\\N',
      se_property: '',
      mkt_term: 'Grüße ✓ 日本 \u{1F600} \u0001\u007f',
      contexts: [],
      unstruct_event: { schema: 'iglu:com.acme/x/jsonschema/1-0-0', data: { text: 'tab\tnl\nbs\\q"' } },
      geo_latitude: 1e-7,
      geo_longitude: -179.999999,
      domain_sessionidx: 2147483647,
      br_cookies: false,
    }),
    awkward(2, { page_title: undefined, se_label: undefined, mkt_term: '\\', contexts: undefined, geo_latitude: -0.5, domain_sessionidx: -2147483648, br_cookies: true }),
  ];
  const columns = ['page_title', 'page_url', 'se_label', 'se_property', 'mkt_term', 'contexts', 'unstruct_event', 'geo_latitude', 'geo_longitude', 'domain_sessionidx', 'br_cookies'] as const;
  const expected = events.map((e) =>
    Object.fromEntries(
      columns.map((c) => {
        const v = e[c];
        return [c, v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : typeof v === 'boolean' ? Number(v) : v];
      }),
    ),
  );
  const sql = (table: string) => `SELECT ${columns.map((c) => (c === 'br_cookies' ? 'toUInt8(br_cookies) AS br_cookies' : c)).join(', ')} FROM ${table} WHERE event_id LIKE 'a0000000-%' ORDER BY event_id`;
  const { sink, table } = await sinkWithTable('events_awkward');
  const dataDir = await mkdtemp(join(tmpdir(), 'tailplow-awkward-'));
  const embedded = await createEmbeddedSink(embeddedSinkSchema.parse({ type: 'embedded', table }), { logger: silentLogger, dataDir });
  try {
    assert.deepEqual(await sink.write(events), { failed: [] });
    assert.deepEqual(await embedded.write(events), { failed: [] });
    assert.deepEqual(await admin.query(sql(table)), expected, '18.16');
    await embedded.close();
    const chdb = await createChdbStore(join(dataDir, 'clickhouse'));
    try {
      assert.equal(chdb.variant, 'modern');
      assert.deepEqual(await chdb.query(sql(table)), expected, 'chDB');
    } finally {
      await chdb.close();
    }
  } finally {
    await sink.close();
    await embedded.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('malformed events are `failed` with their reason, the rest of the batch is stored', async () => {
  const [a, b, c, d] = trackerEvents();
  const { sink, table } = await sinkWithTable('events_bad');
  try {
    const result = await sink.write([
      a!,
      { ...b, dvce_created_tstamp: '1969-12-31T23:59:59.000Z' },
      { ...c, br_cookies: 'yes' } as unknown as SnowplowEvent,
      d!,
    ]);
    assert.deepEqual(
      result.failed.map((f) => [f.event.event_id, f.reason]),
      [
        [b!.event_id, 'invalid_value'],
        [c!.event_id, 'invalid_value'],
      ],
    );
    assert.match(result.failed[0]!.message, /^dvce_created_tstamp: outside 1970-01-01T00:00:00\.000Z \.\. 2106/);
    const stored = await admin.query<{ event_id: string }>(`SELECT event_id FROM ${table} ORDER BY event_id`);
    assert.deepEqual(stored.map((r) => r.event_id), [a!.event_id!, d!.event_id!].sort());
  } finally {
    await sink.close();
  }
});

test('rows the engine itself refuses (18.16 and chDB) are found by bisection; the others of the batch are stored once', async () => {
  // Rows that pass the sink's checks but not the engine's parser: the store is wrapped to corrupt
  // the rows of chosen events, so the real engines' error codes and the bisection are exercised.
  const poisoned = (store: EventStore, ids: Set<string>): EventStore => ({
    ...store,
    command: (sql) => store.command(sql),
    query: (sql) => store.query(sql),
    insert: (table, columns, rows) => {
      const [idAt, corruptAt] = [columns.indexOf('event_id'), columns.indexOf('domain_sessionidx')];
      const corrupt = (fields: string[]) => fields.map((v, i) => (i === corruptAt ? 'not a number' : v)).join('\t');
      const lines = rows.body.toString('utf8').split('\n').slice(0, -1);
      return store.insert(table, columns, tsvRows(lines.map((line) => (ids.has(line.split('\t')[idAt]!) ? corrupt(line.split('\t')) : line))));
    },
  });
  const events = trackerEvents().slice(0, 20);
  const bad = new Set([events[2]!.event_id!, events[11]!.event_id!]);
  const dataDir = await mkdtemp(join(tmpdir(), 'tailplow-bisect-'));
  const chdb = await createChdbStore(join(dataDir, 'clickhouse'));
  const table = tableName('events_bisect');
  dropped.push(`default.${table}`);
  try {
    for (const store of [admin, chdb]) {
      const writer = await openEventTable(poisoned(store, bad), { table });
      const result = await writer.write(events);
      assert.deepEqual(result.failed.map((f) => [f.event.event_id, f.reason]), [...bad].map((id) => [id, 'rejected_by_store']), store.engine);
      assert.match(result.failed[0]!.message, /^Code: 27[.,] .*Cannot parse input/, store.engine);
      const [row] = await store.query<{ n: number; ids: number }>(`SELECT count() AS n, uniqExact(event_id) AS ids FROM ${table}`);
      const good = new Set(events.map((e) => e.event_id).filter((id) => !bad.has(id!))).size;
      assert.deepEqual(row, { n: good, ids: good }, store.engine);
    }
  } finally {
    await chdb.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('credentials and database from the config, the password through ${ENV}; a wrong password is not retriable', async () => {
  await admin.command('CREATE DATABASE IF NOT EXISTS tailplow_test');
  const schema = z.object({ sink: clickhouseSinkSchema }).strict();
  const yaml = `sink:\n  type: clickhouse\n  url: ${clickhouseUrl()}\n  username: ${CLICKHOUSE_PASSWORD_USER.username}\n  password: \${TEST_CH_PASSWORD}\n  database: tailplow_test\n  table: TABLE\n`;
  const table = tableName('events_auth');
  dropped.push(`tailplow_test.${table}`);
  const config = parseConfigText(yaml.replace('TABLE', table), 'test.yaml', schema, { env: { TEST_CH_PASSWORD: CLICKHOUSE_PASSWORD_USER.password } });
  assert.equal(config.sink.password, CLICKHOUSE_PASSWORD_USER.password);
  const sink = await createClickHouseSink(config.sink, { logger: silentLogger, dataDir: '/nonexistent' });
  try {
    await sink.write(trackerEvents().slice(0, 5));
    const [row] = await admin.query<{ n: number }>(`SELECT count() AS n FROM tailplow_test.${table}`);
    assert.equal(row?.n, 5);
  } finally {
    await sink.close();
  }
  const wrong = createClickHouseSink({ ...config.sink, password: 'not-the-password' }, { logger: silentLogger, dataDir: '/nonexistent' });
  await assert.rejects(wrong, (err: unknown) => !(err instanceof RetriableError) && /Wrong password/.test(String(err)));
});

test('asyncInsert on a server without async_insert: a warning, and inserts still work', async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  const { sink, table } = await sinkWithTable('events_async', { asyncInsert: true }, logger);
  try {
    await sink.write(trackerEvents().slice(0, 3));
    const [row] = await admin.query<{ n: number }>(`SELECT count() AS n FROM ${table}`);
    assert.equal(row?.n, 3);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /asyncInsert needs ClickHouse 21\.11 or newer/);
  } finally {
    await sink.close();
  }
});

test('a server that is down: write throws a retriable error; once it is back, the same write is stored', async () => {
  // A private server, so the shared one is never stopped under other tests.
  const server = await privateService('clickhouse');
  const url = server.address;
  try {
    await server.run('start');
    const sink = await createClickHouseSink(clickhouseSinkSchema.parse({ type: 'clickhouse', url, requestTimeoutMs: 5000 }), { logger: silentLogger, dataDir: '/nonexistent' });
    try {
      const events = trackerEvents();
      await sink.write(events.slice(0, 10));
      await server.run('stop');
      const failure = await sink.write(events.slice(10, 20)).then(
        () => assert.fail('write succeeded against a stopped server'),
        (err: unknown) => err,
      );
      assert.ok(failure instanceof RetriableError, String(failure));
      assert.match(failure.message, /ECONNREFUSED/);
      assert.equal(sink.isRetriable?.(failure), true);
      // Starting a sink while the server is down is retriable too.
      await assert.rejects(
        createClickHouseSink(clickhouseSinkSchema.parse({ type: 'clickhouse', url }), { logger: silentLogger, dataDir: '/nonexistent' }),
        (err: unknown) => err instanceof RetriableError && /ECONNREFUSED/.test(err.message),
      );

      await server.run('start');
      assert.deepEqual(await sink.write(events.slice(10, 20)), { failed: [] });
      const store = await createClickHouseStore({ url, username: 'default', password: '', database: 'default', requestTimeoutMs: 5000, asyncInsert: false });
      try {
        const [row] = await store.query<{ n: number }>('SELECT count() AS n FROM events FINAL');
        assert.equal(row?.n, new Set(events.slice(0, 20).map((e) => e.event_id)).size);
      } finally {
        await store.close();
      }
    } finally {
      await sink.close();
    }
  } finally {
    await server.stop();
  }
});
