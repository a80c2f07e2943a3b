/**
 * The short report `tailplow run --once` prints: what the embedded store holds (not only what this
 * run added), counted as the dashboard counts, with uniqExact over ids, so copies of a redelivered
 * event that a merge has not collapsed yet count once.
 */
import type { EventStore } from '../storage/event-store';
import { qualifiedTableName } from '../storage/event-table';

export interface StoreSummary {
  events: number;
  visitors: number;
  sessions: number;
  first: string | null;
  last: string | null;
  byType: Array<{ event: string; events: number }>;
  topPages: Array<{ page: string; views: number }>;
}

const TOP_PAGES = 5;

export async function summariseStore(store: Pick<EventStore, 'query'>, table: string): Promise<StoreSummary> {
  const t = qualifiedTableName(table);
  const [totals] = await store.query<{ events: number; visitors: number; sessions: number; first: string; last: string }>(
    `SELECT uniqExact(event_id) AS events, uniqExact(domain_userid) AS visitors, uniqExact(domain_sessionid) AS sessions,
            toString(min(collector_tstamp)) AS first, toString(max(collector_tstamp)) AS last FROM ${t}`,
  );
  const byType = await store.query<{ event: string; events: number }>(`SELECT event, uniqExact(event_id) AS events FROM ${t} GROUP BY event ORDER BY events DESC, event`);
  const topPages = await store.query<{ page: string; views: number }>(
    `SELECT page_urlpath AS page, uniqExact(event_id) AS views FROM ${t} WHERE event = 'page_view' GROUP BY page ORDER BY views DESC, page LIMIT ${TOP_PAGES}`,
  );
  const events = Number(totals?.events ?? 0);
  return {
    events,
    visitors: Number(totals?.visitors ?? 0),
    sessions: Number(totals?.sessions ?? 0),
    first: events ? (totals?.first ?? null) : null,
    last: events ? (totals?.last ?? null) : null,
    byType: byType.map((r) => ({ event: r.event, events: Number(r.events) })),
    topPages: topPages.map((r) => ({ page: r.page ?? '', views: Number(r.views) })),
  };
}

export interface RunTally {
  lines: number;
  events: number;
  bad: number;
}

export function formatSummary(s: StoreSummary, run: RunTally, where: { store: string; table: string; badRows: string }): string {
  const rows = [
    `this run: ${run.lines} lines read, ${run.events} events stored, ${run.bad} bad rows (${where.badRows})`,
    `the store (${where.store}, table ${where.table}) holds ${s.events} events from ${s.visitors} visitors in ${s.sessions} sessions` +
      (s.first ? `, ${s.first} .. ${s.last} UTC` : ''),
    '  events by type: ' + (s.byType.map((r) => `${r.event} ${r.events}`).join(', ') || 'none'),
    '  top pages (page views):',
    ...(s.topPages.length ? s.topPages.map((p) => `    ${String(p.views).padStart(7)}  ${p.page || '(none)'}`) : ['    none']),
  ];
  return rows.join('\n');
}
