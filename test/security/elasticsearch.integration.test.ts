// The elasticsearch sink over HTTPS with basic auth, an API key and a client certificate. The
// integ-test distribution scripts/services/elasticsearch.sh runs has security disabled, so a real
// nginx (nginx-proxy.ts) terminates TLS in front of it, requires a client certificate and lets
// through only the configured `Authorization: Basic …` / `Authorization: ApiKey …` headers. What
// is tested is what tailplow sends (TLS, certificate, header); Elasticsearch's own checking of
// API keys and users is not (docs/security.md says so).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { parseConfigText } from '../../src/config/load';
import { createElasticsearchSink, elasticsearchSinkSchema } from '../../src/sinks/elasticsearch';
import { silentLogger } from '../../src/util/logger';
import { RetriableError } from '../../src/util/retry';
import { elasticsearchUrl, uniqueName } from '../support/services';
import { eventsOverTime } from '../storage/analytics';
import { createTestPki, type TestPki } from './certs';
import { startTlsAuthProxy, type TlsAuthProxy } from './nginx-proxy';

const USER = { name: 'tailplow-writer', password: 'es-Secret-4' };
// The `encoded` form Elasticsearch hands out: base64 of id:key.
const API_KEY = Buffer.from(`tailplowkeyid:${randomBytes(16).toString('hex')}`).toString('base64');

let pki: TestPki;
let proxy: TlsAuthProxy;
const admin = new Client({ node: elasticsearchUrl(), requestTimeout: 30_000, maxRetries: 0 });
const indices: string[] = [];

before(async () => {
  pki = createTestPki();
  proxy = await startTlsAuthProxy({
    upstream: new URL(elasticsearchUrl()).host,
    certFile: pki.serverCertFile,
    keyFile: pki.serverKeyFile,
    clientCaFile: pki.caFile,
    authorizations: [`Basic ${Buffer.from(`${USER.name}:${USER.password}`).toString('base64')}`, `ApiKey ${API_KEY}`],
  });
});

after(async () => {
  for (const index of indices) {
    await admin.indices.delete({ index, ignore_unavailable: true }).catch(() => undefined);
    await admin.indices.deleteIndexTemplate({ name: `tailplow-${index}` }).catch(() => undefined);
  }
  await admin.close();
  await proxy?.stop();
  pki?.remove();
});

/** The sink's config as a user writes it: secrets as ${ENV} references, validated by the schema. */
function sinkConfig(auth: Record<string, string> | undefined, tls: Record<string, string>, env: Record<string, string> = {}) {
  const index = uniqueName('secure-events');
  indices.push(index);
  const yaml = JSON.stringify({ sink: { type: 'elasticsearch', nodes: [proxy.url], index, refresh: true, template: { shards: 1, replicas: 0 }, requestTimeoutMs: 60_000, ...(auth ? { auth } : {}), tls } });
  return parseConfigText(yaml, 'sink.yaml', z.object({ sink: elasticsearchSinkSchema }), { env }).sink;
}

const mutualTls = () => ({ caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile });

async function storeEvents(config: ReturnType<typeof sinkConfig>): Promise<number> {
  const sink = await createElasticsearchSink(config, { logger: silentLogger, dataDir: '/nonexistent' });
  try {
    const events = eventsOverTime(1);
    assert.deepEqual(await sink.write(events), { failed: [] });
    return new Set(events.map((e) => e.event_id)).size;
  } finally {
    await sink.close();
  }
}

async function startError(config: ReturnType<typeof sinkConfig>): Promise<Error> {
  try {
    const sink = await createElasticsearchSink(config, { logger: silentLogger, dataDir: '/nonexistent' });
    await sink.close();
  } catch (error) {
    return error as Error;
  }
  assert.fail('the sink was expected to fail');
}

/** The proxy logged a line matching `pattern` (it may write it just after the client has its answer). */
async function inAccessLog(pattern: RegExp): Promise<void> {
  assert.match(await proxy.accessLogMatching(pattern), pattern);
}

describe('elasticsearch sink over HTTPS through an nginx TLS + auth proxy', () => {
  test('basic auth (password from ${ENV}) and a client certificate: events are indexed', async () => {
    const config = sinkConfig({ username: USER.name, password: '${TEST_ES_PASSWORD}' }, mutualTls(), { TEST_ES_PASSWORD: USER.password });
    const expected = await storeEvents(config);
    assert.equal((await admin.count({ index: config.index })).count, expected);
    await inAccessLog(/^200 Basic POST \/_bulk$/m);
  });

  test('an API key (from ${ENV}) arrives as `Authorization: ApiKey …`: events are indexed', async () => {
    const config = sinkConfig({ apiKey: '${TEST_ES_API_KEY}' }, mutualTls(), { TEST_ES_API_KEY: API_KEY });
    const expected = await storeEvents(config);
    assert.equal((await admin.count({ index: config.index })).count, expected);
    await inAccessLog(/^200 ApiKey PUT \/_index_template\//m);
    await inAccessLog(/^200 ApiKey POST \/_bulk$/m);
  });

  test('a wrong password: 401, not retried, and the message does not carry the password', async () => {
    const wrong = 'wrong-ES-password';
    const error = await startError(sinkConfig({ username: USER.name, password: wrong }, mutualTls()));
    assert.ok(!(error instanceof RetriableError), `${error.name}: ${error.message}`);
    assert.match(error.message, /401/);
    assert.ok(!error.message.includes(wrong));
    await inAccessLog(/^401 Basic PUT \/_index_template\//m);
  });

  test('no credentials at all: 401', async () => {
    const error = await startError(sinkConfig(undefined, mutualTls()));
    assert.match(error.message, /401/);
    await inAccessLog(/^401 none PUT /m);
  });

  test('a proxy certificate from another CA: a certificate error, not retried', async () => {
    const error = await startError(sinkConfig({ apiKey: API_KEY }, { ...mutualTls(), caFile: pki.otherCaFile }));
    assert.ok(!(error instanceof RetriableError), `${error.name}: ${error.message}`);
    assert.match(error.message, /certificate/);
  });

  test('no client certificate: the proxy refuses the request', async () => {
    const error = await startError(sinkConfig({ apiKey: API_KEY }, { caFile: pki.caFile }));
    assert.match(error.message, /400|certificate/i);
  });
});
