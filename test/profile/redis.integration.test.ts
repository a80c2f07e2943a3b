// The profile stage against a real Redis (scripts/services/redis.sh): the shared store contract,
// the same random batches on Redis and on the embedded store giving identical results, counters
// from the recorded tracker fixture, TTLs, Redis down, and a restart of a private instance while
// batches are applied in a loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { prng } from '../../bench/lib/generate';
import { createLineParser } from '../../src/nginx';
import { createLineDecoder } from '../../src/pipeline/decode-lines';
import type { SnowplowEvent } from '../../src/snowplow/event';
import { createProfileStage, profileStageSchema } from '../../src/stages/profile';
import { openEmbeddedProfileStore } from '../../src/stages/profile/embedded-store';
import { createRedisClient, createRedisProfileStore, type RedisProfileStoreOptions } from '../../src/stages/profile/redis-store';
import { profileKeys, visitorProfileOf, VISITOR_PROFILE_SCHEMA, type ProfileInput, type ProfileStoreOptions, type VisitorProfile } from '../../src/stages/profile/spec';
import { eventAt, inputsOf, profileStoreContract, uniquePrefix } from '../../src/stages/profile/store-contract';
import { silentLogger } from '../../src/util/logger';
import { RetriableError, withRetry } from '../../src/util/retry';
import { deleteRedisKeys, freePort, redisUrl, startPrivateService } from '../support/services';

const ROOT = resolve(__dirname, '../../..');
const prefixes = new Set<string>();
const admin = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });

test.after(async () => {
  for (const p of prefixes) await deleteRedisKeys(admin, p);
  admin.disconnect();
});

function redisStore(opts: RedisProfileStoreOptions, url = redisUrl()) {
  prefixes.add(opts.prefix);
  return createRedisProfileStore(createRedisClient(url), opts, true);
}

profileStoreContract('redis', async (opts) => redisStore(opts));
profileStoreContract('redis with cached profiles', async (opts) => redisStore({ ...opts, cacheVisitors: 100 }));

/** `linkedOnly`: every event with an id has a domain_userid (the cache's path); else 20 % have only user_id / network_userid. */
function randomBatches(seed: number, batches: number, size: number, linkedOnly = false): ProfileInput[][] {
  // Seeded, so a failing sequence can be reproduced from its seed.
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const maybe = <T>(p: number, x: T): T | undefined => (rnd() < p ? x : undefined);
  const seen: SnowplowEvent[] = [];
  let minute = 0;
  const out: ProfileInput[][] = [];
  for (let b = 0; b < batches; b++) {
    const events: SnowplowEvent[] = [];
    for (let i = 0; i < size; i++) {
      if (seen.length && rnd() < 0.15) {
        events.push(pick(seen)); // a redelivery, maybe much later
        continue;
      }
      minute += rnd() < 0.1 ? 90 : 1;
      const e = eventAt(minute - (rnd() < 0.1 ? Math.floor(rnd() * 200) : 0), {
        domain_userid: maybe(0.8, pick(['d1', 'd2', 'd3', 'd4'])),
        user_id: maybe(0.3, pick(['alice', 'bob', 'carol'])),
        network_userid: maybe(0.3, pick(['n1', 'n2', 'n3'])),
        event: pick(['page_view', 'page_view', 'page_ping', 'struct']),
        domain_sessionid: maybe(0.9, pick(['s1', 's2', 's3'])),
        domain_sessionidx: maybe(0.5, Math.ceil(rnd() * 5)),
        page_url: maybe(0.9, `https://x.example/${Math.floor(rnd() * 5)}`),
        page_urlhost: 'x.example',
        refr_urlhost: maybe(0.3, pick(['www.google.com', 'x.example', 't.co'])),
        refr_medium: maybe(0.5, pick(['search', 'internal', 'social'])),
        mkt_source: maybe(0.2, pick(['news', 'ads'])),
        mkt_campaign: maybe(0.2, 'c"ampaign ✓'),
        dvce_type: maybe(0.5, pick(['Computer', 'Mobile'])),
        geo_country: maybe(0.5, pick(['DE', 'FR'])),
      });
      e.event_name = e.event;
      if (linkedOnly && e.domain_userid === undefined) {
        delete e.user_id;
        delete e.network_userid;
      }
      seen.push(e);
      events.push(e);
    }
    out.push(inputsOf(events));
  }
  return out;
}

test('redis and embedded stores give identical results for the same random batches (links, duplicates, late and stale events)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tailplow-profile-drift-'));
  const opts = { prefix: uniquePrefix(), ttlSeconds: 0, dedupWindowSeconds: 3 * 3600 };
  try {
    for (const seed of [1, 2, 3]) {
      const seeded = { ...opts, prefix: `${opts.prefix}${seed}:` };
      const r = redisStore(seeded);
      const e = openEmbeddedProfileStore({ ...seeded, path: join(dir, String(seed)) });
      const statuses = new Map<string, number>();
      for (const batch of randomBatches(seed, 20, 50)) {
        const fromRedis = await r.apply(batch);
        const fromEmbedded = await e.apply(batch);
        assert.deepEqual(fromRedis, fromEmbedded, `seed ${seed}`);
        for (const x of fromRedis) statuses.set(x.status, (statuses.get(x.status) ?? 0) + 1);
      }
      await r.close();
      await e.close();
      // The sequence really exercised every path.
      for (const s of ['applied', 'duplicate', 'stale', 'anonymous']) assert.ok((statuses.get(s) ?? 0) > 0, `seed ${seed}: no ${s} event in ${JSON.stringify([...statuses])}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('with cached profiles, redis gives the embedded store\'s results for the same random batches, through the cache and through the script', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tailplow-profile-cache-'));
  try {
    for (const [seed, linkedOnly] of [[4, true], [5, true], [6, false]] as const) {
      const opts = { prefix: `${uniquePrefix()}${seed}:`, ttlSeconds: 0, dedupWindowSeconds: 3 * 3600 };
      const paths = { cached: 0, script: 0 };
      const r = redisStore({ ...opts, cacheVisitors: 3, onBatch: (path) => paths[path]++ });
      const e = openEmbeddedProfileStore({ ...opts, path: join(dir, String(seed)) });
      const statuses = new Map<string, number>();
      for (const batch of randomBatches(seed, 30, 8, linkedOnly)) {
        const fromRedis = await r.apply(batch);
        assert.deepEqual(fromRedis, await e.apply(batch), `seed ${seed}`);
        for (const x of fromRedis) statuses.set(x.status, (statuses.get(x.status) ?? 0) + 1);
      }
      // Redis holds what the script alone would have written: a fresh store without the cache reads the same profiles.
      const check = inputsOf([eventAt(100_000, { domain_userid: 'd1' }), eventAt(100_000, { domain_userid: 'd2' })]);
      const plain = redisStore(opts);
      assert.deepEqual(await plain.apply(check), await e.apply(check), `seed ${seed}: stored state`);
      await plain.close();
      await r.close();
      await e.close();
      for (const s of ['applied', 'duplicate', 'stale', 'anonymous']) assert.ok((statuses.get(s) ?? 0) > 0, `seed ${seed}: no ${s} event in ${JSON.stringify([...statuses])}`);
      if (linkedOnly) assert.ok(paths.cached >= 5 && paths.script > 0, `seed ${seed}: ${JSON.stringify(paths)}`);
      else assert.ok(paths.script > 0, `seed ${seed}: ${JSON.stringify(paths)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('two processors caching the same visitors take turns on one Redis: every event counts once, in order', async () => {
  const opts = { prefix: uniquePrefix(), ttlSeconds: 0, dedupWindowSeconds: 3600 };
  const paths = { cached: 0, script: 0 };
  const onBatch = (path: 'cached' | 'script') => paths[path]++;
  const a = redisStore({ ...opts, cacheVisitors: 100, onBatch });
  const b = redisStore({ ...opts, cacheVisitors: 100, onBatch });
  try {
    const events: number[] = [];
    for (let round = 0; round < 12; round++) {
      const batch = inputsOf([eventAt(round * 2, { domain_userid: 'shared' }), eventAt(round * 2 + 1, { domain_userid: 'shared', event: 'page_ping', event_name: 'page_ping' })]);
      // Twice on the same processor, then the other one: its cached profile is two batches behind.
      const store = Math.floor(round / 2) % 2 === 0 ? a : b;
      const results = await store.apply(batch);
      events.push(...results.map((r) => visitorProfileOf(r)!.events));
      if (round === 5) assert.deepEqual((await store.apply(batch)).map((r) => r.status), ['duplicate', 'duplicate'], 'a redelivery to the same processor');
    }
    assert.deepEqual(events, Array.from({ length: 24 }, (_, i) => i + 1));
    // Rounds 4, 6 and 10 find their processor's cached profile behind, and the redelivery finds its
    // ids remembered: the script decides those (and the cache forgets the profile, so round 8 reads
    // it afresh). Every other batch went through the cache.
    assert.deepEqual(paths, { cached: 9, script: 4 });
  } finally {
    await a.close();
    await b.close();
  }
});

/** tailplow_profile_batches_total by path. */
async function batchesByPath(registry: Registry): Promise<{ cached: number; script: number }> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'tailplow_profile_batches_total');
  const of = (path: string) => (metric?.values ?? []).find((v) => v.labels.path === path)?.value ?? 0;
  return { cached: of('cached'), script: of('script') };
}

async function fixtureEvents(): Promise<SnowplowEvent[]> {
  const text = await readFile(join(ROOT, 'test/fixtures/tracker/tailplow-json.log'), 'utf8');
  const decode = createLineDecoder(createLineParser('json'), { maxLineBytes: 1 << 20 });
  let offset = 0;
  const events: SnowplowEvent[] = [];
  for (const line of text.split('\n')) {
    if (line) events.push(...decode({ text: line, offset, nextOffset: offset + line.length + 1 }, 'tailplow-json.log').events);
    offset += Buffer.byteLength(line) + 1;
  }
  return events;
}

test('counters from the recorded tracker fixture equal counts computed from its events; the whole fixture applied twice counts once', async () => {
  const events = await fixtureEvents();
  assert.ok(events.length >= 40, `fixture decoded to ${events.length} events`);
  const prefix = uniquePrefix();
  prefixes.add(prefix);
  const config = profileStageSchema.parse({ type: 'profile', redis: { url: redisUrl() }, keyPrefix: prefix, dedupWindowSeconds: 30 * 86_400 });
  const registry = new Registry();
  const stage = await createProfileStage(config, { logger: silentLogger, dataDir: '/nonexistent', registry });
  try {
    // Expected: per domain_userid, distinct event ids, page views and types.
    const expected = new Map<string, { ids: Set<string>; pageViews: number; types: Record<string, number> }>();
    for (const e of events) {
      assert.ok(e.domain_userid, 'every captured event has a domain_userid');
      const v = expected.get(e.domain_userid) ?? { ids: new Set(), pageViews: 0, types: {} };
      expected.set(e.domain_userid, v);
      if (v.ids.has(e.event_id as string)) continue;
      v.ids.add(e.event_id as string);
      if (e.event === 'page_view') v.pageViews++;
      const t = (e.event_name ?? e.event) as string;
      v.types[t] = (v.types[t] ?? 0) + 1;
    }
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < events.length; i += 7) await stage.run(events.slice(i, i + 7).map((e) => structuredClone(e)));
    }
    // The first pass goes through the cache; the second one's ids are all known, so the script decides.
    const batches = Math.ceil(events.length / 7);
    const paths = await batchesByPath(registry);
    assert.equal(paths.cached + paths.script, 2 * batches);
    assert.ok(paths.cached >= batches / 2 && paths.script >= batches, JSON.stringify(paths));
    for (const [duid, v] of expected) {
      const h = await admin.hgetall(profileKeys.profile(prefix, `d:${duid}`));
      assert.equal(h.events, String(v.ids.size), duid);
      assert.equal(h.page_views ?? '0', String(v.pageViews), duid);
      const types = Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('type:')).map(([k, n]) => [k.slice(5), Number(n)]));
      assert.deepEqual(types, v.types, duid);
      assert.equal(await admin.zcard(profileKeys.seenIds(prefix, `d:${duid}`)), v.ids.size);
    }
    // A third pass: every event's context (now a duplicate) carries the counters of its visitor
    // right after that event_id was first counted, computed here from the fixture order.
    const atFirst = new Map<string, [number, number]>();
    const running = new Map<string, [number, number]>();
    for (const e of events) {
      if (atFirst.has(e.event_id as string)) continue;
      const [n, pv] = running.get(e.domain_userid as string) ?? [0, 0];
      const now: [number, number] = [n + 1, pv + (e.event === 'page_view' ? 1 : 0)];
      running.set(e.domain_userid as string, now);
      atFirst.set(e.event_id as string, now);
    }
    assert.ok(atFirst.size < events.length, 'the fixture holds redelivered event ids');
    const third = events.map((e) => structuredClone(e));
    await stage.run(third);
    for (const e of third) {
      const ctx = e.derived_contexts?.find((c) => c.schema === VISITOR_PROFILE_SCHEMA)?.data as VisitorProfile;
      assert.deepEqual([ctx.status, ctx.events, ctx.page_views, ctx.is_new_visitor], ['duplicate', ...(atFirst.get(e.event_id as string) as [number, number]), atFirst.get(e.event_id as string)?.[0] === 1], e.event_id);
    }
  } finally {
    await stage.close?.();
  }
});

test('ids more than the window behind the latest event are deleted from Redis, by the script and by the cached path alike', async () => {
  for (const cacheVisitors of [0, 100]) {
    const opts = { prefix: uniquePrefix(), ttlSeconds: 0, dedupWindowSeconds: 600, cacheVisitors };
    const paths = { cached: 0, script: 0 };
    const store = redisStore({ ...opts, onBatch: (path) => paths[path]++ });
    try {
      // Minutes 0, 5, 9, then 14, then 30: at 14 minute 0 leaves the 10-minute window, at 30 all but 30 do.
      // Remembered ids are given as indexes of their events in that order.
      const batches = [[0, 5, 9], [14], [30]].map((minutes) => inputsOf(minutes.map((m) => eventAt(m, { domain_userid: 'W' }))));
      const remembered: number[][] = [];
      for (const batch of batches) {
        await store.apply(batch);
        const ids = await admin.zrange(profileKeys.seenIds(opts.prefix, 'd:W'), '0', '-1');
        const snapshots = await admin.hkeys(profileKeys.seenSnapshots(opts.prefix, 'd:W'));
        assert.deepEqual([...snapshots].sort(), [...ids].sort(), `cache ${cacheVisitors}: the two sets agree`);
        remembered.push(ids.map((id) => batches.flat().findIndex((i) => i.event_id === id)));
      }
      assert.deepEqual(remembered, [[0, 1, 2], [1, 2, 3], [4]], `cache ${cacheVisitors}`);
      if (cacheVisitors) assert.deepEqual(paths, { cached: 3, script: 0 });
    } finally {
      await store.close();
    }
  }
});

test('ttlSeconds puts an expiry on the profile, its seen ids and the links, and they go away', async () => {
  const opts = { prefix: uniquePrefix(), ttlSeconds: 1000, dedupWindowSeconds: 1000 };
  const store = redisStore(opts);
  try {
    await store.apply(inputsOf([eventAt(0, { domain_userid: 'D', user_id: 'u', network_userid: 'n' })]));
    const keys = [
      profileKeys.profile(opts.prefix, 'd:D'),
      profileKeys.seenIds(opts.prefix, 'd:D'),
      profileKeys.seenSnapshots(opts.prefix, 'd:D'),
      profileKeys.userLink(opts.prefix, 'u'),
      profileKeys.networkLink(opts.prefix, 'n'),
    ];
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      assert.ok(ttl > 990_000 && ttl <= 1_000_000, `${key}: pttl ${ttl}`);
    }
  } finally {
    await store.close();
  }
  const short = { prefix: uniquePrefix(), ttlSeconds: 1, dedupWindowSeconds: 1 };
  const store2 = redisStore(short);
  try {
    await store2.apply(inputsOf([eventAt(0, { domain_userid: 'D', user_id: 'u' })]));
    assert.equal(await admin.exists(profileKeys.profile(short.prefix, 'd:D')), 1);
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(await admin.keys(`${short.prefix}*`), []);
  } finally {
    await store2.close();
  }
});

test('Redis down: the stage fails the batch with a retriable error within the connect timeout and adds nothing', async () => {
  const port = await freePort();
  const config = profileStageSchema.parse({ type: 'profile', redis: { url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 } });
  const stage = await createProfileStage(config, { logger: silentLogger, dataDir: '/nonexistent' });
  try {
    const e = eventAt(0, { domain_userid: 'D' });
    const started = Date.now();
    await assert.rejects(stage.run([e]), (err: unknown) => err instanceof RetriableError);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.equal(e.derived_contexts, undefined);
  } finally {
    await stage.close?.();
  }
});

test('a Redis restart while batches are applied in a loop: every batch is applied once or retried, and the final counters are exact', async () => {
  const redis = await startPrivateService('redis');
  const url = redis.address;
  const config = profileStageSchema.parse({ type: 'profile', redis: { url, connectTimeoutMs: 500, commandTimeoutMs: 2000 }, keyPrefix: 'restart:' });
  const stage = await createProfileStage(config, { logger: silentLogger, dataDir: '/nonexistent' });
  const check = new Redis(url, { lazyConnect: true });
  try {
    const visitors = Array.from({ length: 40 }, (_, i) => `v${i}`);
    const expected = new Map<string, { events: number; pageViews: number }>();
    const appliedIds = new Map<string, number>();
    // Fresh events first answered 'duplicate': the script ran but its reply was lost to the restart.
    const lostReplies = new Set<string>();
    const answered = new Set<string>();
    let retries = 0;
    let batches = 0;
    let minute = 0;
    let restarted = false;
    let afterRestart = 0;
    let loopEnded = false;
    const restart = (async () => {
      while (batches < 20 && !loopEnded) await new Promise((r) => setTimeout(r, 10));
      if (loopEnded) return;
      await redis.run('restart');
      restarted = true;
    })();
    // A failing loop must end the test, not leave the restart waiting for batches that never come.
    const applyLoop = async () => {
    const earlier: SnowplowEvent[][] = [];
    while ((!restarted || afterRestart < 30) && batches < 5000) {
      // New events, plus now and then a replay of an earlier batch (already counted).
      const fresh = Array.from({ length: 50 }, (_, i) => {
        const domain_userid = visitors[(batches * 7 + i) % visitors.length] as string;
        const e = eventAt(++minute / 60, { domain_userid, event: i % 3 ? 'page_view' : 'page_ping', domain_sessionidx: 1 });
        const v = expected.get(domain_userid) ?? { events: 0, pageViews: 0 };
        v.events++;
        if (e.event === 'page_view') v.pageViews++;
        expected.set(domain_userid, v);
        return e;
      });
      earlier.push(fresh);
      const replay = batches % 5 === 4 ? (earlier[batches - 3] ?? []) : [];
      const batch = [...fresh, ...replay].map((e) => structuredClone(e));
      await withRetry(() => stage.run(batch), { policy: { initialMs: 20, maxMs: 200, maxAttempts: 200 }, onRetry: () => retries++ });
      for (const e of batch) {
        const ctx = e.derived_contexts?.find((c) => c.schema === VISITOR_PROFILE_SCHEMA)?.data as VisitorProfile;
        assert.ok(ctx.status === 'applied' || ctx.status === 'duplicate', `status ${ctx.status}`);
        const id = e.event_id as string;
        if (ctx.status === 'applied') appliedIds.set(id, (appliedIds.get(id) ?? 0) + 1);
        else if (!answered.has(id)) lostReplies.add(id);
        answered.add(id);
      }
      batches++;
      if (restarted) afterRestart++;
    }
    };
    try {
      await applyLoop();
    } finally {
      loopEnded = true;
      await restart;
    }
    assert.ok(retries > 0, 'the restart made at least one batch fail and be retried');
    const total = [...expected.values()].reduce((n, v) => n + v.events, 0);
    assert.equal(appliedIds.size + lostReplies.size, total, 'every event applied');
    assert.ok([...appliedIds.values()].every((n) => n === 1), 'no event applied twice');
    await check.connect();
    for (const [duid, v] of expected) {
      const h = await check.hgetall(profileKeys.profile('restart:', `d:${duid}`));
      assert.deepEqual([h.events, h.page_views], [String(v.events), String(v.pageViews)], duid);
    }
    console.log(`# restart under load: ${batches} batches, ${total} events, ${retries} retries, ${lostReplies.size} events applied by a run whose reply was lost`);
  } finally {
    check.disconnect();
    await stage.close?.();
    await redis.stop();
  }
});
