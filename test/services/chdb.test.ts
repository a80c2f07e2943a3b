// chDB (npm `chdb`): ClickHouse 26 in-process, the embedded default's event store. A unit
// test because it needs no server. Pins down what the embedded sink and the dashboard rely
// on: the modern schema (the one ClickHouse 18.16 cannot take, see
// clickhouse.integration.test.ts), ReplacingMergeTree + FINAL, data surviving a new session,
// server-side query parameters, and chDB's one-data-directory-per-process rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';

async function withDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tailplow-chdb-'));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Parses chDB's JSONEachRow text output. */
function rows(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

const EVENTS_DDL = `CREATE TABLE events (
  event_id String,
  collector_tstamp DateTime64(3, 'UTC'),
  app_id LowCardinality(String),
  page_url Nullable(String),
  user_ipaddress IPv6,
  contexts Map(String, String),
  unstruct_event JSON,
  load_version UInt64
) ENGINE = ReplacingMergeTree(load_version)
PARTITION BY toYYYYMM(collector_tstamp)
ORDER BY event_id`;

test('chdb loads on this Node, reports ClickHouse 2x, and what loading costs (measured in a fresh process)', (t) => {
  // A fresh process, because this one has loaded chdb already.
  const script = `
    const t0 = performance.now(); const rss0 = process.memoryUsage().rss;
    const chdb = require('chdb');
    const t1 = performance.now(); const rss1 = process.memoryUsage().rss;
    const session = new chdb.Session(require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'tailplow-chdb-load-')));
    const t2 = performance.now();
    const engine = session.query('SELECT version()', 'TSV').trim();
    const rss2 = process.memoryUsage().rss;
    const dir = session.path; session.close(); require('node:fs').rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ node: process.version, binding: chdb.version().chdb, engine,
      requireMs: t1 - t0, sessionMs: t2 - t1, rssMiB: [rss0, rss1, rss2].map((b) => Math.round(b / 1048576)) }));`;
  const measured = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 })) as {
    node: string;
    binding: string;
    engine: string;
    requireMs: number;
    sessionMs: number;
    rssMiB: [number, number, number];
  };
  assert.match(measured.engine, /^2\d\.\d+\.\d+/, `engine version ${measured.engine}`);
  assert.match(measured.binding, /^\d+\.\d+\.\d+/);
  assert.ok(measured.requireMs > 0 && measured.sessionMs > 0);
  assert.ok(measured.rssMiB[2] >= measured.rssMiB[0]);
  t.diagnostic(
    `chdb ${measured.binding} (ClickHouse ${measured.engine}) on Node ${measured.node}: require ${measured.requireMs.toFixed(0)} ms, ` +
      `new Session ${measured.sessionMs.toFixed(0)} ms, RSS ${measured.rssMiB.join(' → ')} MiB (start → loaded → session + query)`,
  );
});

test('ReplacingMergeTree with DateTime64, LowCardinality, Nullable, IPv6, Map and JSON: FINAL dedups, data survives a new session', async () => {
  await withDir(async (dir) => {
    const first = new Session(dir);
    try {
      first.query(EVENTS_DDL);
      // Two inserts make two parts, so the duplicate has to be collapsed at read time.
      const batch1 = [
        {
          event_id: 'e1',
          collector_tstamp: '2024-05-01T10:00:00.123Z',
          app_id: 'web',
          page_url: null,
          user_ipaddress: '203.0.113.7',
          contexts: { 'com.acme/product': '{"sku":"A-1"}' },
          unstruct_event: { schema: 'iglu:com.acme/click/jsonschema/1-0-0', data: { target: 'buy', x: 3 } },
          load_version: 1,
        },
        {
          event_id: 'e2',
          collector_tstamp: '2024-06-01T00:00:00.999Z',
          app_id: 'app',
          page_url: 'https://shop.example/b',
          user_ipaddress: '2001:db8::1',
          contexts: {},
          unstruct_event: {},
          load_version: 1,
        },
      ];
      const summary = await first.insert({
        table: 'events',
        format: 'JSONEachRow',
        values: Buffer.from(batch1.map((row) => JSON.stringify(row)).join('\n') + '\n'),
        settings: { date_time_input_format: 'best_effort' },
      });
      assert.equal(summary.rowsWritten, 2);
      await first.insert({
        table: 'events',
        format: 'JSONEachRow',
        values: Buffer.from(JSON.stringify({ ...batch1[0], page_url: 'https://shop.example/a', load_version: 2 }) + '\n'),
        settings: { date_time_input_format: 'best_effort' },
      });
      assert.equal(first.query('SELECT count() FROM events', 'TSV').trim(), '3');
      assert.equal(first.query('SELECT count() FROM events FINAL', 'TSV').trim(), '2');
    } finally {
      first.close();
    }

    // A new session on the same directory sees the committed parts.
    const second = new Session(dir);
    try {
      const stored = rows(
        second.query(
          `SELECT event_id, collector_tstamp, toTypeName(collector_tstamp) AS ts_type, toTypeName(app_id) AS app_type, app_id,
                  page_url, toString(user_ipaddress) AS ip, contexts, unstruct_event.data.target::Nullable(String) AS target,
                  unstruct_event.data.x::Nullable(Int64) AS x, load_version
           FROM events FINAL ORDER BY event_id`,
          'JSONEachRow',
        ),
      );
      assert.deepEqual(stored, [
        {
          event_id: 'e1',
          collector_tstamp: '2024-05-01 10:00:00.123',
          ts_type: "DateTime64(3, 'UTC')",
          app_type: 'LowCardinality(String)',
          app_id: 'web',
          page_url: 'https://shop.example/a',
          ip: '::ffff:203.0.113.7',
          contexts: { 'com.acme/product': '{"sku":"A-1"}' },
          target: 'buy',
          x: 3,
          load_version: 2,
        },
        {
          event_id: 'e2',
          collector_tstamp: '2024-06-01 00:00:00.999',
          ts_type: "DateTime64(3, 'UTC')",
          app_type: 'LowCardinality(String)',
          app_id: 'app',
          page_url: 'https://shop.example/b',
          ip: '2001:db8::1',
          contexts: {},
          target: null,
          x: null,
          load_version: 1,
        },
      ]);
      const partitions = second.query(`SELECT DISTINCT partition FROM system.parts WHERE table = 'events' AND active ORDER BY partition`, 'TSV');
      assert.deepEqual(partitions.trim().split('\n'), ['202405', '202406']);
    } finally {
      second.close();
    }
  });
});

test('query parameters are bound server-side: a hostile value stays a value, types are checked', async () => {
  await withDir(async (dir) => {
    const session = new Session(dir);
    try {
      session.query(`CREATE TABLE visits (visitor String, ts DateTime64(3, 'UTC'), page String) ENGINE = MergeTree ORDER BY (visitor, ts)`);
      session.query(`INSERT INTO visits VALUES ('v1', '2024-05-01 10:00:00.000', '/a'), ('v1', '2024-05-01 11:00:00.000', '/b'), ('v2', '2024-05-02 09:00:00.000', '/a')`);

      const hostile = "v1' OR 1=1 --";
      assert.equal(session.queryBind('SELECT count() FROM visits WHERE visitor = {visitor:String}', { visitor: hostile }, 'TSV').trim(), '0');
      assert.equal(session.queryBind('SELECT {visitor:String} AS echoed', { visitor: hostile }, 'TSV').trim(), "v1\\' OR 1=1 --");

      const result = await session.queryBindAsync(
        `SELECT page, count() AS n FROM {table:Identifier}
         WHERE visitor IN {visitors:Array(String)} AND ts >= {from:DateTime64(3, 'UTC')}
         GROUP BY page ORDER BY page`,
        { table: 'visits', visitors: ['v1', 'v2'], from: '2024-05-01 10:30:00.000' },
        { format: 'JSONEachRow' },
      );
      assert.deepEqual(rows(result.text()), [
        { page: '/a', n: 1 },
        { page: '/b', n: 1 },
      ]);

      assert.throws(() => session.queryBind('SELECT {limit:UInt8}', { limit: '5; DROP TABLE visits' }, 'TSV'), /cannot be parsed as UInt8/);
      assert.equal(session.query('SELECT count() FROM visits', 'TSV').trim(), '3');
    } finally {
      session.close();
    }
  });
});

test('the types and functions ClickHouse 18.16 lacks all work in chDB', async () => {
  await withDir(async (dir) => {
    const session = new Session(dir);
    try {
      const statements = [
        "CREATE TABLE t_dt64 (a DateTime64(3, 'UTC')) ENGINE = Memory",
        'CREATE TABLE t_lc (a LowCardinality(String)) ENGINE = Memory',
        'CREATE TABLE t_map (a Map(String, String)) ENGINE = Memory',
        'CREATE TABLE t_json (a JSON) ENGINE = Memory',
        'CREATE TABLE t_ip (a IPv4, b IPv6) ENGINE = Memory',
        'CREATE TABLE t_bool (a Bool) ENGINE = Memory',
        'CREATE TABLE t_date32 (a Date32) ENGINE = Memory',
        'CREATE TABLE t_codec (a String CODEC(ZSTD)) ENGINE = MergeTree ORDER BY tuple()',
        'CREATE TABLE t_ttl (d DateTime, a String) ENGINE = MergeTree ORDER BY a TTL d + INTERVAL 1 DAY',
      ];
      for (const statement of statements) session.query(statement);
      assert.equal(session.query(`SELECT JSONExtractString('{"a":"b"}', 'a')`, 'TSV').trim(), 'b');
      assert.equal(session.query(`SELECT toStartOfInterval(toDateTime('2024-05-01 10:07:00', 'UTC'), INTERVAL 5 MINUTE)`, 'TSV').trim(), '2024-05-01 10:05:00');
      assert.equal(session.query('SELECT count() FROM system.tables WHERE database = currentDatabase()', 'TSV').trim(), String(statements.length));
    } finally {
      session.close();
    }
  });
});

test('one data directory per process: a second directory is refused while one is open, the same one is shared', async () => {
  await withDir(async (dirA) => {
    await withDir(async (dirB) => {
      const a = new Session(dirA);
      try {
        a.query('CREATE TABLE marker (x UInt8) ENGINE = MergeTree ORDER BY x');
        assert.throws(() => new Session(dirB), /only one active data directory per process/);
        const sameDir = new Session(dirA);
        try {
          assert.equal(sameDir.query("SELECT count() FROM system.tables WHERE name = 'marker'", 'TSV').trim(), '1');
        } finally {
          sameDir.close();
        }
      } finally {
        a.close();
      }
      // Once closed, another directory may be opened.
      const b = new Session(dirB);
      try {
        assert.equal(b.query("SELECT count() FROM system.tables WHERE name = 'marker'", 'TSV').trim(), '0');
      } finally {
        b.close();
      }
    });
  });
});
