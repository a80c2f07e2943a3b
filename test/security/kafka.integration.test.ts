// Kafka over TLS and SASL against a real private Kafka 4 broker (scripts/services/kafka.sh with
// its SASL_SSL and SSL listeners): produce and consume with PLAIN, SCRAM-SHA-256 and
// SCRAM-SHA-512, mutual TLS, and the failures a misconfigured client must report at once
// instead of retrying forever (wrong password, untrusted CA, missing client certificate).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, type KafkaConnectionConfig, kafkaConnectionSchema } from '../../src/kafka/connection';
import { consumerSchema, createGroupConsumer } from '../../src/kafka/consumer';
import { createKafkaProducer } from '../../src/kafka/producer';
import { isRetriableKafkaError } from '../../src/pipeline/kafka-output';
import { silentLogger } from '../../src/util/logger';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { freePort, startPrivateService, uniqueName, type PrivateService } from '../support/services';
import { TAILPLOW_BIN } from '../support/tailplow-child';
import { createTestPki, type TestPki } from './certs';

const PLAIN_USER = { name: 'plain-user', password: 'plain-Secret-1' };
const SCRAM_USER = { name: 'scram-user', password: 'scram-Secret-2' };
const FIXTURE_LOG = resolve(__dirname, '../../../test/fixtures/tracker/tailplow-json.log');

let pki: TestPki;
let kafka: PrivateService;
let saslSslBroker: string;
let sslBroker: string;

before(async () => {
  pki = createTestPki();
  const saslSslPort = await freePort();
  const sslPort = await freePort();
  kafka = await startPrivateService('kafka', {
    env: {
      TAILPLOW_KAFKA_SASL_SSL_PORT: String(saslSslPort),
      TAILPLOW_KAFKA_SSL_PORT: String(sslPort),
      TAILPLOW_KAFKA_TLS_KEYSTORE: pki.serverKeystoreFile,
      TAILPLOW_KAFKA_TLS_CLIENT_CA: pki.caFile,
      TAILPLOW_KAFKA_PLAIN_USERS: `${PLAIN_USER.name}:${PLAIN_USER.password}`,
      TAILPLOW_KAFKA_SCRAM_USERS: `${SCRAM_USER.name}:${SCRAM_USER.password}`,
      TAILPLOW_SERVICE_TIMEOUT: '240',
    },
  });
  saslSslBroker = `127.0.0.1:${saslSslPort}`;
  sslBroker = `127.0.0.1:${sslPort}`;
});

after(async () => {
  await kafka?.stop();
  pki?.remove();
});

/** A connection config as a user would write it, validated (defaults filled in) by the schema. */
function connection(raw: Record<string, unknown>): KafkaConnectionConfig {
  return kafkaConnectionSchema.parse({ clientId: 'tailplow-security-test', connectionTimeoutMs: 5000, ...raw });
}

const saslConfig = (mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', password?: string) =>
  connection({
    brokers: [saslSslBroker],
    tls: { caFile: pki.caFile },
    sasl: mechanism === 'plain'
      ? { mechanism, username: PLAIN_USER.name, password: password ?? PLAIN_USER.password }
      : { mechanism, username: SCRAM_USER.name, password: password ?? SCRAM_USER.password },
  });

/** Produces `values` to a new topic and consumes them back, both over `conf`. */
async function roundTrip(conf: KafkaConnectionConfig, values: string[]): Promise<string[]> {
  const topic = uniqueName('security');
  await createTopics([kafka.address], [topic], { partitions: 1 });
  const client = createKafka(conf, silentLogger);
  const producer = await createKafkaProducer(client, { compression: 'gzip', lingerMs: 0, batchBytes: 1_000_000, idempotent: true });
  await producer.send(topic, values.map((value, i) => ({ key: `k${i}`, value })));
  await producer.close();

  const consumer = await createGroupConsumer(client, consumerSchema.parse({ topic, groupId: uniqueName('security-group'), fromBeginning: true }));
  const received: string[] = [];
  try {
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`only ${received.length} of ${values.length} messages consumed`)), 60_000);
      consumer
        .run(async (batch) => {
          for (const m of batch.messages) received.push(m.value?.toString('utf8') ?? '');
          if (received.length >= values.length) {
            clearTimeout(timer);
            done();
          }
        })
        .catch(fail);
    });
  } finally {
    await consumer.stop();
  }
  return received;
}

/** Connects a producer over `conf`; resolves to the error it fails with and how long that took. */
async function connectError(conf: KafkaConnectionConfig): Promise<{ error: Error; ms: number }> {
  const started = Date.now();
  try {
    const producer = await createKafkaProducer(createKafka(conf, silentLogger), { compression: 'none', lingerMs: 0, batchBytes: 1_000_000, idempotent: true });
    await producer.close();
  } catch (error) {
    return { error: error as Error, ms: Date.now() - started };
  }
  assert.fail('the connection was expected to fail');
}

describe('kafka over SASL_SSL', () => {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    test(`${mechanism}: produce and consume over TLS`, async () => {
      const values = Array.from({ length: 20 }, (_, i) => `${mechanism} message ${i} ${'x'.repeat(i * 10)}`);
      const received = await roundTrip(saslConfig(mechanism), values);
      assert.deepEqual(received, values);
    });
  }

  for (const [mechanism, named] of [['plain', 'SASL PLAIN'], ['scram-sha-256', 'SCRAM SHA256'], ['scram-sha-512', 'SCRAM SHA512']] as const) {
    test(`${mechanism}: a wrong password is a non-retriable error naming the mechanism`, async () => {
      const wrong = `wrong-${mechanism}-password`;
      const { error, ms } = await connectError(saslConfig(mechanism, wrong));
      assert.equal(error.name, 'KafkaJSSASLAuthenticationError');
      assert.ok(error.message.includes(named), error.message);
      assert.ok(!error.message.includes(wrong), 'the password must not appear in the error');
      assert.equal(isRetriableKafkaError(error), false);
      assert.ok(ms < 20_000, `took ${ms} ms`);
    });
  }

  test('a broker certificate from another CA fails verification, not retried', async () => {
    const conf = connection({ brokers: [saslSslBroker], tls: { caFile: pki.otherCaFile }, sasl: { mechanism: 'plain', username: PLAIN_USER.name, password: PLAIN_USER.password } });
    const { error } = await connectError(conf);
    assert.match(error.message, /unable to verify the first certificate|unable to get local issuer certificate/);
    assert.equal(isRetriableKafkaError(error), false);
  });

  test('a servername the certificate does not carry fails verification', async () => {
    const conf = connection({ brokers: [saslSslBroker], tls: { caFile: pki.caFile, servername: 'kafka.example.org' }, sasl: { mechanism: 'plain', username: PLAIN_USER.name, password: PLAIN_USER.password } });
    const { error } = await connectError(conf);
    assert.match(error.message, /kafka\.example\.org/);
    assert.equal(isRetriableKafkaError(error), false);
  });
});

describe('kafka over mutual TLS (SSL listener requiring a client certificate)', () => {
  test('with the client certificate: produce and consume', async () => {
    const values = ['mtls one', 'mtls two', 'mtls three'];
    const conf = connection({ brokers: [sslBroker], tls: { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile } });
    assert.deepEqual(await roundTrip(conf, values), values);
  });

  test('without a client certificate the broker refuses, not retried', async () => {
    const { error } = await connectError(connection({ brokers: [sslBroker], tls: { caFile: pki.caFile } }));
    assert.match(error.message, /certificate/i);
    assert.equal(isRetriableKafkaError(error), false);
  });

  test('an unreadable key file names the field, not its content', () => {
    const conf = connection({ brokers: [sslBroker], tls: { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: join(pki.dir, 'missing.key') } });
    assert.throws(() => createKafka(conf, silentLogger), /^Error: kafka\.tls\.keyFile: cannot read .*missing\.key: ENOENT$/);
  });
});

describe('tailplow tail with SASL_SSL', () => {
  interface Run {
    code: number | null;
    stderr: string;
  }
  /** Runs `tailplow tail` with the config until it exits or `stopAfterMs` passes (then SIGTERM). */
  function runTail(dir: string, kafkaConfig: Record<string, unknown>, env: Record<string, string>, stopAfterMs: number): Promise<Run> {
    const topic = uniqueName('security-tail');
    const config = {
      dataDir: join(dir, 'data'),
      http: { enabled: false },
      input: { paths: [join(dir, 'access.log')], startAt: 'beginning', pollIntervalMs: 200 },
      kafka: kafkaConfig,
      output: { topic, badTopic: `${topic}-bad` },
    };
    writeFileSync(join(dir, 'tail.yaml'), JSON.stringify(config));
    return new Promise((done) => {
      const child = spawn(process.execPath, [TAILPLOW_BIN, 'tail', '-c', join(dir, 'tail.yaml')], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGTERM'), stopAfterMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        done({ code, stderr });
      });
    });
  }

  test('a wrong SCRAM password (from ${ENV}) stops the tailer with an error naming the mechanism, never the password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tailplow-sec-tail-'));
    try {
      copyFileSync(FIXTURE_LOG, join(dir, 'access.log'));
      const password = 'definitely-Wrong-pw-7';
      const started = Date.now();
      const run = await runTail(
        dir,
        { brokers: [saslSslBroker], tls: { caFile: pki.caFile }, sasl: { mechanism: 'scram-sha-256', username: SCRAM_USER.name, password: '${TEST_KAFKA_PASSWORD}' } },
        { TEST_KAFKA_PASSWORD: password },
        60_000,
      );
      const ms = Date.now() - started;
      assert.notEqual(run.code, 0, run.stderr);
      assert.notEqual(run.code, null, 'killed after 60 s: the tailer kept retrying');
      assert.match(run.stderr, /SCRAM SHA256 authentication failed/);
      assert.ok(!run.stderr.includes(password), 'the password leaked to stderr');
      assert.ok(ms < 60_000, `took ${ms} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the right password (from ${file:...}) delivers every line of the fixture log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tailplow-sec-tail-'));
    try {
      copyFileSync(FIXTURE_LOG, join(dir, 'access.log'));
      const secret = join(dir, 'kafka-password');
      writeFileSync(secret, `${SCRAM_USER.password}\n`, { mode: 0o600 });
      const topic = uniqueName('security-tail-ok');
      await createTopics([kafka.address], [topic, `${topic}-bad`], { partitions: 1 });
      const lines = readFileSync(FIXTURE_LOG, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
      const collector = await startTopicCollector([kafka.address], topic);
      try {
        const config = {
          dataDir: join(dir, 'data'),
          http: { enabled: false },
          input: { paths: [join(dir, 'access.log')], startAt: 'beginning', pollIntervalMs: 200 },
          kafka: { brokers: [saslSslBroker], tls: { caFile: pki.caFile }, sasl: { mechanism: 'scram-sha-512', username: SCRAM_USER.name, password: `\${file:${secret}}` } },
          output: { topic, badTopic: `${topic}-bad` },
        };
        writeFileSync(join(dir, 'tail.yaml'), JSON.stringify(config));
        const child = spawn(process.execPath, [TAILPLOW_BIN, 'tail', '-c', join(dir, 'tail.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
        try {
          const deadline = Date.now() + 60_000;
          // Every fixture line is a tracker request with at least one event.
          while (collector.messages < lines && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
          assert.ok(collector.messages >= lines, `${collector.messages} events for ${lines} lines\n${stderr}`);
        } finally {
          child.kill('SIGTERM');
          assert.equal(await exited, 0, stderr);
        }
        assert.ok(!stderr.includes(SCRAM_USER.password), 'the password leaked to stderr');
      } finally {
        await collector.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
