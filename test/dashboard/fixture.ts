// Fixture for the dashboard tests: a few days of enriched web traffic from a seeded generator
// (visitors with several sessions, page views, page pings, structured events, referrers,
// campaigns, countries, browsers, devices, two app_ids, some events delivered twice), and the
// answer of every view computed here in JavaScript from the events — never from SQL — so the
// tests compare the engines' answers with an independent computation.
import { prng } from '../../bench/lib/generate';
import type { Filters, ViewResults } from '../../src/dashboard/queries';
import { bucketOf, TOP_N } from '../../src/dashboard/queries';
import type { SnowplowEvent } from '../../src/snowplow/event';

/** Monday 2026-03-02 00:00 UTC: the fixture's first day. */
export const FIXTURE_START = Date.UTC(2026, 2, 2) / 1000;
export const FIXTURE_DAYS = 4;
/** The whole fixture: [start, start + 4 days). */
export const FIXTURE_RANGE = { from: FIXTURE_START, to: FIXTURE_START + FIXTURE_DAYS * 86_400 };

const whole: Filters = { ...FIXTURE_RANGE, granularity: 'day' };

/** The filter sets every store must answer like the events do: each granularity, each filter. */
export const FILTER_CASES: Array<[string, Filters]> = [
  ['whole range by day', whole],
  ['by hour', { ...whole, granularity: 'hour' }],
  ['by minute over 3 hours', { from: FIXTURE_START + 86_400, to: FIXTURE_START + 86_400 + 3 * 3600, granularity: 'minute' }],
  ['by week', { ...whole, granularity: 'week' }],
  ['by month', { ...whole, granularity: 'month' }],
  ['app_id blog', { ...whole, appId: 'blog' }],
  ['app_id that has no events', { ...whole, appId: 'nothing' }],
  ['page /pricing', { ...whole, page: '/pricing' }],
  ["page with a quote: /search'quote", { ...whole, page: "/search'quote" }],
  ['second and third day, shop only', { from: FIXTURE_START + 86_400, to: FIXTURE_START + 3 * 86_400, granularity: 'hour', appId: 'shop' }],
];

const PAGES = ['/', '/pricing', '/blog/one', '/blog/two', "/search'quote", '/docs/%C3%A9t%C3%A9'];
const REFERRERS: Array<{ medium: string; source?: string; url: string } | undefined> = [
  undefined,
  { medium: 'search', source: 'Google', url: 'https://www.google.com/' },
  { medium: 'search', source: 'Bing', url: 'https://www.bing.com/' },
  { medium: 'social', source: 'Facebook', url: 'https://facebook.com/' },
  { medium: 'email', url: 'https://mail.example.net/' },
  { medium: 'unknown', url: 'https://blog.example.org/post' },
  { medium: 'internal', url: 'https://shop.example.com/' },
];
const CAMPAIGNS: Array<{ campaign: string; source?: string; medium?: string } | undefined> = [
  undefined,
  undefined,
  { campaign: 'spring_sale', source: 'newsletter', medium: 'email' },
  { campaign: 'spring_sale', source: 'google', medium: 'cpc' },
  { campaign: 'launch' },
];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', undefined];
const UAS: Array<{ br: string; os: string; device: string }> = [
  { br: 'Chrome', os: 'Windows', device: 'Computer' },
  { br: 'Firefox', os: 'Linux', device: 'Computer' },
  { br: 'Safari', os: 'iOS', device: 'Mobile' },
  { br: 'Chrome', os: 'Android', device: 'Mobile' },
  { br: 'Safari', os: 'iOS', device: 'Tablet' },
];
const STRUCT: Array<[string, string]> = [
  ['video', 'play'],
  ['video', 'pause'],
  ['form', 'submit'],
  ['cart', 'add'],
];

const uuid = (n: number) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${(n * 7919).toString(16).padStart(12, '0').slice(-12)}`;
const iso = (seconds: number, ms = 0) => new Date(seconds * 1000 + ms).toISOString();

/** The fixture's events (with the duplicates: the same event_id written twice). */
export function dashboardEvents(seed = 42): SnowplowEvent[] {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const events: SnowplowEvent[] = [];
  let id = 1;
  for (let v = 0; v < 40; v++) {
    const app = v % 3 === 0 ? 'blog' : 'shop';
    const visitor = `visitor-${String(v).padStart(3, '0')}`;
    const ua = pick(UAS);
    const country = pick(COUNTRIES);
    // A third of the visitors had sessions before the fixture starts: they come back as returning.
    const firstIdx = random() < 0.34 ? 2 + Math.floor(random() * 3) : 1;
    const sessions = 1 + Math.floor(random() * 3);
    for (let s = 0; s < sessions; s++) {
      const sessionId = uuid(100_000 + v * 10 + s);
      // Session starts anywhere in the 4 days (the last one ends a little past the range).
      let t = FIXTURE_START + Math.floor(random() * FIXTURE_DAYS * 86_400);
      const referrer = pick(REFERRERS);
      const campaign = pick(CAMPAIGNS);
      const base = {
        app_id: app,
        platform: 'web',
        domain_userid: visitor,
        domain_sessionid: sessionId,
        domain_sessionidx: firstIdx + s,
        network_userid: `n-${visitor}`,
        user_ipaddress: `192.0.2.${v}`,
        br_family: ua.br,
        os_family: ua.os,
        dvce_type: ua.device,
        page_urlhost: 'shop.example.com',
        page_urlscheme: 'https',
        ...(country ? { geo_country: country } : {}),
      };
      const pageViews = 1 + Math.floor(random() * 4);
      for (let p = 0; p < pageViews; p++) {
        const path = pick(PAGES);
        const ms = Math.floor(random() * 1000);
        const view: Record<string, unknown> = {
          ...base,
          event: 'page_view',
          event_id: uuid(id++),
          page_url: `https://shop.example.com${path}`,
          page_urlpath: path,
          collector_tstamp: iso(t, ms),
          derived_tstamp: iso(t, ms),
        };
        if (p === 0 && referrer) Object.assign(view, { page_referrer: referrer.url, refr_medium: referrer.medium, ...(referrer.source ? { refr_source: referrer.source } : {}) });
        if (p === 0 && campaign) Object.assign(view, { mkt_campaign: campaign.campaign, ...(campaign.source ? { mkt_source: campaign.source } : {}), ...(campaign.medium ? { mkt_medium: campaign.medium } : {}) });
        events.push(view as SnowplowEvent);
        const pings = Math.floor(random() * 4) - 1;
        for (let k = 1; k <= pings; k++) {
          events.push({ ...base, event: 'page_ping', event_id: uuid(id++), page_urlpath: path, collector_tstamp: iso(t + 10 * k, ms), derived_tstamp: iso(t + 10 * k, ms) } as SnowplowEvent);
        }
        if (random() < 0.3) {
          const [category, action] = pick(STRUCT);
          events.push({ ...base, event: 'struct', event_id: uuid(id++), page_urlpath: path, se_category: category, se_action: action, collector_tstamp: iso(t + 5, 1), derived_tstamp: iso(t + 5, 1) } as SnowplowEvent);
        }
        t += 30 + Math.floor(random() * 60);
      }
    }
  }
  // Redeliveries: every 9th event again (same event_id and content), as a tracker retry or a replay would.
  const again = events.filter((_, i) => i % 9 === 4);
  return [...events, ...again];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const eventMs = (e: SnowplowEvent) => Date.parse(e.derived_tstamp!);

function ranked<R extends Record<string, unknown>>(groups: Map<string, R>, count: keyof R, keys: Array<keyof R>): R[] {
  return [...groups.values()]
    .sort((a, b) => (b[count] as number) - (a[count] as number) || keys.reduce((acc, k) => acc || cmp(String(a[k]), String(b[k])), 0))
    .slice(0, TOP_N);
}

/** Adds `id` to the set `what` of the group `key` (created with `init`). */
function groupSets<E>(items: E[], key: (e: E) => string | undefined, sets: Record<string, (e: E) => string | undefined>) {
  const groups = new Map<string, Record<string, Set<string>>>();
  for (const e of items) {
    const k = key(e);
    if (k === undefined) continue;
    if (!groups.has(k)) groups.set(k, Object.fromEntries(Object.keys(sets).map((name) => [name, new Set<string>()])));
    const g = groups.get(k)!;
    for (const [name, of] of Object.entries(sets)) {
      const v = of(e);
      if (v !== undefined) g[name]!.add(v);
    }
  }
  return groups;
}

/** Every view's rows for these filters, computed from the events in JavaScript. */
export function expectedViews(all: SnowplowEvent[], filters: Filters): ViewResults {
  const unique = [...new Map(all.map((e) => [e.event_id, e])).values()];
  const inRange = unique.filter((e) => eventMs(e) >= filters.from * 1000 && eventMs(e) < filters.to * 1000 && (filters.page === undefined || e.page_urlpath === filters.page));
  const events = inRange.filter((e) => filters.appId === undefined || e.app_id === filters.appId);
  const pageViews = events.filter((e) => e.event === 'page_view');
  const size = (items: Iterable<unknown>) => new Set(items).size;
  const defined = <T>(items: Array<T | undefined>) => items.filter((x): x is T => x !== undefined);

  const byBucket = new Map<number, SnowplowEvent[]>();
  for (const e of events) {
    const b = bucketOf(Math.floor(eventMs(e) / 1000), filters.granularity);
    if (!byBucket.has(b)) byBucket.set(b, []);
    byBucket.get(b)!.push(e);
  }
  const counts = (items: SnowplowEvent[]) => ({
    visitors: size(defined(items.map((e) => e.domain_userid))),
    sessions: size(defined(items.map((e) => e.domain_sessionid))),
    page_views: items.filter((e) => e.event === 'page_view').length,
    events: items.length,
  });

  const sessionsOf = new Map<string, SnowplowEvent[]>();
  for (const e of pageViews) {
    if (!e.domain_sessionid) continue;
    if (!sessionsOf.has(e.domain_sessionid)) sessionsOf.set(e.domain_sessionid, []);
    sessionsOf.get(e.domain_sessionid)!.push(e);
  }
  const entries = new Map<string, number>();
  for (const views of sessionsOf.values()) {
    const first = [...views].sort((a, b) => eventMs(a) - eventMs(b) || cmp(String(a.event_id), String(b.event_id)))[0]!;
    entries.set(first.page_urlpath!, (entries.get(first.page_urlpath!) ?? 0) + 1);
  }

  const external = pageViews.filter((e) => e.refr_medium !== undefined && e.refr_medium !== 'internal');
  const firstVisit = new Map<string, number>();
  for (const e of events) {
    if (e.domain_userid === undefined || e.domain_sessionidx === undefined) continue;
    firstVisit.set(e.domain_userid, Math.min(firstVisit.get(e.domain_userid) ?? Infinity, e.domain_sessionidx));
  }
  const kinds = new Map<string, number>();
  for (const idx of firstVisit.values()) kinds.set(idx === 1 ? 'new' : 'returning', (kinds.get(idx === 1 ? 'new' : 'returning') ?? 0) + 1);

  const engagement = { sessions: 0, bounces: 0, engaged_sessions: 0, total_duration_ms: 0, page_pings: 0 };
  const activity = new Map<string, SnowplowEvent[]>();
  for (const e of events) {
    if ((e.event !== 'page_view' && e.event !== 'page_ping') || !e.domain_sessionid) continue;
    if (!activity.has(e.domain_sessionid)) activity.set(e.domain_sessionid, []);
    activity.get(e.domain_sessionid)!.push(e);
  }
  for (const items of activity.values()) {
    const views = items.filter((e) => e.event === 'page_view').length;
    const pings = items.length - views;
    if (views === 0) continue;
    engagement.sessions++;
    if (views === 1 && pings === 0) engagement.bounces++;
    if (pings > 0) engagement.engaged_sessions++;
    engagement.page_pings += pings;
    const times = items.map(eventMs);
    engagement.total_duration_ms += Math.max(...times) - Math.min(...times);
  }

  const visitorsBy = (field: 'geo_country' | 'br_family' | 'os_family' | 'dvce_type', name: string) =>
    ranked(
      new Map([...groupSets(events, (e) => e[field], { v: (e) => e.domain_userid })].map(([k, g]) => [k, { [name]: k, visitors: g.v!.size }])),
      'visitors',
      [name],
    );
  const apps = [...new Set(inRange.map((e) => e.app_id ?? ''))].sort(cmp);

  return {
    summary: [counts(events)],
    timeseries: [...byBucket].sort(([a], [b]) => a - b).map(([t, items]) => ({ t, ...counts(items) })),
    top_pages: ranked(
      new Map([...groupSets(pageViews, (e) => e.page_urlpath, { ids: (e) => e.event_id, v: (e) => e.domain_userid })].map(([page, g]) => [page, { page, page_views: g.ids!.size, visitors: g.v!.size }])),
      'page_views',
      ['page'],
    ),
    entry_pages: ranked(new Map([...entries].map(([page, sessions]) => [page, { page, sessions }])), 'sessions', ['page']),
    referrer_media: ranked(
      new Map([...groupSets(external, (e) => e.refr_medium, { s: (e) => e.domain_sessionid, ids: (e) => e.event_id })].map(([medium, g]) => [medium, { medium, sessions: g.s!.size, page_views: g.ids!.size }])),
      'sessions',
      ['medium'],
    ),
    referrer_sources: ranked(
      new Map(
        [...groupSets(external.filter((e) => e.refr_source !== undefined), (e) => `${e.refr_medium}\u0000${e.refr_source}`, { s: (e) => e.domain_sessionid, ids: (e) => e.event_id })].map(([k, g]) => {
          const [medium, source] = k.split('\u0000') as [string, string];
          return [k, { medium, source, sessions: g.s!.size, page_views: g.ids!.size }];
        }),
      ),
      'sessions',
      ['medium', 'source'],
    ),
    campaigns: ranked(
      new Map(
        [...groupSets(pageViews.filter((e) => e.mkt_campaign !== undefined), (e) => `${e.mkt_campaign}\u0000${e.mkt_source ?? ''}\u0000${e.mkt_medium ?? ''}`, { s: (e) => e.domain_sessionid, ids: (e) => e.event_id })].map(
          ([k, g]) => {
            const [campaign, source, medium] = k.split('\u0000') as [string, string, string];
            return [k, { campaign, source, medium, sessions: g.s!.size, page_views: g.ids!.size }];
          },
        ),
      ),
      'sessions',
      ['campaign', 'source', 'medium'],
    ),
    countries: visitorsBy('geo_country', 'country') as ViewResults['countries'],
    browsers: visitorsBy('br_family', 'browser') as ViewResults['browsers'],
    operating_systems: visitorsBy('os_family', 'os') as ViewResults['operating_systems'],
    device_types: visitorsBy('dvce_type', 'device') as ViewResults['device_types'],
    new_vs_returning: [...kinds].sort(([a], [b]) => cmp(a, b)).map(([kind, visitors]) => ({ kind: kind as 'new' | 'returning', visitors })),
    structured_events: ranked(
      new Map(
        [...groupSets(events.filter((e) => e.event === 'struct'), (e) => `${e.se_category ?? ''}\u0000${e.se_action ?? ''}`, { ids: (e) => e.event_id })].map(([k, g]) => {
          const [category, action] = k.split('\u0000') as [string, string];
          return [k, { category, action, events: g.ids!.size }];
        }),
      ),
      'events',
      ['category', 'action'],
    ),
    engagement: [engagement],
    apps: apps.map((app_id) => ({ app_id })),
  };
}
