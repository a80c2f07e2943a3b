// Retention (ttlDays) on real chDB: old events are deleted by the table TTL, the TTL is changed
// only when it differs, and a server older than 19.6 is refused before anything is altered.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SnowplowEvent } from '../snowplow/event';
import { createEmbeddedSink, embeddedSinkSchema } from '../sinks/embedded';
import { silentLogger } from '../util/logger';
import { createChdbStore } from './chdb-store';
import type { EventStore } from './event-store';
import { applyRetention, RetentionUnsupportedError, ttlDaysOf, ttlExpression } from './retention';

const dataDir = mkdtempSync(join(tmpdir(), 'tailplow-retention-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

function event(id: string, daysAgo: number): SnowplowEvent {
  const iso = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
  return { event_id: id, app_id: 'shop', event: 'page_view', platform: 'web', collector_tstamp: iso, derived_tstamp: iso, dvce_created_tstamp: iso, etl_tstamp: iso, v_tracker: 'js-4', v_collector: 'tailplow', v_etl: 'tailplow' };
}

test('ttlDays: rows older than the TTL are gone after a merge, newer ones stay; SHOW CREATE TABLE carries the TTL', async () => {
  const sink = await createEmbeddedSink(embeddedSinkSchema.parse({ type: 'embedded', table: 'events_ttl', ttlDays: 30 }), { logger: silentLogger, dataDir });
  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    assert.deepEqual(await sink.write([event('new', 1), event('month', 29), event('old', 31), event('ancient', 400)]), { failed: [] });
    await store.command('OPTIMIZE TABLE events_ttl FINAL');
    const rows = await store.query<{ event_id: string }>('SELECT event_id FROM events_ttl ORDER BY event_id');
    assert.deepEqual(rows.map((r) => r.event_id), ['month', 'new']);
    const [create] = await store.query<{ statement: string }>('SHOW CREATE TABLE events_ttl');
    assert.equal(ttlDaysOf(create!.statement), 30, create!.statement);
    // Same days again: nothing to alter. Other days: altered.
    assert.equal(await applyRetention(store, 'events_ttl', 30), false);
    assert.equal(await applyRetention(store, 'events_ttl', 7), true);
    const [changed] = await store.query<{ statement: string }>('SHOW CREATE TABLE events_ttl');
    assert.equal(ttlDaysOf(changed!.statement), 7);
  } finally {
    await store.close();
    await sink.close();
  }
});

test('without ttlDays the table has no TTL', async () => {
  const sink = await createEmbeddedSink(embeddedSinkSchema.parse({ type: 'embedded', table: 'events_keep' }), { logger: silentLogger, dataDir });
  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    const [create] = await store.query<{ statement: string }>('SHOW CREATE TABLE events_keep');
    assert.equal(ttlDaysOf(create!.statement), undefined);
    assert.doesNotMatch(create!.statement, /\bTTL\b/);
  } finally {
    await store.close();
    await sink.close();
  }
});

test('a server older than 19.6 (e.g. 18.16) is refused with what to do instead, and nothing is sent to it', async () => {
  const sent: string[] = [];
  const legacy: EventStore = {
    engine: 'clickhouse',
    version: '18.16.1',
    variant: 'legacy',
    command: async (sql) => void sent.push(sql),
    query: async (sql) => (sent.push(sql), []),
    insert: async () => {},
    close: async () => {},
  };
  await assert.rejects(applyRetention(legacy, 'db.events', 30), (err: unknown) => err instanceof RetentionUnsupportedError && /19\.6 or newer \(this server is 18\.16\.1\).*DROP PARTITION/.test(err.message));
  assert.deepEqual(sent, []);
  // 19.6+ legacy layout: derived_tstamp is a DateTime, no conversion.
  const older = { ...legacy, version: '21.8.15.7' };
  assert.equal(await applyRetention(older, 'db.events', 30), true);
  assert.deepEqual(sent, ['SHOW CREATE TABLE db.events', 'ALTER TABLE db.events MODIFY TTL derived_tstamp + INTERVAL 30 DAY']);
  assert.equal(ttlExpression('modern', 3), 'toDateTime(derived_tstamp) + INTERVAL 3 DAY');
});

test('config: ttlDays must be a positive whole number of days', () => {
  assert.equal(embeddedSinkSchema.safeParse({ type: 'embedded', ttlDays: 0 }).success, false);
  assert.equal(embeddedSinkSchema.safeParse({ type: 'embedded', ttlDays: 1.5 }).success, false);
  assert.equal(embeddedSinkSchema.parse({ type: 'embedded', ttlDays: 90 }).ttlDays, 90);
});
