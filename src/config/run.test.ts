import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfigFile, parseConfigText, ConfigError } from './load';
import { runConfigSchema, runInputPaths } from './run';
import { SAMPLE_LOG_GLOB } from '../run/defaults';

test('run with no config: sample logs, ./tailplow-data, enrich then profile, the embedded sink', () => {
  const c = parseConfigText('', '(defaults)', runConfigSchema);
  assert.equal(c.dataDir, 'tailplow-data');
  assert.equal(c.input.paths, undefined);
  assert.deepEqual(runInputPaths(c), [SAMPLE_LOG_GLOB]);
  assert.match(SAMPLE_LOG_GLOB, /examples\/sample\/\*\.log$/);
  assert.deepEqual(c.stages.map((s) => s.type), ['enrich', 'profile']);
  assert.deepEqual(c.sinks, [{ type: 'embedded', table: 'events' }]);
  assert.equal(c.input.startAt, 'end');
  assert.equal(c.input.format, 'json');
  assert.equal(c.pipeline.maxInFlightBytes, 8 * 1024 * 1024);
  assert.equal(c.badRows.path, undefined);
});

test('run config: extra sinks, paths and unknown fields are checked like the other commands', () => {
  const c = parseConfigText('input:\n  paths: [/var/log/a.log]\nsinks:\n  - type: embedded\n  - type: file\n    path: /tmp/x.ndjson\n', 'r.yml', runConfigSchema);
  assert.deepEqual(runInputPaths(c), ['/var/log/a.log']);
  assert.deepEqual(c.sinks.map((s) => s.type), ['embedded', 'file']);
  assert.throws(() => parseConfigText('sinks: []\n', 'r.yml', runConfigSchema), (e: unknown) => e instanceof ConfigError && /r\.yml:1:1: sinks/.test(e.message));
  assert.throws(() => parseConfigText('pipeline:\n  maxInflight: 3\n', 'r.yml', runConfigSchema), (e: unknown) => e instanceof ConfigError && /r\.yml:2:3: pipeline: unknown field "maxInflight"/.test(e.message));
  assert.throws(() => parseConfigText('stages:\n  - type: nope\n', 'r.yml', runConfigSchema), /stages\[0\]/);
});

test('config/run.yml is a valid run config with the embedded sink first', () => {
  const c = loadConfigFile(join(__dirname, '../../../config/run.yml'), runConfigSchema);
  assert.equal(c.sinks[0]?.type, 'embedded');
  assert.equal(c.input.startAt, 'beginning');
});
