// Shared by the storage tests: real tracker events (the committed capture, decoded the way the
// tailer decodes it), spread over several days and months, and a few analytics queries written
// once in plain ClickHouse SQL that must give the same answers on ClickHouse 18.16 and chDB —
// and the answers themselves, computed here in JavaScript from the events.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLineParser } from '../../src/nginx/index';
import { createLineDecoder } from '../../src/pipeline/decode-lines';
import type { SnowplowEvent } from '../../src/snowplow/event';
import type { EventStore } from '../../src/storage/event-store';

const REPO = resolve(__dirname, '../../..');
const FIXTURE = join(REPO, 'test/fixtures/tracker/tailplow-json.log');
const NOW = Date.parse('2030-01-01T00:00:00.000Z');

/** The 58 events of the capture (57 event ids: one page view is replayed to /ice.png). */
export function trackerEvents(): SnowplowEvent[] {
  const decode = createLineDecoder(createLineParser('json'), { maxLineBytes: 1 << 20, now: () => NOW });
  const events: SnowplowEvent[] = [];
  let offset = 0;
  for (const text of readFileSync(FIXTURE, 'utf8').split('\n')) {
    const nextOffset = offset + Buffer.byteLength(text) + 1;
    if (text !== '') events.push(...decode({ text, offset, nextOffset }, FIXTURE).events);
    offset = nextOffset;
  }
  return events;
}

const TIMESTAMPS = ['etl_tstamp', 'collector_tstamp', 'dvce_created_tstamp', 'dvce_sent_tstamp', 'refr_dvce_tstamp', 'derived_tstamp', 'true_tstamp'] as const;

/**
 * The capture plus `copies` copies, copy k shifted by k × 23 days (so the data spans days and
 * month partitions) with its own event ids and visitors.
 */
export function eventsOverTime(copies = 3): SnowplowEvent[] {
  const base = trackerEvents();
  const out = [...base];
  for (let k = 1; k <= copies; k++) {
    for (const event of base) {
      const copy: Record<string, unknown> = { ...event };
      // UUIDs keep their shape: the first group becomes 0000000k.
      copy.event_id = `${String(k).padStart(8, '0')}${String(event.event_id).slice(8)}`;
      if (event.domain_userid) copy.domain_userid = `${String(k).padStart(8, '0')}${event.domain_userid.slice(8)}`;
      for (const name of TIMESTAMPS) {
        const value = event[name];
        if (value) copy[name] = new Date(Date.parse(value) + k * 23 * 86_400_000).toISOString();
      }
      out.push(copy as SnowplowEvent);
    }
  }
  return out;
}

/** Plain ClickHouse SQL that ClickHouse 18.16 and chDB (26.x) both run; `{table}` is the events table. */
export const ANALYTICS_QUERIES = {
  pageViewsPerDay: `SELECT toString(toDate(derived_tstamp)) AS day, count() AS page_views
    FROM {table} FINAL WHERE event = 'page_view' GROUP BY day ORDER BY day`,
  uniqueVisitors: `SELECT app_id, uniqExact(coalesce(domain_userid, network_userid, user_ipaddress)) AS visitors
    FROM {table} FINAL GROUP BY app_id ORDER BY app_id`,
  eventsByType: `SELECT event, count() AS events FROM {table} FINAL GROUP BY event ORDER BY events DESC, event`,
  topPages: `SELECT page_urlpath AS path, count() AS views
    FROM {table} FINAL WHERE event = 'page_view' GROUP BY path ORDER BY views DESC, path LIMIT 10`,
  eventsPerMonth: `SELECT toYYYYMM(derived_tstamp) AS month, count() AS events, uniqExact(event_id) AS ids
    FROM {table} FINAL GROUP BY month ORDER BY month`,
  /** Millisecond precision through the `_ms` companion columns, which both layouts have. */
  firstAndLastMs: `SELECT min(toUInt64(toUnixTimestamp(derived_tstamp)) * 1000 + derived_tstamp_ms) AS first_ms,
    max(toUInt64(toUnixTimestamp(collector_tstamp)) * 1000 + collector_tstamp_ms) AS last_collector_ms
    FROM {table} FINAL`,
} as const;

export type AnalyticsAnswers = Record<keyof typeof ANALYTICS_QUERIES, unknown[]>;

export async function runAnalytics(store: EventStore, table: string): Promise<AnalyticsAnswers> {
  const answers = {} as AnalyticsAnswers;
  for (const [name, sql] of Object.entries(ANALYTICS_QUERIES) as Array<[keyof typeof ANALYTICS_QUERIES, string]>) {
    answers[name] = await store.query(sql.replace(/\{table\}/g, table));
  }
  return answers;
}

const countBy = <K>(items: SnowplowEvent[], key: (e: SnowplowEvent) => K) => {
  const counts = new Map<K, number>();
  for (const e of items) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
  return counts;
};
const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/** The answers, computed without ClickHouse: one event per event_id (the last one written wins). */
export function expectedAnswers(events: SnowplowEvent[]): AnalyticsAnswers {
  const unique = [...new Map(events.map((e) => [e.event_id, e])).values()];
  const pageViews = unique.filter((e) => e.event === 'page_view');
  const ms = (iso: string | undefined) => Date.parse(iso ?? '');
  const visitors = new Map<string, Set<string>>();
  for (const e of unique) {
    const app = e.app_id ?? '';
    if (!visitors.has(app)) visitors.set(app, new Set());
    visitors.get(app)!.add(String(e.domain_userid ?? e.network_userid ?? e.user_ipaddress));
  }
  const months = new Map<number, number>();
  for (const e of unique) {
    const month = Number(String(e.derived_tstamp).slice(0, 7).replace('-', ''));
    months.set(month, (months.get(month) ?? 0) + 1);
  }
  return {
    pageViewsPerDay: [...countBy(pageViews, (e) => String(e.derived_tstamp).slice(0, 10))]
      .sort(([a], [b]) => cmp(a, b))
      .map(([day, page_views]) => ({ day, page_views })),
    uniqueVisitors: [...visitors].sort(([a], [b]) => cmp(a, b)).map(([app_id, set]) => ({ app_id, visitors: set.size })),
    eventsByType: [...countBy(unique, (e) => String(e.event))]
      .sort(([a, x], [b, y]) => y - x || cmp(a, b))
      .map(([event, n]) => ({ event, events: n })),
    topPages: [...countBy(pageViews, (e) => String(e.page_urlpath))]
      .sort(([a, x], [b, y]) => y - x || cmp(a, b))
      .slice(0, 10)
      .map(([path, views]) => ({ path, views })),
    eventsPerMonth: [...months].sort(([a], [b]) => a - b).map(([month, n]) => ({ month, events: n, ids: n })),
    firstAndLastMs: [
      {
        first_ms: Math.min(...unique.map((e) => ms(e.derived_tstamp))),
        last_collector_ms: Math.max(...unique.map((e) => ms(e.collector_tstamp))),
      },
    ],
  };
}
