/**
 * The metrics/health endpoint binds loopback unless a config says otherwise, and says so (warn)
 * when it is told to listen elsewhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parseConfigText } from '../../src/config/load';
import { processConfigSchema } from '../../src/config/process';
import { runConfigSchema } from '../../src/config/run';
import { tailConfigSchema } from '../../src/config/tail';
import { isLoopbackHost, parseListen, startObservabilityServer } from '../../src/observe/server';

/** tail and run need the files to follow; nothing else. */
const MINIMAL = 'input:\n  paths: [/var/log/nginx/access.log]\n';

function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

test('every command config defaults http.listen to a loopback address', () => {
  for (const [name, schema] of [['tail', tailConfigSchema], ['process', processConfigSchema], ['run', runConfigSchema]] as const) {
    const config = parseConfigText(name === 'process' ? '' : MINIMAL, `${name}.yml`, schema as never) as { http: { listen: string; enabled: boolean } };
    const { host } = parseListen(config.http.listen);
    assert.equal(host, '127.0.0.1', `${name}: ${config.http.listen}`);
  }
});

test('the default listen address binds 127.0.0.1 and logs no warning', async () => {
  const { host } = parseListen(parseConfigText(MINIMAL, 'tail.yml', tailConfigSchema).http.listen);
  const { logger, lines } = capturingLogger();
  const srv = await startObservabilityServer({ listen: `${host}:0`, registry: new Registry(), health: () => ({ ok: true }), logger });
  try {
    assert.match(srv.address, /^127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`http://${srv.address}/healthz`)).status, 200);
    assert.deepEqual(lines.filter((l) => l.level === 40), []);
  } finally {
    await srv.close();
  }
});

test('a port without a host is loopback too; a non-loopback listen address logs a warning naming it', async () => {
  assert.equal(parseListen('0').host, '127.0.0.1');
  const { logger, lines } = capturingLogger();
  const srv = await startObservabilityServer({ listen: '0.0.0.0:0', registry: new Registry(), health: () => ({ ok: true }), logger });
  try {
    const warnings = lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.equal(warnings[0]!.listen, '0.0.0.0:0');
    assert.match(String(warnings[0]!.msg), /not a loopback address/);
  } finally {
    await srv.close();
  }
});

test('isLoopbackHost', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '', '10.0.0.1', '128.0.0.1', 'example.com', '127.0.0.1.example.com']) assert.ok(!isLoopbackHost(h), h);
});
