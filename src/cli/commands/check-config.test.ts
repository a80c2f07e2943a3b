import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskSecrets } from './check-config';

const bin = join(__dirname, '../../../../bin/tailplow.js');

function checkConfig(text: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(mkdtempSync(join(tmpdir(), 'tailplow-cc-')), 'tailplow.yml');
  writeFileSync(file, text);
  const r = spawnSync(process.execPath, [bin, 'check-config', file], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { file, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a valid file prints the effective config with secrets masked', () => {
  const r = checkConfig(
    'input:\n  paths: [/var/log/nginx/t.log]\nkafka:\n  brokers: [k:9092]\n  sasl:\n    mechanism: plain\n    username: u\n    password: ${KAFKA_PASSWORD}\n',
    { KAFKA_PASSWORD: 'hunter2-very-secret' },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid config for `tailplow tail`/);
  assert.ok(!r.stdout.includes('hunter2'), 'the password must not be printed');
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { kafka: { sasl: { password: string } }; output: { topic: string } };
  assert.equal(json.kafka.sasl.password, '***');
  assert.equal(json.output.topic, 'tracking_raw');
});

test('problems are listed with file, line, column and field; exit 2', () => {
  const r = checkConfig('input:\n  paths: []\n  startAt: middle\nkafka:\n  brokrs: [x]\n');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /3 problems in /);
  assert.match(r.stderr, /tailplow\.yml:2:3: input\.paths: Array must contain at least 1 element/);
  assert.match(r.stderr, /tailplow\.yml:3:3: input\.startAt: Invalid enum value/);
  assert.match(r.stderr, /tailplow\.yml:5:3: kafka: unknown field "brokrs"/);
});

test('maskSecrets masks by key name at any depth', () => {
  assert.deepEqual(maskSecrets({ a: { password: 'x', apiKey: 'y', list: [{ token: 't' }] }, user: 'u' }), {
    a: { password: '***', apiKey: '***', list: [{ token: '***' }] },
    user: 'u',
  });
});
