// ttlDays against the shared ClickHouse 18.16 (scripts/services/clickhouse.sh): the sink refuses
// to start, says what to do instead, and creates no table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clickhouseUrl, uniqueName } from '../../test/support/services';
import { clickhouseSinkSchema, createClickHouseSink } from '../sinks/clickhouse';
import { silentLogger } from '../util/logger';
import { createClickHouseStore } from './clickhouse-store';
import { RetentionUnsupportedError } from './retention';

test('clickhouse sink with ttlDays on a server older than 19.6: refused before the table is created', async () => {
  const table = uniqueName('events_ttl').replace(/[^A-Za-z0-9_]/g, '_');
  const config = clickhouseSinkSchema.parse({ type: 'clickhouse', url: clickhouseUrl(), table, ttlDays: 30 });
  const store = await createClickHouseStore({ ...config, tls: undefined });
  try {
    if (!/^(1[0-8]|19\.[0-5])\./.test(store.version)) {
      // A newer server takes the TTL: the sink starts and the table carries it.
      const sink = await createClickHouseSink(config, { logger: silentLogger, dataDir: '/nonexistent' });
      await sink.close();
      const [row] = await store.query<{ statement: string }>(`SHOW CREATE TABLE ${table}`);
      assert.match(row!.statement, /TTL/);
      await store.command(`DROP TABLE ${table}`);
      return;
    }
    await assert.rejects(createClickHouseSink(config, { logger: silentLogger, dataDir: '/nonexistent' }), (err: unknown) => {
      assert.ok(err instanceof RetentionUnsupportedError, String(err));
      assert.match(err.message, new RegExp(`19\\.6 or newer \\(this server is ${store.version.replace(/\./g, '\\.')}\\).*ALTER TABLE default\\.${table} DROP PARTITION 202401`));
      return true;
    });
    const [exists] = await store.query<{ result: number }>(`EXISTS TABLE default.${table}`);
    assert.equal(Number(exists!.result), 0);
  } finally {
    await store.close();
  }
});
