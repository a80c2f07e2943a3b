import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from './load';
import { processConfigSchema } from './process';
import { runConfigSchema } from './run';
import { tailConfigSchema } from './tail';

const dir = join(__dirname, '../../../config');
const schemaFor: Record<string, Parameters<typeof loadConfigFile>[1]> = { tail: tailConfigSchema, process: processConfigSchema, run: runConfigSchema };

test('every example config in config/ is valid for its command', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  assert.ok(files.length >= 2);
  for (const f of files) {
    const kind = f.replace(/\.yml$/, '').split('-')[0]!;
    const schema = schemaFor[kind];
    assert.ok(schema, `config/${f}: name it <command>[-variant].yml`);
    assert.doesNotThrow(() => loadConfigFile(join(dir, f), schema, { env: { KAFKA_PASSWORD: 'x', TAILPLOW_PII_SALT: 'y', REDIS_PASSWORD: 'r', CLICKHOUSE_PASSWORD: 'c', ES_API_KEY: 'e' } }), `config/${f}`);
  }
});
