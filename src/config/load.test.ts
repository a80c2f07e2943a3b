import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigError, parseConfigText, substitute } from './load';

const schema = z
  .object({
    input: z.object({ paths: z.array(z.string()).min(1), start_at: z.enum(['end', 'beginning']).default('end') }).strict(),
    kafka: z.object({ brokers: z.array(z.string()), password: z.string().optional() }).strict().optional(),
  })
  .strict();

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, 'tailplow.yml', schema, { env, readFile: () => 'from-file\n' });
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

test('valid config parses with defaults', () => {
  const cfg = parseConfigText('input:\n  paths: [/var/log/nginx/a.log]\n', 'x.yml', schema);
  assert.deepEqual(cfg, { input: { paths: ['/var/log/nginx/a.log'], start_at: 'end' } });
});

test('errors name file, line, column and field', () => {
  const text = 'input:\n  paths: [/a]\n  start_at: middle\n';
  const [msg] = problemsOf(text);
  assert.match(msg!, /^tailplow\.yml:3:3: input\.start_at: Invalid enum value/);
});

test('missing required field points at its parent, unknown key at itself', () => {
  const msgs = problemsOf('input:\n  start_at: end\nkafka:\n  brokers: []\n  pasword: x\n');
  assert.ok(msgs.some((m) => /^tailplow\.yml:1:1: input\.paths: is required$/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /^tailplow\.yml:5:3: kafka: unknown field "pasword"$/.test(m)), msgs.join('\n'));
});

test('YAML syntax errors carry a line', () => {
  const [msg] = problemsOf('input:\n  paths: [a\n');
  assert.match(msg!, /^tailplow\.yml:\d+:\d+: YAML: /);
});

test('environment substitution with defaults, required vars and secret files', () => {
  const cfg = parseConfigText(
    'input:\n  paths: ["${LOG_DIR:-/var/log}/x.log"]\nkafka:\n  brokers: ["${BROKER}"]\n  password: "${file:/run/secrets/kafka}"\n',
    'x.yml',
    schema,
    { env: { BROKER: 'k1:9092' }, readFile: () => 's3cret\n' },
  );
  assert.deepEqual(cfg.input.paths, ['/var/log/x.log']);
  assert.deepEqual(cfg.kafka, { brokers: ['k1:9092'], password: 's3cret' });
  const [msg] = problemsOf('input:\n  paths: ["${NOPE}"]\n');
  assert.match(msg!, /^tailplow\.yml:2:11: input\.paths\[0\]: environment variable NOPE is not set/);
});

test('substitute handles $$ escapes and malformed expressions', () => {
  const src = { env: { A: '1' }, readFile: () => '' };
  assert.deepEqual(substitute('$${A} ${A}', src), { value: '${A} 1' });
  assert.ok('error' in substitute('${A B}', src));
  assert.deepEqual(substitute('${A:?need A}', src), { value: '1' });
  assert.deepEqual(substitute('${B:?need B}', src), { error: 'environment variable B is not set: need B' });
});
