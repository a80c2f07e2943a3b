// The profile stage's Redis connection over TLS (with a client certificate) and an ACL user,
// against a private redis-server (scripts/services/redis.sh with its TLS port and users):
// events get their visitor profile over rediss://; refused credentials or certificates stop the
// stage at start-up with an error that names the cause and never the password.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createProfileStage, profileStageSchema } from '../../src/stages/profile';
import { eventAt } from '../../src/stages/profile/store-contract';
import { VISITOR_PROFILE_SCHEMA, type VisitorProfile } from '../../src/stages/profile/spec';
import { silentLogger } from '../../src/util/logger';
import { freePort, startPrivateService, uniqueName, type PrivateService } from '../support/services';
import { createTestPki, type TestPki } from './certs';

const USER = { name: 'tailplow-profile', password: 'redis-Secret-3' };

let pki: TestPki;
let redis: PrivateService;
let tlsPort: number;
let admin: Redis;
const dataDir = mkdtempSync(join(tmpdir(), 'tailplow-sec-redis-'));

before(async () => {
  pki = createTestPki();
  tlsPort = await freePort();
  redis = await startPrivateService('redis', {
    env: {
      TAILPLOW_REDIS_TLS_PORT: String(tlsPort),
      TAILPLOW_REDIS_TLS_CERT: pki.serverCertFile,
      TAILPLOW_REDIS_TLS_KEY: pki.serverKeyFile,
      TAILPLOW_REDIS_TLS_CLIENT_CA: pki.caFile,
      TAILPLOW_REDIS_USERS: `${USER.name}:${USER.password}`,
    },
  });
  // The plain port (default user) is only for the test's own checks.
  admin = new Redis(redis.address, { maxRetriesPerRequest: 1 });
});

after(async () => {
  admin?.disconnect();
  await redis?.stop();
  pki?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

const clientTls = () => ({ caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile });

function stageConfig(redisConfig: Record<string, unknown>, keyPrefix: string) {
  return profileStageSchema.parse({ type: 'profile', keyPrefix, redis: { connectTimeoutMs: 5000, ...redisConfig } });
}

/** Creates the stage; resolves to the error it fails with. */
async function startError(redisConfig: Record<string, unknown>): Promise<Error> {
  const started = Date.now();
  try {
    const stage = await createProfileStage(stageConfig(redisConfig, uniqueName('sec') + ':'), { logger: silentLogger, dataDir });
    await stage.close?.();
  } catch (error) {
    assert.ok(Date.now() - started < 5000, `failing took ${Date.now() - started} ms: it should not wait for the timeout`);
    return error as Error;
  }
  assert.fail('the stage was expected to fail');
}

describe('profile stage on Redis over TLS with an ACL user', () => {
  test('username/password and a client certificate: profiles are written and merged into events', async () => {
    const prefix = `${uniqueName('sec')}:`;
    const stage = await createProfileStage(
      stageConfig({ url: `rediss://localhost:${tlsPort}`, username: USER.name, password: USER.password, tls: clientTls() }, prefix),
      { logger: silentLogger, dataDir },
    );
    try {
      const events = [eventAt(0, { domain_userid: 'visitor-a', page_url: 'https://a.example/' }), eventAt(1, { domain_userid: 'visitor-a', page_url: 'https://a.example/2' })];
      const out = await stage.run(events);
      const profiles = out.events.map((e) => e.derived_contexts?.find((c) => c.schema === VISITOR_PROFILE_SCHEMA)?.data as VisitorProfile | undefined);
      assert.deepEqual(profiles.map((p) => [p?.events, p?.landing_page, p?.last_page]), [
        [1, 'https://a.example/', 'https://a.example/'],
        [2, 'https://a.example/', 'https://a.example/2'],
      ]);
      // Really stored in this server, by the ACL user.
      const keys = await admin.keys(`${prefix}*`);
      assert.ok(keys.some((k) => k.startsWith(`${prefix}profile:`)), keys.join(','));
    } finally {
      await stage.close?.();
    }
  });

  test('credentials in a rediss:// URL (percent-encoded) work too', async () => {
    const prefix = `${uniqueName('sec')}:`;
    const stage = await createProfileStage(
      stageConfig({ url: `rediss://${encodeURIComponent(USER.name)}:${encodeURIComponent(USER.password)}@127.0.0.1:${tlsPort}/0`, tls: clientTls() }, prefix),
      { logger: silentLogger, dataDir },
    );
    try {
      await stage.run([eventAt(0, { domain_userid: 'visitor-b' })]);
      assert.ok((await admin.keys(`${prefix}profile:*`)).length > 0);
    } finally {
      await stage.close?.();
    }
  });

  test('a wrong password stops the stage at start-up: WRONGPASS, without the password', async () => {
    const wrong = 'not-the-Redis-password';
    const error = await startError({ url: `rediss://127.0.0.1:${tlsPort}`, username: USER.name, password: wrong, tls: clientTls() });
    assert.match(error.message, /WRONGPASS/);
    assert.match(error.message, /redis\.password/);
    assert.ok(!error.message.includes(wrong));
  });

  test('a server certificate from another CA stops the stage at start-up', async () => {
    const error = await startError({ url: `rediss://127.0.0.1:${tlsPort}`, username: USER.name, password: USER.password, tls: { ...clientTls(), caFile: pki.otherCaFile } });
    assert.match(error.message, /certificate/);
  });

  test('no client certificate: the server requires one', async () => {
    const error = await startError({ url: `rediss://127.0.0.1:${tlsPort}`, username: USER.name, password: USER.password, tls: { caFile: pki.caFile } });
    assert.match(error.message, /certificate required/);
  });

  test('a server that is down is not a start-up error (batches retry later)', async () => {
    const stage = await createProfileStage(stageConfig({ url: `rediss://127.0.0.1:${await freePort()}`, connectTimeoutMs: 500, tls: clientTls() }, 'unused:'), { logger: silentLogger, dataDir });
    await stage.close?.();
  });
});
