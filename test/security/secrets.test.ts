/**
 * Secrets given through ${ENV} or ${file:…} never come out in clear: not in `check-config`
 * output, not in log lines (any depth, URLs, errors), not in error messages the CLI prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportAndExitCode } from '../../src/cli/errors';
import { createClickHouseStore } from '../../src/storage/clickhouse-store';
import { createLogger } from '../../src/util/logger';
import { maskSecrets, maskUrlCredentials } from '../../src/util/secrets';
import { runTailplow } from '../support/replay-logs';

const SECRETS = {
  KAFKA_PASSWORD: 'kafka-Secret-4711',
  CH_PASSWORD: 'ch-Secret-0815',
  ES_API_KEY: 'es-ApiKey-c2VjcmV0',
  REDIS_PASSWORD: 'redis-Secret-1234',
};
const SALT = 'salt-Secret-9999';
const ALL = [...Object.values(SECRETS), SALT];

function assertNoSecret(text: string, where: string): void {
  for (const s of ALL) assert.ok(!text.includes(s), `${where} contains the secret ${s}:\n${text}`);
}

test('check-config prints the effective config with every secret masked: keys, SASL, API keys, salts from files, URL passwords', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-secrets-'));
  try {
    writeFileSync(join(dir, 'salt'), `${SALT}\n`);
    const config = join(dir, 'process.yml');
    writeFileSync(
      config,
      [
        'kafka:',
        '  brokers: [127.0.0.1:9092]',
        '  sasl: {mechanism: scram-sha-512, username: tailplow, password: "${KAFKA_PASSWORD}"}',
        'stages:',
        '  - type: enrich',
        '    enrichments:',
        '      - type: pii',
        `        salt: "\${file:${join(dir, 'salt')}}"`,
        '  - type: profile',
        '    redis:',
        '      url: "redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0"',
        'sinks:',
        '  - type: clickhouse',
        '    url: "http://writer:${CH_PASSWORD}@127.0.0.1:8123"',
        '    username: writer',
        '    password: "${CH_PASSWORD}"',
        '  - type: elasticsearch',
        '    auth: {apiKey: "${ES_API_KEY}"}',
        '',
      ].join('\n'),
    );
    const r = await runTailplow(['check-config', '--for', 'process', config], SECRETS);
    assert.equal(r.code, 0, r.stderr);
    assertNoSecret(r.stdout + r.stderr, 'check-config output');
    const printed = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n') + 1)) as {
      kafka: { sasl: Record<string, string> };
      sinks: Array<Record<string, unknown>>;
      stages: Array<Record<string, unknown>>;
    };
    assert.deepEqual(printed.kafka.sasl, { mechanism: 'scram-sha-512', username: 'tailplow', password: '***' });
    assert.equal(printed.sinks[0]!.url, 'http://writer:***@127.0.0.1:8123');
    assert.equal(printed.sinks[0]!.password, '***');
    assert.equal(printed.sinks[0]!.username, 'writer', 'what is not secret stays readable');
    assert.deepEqual(printed.sinks[1]!.auth, { apiKey: '***' });
    assert.equal((printed.stages[1]!.redis as { url: string }).url, 'redis://:***@127.0.0.1:6379/0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log lines mask secrets at any depth, URL passwords in messages and fields, and error messages and stacks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-log-'));
  const file = join(dir, 'log.ndjson');
  const fd = openSync(file, 'w');
  try {
    const logger = createLogger({ level: 'info', destination: fd });
    logger.info({ config: { kafka: { sasl: { username: 'tailplow', password: SECRETS.KAFKA_PASSWORD } }, sinks: [{ type: 'elasticsearch', auth: { apiKey: SECRETS.ES_API_KEY } }] } }, 'starting');
    logger.warn({ sink: 'clickhouse', url: `http://writer:${SECRETS.CH_PASSWORD}@127.0.0.1:8123` }, `retrying http://writer:${SECRETS.CH_PASSWORD}@127.0.0.1:8123`);
    logger.error({ err: new Error(`connect failed: redis://default:${SECRETS.REDIS_PASSWORD}@10.0.0.5:6379`) }, 'profile store down');
    logger.info({ salt: SALT }, 'top-level key');
    logger.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = readFileSync(file, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(lines.length, 4, text);
    assertNoSecret(text, 'log');
    assert.equal(lines[0]!.config.kafka.sasl.password, '***');
    assert.equal(lines[0]!.config.kafka.sasl.username, 'tailplow');
    assert.equal(lines[0]!.config.sinks[0].auth.apiKey, '***');
    assert.equal(lines[1]!.url, 'http://writer:***@127.0.0.1:8123');
    assert.equal(lines[1]!.msg, 'retrying http://writer:***@127.0.0.1:8123');
    assert.equal(lines[2]!.err.type, 'Error');
    assert.equal(lines[2]!.err.message, 'connect failed: redis://default:***@10.0.0.5:6379');
    assert.match(lines[2]!.err.stack, /^Error: connect failed: redis:\/\/default:\*\*\*@/);
    assert.equal(lines[3]!.salt, '***');
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ClickHouse URL with a password, failing to connect: neither the CLI error nor the log shows the password', async () => {
  // A port that refuses: bound, then closed.
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const url = `http://writer:${SECRETS.CH_PASSWORD}@127.0.0.1:${port}`;
  const err = await createClickHouseStore({ url, username: 'writer', password: SECRETS.CH_PASSWORD, database: 'default', requestTimeoutMs: 2000, asyncInsert: false }).then(
    () => assert.fail('connected to a closed port'),
    (e: unknown) => e,
  );
  // What a command would print for it, wrapped with the URL as our messages do.
  let printed = '';
  reportAndExitCode(err, (s) => (printed += s));
  reportAndExitCode(new Error(`clickhouse sink: cannot reach ${url}: ${(err as Error).message}`), (s) => (printed += s));
  assert.match(printed, /internal error/);
  assert.ok(printed.includes(`http://writer:***@127.0.0.1:${port}`), printed);
  assertNoSecret(printed, 'CLI error');
  assertNoSecret(JSON.stringify(maskSecrets({ err })), 'logged error');
});

test('maskUrlCredentials: only the password part of URLs, everything else untouched', () => {
  assert.equal(maskUrlCredentials('http://u:p@h:1/x and https://:q@h2/ and rediss://user@h3'), 'http://u:***@h:1/x and https://:***@h2/ and rediss://user@h3');
  assert.equal(maskUrlCredentials('no url: user:pass@host'), 'no url: user:pass@host');
  assert.equal(maskUrlCredentials('https://example.com/a?x=1@2'), 'https://example.com/a?x=1@2');
  assert.deepEqual(maskSecrets({ list: [{ token: 't' }], n: 1, ok: true, nothing: null, emptyPassword: '' }), { list: [{ token: '***' }], n: 1, ok: true, nothing: null, emptyPassword: '' });
});
