import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedProfileStore } from './embedded-store';
import { eventAt, inputsOf, profileStoreContract } from './store-contract';
import { profileKeys } from './spec';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-profile-'));
  dirs.push(dir);
  return dir;
};
test.after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

profileStoreContract('embedded', async (opts) => openEmbeddedProfileStore({ ...opts, path: freshDir() }));

test('embedded: profiles, links and seen ids survive closing and reopening the store', async () => {
  const path = freshDir();
  const opts = { prefix: 'p:', ttlSeconds: 0, dedupWindowSeconds: 3600, path };
  const batch = inputsOf([eventAt(0, { domain_userid: 'D', user_id: 'u1' }), eventAt(1, { domain_userid: 'D' })]);
  const first = openEmbeddedProfileStore(opts);
  await first.apply(batch);
  await first.close();
  const second = openEmbeddedProfileStore(opts);
  try {
    const again = await second.apply([...batch, ...inputsOf([eventAt(2, { user_id: 'u1' })])]);
    assert.deepEqual(again.map((r) => [r.status, r.visitor, r.profile?.events]), [['duplicate', 'd:D', '2'], ['duplicate', 'd:D', '2'], ['applied', 'd:D', '3']]);
  } finally {
    await second.close();
  }
});

test('embedded: ttlSeconds expires profiles, seen ids and links on the store clock, and the sweep deletes them', async () => {
  let now = Date.parse('2025-03-01T00:00:00Z');
  const store = openEmbeddedProfileStore({ prefix: 'p:', ttlSeconds: 100, dedupWindowSeconds: 50, path: freshDir(), now: () => now, sweepIntervalMs: 1e12 });
  try {
    const e = eventAt(0, { domain_userid: 'D', user_id: 'u1' });
    await store.apply(inputsOf([e]));
    assert.equal(store.read(profileKeys.profile('p:', 'd:D'))?.exp, now + 100_000);
    assert.equal(store.read(profileKeys.userLink('p:', 'u1'))?.exp, now + 100_000);
    now += 99_000;
    assert.ok(store.read(profileKeys.profile('p:', 'd:D')), 'still there 1 s before it expires');
    now += 1_000;
    assert.equal(store.read(profileKeys.profile('p:', 'd:D')), undefined);
    assert.equal(store.read(profileKeys.userLink('p:', 'u1')), undefined);
    // Expired means gone: the same event counts again, as the first of a new profile.
    const r = await store.apply(inputsOf([e]));
    assert.deepEqual([r[0]?.status, r[0]?.profile?.events], ['applied', '1']);
    assert.equal(store.seenIdRecords(), 1, 'the expired profile\'s id went with it');
    now += 100_000;
    assert.equal(store.seenIdRecords(), 1);
    assert.equal(await store.sweepExpired(), 2); // profile (its seen id with it), link u1 (re-written above)
    assert.equal(store.seenIdRecords(), 0);
    assert.equal(await store.sweepExpired(), 0);
  } finally {
    await store.close();
  }
});

test('embedded: seen ids older than the window behind the latest event are forgotten at once and deleted by a later scan', async () => {
  const store = openEmbeddedProfileStore({ prefix: 'p:', ttlSeconds: 0, dedupWindowSeconds: 120, path: freshDir() });
  try {
    const events = [0, 1, 2, 3, 4, 5].map((m) => eventAt(m, { domain_userid: 'D' }));
    await store.apply(inputsOf(events));
    // Latest is minute 5, the window 2 minutes: minutes 3, 4 and 5 are remembered.
    assert.deepEqual(store.seenIds('d:D'), events.slice(3).map((e) => e.event_id as string));
    // A later batch forgets what falls out of the window behind its latest event (minute 8: 6 on).
    const later = [7, 8].map((m) => eventAt(m, { domain_userid: 'D' }));
    await store.apply(inputsOf(later));
    assert.deepEqual(store.seenIds('d:D'), later.map((e) => e.event_id));
    assert.equal(store.seenIdRecords(), 5, 'minutes 3, 4, 5 (0-2 were out of the window when written), 7, 8: deleted only by a scan');
    // 100 more events, one a minute: scans keep the records near what the window holds.
    const many = Array.from({ length: 100 }, (_, i) => eventAt(10 + i, { domain_userid: 'D' }));
    for (let i = 0; i < many.length; i += 10) await store.apply(inputsOf(many.slice(i, i + 10)));
    assert.deepEqual(store.seenIds('d:D'), many.slice(-3).map((e) => e.event_id));
    assert.ok(store.seenIdRecords() <= 3 + 64, `${store.seenIdRecords()} id records left`);
  } finally {
    await store.close();
  }
});

test('embedded: a store written with all of a visitor\'s ids in one record is migrated at open and still de-duplicates', async () => {
  const path = freshDir();
  const { open } = await import('lmdb');
  const old = eventAt(0, { domain_userid: 'D' });
  const raw = open({ path, compression: false });
  const ts = Date.parse(old.collector_tstamp as string);
  await raw.put(profileKeys.profile('p:', 'd:D'), { h: { events: '1', first_seen_ms: String(ts), last_seen_ms: String(ts) }, exp: 0 });
  await raw.put(profileKeys.seenIds('p:', 'd:D'), { ids: { [old.event_id as string]: [ts, '1,0,0,1'] }, exp: 0 });
  await raw.close();
  const store = openEmbeddedProfileStore({ prefix: 'p:', ttlSeconds: 0, dedupWindowSeconds: 3600, path });
  try {
    assert.equal(store.read(profileKeys.seenIds('p:', 'd:D')), undefined, 'the one-record form is gone');
    assert.equal(store.seenIdRecords(), 1);
    assert.deepEqual(store.seenIds('d:D'), [old.event_id]);
    const r = await store.apply(inputsOf([old, eventAt(1, { domain_userid: 'D' })]));
    assert.deepEqual(r.map((x) => [x.status, x.snapshot, x.profile?.events]), [['duplicate', '1,0,0,1', '1'], ['applied', '2,1,,', '2']]);
  } finally {
    await store.close();
  }
});

test('embedded: the store maps its file once, however far it grows', async () => {
  const path = freshDir();
  const mappings = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(join(path, 'data.mdb'))).length;
  const store = openEmbeddedProfileStore({ prefix: 'p:', ttlSeconds: 0, dedupWindowSeconds: 3600, path });
  try {
    // ~40,000 ids of 2,000 visitors: the file grows past 8 MB, where lmdb-js's own 128 KiB map
    // would have been doubled six times, each doubling a mapping more.
    for (let b = 0; b < 20; b++) {
      await store.apply(inputsOf(Array.from({ length: 2000 }, (_, i) => eventAt((b * 2000 + i) / 1000, { domain_userid: `V${i}` }))));
    }
    assert.ok(store.seenIdRecords() >= 40_000);
    assert.equal(mappings(), 1);
  } finally {
    await store.close();
  }
});
