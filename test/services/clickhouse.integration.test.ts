// Needs scripts/services/clickhouse.sh (Debian's ClickHouse 18.16 at TAILPLOW_CLICKHOUSE_URL).
// Pins down what @clickhouse/client can do against that old server and which column types and
// features the storage sink's schema can rely on there; the same matrix for chDB (ClickHouse
// 26) is in chdb.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { CLICKHOUSE_PASSWORD_USER, clickhouseUrl, privateService, uniqueName } from '../support/services';

/** ClickHouse identifiers may not contain '-' unquoted. */
const tableName = (prefix: string) => uniqueName(prefix).replace(/-/g, '_');

function connect(extra: Partial<Parameters<typeof createClient>[0]> = {}): ClickHouseClient {
  // The client logs every failed request at ERROR; the failures here are expected.
  return createClient({ url: clickhouseUrl(), request_timeout: 10_000, log: { level: ClickHouseLogLevel.OFF }, ...extra });
}

async function serverVersion(client: ClickHouseClient): Promise<string> {
  const rows = await (await client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' })).json<{ version: string }>();
  return rows[0]?.version ?? '';
}

test('@clickhouse/client talks to the server: ping, SELECT version(), JSON and JSONEachRow formats', async () => {
  const client = connect();
  try {
    assert.deepEqual(await client.ping(), { success: true });
    const version = await serverVersion(client);
    assert.match(version, /^\d+\.\d+\.\d+/);
    const json = await (await client.query({ query: 'SELECT 1 + 1 AS two, toString(now()) AS now', format: 'JSON' })).json<{ two: number; now: string }>();
    assert.equal(json.data[0]?.two, 2);
    assert.deepEqual(json.meta?.map((column) => column.name), ['two', 'now']);
  } finally {
    await client.close();
  }
});

test('ReplacingMergeTree (PARTITION BY/ORDER BY syntax) keeps the newest version of an event_id under FINAL', async () => {
  const client = connect({
    clickhouse_settings: {
      // 18.16 knows LowCardinality only behind this flag; newer servers ignore it or accept it.
      allow_experimental_low_cardinality_type: 1,
      // ISO 8601 with 'T', fraction and 'Z', as the events carry them.
      date_time_input_format: 'best_effort',
      input_format_skip_unknown_fields: 1,
    },
  });
  const table = tableName('events_rmt');
  try {
    await client.command({
      query: `CREATE TABLE ${table} (
        event_id String,
        collector_tstamp DateTime('UTC'),
        app_id LowCardinality(String),
        page_url Nullable(String),
        contexts Array(String),
        load_version UInt64
      ) ENGINE = ReplacingMergeTree(load_version)
      PARTITION BY toYYYYMM(collector_tstamp)
      ORDER BY (event_id)`,
    });
    // Two inserts make two parts, so de-duplication has to happen at read time (FINAL).
    await client.insert({
      table,
      format: 'JSONEachRow',
      values: [
        { event_id: 'e1', collector_tstamp: '2024-05-01T10:00:00.123Z', app_id: 'web', page_url: null, contexts: ['c1'], load_version: 1 },
        { event_id: 'e2', collector_tstamp: '2024-05-31T23:59:59Z', app_id: 'web', page_url: 'https://shop.example/a?b=1', contexts: [], load_version: 1 },
        { event_id: 'e3', collector_tstamp: '2024-06-01 00:00:00', app_id: 'app', page_url: null, contexts: [], load_version: 1, unknown_field: 'x' },
      ],
    });
    await client.insert({
      table,
      format: 'JSONEachRow',
      values: [{ event_id: 'e1', collector_tstamp: '2024-05-01T10:00:00Z', app_id: 'web', page_url: 'https://shop.example/', contexts: [], load_version: 2 }],
    });

    const count = async (final: boolean) =>
      Number(
        (await (await client.query({ query: `SELECT count() AS n FROM ${table}${final ? ' FINAL' : ''}`, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n,
      );
    assert.equal(await count(false), 4, 'both copies of e1 are stored until a merge');
    assert.equal(await count(true), 3, 'FINAL collapses them');

    const rows = await (
      await client.query({
        query: `SELECT event_id, toString(collector_tstamp) AS ts, app_id, page_url, contexts, load_version
                FROM ${table} FINAL ORDER BY event_id`,
        format: 'JSONEachRow',
      })
    ).json();
    assert.deepEqual(rows, [
      // The fraction of a second is dropped: DateTime has second precision.
      { event_id: 'e1', ts: '2024-05-01 10:00:00', app_id: 'web', page_url: 'https://shop.example/', contexts: [], load_version: '2' },
      { event_id: 'e2', ts: '2024-05-31 23:59:59', app_id: 'web', page_url: 'https://shop.example/a?b=1', contexts: [], load_version: '1' },
      { event_id: 'e3', ts: '2024-06-01 00:00:00', app_id: 'app', page_url: null, contexts: [], load_version: '1' },
    ]);

    const partitions = await (
      await client.query({ query: `SELECT DISTINCT partition FROM system.parts WHERE table = '${table}' AND active ORDER BY partition`, format: 'JSONEachRow' })
    ).json<{ partition: string }>();
    assert.deepEqual(partitions.map((p) => p.partition), ['202405', '202406']);

    // A forced merge removes the older copy for good.
    await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    assert.equal(await count(false), 3);
  } finally {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.close();
  }
});

test('the legacy MergeTree syntax (date column, key tuple, granularity, version) also works', async () => {
  const client = connect();
  const table = tableName('events_legacy');
  try {
    await client.command({
      query: `CREATE TABLE ${table} (d Date, event_id String, load_version UInt64)
              ENGINE = ReplacingMergeTree(d, (event_id), 8192, load_version)`,
    });
    await client.insert({ table, format: 'JSONEachRow', values: [{ d: '2024-05-01', event_id: 'x', load_version: 1 }] });
    await client.insert({ table, format: 'JSONEachRow', values: [{ d: '2024-05-01', event_id: 'x', load_version: 5 }] });
    const rows = await (await client.query({ query: `SELECT event_id, load_version FROM ${table} FINAL`, format: 'JSONEachRow' })).json();
    assert.deepEqual(rows, [{ event_id: 'x', load_version: '5' }]);
  } finally {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.close();
  }
});

// What ClickHouse 18.16 (Debian 12's package) lacks compared to current ClickHouse. Each probe
// is a statement a modern server accepts; `on18` says whether 18.16 accepts it too.
const FEATURES: ReadonlyArray<{ name: string; sql: string; on18: boolean; settings?: Record<string, 1> }> = [
  { name: 'Nullable(String)', sql: 'CREATE TABLE {t} (a Nullable(String)) ENGINE = Memory', on18: true },
  { name: "DateTime('UTC')", sql: "CREATE TABLE {t} (a DateTime('UTC')) ENGINE = Memory", on18: true },
  { name: 'UUID', sql: 'CREATE TABLE {t} (a UUID) ENGINE = Memory', on18: true },
  { name: 'Decimal(18, 4)', sql: 'CREATE TABLE {t} (a Decimal(18, 4)) ENGINE = Memory', on18: true },
  { name: 'Array/Tuple/Nested', sql: 'CREATE TABLE {t} (a Array(String), b Tuple(String, UInt8), n Nested(k String, v String)) ENGINE = Memory', on18: true },
  { name: 'Enum8', sql: "CREATE TABLE {t} (a Enum8('pv' = 1, 'se' = 2)) ENGINE = Memory", on18: true },
  {
    name: 'LowCardinality(String) with allow_experimental_low_cardinality_type',
    sql: 'CREATE TABLE {t} (a LowCardinality(String)) ENGINE = Memory',
    on18: true,
    settings: { allow_experimental_low_cardinality_type: 1 },
  },
  { name: 'LowCardinality(String) without the flag', sql: 'CREATE TABLE {t} (a LowCardinality(String)) ENGINE = Memory', on18: false },
  { name: "DateTime64(3, 'UTC')", sql: "CREATE TABLE {t} (a DateTime64(3, 'UTC')) ENGINE = Memory", on18: false },
  { name: 'Map(String, String)', sql: 'CREATE TABLE {t} (a Map(String, String)) ENGINE = Memory', on18: false },
  { name: 'JSON', sql: 'CREATE TABLE {t} (a JSON) ENGINE = Memory', on18: false },
  { name: 'IPv4/IPv6', sql: 'CREATE TABLE {t} (a IPv4, b IPv6) ENGINE = Memory', on18: false },
  { name: 'Bool', sql: 'CREATE TABLE {t} (a Bool) ENGINE = Memory', on18: false },
  { name: 'Date32', sql: 'CREATE TABLE {t} (a Date32) ENGINE = Memory', on18: false },
  { name: 'column CODEC', sql: 'CREATE TABLE {t} (a String CODEC(ZSTD)) ENGINE = Memory', on18: false },
  { name: 'table TTL', sql: 'CREATE TABLE {t} (d DateTime, a String) ENGINE = MergeTree ORDER BY a TTL d + INTERVAL 1 DAY', on18: false },
  { name: 'JSONExtractString', sql: `SELECT JSONExtractString('{"a":"b"}', 'a')`, on18: false },
  { name: 'visitParamExtractString', sql: `SELECT visitParamExtractString('{"a":"b"}', 'a')`, on18: true },
  { name: 'toStartOfInterval', sql: 'SELECT toStartOfInterval(now(), INTERVAL 5 MINUTE)', on18: false },
  { name: 'parseDateTimeBestEffort', sql: "SELECT parseDateTimeBestEffort('2024-05-01T10:00:00.123Z')", on18: true },
  { name: 'ALTER TABLE … DELETE (mutations)', sql: 'CREATE TABLE {t} (a String) ENGINE = MergeTree ORDER BY a; ALTER TABLE {t} DELETE WHERE a = \'x\'', on18: true },
];

test('ClickHouse 18.16 feature matrix: which column types and functions the server accepts', async (t) => {
  const client = connect();
  try {
    const version = await serverVersion(client);
    if (!version.startsWith('18.')) {
      t.skip(`matrix recorded for ClickHouse 18.16; the server is ${version}`);
      return;
    }
    const results: Array<{ name: string; accepted: boolean; error?: string }> = [];
    for (const feature of FEATURES) {
      const table = tableName('feature');
      try {
        // One statement per request: the HTTP interface runs a single statement.
        for (const statement of feature.sql.replace(/\{t\}/g, table).split('; ')) {
          await client.command({ query: statement, clickhouse_settings: feature.settings ?? {} });
        }
        results.push({ name: feature.name, accepted: true });
      } catch (error) {
        results.push({ name: feature.name, accepted: false, error: /Exception: ([^,]*)/.exec((error as Error).message)?.[1] });
      } finally {
        await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
      }
    }
    t.diagnostic(results.map((r) => `${r.accepted ? 'yes' : 'NO '} ${r.name}${r.error ? ` (${r.error})` : ''}`).join('\n'));
    assert.deepEqual(
      results.map((r) => [r.name, r.accepted]),
      FEATURES.map((f) => [f.name, f.on18]),
    );
  } finally {
    await client.close();
  }
});

test('query parameters ({name:Type}) are refused by 18.16: the client sends param_* which the server calls unknown settings', async (t) => {
  const client = connect();
  try {
    const version = await serverVersion(client);
    const query = client.query({ query: 'SELECT {visitor:String} AS visitor', query_params: { visitor: "o'brien" }, format: 'JSONEachRow' });
    if (!version.startsWith('18.')) {
      t.diagnostic(`server ${version} supports query parameters`);
      assert.deepEqual(await (await query).json(), [{ visitor: "o'brien" }]);
      return;
    }
    await assert.rejects(query, /Unknown setting param_visitor/);
  } finally {
    await client.close();
  }
});

test('the password user from clickhouse.sh: right password works, a wrong one is refused', async () => {
  const good = connect(CLICKHOUSE_PASSWORD_USER);
  const bad = connect({ username: CLICKHOUSE_PASSWORD_USER.username, password: 'not-the-password' });
  try {
    assert.deepEqual(await (await good.query({ query: 'SELECT 42 AS answer', format: 'JSONEachRow' })).json(), [{ answer: 42 }]);
    await assert.rejects(bad.query({ query: 'SELECT 1', format: 'JSONEachRow' }), /(Wrong password|Authentication failed).*tailplow|tailplow.*(password|Authentication)/i);
  } finally {
    await good.close();
    await bad.close();
  }
});

test('clickhouse.sh: start prints the env line, a second start is a no-op, restart keeps the data, stop stops', async () => {
  // A private server (own run dir and ports), so the shared one is never disturbed.
  const server = await privateService('clickhouse');
  const url = server.address;
  const pidOf = async () => Number((await readFile(join(server.runDir, 'clickhouse', 'clickhouse.pid'), 'utf8')).trim());
  try {
    const started = await server.run('start');
    assert.equal(started.stdout, `export TAILPLOW_CLICKHOUSE_URL=${url}\n`);
    const pidBefore = await pidOf();
    const again = await server.run('start');
    assert.equal(again.stdout, started.stdout);
    assert.match(again.stderr, /already running/);
    assert.equal(await pidOf(), pidBefore);

    const before = connect({ url });
    try {
      await before.command({ query: 'CREATE TABLE kept (event_id String, n UInt32) ENGINE = MergeTree ORDER BY event_id' });
      await before.insert({ table: 'kept', format: 'JSONEachRow', values: [{ event_id: 'a', n: 1 }, { event_id: 'b', n: 2 }] });
    } finally {
      await before.close();
    }

    await server.run('restart');
    assert.notEqual(await pidOf(), pidBefore, 'restart must replace the server process');
    const after = connect({ url });
    try {
      const rows = await (await after.query({ query: 'SELECT event_id, n FROM kept ORDER BY event_id', format: 'JSONEachRow' })).json();
      assert.deepEqual(rows, [{ event_id: 'a', n: 1 }, { event_id: 'b', n: 2 }]);
    } finally {
      await after.close();
    }

    await server.run('stop');
    await assert.rejects(server.run('status'), /clickhouse\.sh status failed/);
  } finally {
    await server.stop();
  }
});
