// The embedded sink on real chDB (in-process, so a unit test): the table, real tracker events,
// de-duplication of a second delivery, the shared analytics queries, bad events, persistence.
// chDB allows one data directory per process, so every test here uses the same one and its
// own table.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SnowplowEvent } from '../snowplow/event';
import { createChdbStore } from '../storage/chdb-store';
import { eventColumns } from '../storage/clickhouse-schema';
import { silentLogger } from '../util/logger';
import { expectedAnswers, eventsOverTime, runAnalytics, trackerEvents } from '../../test/storage/analytics';
import { createEmbeddedSink, embeddedSinkSchema } from './embedded';

const dataDir = mkdtempSync(join(tmpdir(), 'tailplow-embedded-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

const sinkFor = (table: string) => createEmbeddedSink(embeddedSinkSchema.parse({ type: 'embedded', table }), { logger: silentLogger, dataDir });

test('the sink creates <dataDir>/clickhouse and the modern table: every column under its canonical name and type', async () => {
  const sink = await sinkFor('events_schema');
  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    const columns = await store.query<{ name: string; type: string }>(
      "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'events_schema' ORDER BY position",
    );
    assert.deepEqual(columns, eventColumns('modern').map((c) => ({ name: c.name, type: c.type })));
    const [engine] = await store.query<{ engine: string; sorting_key: string; partition_key: string }>(
      "SELECT engine, sorting_key, partition_key FROM system.tables WHERE database = currentDatabase() AND name = 'events_schema'",
    );
    assert.deepEqual(engine, { engine: 'ReplacingMergeTree', sorting_key: 'app_id, event, toDate(derived_tstamp), event_id', partition_key: 'toYYYYMM(derived_tstamp)' });
  } finally {
    await store.close();
    await sink.close();
  }
});

test('tracker events delivered twice: one row per event_id under FINAL, analytics answers as computed from the events', async () => {
  const events = eventsOverTime(3);
  const sink = await sinkFor('events_twice');
  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    assert.deepEqual(await sink.write(events), { failed: [] });
    assert.deepEqual(await sink.write(events), { failed: [] });
    const ids = new Set(events.map((e) => e.event_id)).size;
    assert.equal(ids, 4 * 57);
    const [counts] = await store.query<{ stored: number; final: number; ids: number }>(
      'SELECT (SELECT count() FROM events_twice) AS stored, (SELECT count() FROM events_twice FINAL) AS final, (SELECT uniqExact(event_id) FROM events_twice) AS ids',
    );
    // How many copies are still stored depends on merges (and on optimize_on_insert, which
    // collapses the replayed page view within one insert): anything from one to two per row.
    assert.ok(counts && counts.stored >= ids && counts.stored <= 2 * events.length, `stored ${counts?.stored}`);
    assert.deepEqual({ final: counts.final, ids: counts.ids }, { final: ids, ids });
    const duplicated = await store.query('SELECT event_id FROM events_twice FINAL GROUP BY event_id HAVING count() > 1');
    assert.deepEqual(duplicated, []);
    assert.deepEqual(await runAnalytics(store, 'events_twice'), expectedAnswers(events));
  } finally {
    await store.close();
    await sink.close();
  }
});

test('values come back as the event had them: millisecond timestamps, JSON text, flags, context schemas', async () => {
  const [pageView] = trackerEvents().filter((e) => e.event === 'page_view' && e.contexts?.length);
  assert.ok(pageView?.event_id && pageView.contexts);
  const sink = await sinkFor('events_values');
  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    await sink.write([pageView]);
    const [row] = await store.query<Record<string, unknown>>(
      `SELECT toString(derived_tstamp) AS derived, derived_tstamp_ms, toString(dvce_created_tstamp) AS created, contexts, br_cookies,
              page_title, context_schemas, page_url IS NULL AS no_url, mkt_clickid IS NULL AS no_clickid
       FROM events_values WHERE event_id = '${pageView.event_id}'`,
    );
    assert.deepEqual(row, {
      derived: pageView.derived_tstamp!.replace('T', ' ').replace('Z', ''),
      derived_tstamp_ms: Number(pageView.derived_tstamp!.slice(20, 23)),
      created: pageView.dvce_created_tstamp!.replace('T', ' ').replace('Z', ''),
      contexts: JSON.stringify(pageView.contexts),
      br_cookies: pageView.br_cookies,
      page_title: 'Custom title — Grüße ✓ 日本',
      context_schemas: pageView.contexts.map((c) => c.schema),
      // IS NULL is a UInt8 in ClickHouse.
      no_url: pageView.page_url === undefined ? 1 : 0,
      no_clickid: 1,
    });
  } finally {
    await store.close();
    await sink.close();
  }
});

test('malformed events are `failed` with their reason; the good events of the batch are stored', async () => {
  const [a, b, c, d] = trackerEvents();
  const sink = await sinkFor('events_bad');
  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    const bad1 = { ...b, domain_sessionidx: 'not a number' } as unknown as SnowplowEvent;
    const bad2 = { ...c, derived_tstamp: undefined };
    const result = await sink.write([a!, bad1, bad2, d!]);
    assert.deepEqual(
      result.failed.map((f) => [f.event.event_id, f.reason, f.message]),
      [
        [b!.event_id, 'invalid_value', 'domain_sessionidx: expected a 32-bit integer, got "not a number"'],
        [c!.event_id, 'missing_field', 'derived_tstamp is missing'],
      ],
    );
    const stored = await store.query<{ event_id: string }>('SELECT event_id FROM events_bad ORDER BY event_id');
    assert.deepEqual(stored.map((r) => r.event_id), [a!.event_id, d!.event_id].sort());
  } finally {
    await store.close();
    await sink.close();
  }
});

test('what a write acknowledged is still there after the sink is closed and a new one opened', async () => {
  const events = trackerEvents().slice(0, 10);
  const first = await sinkFor('events_reopen');
  await first.write(events);
  await first.close();
  const second = await sinkFor('events_reopen');
  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    const [row] = await store.query<{ n: number }>('SELECT count() AS n FROM events_reopen FINAL');
    assert.equal(row?.n, new Set(events.map((e) => e.event_id)).size);
  } finally {
    await store.close();
    await second.close();
  }
});

test('loading the sink registry does not load chdb (the tailer and other sinks never pay for it)', () => {
  const registry = resolve(__dirname, 'registry.js');
  const script = `require(${JSON.stringify(registry)}); console.log(Object.keys(require.cache).filter((p) => /[\\\\/]chdb[\\\\/]/.test(p)).length)`;
  assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 }).trim(), '0');
});
