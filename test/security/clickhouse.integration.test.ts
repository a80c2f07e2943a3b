// The clickhouse sink over HTTPS with basic auth and a client certificate, against a private
// ClickHouse 18.16 serving https_port itself (scripts/services/clickhouse.sh with its HTTPS port
// and a CA for client certificates): events stored over TLS; an untrusted server certificate,
// a missing client certificate and a wrong password fail without the password in the error.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { parseConfigText } from '../../src/config/load';
import { clickhouseSinkSchema, createClickHouseSink } from '../../src/sinks/clickhouse';
import { createClickHouseStore, type ClickHouseStore } from '../../src/storage/clickhouse-store';
import { silentLogger } from '../../src/util/logger';
import { RetriableError } from '../../src/util/retry';
import { CLICKHOUSE_PASSWORD_USER, freePort, startPrivateService, uniqueName, type PrivateService } from '../support/services';
import { eventsOverTime } from '../storage/analytics';
import { TAILPLOW_BIN } from '../support/tailplow-child';
import { createTestPki, type TestPki } from './certs';

let pki: TestPki;
let clickhouse: PrivateService;
let httpsUrl: string;
let admin: ClickHouseStore;

before(async () => {
  pki = createTestPki();
  const httpsPort = await freePort();
  clickhouse = await startPrivateService('clickhouse', {
    env: {
      TAILPLOW_CLICKHOUSE_HTTPS_PORT: String(httpsPort),
      TAILPLOW_CLICKHOUSE_TLS_CERT: pki.serverCertFile,
      TAILPLOW_CLICKHOUSE_TLS_KEY: pki.serverKeyFile,
      TAILPLOW_CLICKHOUSE_TLS_CLIENT_CA: pki.caFile,
    },
  });
  httpsUrl = `https://127.0.0.1:${httpsPort}`;
  // Plain HTTP, for the test's own checks.
  admin = await createClickHouseStore({ url: clickhouse.address, username: 'default', password: '', database: 'default', requestTimeoutMs: 10_000, asyncInsert: false });
});

after(async () => {
  await admin?.close();
  await clickhouse?.stop();
  pki?.remove();
});

/** The sink's config as a user writes it (YAML with ${ENV} for the password), validated. */
function sinkConfig(tls: Record<string, string>, password = '${TEST_CLICKHOUSE_PASSWORD}', env: Record<string, string> = { TEST_CLICKHOUSE_PASSWORD: CLICKHOUSE_PASSWORD_USER.password }) {
  const yaml = JSON.stringify({ sink: { type: 'clickhouse', url: httpsUrl, username: CLICKHOUSE_PASSWORD_USER.username, password, table: uniqueName('secure_events').replace(/-/g, '_'), requestTimeoutMs: 30_000, tls } });
  return parseConfigText(yaml, 'sink.yaml', z.object({ sink: clickhouseSinkSchema }), { env }).sink;
}

const mutualTls = () => ({ caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile });

async function startError(config: ReturnType<typeof sinkConfig>): Promise<Error> {
  try {
    const sink = await createClickHouseSink(config, { logger: silentLogger, dataDir: '/nonexistent' });
    await sink.close();
  } catch (error) {
    return error as Error;
  }
  assert.fail('the sink was expected to fail');
}

describe('clickhouse sink over HTTPS (ClickHouse 18.16 https_port, client certificates required)', () => {
  test('CA file, client certificate and password from ${ENV}: events are stored', async () => {
    const config = sinkConfig(mutualTls());
    const sink = await createClickHouseSink(config, { logger: silentLogger, dataDir: '/nonexistent' });
    try {
      const events = eventsOverTime(2);
      assert.deepEqual(await sink.write(events), { failed: [] });
      const [row] = await admin.query<{ n: number }>(`SELECT count() AS n FROM ${config.table} FINAL`);
      assert.equal(Number(row?.n), new Set(events.map((e) => e.event_id)).size);
    } finally {
      await sink.close();
      await admin.command(`DROP TABLE IF EXISTS ${config.table}`);
    }
  });

  test('a server certificate from another CA: a non-retriable certificate error', async () => {
    const error = await startError(sinkConfig({ ...mutualTls(), caFile: pki.otherCaFile }));
    assert.ok(!(error instanceof RetriableError), `${error.name}: ${error.message}`);
    assert.match(error.message, /certificate/);
  });

  test('without a client certificate the server refuses the connection', async () => {
    const error = await startError(sinkConfig({ caFile: pki.caFile }));
    assert.ok(!(error instanceof RetriableError), `${error.name}: ${error.message}`);
    assert.match(error.message, /certificate required/);
  });

  test('a wrong password: ClickHouse refuses it (not retried), and the error does not carry the password', async () => {
    const wrong = 'wrong-ClickHouse-pw';
    const error = await startError(sinkConfig(mutualTls(), wrong));
    assert.ok(!(error instanceof RetriableError), `${error.name}: ${error.message}`);
    assert.match(error.message, /password/i);
    assert.ok(!error.message.includes(wrong));
  });

  test('tailplow process stops at start-up on a refused password instead of retrying the sink forever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tailplow-sec-process-'));
    try {
      const wrong = 'wrong-ClickHouse-pw-2';
      const config = {
        dataDir: join(dir, 'data'),
        http: { enabled: false },
        // Never reached: the sinks start before the consumer.
        kafka: { brokers: [`127.0.0.1:${await freePort()}`] },
        sinks: [{ type: 'clickhouse', url: httpsUrl, username: CLICKHOUSE_PASSWORD_USER.username, password: '${TEST_CLICKHOUSE_PASSWORD}', tls: mutualTls() }],
      };
      writeFileSync(join(dir, 'process.yaml'), JSON.stringify(config));
      const started = Date.now();
      const child = spawn(process.execPath, [TAILPLOW_BIN, 'process', '-c', join(dir, 'process.yaml')], { env: { ...process.env, TEST_CLICKHOUSE_PASSWORD: wrong }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
      clearTimeout(timer);
      assert.notEqual(code, null, `killed after ${Date.now() - started} ms: still retrying\n${stderr}`);
      assert.notEqual(code, 0, stderr);
      assert.match(stderr, /Wrong password/i);
      assert.ok(!stderr.includes(wrong), 'the password leaked to stderr');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
