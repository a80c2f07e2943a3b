import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, formatProblem, parseConfigText } from './load';
import { processConfigSchema } from './process';

const ROOT = join(__dirname, '../../..');

/** The problems `check-config --for process` would print, one `file:line:col: field: message` each. */
function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(yaml, 'p.yml', processConfigSchema, { env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
}

test('defaults: tracking_raw in group tailplow-processor, one enrich stage, a kafka sink to tracking_persisted, bad rows to tracking_bad', () => {
  const c = parseConfigText('', '(defaults)', processConfigSchema);
  assert.equal(c.source.topic, 'tracking_raw');
  assert.equal(c.source.groupId, 'tailplow-processor');
  assert.deepEqual(c.stages.map((s) => s.type), ['enrich']);
  const stage = c.stages[0]!;
  assert.deepEqual(stage.type === 'enrich' && stage.enrichments.map((e) => e.type), ['ua', 'referer', 'campaign', 'bots']);
  assert.equal(c.sinks.length, 1);
  assert.deepEqual(c.sinks[0]!.type === 'kafka' && c.sinks[0]!.topic, 'tracking_persisted');
  assert.equal(c.badRows.topic, 'tracking_bad');
});

test('the example config/process.yml is valid', () => {
  const c = parseConfigText(readFileSync(join(ROOT, 'config/process.yml'), 'utf8'), 'config/process.yml', processConfigSchema, {
    env: { ...process.env, TAILPLOW_PII_SALT: 'x', KAFKA_PASSWORD: 'x' },
  });
  assert.ok(c.sinks.length >= 1);
});

test('a full config with every enrichment in a valid order parses', () => {
  const yaml = [
    'kafka: {brokers: ["k1:9092"]}',
    'source: {topic: raw, groupId: g}',
    'stages:',
    '  - type: enrich',
    '    enrichments:',
    '      - {type: ua}',
    '      - {type: referer}',
    '      - {type: campaign}',
    '      - {type: geo, city: test/fixtures/maxmind/GeoIP2-City-Test.mmdb}',
    '      - {type: bots, action: drop}',
    '      - {type: anon_ip, anonOctets: 2}',
    '      - {type: pii, salt: "${SALT}"}',
    'sinks:',
    '  - {type: file, path: /tmp/out.tsv, format: tsv}',
    '  - {type: kafka, topic: persisted}',
  ].join('\n');
  const c = parseConfigText(yaml, 'p.yml', processConfigSchema, { env: { SALT: 's3cret' } });
  const stage = c.stages[0]!;
  const pii = stage.type === 'enrich' ? stage.enrichments.find((e) => e.type === 'pii') : undefined;
  assert.equal(pii?.type === 'pii' && pii.salt, 's3cret');
  assert.deepEqual(c.sinks.map((s) => s.type), ['file', 'kafka']);
});

test('an unknown stage type is reported at its type with the known types, file:line:col', () => {
  const p = problems('stages:\n  - type: enrich\n  - type: profil\n');
  assert.equal(p.length, 1, p.join('\n'));
  assert.match(p[0]!, /^p\.yml:3:5: stages\[1\]\.type: Invalid discriminator value\. Expected 'enrich'/);
});

test('an unknown enrichment type inside a stage is reported at that enrichment, not as a bare "Invalid input"', () => {
  assert.deepEqual(problems('stages:\n  - type: enrich\n    enrichments:\n      - type: ua\n      - type: geoip\n'), [
    "p.yml:5:9: stages[0].enrichments[1].type: Invalid discriminator value. Expected 'ua' | 'referer' | 'campaign' | 'geo' | 'bots' | 'anon_ip' | 'pii' | 'opt_out'",
  ]);
});

test('anon_ip before geo is refused: geo needs the full address', () => {
  assert.deepEqual(problems('stages:\n  - type: enrich\n    enrichments:\n      - type: anon_ip\n      - type: geo\n'), [
    'p.yml:4:9: stages[0].enrichments[0].type: anon_ip must come after geo: the geo lookup needs the full IP address',
  ]);
});

test('bots before ua, and an enrichment listed twice, are refused', () => {
  const p = problems('stages:\n  - type: enrich\n    enrichments: [{type: bots}, {type: ua}, {type: ua}]\n');
  assert.equal(p.length, 2, p.join('\n'));
  assert.ok(p.includes('p.yml:3:46: stages[0].enrichments[2].type: enrichment "ua" is listed twice'), p.join('\n'));
  assert.ok(p.some((l) => /^p\.yml:3:20: stages\[0\]\.enrichments\[0\]\.type: bots must come after ua/.test(l)), p.join('\n'));
});

test('pii without a salt (or with an empty ${VAR}) is refused', () => {
  assert.deepEqual(problems('stages:\n  - type: enrich\n    enrichments:\n      - type: pii\n        fields: [user_id]\n'), [
    'p.yml:4:9: stages[0].enrichments[0].salt: a non-empty salt is required when PII pseudonymisation is enabled (an unsalted hash of an IP or id is easy to reverse)',
  ]);
  const p = problems('stages:\n  - type: enrich\n    enrichments:\n      - type: pii\n        salt: "${NO_SUCH_SALT_VAR}"\n');
  assert.equal(p.length, 1, p.join('\n'));
  assert.match(p[0]!, /^p\.yml:5:15: stages\[0\]\.enrichments\[0\]\.salt: /);
});

test('sinks: unknown type, missing file path, empty list, unknown field', () => {
  const unknown = problems('sinks:\n  - type: s3\n');
  assert.equal(unknown.length, 1);
  assert.match(unknown[0]!, /^p\.yml:2:5: sinks\[0\]\.type: Invalid discriminator value\. Expected 'kafka' \| 'file'/);
  assert.deepEqual(problems('sinks:\n  - type: file\n'), ['p.yml:2:5: sinks[0].path: is required']);
  assert.deepEqual(problems('sinks: []\n'), ['p.yml:1:1: sinks: Array must contain at least 1 element(s)']);
  assert.deepEqual(problems('sinks:\n  - type: kafka\n    topc: x\n'), ['p.yml:3:5: sinks[0]: unknown field "topc"']);
});

test('workers: 1 by default; more are refused with the stores one process owns, at the field that needs changing', () => {
  assert.equal(parseConfigText('', '(defaults)', processConfigSchema).workers, 1);
  const redisProfile = 'stages:\n  - type: enrich\n  - type: profile\n    redis: {url: "redis://127.0.0.1:6379"}\n';
  assert.deepEqual(problems(`workers: 4\n${redisProfile}sinks:\n  - {type: clickhouse}\n`), []);
  assert.deepEqual(problems('workers: 0\n'), ['p.yml:1:1: workers: Number must be greater than or equal to 1']);
  assert.deepEqual(problems('workers: 2\nsinks:\n  - type: embedded\n'), ['p.yml:3:5: sinks[0].type: the embedded sink belongs to one process: use workers: 1 with it (workers is 2)']);
  assert.deepEqual(problems('workers: 2\nstages:\n  - type: enrich\n  - type: profile\n'), [
    'p.yml:4:5: stages[1].redis: the embedded profile store belongs to one process: give the profile stage a redis, or use workers: 1 (workers is 2)',
  ]);
  assert.deepEqual(problems('workers: 1\nstages:\n  - type: profile\nsinks:\n  - type: embedded\n'), []);
});

test('check-config --for process prints every problem with file:line and exits 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-process-config-'));
  const file = join(dir, 'process.yml');
  writeFileSync(file, 'stages:\n  - type: enrich\n    enrichments:\n      - type: anon_ip\n      - type: geo\n  - type: profiler\n');
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/tailplow.js'), 'check-config', '--for', 'process', file], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /2 problems in /);
  assert.ok(r.stderr.includes(`${file}:4:9: stages[0].enrichments[0].type: anon_ip must come after geo`), r.stderr);
  assert.ok(r.stderr.includes(`${file}:6:5: stages[1].type: Invalid discriminator value. Expected 'enrich'`), r.stderr);
});
