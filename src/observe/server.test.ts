import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { parseListen, startObservabilityServer } from './server';

test('serves metrics and health on loopback', async () => {
  const registry = new Registry();
  const lines = new Counter({ name: 'tailplow_test_lines_total', help: 'lines', registers: [registry] });
  lines.inc(7);
  let healthy = true;
  const srv = await startObservabilityServer({ listen: '127.0.0.1:0', registry, health: () => ({ ok: healthy, details: { files: 1 } }) });
  try {
    assert.match(srv.address, /^127\.0\.0\.1:\d+$/);
    const m = await fetch(`http://${srv.address}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /tailplow_test_lines_total 7/);
    const h = await fetch(`http://${srv.address}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok', files: 1 });
    healthy = false;
    assert.equal((await fetch(`http://${srv.address}/healthz`)).status, 503);
    assert.equal((await fetch(`http://${srv.address}/../../etc/passwd`)).status, 404);
    assert.equal((await fetch(`http://${srv.address}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await srv.close();
  }
});

test('parseListen defaults the host to loopback', () => {
  assert.deepEqual(parseListen('9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListen('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
  assert.throws(() => parseListen('nope'), /invalid listen address/);
});
