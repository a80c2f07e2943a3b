/** The example configs are the defaults people copy: IP anonymisation on, endpoints on loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/load';
import { processConfigSchema } from '../../src/config/process';
import { runConfigSchema } from '../../src/config/run';
import { tailConfigSchema } from '../../src/config/tail';
import { isLoopbackHost, parseListen } from '../../src/observe/server';

const dir = join(__dirname, '../../../config');
const env = { KAFKA_PASSWORD: 'x', TAILPLOW_PII_SALT: 'y', REDIS_PASSWORD: 'r', CLICKHOUSE_PASSWORD: 'c', ES_API_KEY: 'e' };
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));

test('every example config that stores events anonymises the IP (anon_ip enabled in its enrich stage)', () => {
  const storing = files.filter((f) => f.startsWith('process') || f.startsWith('run'));
  assert.ok(storing.length >= 2, storing.join(', '));
  for (const f of storing) {
    const config = loadConfigFile(join(dir, f), (f.startsWith('run') ? runConfigSchema : processConfigSchema) as never, { env }) as { stages: Array<{ type: string; enrichments?: Array<{ type: string; enabled: boolean }> }> };
    const anon = config.stages.flatMap((s) => (s.type === 'enrich' ? (s.enrichments ?? []) : [])).find((e) => e.type === 'anon_ip');
    assert.ok(anon?.enabled, `config/${f}: no enabled anon_ip enrichment`);
  }
});

test('every example config keeps /metrics and /healthz on loopback', () => {
  for (const f of files) {
    const schema = f.startsWith('run') ? runConfigSchema : f.startsWith('process') ? processConfigSchema : tailConfigSchema;
    const config = loadConfigFile(join(dir, f), schema as never, { env }) as { http: { listen: string } };
    assert.ok(isLoopbackHost(parseListen(config.http.listen).host), `config/${f}: http.listen ${config.http.listen}`);
  }
});
