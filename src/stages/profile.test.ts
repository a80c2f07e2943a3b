import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SnowplowEvent } from '../snowplow/event';
import { silentLogger } from '../util/logger';
import { createProfileStage, profileStageSchema } from './profile';
import { eventAt } from './profile/store-contract';
import { VISITOR_PROFILE_SCHEMA, type VisitorProfile } from './profile/spec';
import { createStage, stageConfigSchema } from './registry';

const contextOf = (e: SnowplowEvent) => e.derived_contexts?.filter((c) => c.schema === VISITOR_PROFILE_SCHEMA).map((c) => c.data as VisitorProfile) ?? [];

test('profile stage (embedded default): appends visitor_profile to derived_contexts, creating the array, and keeps existing contexts', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tailplow-profile-stage-'));
  const stage = await createStage(stageConfigSchema.parse({ type: 'profile' }), { logger: silentLogger, dataDir });
  try {
    assert.equal(stage.name, 'profile');
    const other = { schema: 'iglu:com.acme/other/jsonschema/1-0-0', data: { a: 1 } };
    const events = [
      eventAt(0, { domain_userid: 'D', page_url: 'https://a.example/', refr_urlhost: 'www.bing.com', refr_medium: 'search', refr_source: 'Bing' }),
      eventAt(1, { domain_userid: 'D', page_url: 'https://a.example/2', derived_contexts: [other] }),
      eventAt(2, {}),
    ];
    const out = await stage.run(events);
    assert.deepEqual(out.failed, []);
    assert.deepEqual(out.dropped, {});
    assert.equal(out.events.length, 3);
    const [first, second, anonymous] = out.events as [SnowplowEvent, SnowplowEvent, SnowplowEvent];
    assert.equal(first.derived_contexts?.length, 1);
    assert.deepEqual(second.derived_contexts?.[0], other);
    assert.equal(anonymous.derived_contexts, undefined);
    const [p1] = contextOf(first);
    const [p2] = contextOf(second);
    assert.deepEqual([p1?.events, p1?.is_new_visitor, p1?.landing_page, p1?.first_referrer?.source], [1, true, 'https://a.example/', 'Bing']);
    assert.deepEqual([p2?.events, p2?.is_new_visitor, p2?.landing_page, p2?.last_page, p2?.first_seen], [2, false, 'https://a.example/', 'https://a.example/2', first.collector_tstamp]);

    // Running the same events again (a retried batch) replaces the context instead of adding one.
    await stage.run(events);
    assert.equal(contextOf(second).length, 1);
    assert.deepEqual([contextOf(second)[0]?.status, contextOf(second)[0]?.events], ['duplicate', 2]);
    assert.equal(second.derived_contexts?.length, 2);
  } finally {
    await stage.close?.();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('profile stage: events without event_id or collector_tstamp pass through untouched', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tailplow-profile-stage-'));
  const stage = await createProfileStage(profileStageSchema.parse({ type: 'profile' }), { logger: silentLogger, dataDir });
  try {
    const events: SnowplowEvent[] = [{ domain_userid: 'D', collector_tstamp: '2025-01-01T00:00:00.000Z' }, { domain_userid: 'D', event_id: 'x' }];
    const out = await stage.run(events);
    assert.deepEqual(out.events, [{ domain_userid: 'D', collector_tstamp: '2025-01-01T00:00:00.000Z' }, { domain_userid: 'D', event_id: 'x' }]);
  } finally {
    await stage.close?.();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('profile stage: a store failure is thrown (the processor retries the batch) and no context is added', async () => {
  const stage = await createProfileStage(profileStageSchema.parse({ type: 'profile' }), {
    logger: silentLogger,
    dataDir: '/nonexistent',
    store: { apply: () => Promise.reject(new Error('down')), close: async () => {} },
  });
  const e = eventAt(0, { domain_userid: 'D' });
  await assert.rejects(stage.run([e]), /down/);
  assert.equal(e.derived_contexts, undefined);
});

test('profile config: defaults, redis fields, and the checks that name the field', () => {
  assert.deepEqual(profileStageSchema.parse({ type: 'profile' }), { type: 'profile', keyPrefix: 'tailplow:', ttlSeconds: 0, dedupWindowSeconds: 86_400, cacheVisitors: 20_000 });
  assert.deepEqual(profileStageSchema.parse({ type: 'profile', redis: { url: 'redis://:pw@r:6379/2' }, ttlSeconds: 86_400 * 30 }).redis, {
    url: 'redis://:pw@r:6379/2',
    connectTimeoutMs: 5000,
    commandTimeoutMs: 10_000,
  });
  const issue = (input: unknown) => {
    const r = stageConfigSchema.safeParse(input);
    assert.equal(r.success, false);
    return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(issue({ type: 'profile', redis: { url: 'http://r:6379' } }), ['redis.url: must start with redis:// or rediss://']);
  assert.match(issue({ type: 'profile', ttlSeconds: 60 })?.[0] ?? '', /^ttlSeconds: ttlSeconds \(60\) is shorter than dedupWindowSeconds \(86400\)/);
  assert.match(issue({ type: 'profile', keyprefix: 'x' })?.[0] ?? '', /Unrecognized key/);
  assert.match(issue({ type: 'profiles' })?.[0] ?? '', /'enrich' \| 'profile'/);
});
