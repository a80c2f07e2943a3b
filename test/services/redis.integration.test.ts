// Needs scripts/services/redis.sh: the shared server at TAILPLOW_REDIS_URL for the client
// checks, and a private instance (own port and run dir) for the restart check, so restarting
// never disturbs other integration tests that use the shared server at the same time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { privateService, redisUrl, uniqueName } from '../support/services';

function connect(url: string): Redis {
  // Fail fast instead of queueing commands forever when the server is not there.
  return new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
}

test('ioredis connects to the shared server and a Lua script runs atomically on it', async () => {
  const redis = connect(redisUrl());
  const key = uniqueName('tailplow:test:lua');
  try {
    assert.equal(await redis.ping(), 'PONG');
    const script = `
      local visits = redis.call('HINCRBY', KEYS[1], 'visits', ARGV[1])
      redis.call('HSET', KEYS[1], 'last_page', ARGV[2])
      redis.call('PEXPIRE', KEYS[1], 60000)
      return {visits, redis.call('HGET', KEYS[1], 'last_page')}`;
    assert.deepEqual(await redis.eval(script, 1, key, '2', '/pricing'), [2, '/pricing']);
    assert.deepEqual(await redis.eval(script, 1, key, '3', '/signup'), [5, '/signup']);
    assert.deepEqual(await redis.hgetall(key), { visits: '5', last_page: '/signup' });
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 0 && ttl <= 60000, `expected a TTL set by the script, got ${ttl}`);
  } finally {
    await redis.del(key);
    redis.disconnect();
  }
});

test('redis.sh restart keeps the data (append-only file) and really restarts the server', async () => {
  const server = await privateService('redis');
  const url = server.address;
  const pidOf = async () => Number((await readFile(join(server.runDir, 'redis', 'redis.pid'), 'utf8')).trim());
  try {
    const started = await server.run('start');
    assert.equal(started.stdout, `export TAILPLOW_REDIS_URL=${url}\n`);
    const pidBefore = await pidOf();

    const before = connect(url);
    await before.set('profile:v1', JSON.stringify({ visits: 3, first_seen: '2024-05-01T10:00:00Z' }));
    await before.hset('profile:v2', { visits: '7', country: 'DE' });
    await before.rpush('pages:v1', '/a', '/b', '/c');
    before.disconnect();

    await server.run('restart');
    const pidAfter = await pidOf();
    assert.notEqual(pidAfter, pidBefore, 'restart must replace the server process');

    const after = connect(url);
    try {
      assert.deepEqual(JSON.parse((await after.get('profile:v1')) ?? 'null'), { visits: 3, first_seen: '2024-05-01T10:00:00Z' });
      assert.deepEqual(await after.hgetall('profile:v2'), { visits: '7', country: 'DE' });
      assert.deepEqual(await after.lrange('pages:v1', 0, -1), ['/a', '/b', '/c']);
    } finally {
      after.disconnect();
    }

    await server.run('stop');
    await assert.rejects(server.run('status'), /redis\.sh status failed/);
  } finally {
    await server.stop();
  }
});
