/**
 * One test suite for every ProfileStore: embedded-store.test.ts runs it on LMDB,
 * test/profile/redis.integration.test.ts on a real Redis, so the Lua script and the JS rules
 * are held to the same results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { SnowplowEvent } from '../../snowplow/event';
import { profileInputOf, visitorProfileOf, type ProfileInput, type ProfileResult, type ProfileStore, type ProfileStoreOptions } from './spec';

export type OpenStore = (opts: ProfileStoreOptions) => Promise<ProfileStore>;

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const MIN = 60_000;

/** A canonical event at `T0 + minutes`, with a fresh event_id unless given. */
export function eventAt(minutes: number, fields: SnowplowEvent = {}): SnowplowEvent {
  return { event_id: randomUUID(), collector_tstamp: new Date(T0 + minutes * MIN).toISOString(), event: 'page_view', event_name: 'page_view', ...fields };
}

export function inputsOf(events: SnowplowEvent[]): ProfileInput[] {
  return events.map((e) => {
    const input = profileInputOf(e);
    assert.ok(input, `event ${e.event_id} has no profile input`);
    return input;
  });
}

export function uniquePrefix(): string {
  return `tailplow-test:${randomUUID().slice(0, 8)}:`;
}

const options = (over: Partial<ProfileStoreOptions> = {}): ProfileStoreOptions => ({ prefix: uniquePrefix(), ttlSeconds: 0, dedupWindowSeconds: 3600, ...over });

async function withStore(open: OpenStore, opts: ProfileStoreOptions, fn: (store: ProfileStore) => Promise<void>): Promise<void> {
  const store = await open(opts);
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

const last = (results: ProfileResult[]) => results[results.length - 1] as ProfileResult;

export function profileStoreContract(backend: string, open: OpenStore): void {
  test(`${backend}: a visit sequence gives first/last seen, sessions, counters per type, landing page, referrers, campaigns and device`, async () => {
    await withStore(open, options(), async (store) => {
      const d = 'duid-1';
      const events = [
        eventAt(0, { domain_userid: d, domain_sessionid: 's1', domain_sessionidx: 1, page_url: 'https://shop.example/landing', page_urlhost: 'shop.example', refr_urlhost: 'www.google.com', refr_medium: 'search', refr_source: 'Google', mkt_source: 'newsletter', mkt_medium: 'email', mkt_campaign: 'spring', dvce_type: 'Computer', br_family: 'Firefox', os_family: 'Linux', geo_country: 'DE' }),
        eventAt(1, { domain_userid: d, domain_sessionid: 's1', domain_sessionidx: 1, event: 'page_ping', event_name: 'page_ping', page_url: 'https://shop.example/landing' }),
        eventAt(2, { domain_userid: d, domain_sessionid: 's1', domain_sessionidx: 1, page_url: 'https://shop.example/cart', page_urlhost: 'shop.example', refr_urlhost: 'shop.example', refr_medium: 'internal' }),
        eventAt(3, { domain_userid: d, domain_sessionid: 's1', domain_sessionidx: 1, event: 'struct', event_name: 'event', se_category: 'cart', page_url: 'https://shop.example/cart' }),
      ];
      const first = await store.apply(inputsOf(events));
      assert.deepEqual(first.map((r) => r.status), ['applied', 'applied', 'applied', 'applied']);
      assert.deepEqual(first.map((r) => visitorProfileOf(r)?.events), [1, 2, 3, 4]);
      assert.deepEqual(first.map((r) => visitorProfileOf(r)?.is_new_visitor), [true, false, false, false]);

      const later = [
        eventAt(120, { domain_userid: d, domain_sessionid: 's2', domain_sessionidx: 2, page_url: 'https://shop.example/', page_urlhost: 'shop.example', refr_urlhost: 't.co', refr_medium: 'social', refr_source: 'Twitter', dvce_type: 'Mobile', br_family: 'Chrome', os_family: 'Android', geo_country: 'AT' }),
        eventAt(121, { domain_userid: d, domain_sessionid: 's2', domain_sessionidx: 2, page_url: 'https://shop.example/thanks', mkt_source: 'ads', mkt_campaign: 'summer', mkt_term: 'shoes' }),
      ];
      const p = visitorProfileOf(last(await store.apply(inputsOf(later))));
      assert.deepEqual(p, {
        visitor_id: `d:${d}`,
        status: 'applied',
        first_seen: '2025-03-01T10:00:00.000Z',
        last_seen: '2025-03-01T12:01:00.000Z',
        events: 6,
        page_views: 4,
        sessions: 2,
        is_new_visitor: false,
        events_by_type: { page_view: 4, page_ping: 1, event: 1 },
        landing_page: 'https://shop.example/landing',
        last_page: 'https://shop.example/thanks',
        first_referrer: { urlhost: 'www.google.com', medium: 'search', source: 'Google' },
        last_referrer: { urlhost: 't.co', medium: 'social', source: 'Twitter' },
        first_campaign: { medium: 'email', source: 'newsletter', term: null, content: null, campaign: 'spring' },
        last_campaign: { medium: null, source: 'ads', term: 'shoes', content: null, campaign: 'summer' },
        dvce_type: 'Mobile',
        br_family: 'Chrome',
        os_family: 'Android',
        geo_country: 'AT',
      });
    });
  });

  test(`${backend}: sessions without a session index count changes of domain_sessionid`, async () => {
    await withStore(open, options(), async (store) => {
      const sids = ['a', 'a', 'b', 'b', 'c'];
      const r = await store.apply(inputsOf(sids.map((s, i) => eventAt(i, { domain_userid: 'v', domain_sessionid: s }))));
      assert.deepEqual(r.map((x) => visitorProfileOf(x)?.sessions), [1, 1, 2, 2, 3]);
    });
  });

  test(`${backend}: the same batch applied twice counts once, and the redelivery gets the counters of the first delivery`, async () => {
    await withStore(open, options(), async (store) => {
      const batch = inputsOf([0, 1, 2].map((m) => eventAt(m, { domain_userid: 'dup' })));
      const once = await store.apply(batch);
      const again = await store.apply(batch);
      assert.deepEqual(again.map((r) => r.status), ['duplicate', 'duplicate', 'duplicate']);
      const counters = (rs: ProfileResult[]) => rs.map((r) => [visitorProfileOf(r)?.events, visitorProfileOf(r)?.page_views, visitorProfileOf(r)?.is_new_visitor]);
      assert.deepEqual(counters(again), counters(once));
      assert.deepEqual(counters(once), [[1, 1, true], [2, 2, false], [3, 3, false]]);
      assert.equal(last(again).profile?.events, '3');
      // A batch mixing a redelivered event with new ones counts only the new ones.
      const mixed = await store.apply([batch[1] as ProfileInput, ...inputsOf([eventAt(3, { domain_userid: 'dup' })])]);
      assert.deepEqual(mixed.map((r) => r.status), ['duplicate', 'applied']);
      assert.equal(last(mixed).profile?.events, '4');
    });
  });

  test(`${backend}: an event id repeated inside one batch counts once`, async () => {
    await withStore(open, options(), async (store) => {
      const e = eventAt(0, { domain_userid: 'twice' });
      const r = await store.apply(inputsOf([e, e]));
      assert.deepEqual(r.map((x) => x.status), ['applied', 'duplicate']);
      assert.equal(last(r).profile?.events, '1');
    });
  });

  test(`${backend}: user_id and network_userid seen with a domain_userid find that profile later on their own`, async () => {
    await withStore(open, options(), async (store) => {
      await store.apply(inputsOf([eventAt(0, { domain_userid: 'D1', user_id: 'alice', network_userid: 'N1' })]));
      const r = await store.apply(
        inputsOf([eventAt(1, { user_id: 'alice' }), eventAt(2, { network_userid: 'N1' }), eventAt(3, { user_id: 'bob' }), eventAt(4, { network_userid: 'N2' }), eventAt(5, {})]),
      );
      assert.deepEqual(r.map((x) => [x.status, x.visitor]), [['applied', 'd:D1'], ['applied', 'd:D1'], ['applied', 'u:bob'], ['applied', 'n:N2'], ['anonymous', undefined]]);
      assert.equal(r[1]?.profile?.events, '3');
      // The link follows the latest domain_userid seen with the user (a new device).
      const moved = await store.apply(inputsOf([eventAt(6, { domain_userid: 'D2', user_id: 'alice' }), eventAt(7, { user_id: 'alice' })]));
      assert.deepEqual(moved.map((x) => [x.visitor, x.profile?.events]), [['d:D2', '1'], ['d:D2', '2']]);
    });
  });

  test(`${backend}: events of one visitor apply in batch order, interleaved with other visitors`, async () => {
    await withStore(open, options(), async (store) => {
      const events = [1, 2, 3, 4, 5, 6].map((i) => eventAt(i, { domain_userid: i % 2 ? 'odd' : 'even', page_url: `https://x.example/${i}` }));
      const r = await store.apply(inputsOf(events));
      assert.deepEqual(r.map((x) => [x.visitor, x.profile?.events, x.profile?.last_page]), [
        ['d:odd', '1', 'https://x.example/1'],
        ['d:even', '1', 'https://x.example/2'],
        ['d:odd', '2', 'https://x.example/3'],
        ['d:even', '2', 'https://x.example/4'],
        ['d:odd', '3', 'https://x.example/5'],
        ['d:even', '3', 'https://x.example/6'],
      ]);
      assert.deepEqual(r.map((x) => x.profile?.landing_page), ['https://x.example/1', 'https://x.example/2', 'https://x.example/1', 'https://x.example/2', 'https://x.example/1', 'https://x.example/2']);
    });
  });

  test(`${backend}: within the window late events count and are remembered; beyond it they are taken as counted (stale)`, async () => {
    await withStore(open, options({ dedupWindowSeconds: 600 }), async (store) => {
      const old = eventAt(0, { domain_userid: 'w' });
      const late = eventAt(25, { domain_userid: 'w' });
      const r1 = await store.apply(inputsOf([old, eventAt(30, { domain_userid: 'w' }), late]));
      assert.deepEqual(r1.map((x) => x.status), ['applied', 'applied', 'applied']);
      assert.equal(last(r1).profile?.last_seen_ms, String(Date.parse(eventAt(30).collector_tstamp as string)));
      // old (minute 0) is now more than 10 minutes behind the latest (minute 30): forgotten, and stale on replay.
      const r2 = await store.apply(inputsOf([old, late, eventAt(10, { domain_userid: 'w' })]));
      assert.deepEqual(r2.map((x) => x.status), ['stale', 'duplicate', 'stale']);
      assert.equal(last(r2).profile?.events, '3');
      const p = visitorProfileOf(last(r2));
      assert.equal(p?.events, 3);
      assert.equal(p?.is_new_visitor, false);
    });
  });

  test(`${backend}: events without any visitor id pass as anonymous and touch nothing`, async () => {
    await withStore(open, options(), async (store) => {
      const r = await store.apply(inputsOf([eventAt(0), eventAt(1)]));
      assert.deepEqual(r, [{ status: 'anonymous' }, { status: 'anonymous' }]);
      assert.equal(visitorProfileOf(r[0] as ProfileResult), undefined);
    });
  });

  test(`${backend}: an empty batch is a no-op`, async () => {
    await withStore(open, options(), async (store) => {
      assert.deepEqual(await store.apply([]), []);
    });
  });
}
