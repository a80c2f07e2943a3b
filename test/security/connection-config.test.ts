// The TLS and auth settings of every connection as a user writes them: check-config accepts
// them, prints file paths and user names but never a secret (from ${ENV} or ${file:}), and
// reports a client certificate without its key at the right field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TAILPLOW_BIN } from '../support/tailplow-child';

const SECRETS = {
  KAFKA_PASSWORD: 'kafka-Secret-98',
  REDIS_PASSWORD: 'redis-Secret-87',
  CLICKHOUSE_PASSWORD: 'clickhouse-Secret-76',
  ES_PASSWORD: 'es-Secret-65',
};
const ES_API_KEY_IN_FILE = 'ZXNrZXlpZDplc2tleXNlY3JldA==';

function checkConfig(dir: string, yaml: string): { status: number | null; stdout: string; stderr: string } {
  const file = join(dir, 'process.yaml');
  writeFileSync(file, yaml);
  const r = spawnSync(process.execPath, [TAILPLOW_BIN, 'check-config', '--for', 'process', file], { env: { ...process.env, ...SECRETS }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('check-config: every TLS/auth setting is accepted and no secret is printed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-sec-config-'));
  try {
    writeFileSync(join(dir, 'es-api-key'), `${ES_API_KEY_IN_FILE}\n`);
    const yaml = [
      'kafka:',
      '  brokers: ["kafka-1.example.org:9093"]',
      `  tls: {caFile: ${dir}/ca.pem, certFile: ${dir}/client.pem, keyFile: ${dir}/client.key, servername: kafka.example.org}`,
      '  sasl: {mechanism: scram-sha-512, username: tailplow, password: "${KAFKA_PASSWORD}"}',
      'stages:',
      '  - type: profile',
      '    redis:',
      '      url: "rediss://redis.example.org:6380/2"',
      '      username: tailplow-profile',
      '      password: "${REDIS_PASSWORD}"',
      `      tls: {caFile: ${dir}/ca.pem}`,
      'sinks:',
      '  - type: clickhouse',
      '    url: https://clickhouse.example.org:8443',
      '    username: tailplow',
      '    password: "${CLICKHOUSE_PASSWORD}"',
      `    tls: {caFile: ${dir}/ca.pem, certFile: ${dir}/client.pem, keyFile: ${dir}/client.key}`,
      '  - type: elasticsearch',
      '    nodes: [https://es.example.org:9200]',
      `    auth: {apiKey: "\${file:${dir}/es-api-key}"}`,
      `    tls: {caFile: ${dir}/ca.pem}`,
      '  - type: elasticsearch',
      '    nodes: [https://es.example.org:9200]',
      '    index: other',
      '    auth: {username: tailplow, password: "${ES_PASSWORD}"}',
      '',
    ].join('\n');
    const r = checkConfig(dir, yaml);
    assert.equal(r.status, 0, r.stderr);
    for (const secret of [...Object.values(SECRETS), ES_API_KEY_IN_FILE]) assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `${secret} printed`);
    const printed = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n') + 1)) as {
      kafka: { tls: Record<string, unknown>; sasl: Record<string, unknown> };
      stages: Array<{ redis?: Record<string, unknown> }>;
      sinks: Array<Record<string, unknown>>;
    };
    assert.deepEqual(printed.kafka.sasl, { mechanism: 'scram-sha-512', username: 'tailplow', password: '***' });
    assert.deepEqual(printed.kafka.tls, { caFile: `${dir}/ca.pem`, certFile: `${dir}/client.pem`, keyFile: `${dir}/client.key`, servername: 'kafka.example.org', rejectUnauthorized: true });
    const redis = printed.stages[0]!.redis!;
    assert.deepEqual([redis.username, redis.password, redis.tls], ['tailplow-profile', '***', { caFile: `${dir}/ca.pem`, rejectUnauthorized: true }]);
    assert.deepEqual([printed.sinks[0]!.password, printed.sinks[0]!.tls], ['***', { caFile: `${dir}/ca.pem`, certFile: `${dir}/client.pem`, keyFile: `${dir}/client.key` }]);
    assert.deepEqual(printed.sinks[1]!.auth, { apiKey: '***' });
    assert.deepEqual(printed.sinks[2]!.auth, { username: 'tailplow', password: '***' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check-config: a client certificate without its key is an error at that field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-sec-config-'));
  try {
    const r = checkConfig(dir, ['kafka:', '  tls:', '    certFile: /etc/tailplow/client.pem', 'sinks:', '  - type: clickhouse', '    tls: {caFile: /ca.pem, keyFile: /k.pem}', ''].join('\n'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /process\.yaml:2:3: kafka\.tls: certFile and keyFile go together/);
    assert.match(r.stderr, /process\.yaml:6:5: sinks\[0\]\.tls: certFile and keyFile go together/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
