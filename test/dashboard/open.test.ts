// Which store the dashboard and report read, from their options: --clickhouse-url (credentials
// from the environment), a run or process config's clickhouse sink (before an embedded one), its
// embedded sink's path or <dataDir>/clickhouse, or run's default data directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { targetOf } from '../../src/dashboard/open';

const dir = mkdtempSync(join(tmpdir(), 'tailplow-dashboard-open-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('--clickhouse-url: a server, user and password from the environment, never from the command line', () => {
  assert.deepEqual(targetOf({ clickhouseUrl: 'http://ch:8123', table: 'hits' }, { TAILPLOW_CLICKHOUSE_USER: 'reader', TAILPLOW_CLICKHOUSE_PASSWORD: 'secret' }), {
    kind: 'clickhouse', url: 'http://ch:8123', username: 'reader', password: 'secret', database: 'default', table: 'hits',
  });
});

test('a process config: its clickhouse sink wins over an embedded one; --table/--database override', () => {
  const config = file('process.yml', ['sinks:', '  - type: embedded', '  - type: clickhouse', '    url: http://ch:8123', '    database: web', '    table: ev', '    password: pw', ''].join('\n'));
  assert.deepEqual(targetOf({ config }, {}), { kind: 'clickhouse', url: 'http://ch:8123', username: 'default', password: 'pw', database: 'web', table: 'ev' });
  assert.equal((targetOf({ config, table: 'other', database: 'db2' }, {}) as { table: string; database: string }).table, 'other');
});

test('a run config: its embedded sink under dataDir (or its own path); --data-dir overrides dataDir', () => {
  const config = file('run.yml', ['dataDir: /srv/tp', 'sinks:', '  - type: embedded', '    table: hits', ''].join('\n'));
  assert.deepEqual(targetOf({ config }, {}), { kind: 'embedded', path: '/srv/tp/clickhouse', table: 'hits', dataDir: '/srv/tp' });
  assert.equal((targetOf({ config, dataDir: '/elsewhere' }, {}) as { path: string }).path, '/elsewhere/clickhouse');
  const own = file('run-path.yml', ['input:', '  paths: [/var/log/x.log]', 'sinks:', '  - type: embedded', '    path: /data/ch', ''].join('\n'));
  assert.equal((targetOf({ config: own }, {}) as { path: string }).path, '/data/ch');
});

test('no options: run\'s default data directory; a config without a store sink or an invalid one is a usage error', () => {
  assert.deepEqual(targetOf({}, {}), { kind: 'embedded', path: join('tailplow-data', 'clickhouse'), table: 'events', dataDir: 'tailplow-data' });
  assert.throws(() => targetOf({ config: file('file-only.yml', ['sinks:', '  - type: file', '    path: /tmp/x.ndjson', ''].join('\n')) }, {}), /no clickhouse or embedded sink/);
  assert.throws(() => targetOf({ config: file('bad.yml', 'nonsense: 1\n') }, {}), /neither a valid run nor process config/);
});
