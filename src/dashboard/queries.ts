/**
 * The dashboard's and the report's views: plain ClickHouse SQL over the events table that runs
 * unchanged on chDB, on a modern server and on ClickHouse 18.16 (the legacy layout), because it
 * uses only column names both layouts share (storage/clickhouse-schema.ts) and functions 18.16
 * already had.
 *
 * No SQL is ever built from user input. The filters are parsed and validated here (filtersFrom)
 * and travel as query parameters (`{name:Type}`): bound by the engine on chDB and modern servers,
 * inlined as escaped literals only for 18.16, which has no query parameters (source.ts). What the
 * user picks from a list (granularity, views) selects one of the constant fragments below.
 *
 * Counting: the table is a ReplacingMergeTree, so a redelivered event may be stored twice until a
 * merge. Every count is a distinct count of event ids (or of visitor/session ids), which is right
 * whether or not copies were merged and, unlike FINAL, runs in parallel on every version. The ids
 * are counted by their 64-bit cityHash64, about twice as fast as by the strings (bench/dashboard);
 * two different ids sharing a hash, the only way this could miscount, has a chance of about
 * n² / 2⁶⁵ (≈ 3·10⁻⁶ for 10M ids in one range).
 *
 * Definitions (docs/dashboard.md): a visitor is a `domain_userid`, a session a `domain_sessionid`;
 * times are `derived_tstamp` in UTC; the range is [from, to).
 */

export const GRANULARITIES = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** Seconds per bucket, for the bucket count check and for filling empty buckets (week/month are walked by calendar). */
const BUCKET_SECONDS: Record<Granularity, number> = { minute: 60, hour: 3600, day: 86_400, week: 7 * 86_400, month: 28 * 86_400 };

/** Unix seconds of the start of the UTC bucket an event falls in. Constant per granularity (a whitelist). */
const BUCKET_SQL: Record<Granularity, string> = {
  minute: 'toUnixTimestamp(toStartOfMinute(derived_tstamp))',
  hour: 'toUnixTimestamp(toStartOfHour(derived_tstamp))',
  day: 'toUnixTimestamp(toStartOfDay(derived_tstamp))',
  week: "toUnixTimestamp(toDateTime(toMonday(derived_tstamp), 'UTC'))",
  month: "toUnixTimestamp(toDateTime(toStartOfMonth(derived_tstamp), 'UTC'))",
};

/** More buckets than this in one chart is a mistake (a year by minute): the user is asked for a coarser granularity. */
export const MAX_BUCKETS = 5000;
/** Longest app_id and page path Snowplow stores (FIELD_MAX_LENGTHS). */
const MAX_APP_ID = 255;
const MAX_PAGE = 3000;
/** Rows per ranking. */
export const TOP_N = 20;
/** Choices in the app filter at most. */
const MAX_APPS = 1000;

export interface Filters {
  /** Unix seconds, inclusive. */
  readonly from: number;
  /** Unix seconds, exclusive. */
  readonly to: number;
  readonly granularity: Granularity;
  readonly appId?: string;
  /** page_urlpath, exact. */
  readonly page?: string;
}

/** A filter value the user got wrong: the server answers 400 with this message. */
export class FilterError extends Error {
  override name = 'FilterError';
}

/** What a query parameter may be: the types the view SQL declares. */
export type QueryParams = Record<string, string | number>;

/**
 * Time bounds: ISO-8601 dates/times (`2026-11-01`, `2026-11-01T12:00:00Z`), Unix seconds, or a
 * span back from `now` (`30m`, `24h`, `7d`, `8w`) for `from`. Anything else is refused.
 */
export function parseInstant(text: string, now: number, what: string): number {
  const value = text.trim();
  if (/^\d{1,10}$/.test(value)) return Number(value);
  const ago = /^(\d{1,6})([mhdw])$/.exec(value);
  if (ago) return Math.floor(now / 60_000) * 60 - Number(ago[1]) * { m: 60, h: 3600, d: 86_400, w: 7 * 86_400 }[ago[2] as 'm' | 'h' | 'd' | 'w'];
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    // A date or time without a zone is UTC, like every time on the dashboard.
    const iso = value.replace(' ', 'T');
    const ms = Date.parse(/T.*(Z|[+-]\d{2}:?\d{2})$/.test(iso) || !iso.includes('T') ? iso : `${iso}Z`);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  throw new FilterError(`${what}: expected an ISO date/time, Unix seconds or a span like 7d, got ${JSON.stringify(value.slice(0, 40))}`);
}

/** The granularity that gives a readable chart for a range (≈ 24–200 buckets). */
export function defaultGranularity(seconds: number): Granularity {
  if (seconds <= 3 * 3600) return 'minute';
  if (seconds <= 8 * 86_400) return 'hour';
  if (seconds <= 180 * 86_400) return 'day';
  if (seconds <= 3 * 365 * 86_400) return 'week';
  return 'month';
}

/**
 * Validates the filters of a request (`?from=&to=&granularity=&app_id=&page=`). Defaults: the
 * last 7 days, a granularity fitting the range. Throws FilterError for anything not acceptable.
 */
export function filtersFrom(query: URLSearchParams | Record<string, string | undefined>, now = Date.now()): Filters {
  const get = (name: string): string | undefined => {
    const v = query instanceof URLSearchParams ? query.get(name) : query[name];
    return v === null || v === undefined || v === '' ? undefined : v;
  };
  // Default and relative times are whole minutes, so the polls of one minute ask the same thing.
  const to = get('to') !== undefined ? parseInstant(get('to')!, now, 'to') : Math.ceil(now / 60_000) * 60;
  const from = get('from') !== undefined ? parseInstant(get('from')!, now, 'from') : to - 7 * 86_400;
  if (!(from < to)) throw new FilterError('from must be before to');
  if (to > 4_294_967_295) throw new FilterError('to: after 2106');
  const g = get('granularity');
  if (g !== undefined && !(GRANULARITIES as readonly string[]).includes(g)) throw new FilterError(`granularity: one of ${GRANULARITIES.join(', ')}`);
  const granularity = (g as Granularity | undefined) ?? defaultGranularity(to - from);
  if ((to - from) / BUCKET_SECONDS[granularity] > MAX_BUCKETS) throw new FilterError(`${granularity} buckets over this range would be more than ${MAX_BUCKETS}: choose a coarser granularity`);
  const appId = get('app_id');
  const page = get('page');
  checkText(appId, 'app_id', MAX_APP_ID);
  checkText(page, 'page', MAX_PAGE);
  return { from, to, granularity, ...(appId !== undefined ? { appId } : {}), ...(page !== undefined ? { page } : {}) };
}

function checkText(value: string | undefined, what: string, max: number): void {
  if (value === undefined) return;
  if (value.length > max) throw new FilterError(`${what}: longer than ${max} characters`);
  // Control characters never occur in these fields (the decoder keeps them out of app_id and paths).
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new FilterError(`${what}: control characters are not allowed`);
}

/** The WHERE clause every view starts from: constant fragments, values as parameters. */
function whereOf(filters: Filters, extra: readonly string[] = []): { where: string; params: QueryParams } {
  const conditions = ["derived_tstamp >= toDateTime({from:UInt32}, 'UTC')", "derived_tstamp < toDateTime({to:UInt32}, 'UTC')"];
  const params: QueryParams = { from: filters.from, to: filters.to };
  if (filters.appId !== undefined) {
    conditions.push('app_id = {app_id:String}');
    params.app_id = filters.appId;
  }
  if (filters.page !== undefined) {
    conditions.push('page_urlpath = {page:String}');
    params.page = filters.page;
  }
  return { where: [...conditions, ...extra].join(' AND '), params };
}

/** Milliseconds since the epoch of derived_tstamp on both layouts (legacy keeps the ms apart). */
const EVENT_MS = '(toUInt64(toUnixTimestamp(derived_tstamp)) * 1000 + derived_tstamp_ms)';
/**
 * Distinct non-NULL values of a Nullable column. 18.16 answers NULL (not 0) for uniqExact over
 * no rows or only NULLs; 0 is what the page shows.
 */
const distinct = (column: 'domain_userid' | 'domain_sessionid') => `ifNull(uniqExact(cityHash64(${column})), 0)`;
/** Distinct events (event_id is never NULL). */
const IDS = 'uniqExact(cityHash64(event_id))';
const PAGE_VIEWS = "uniqExactIf(cityHash64(event_id), event = 'page_view')";

interface ViewSpec {
  /** SQL with `{table}` and `{where}` (and for the time series `{bucket}`) to fill from constants. */
  readonly sql: string;
  /** Conditions this view adds to the filters (constants). */
  readonly extra?: readonly string[];
  /** `apps` ignores the app filter: it lists what the filter can choose from. */
  readonly ignoresAppFilter?: boolean;
}

/** Visitors per value of one column (countries, browsers, …), the top N. */
const visitorsBy = (column: string, alias: string) => ({
  sql: `SELECT ${column} AS ${alias}, ${distinct('domain_userid')} AS visitors
      FROM {table} WHERE {where} GROUP BY ${alias} ORDER BY visitors DESC, ${alias} LIMIT ${TOP_N}`,
  extra: [`${column} IS NOT NULL`],
});

const VIEW_SPECS = {
  summary: {
    sql: `SELECT ${distinct('domain_userid')} AS visitors, ${distinct('domain_sessionid')} AS sessions,
      ${PAGE_VIEWS} AS page_views, ${IDS} AS events
      FROM {table} WHERE {where}`,
  },
  timeseries: {
    sql: `SELECT {bucket} AS t, ${distinct('domain_userid')} AS visitors, ${distinct('domain_sessionid')} AS sessions,
      ${PAGE_VIEWS} AS page_views, ${IDS} AS events
      FROM {table} WHERE {where} GROUP BY t ORDER BY t`,
  },
  top_pages: {
    sql: `SELECT page_urlpath AS page, ${IDS} AS page_views, ${distinct('domain_userid')} AS visitors
      FROM {table} WHERE {where} GROUP BY page ORDER BY page_views DESC, page LIMIT ${TOP_N}`,
    extra: ["event = 'page_view'", 'page_urlpath IS NOT NULL'],
  },
  entry_pages: {
    // The first page view of each session within the range; ties broken by event_id.
    sql: `SELECT page, count() AS sessions FROM (
        SELECT domain_sessionid, argMin(page_urlpath, (${EVENT_MS}, event_id)) AS page
        FROM {table} WHERE {where} GROUP BY domain_sessionid)
      GROUP BY page ORDER BY sessions DESC, page LIMIT ${TOP_N}`,
    extra: ["event = 'page_view'", 'page_urlpath IS NOT NULL', 'domain_sessionid IS NOT NULL'],
  },
  referrer_media: {
    sql: `SELECT refr_medium AS medium, ${distinct('domain_sessionid')} AS sessions, ${IDS} AS page_views
      FROM {table} WHERE {where} GROUP BY medium ORDER BY sessions DESC, medium LIMIT ${TOP_N}`,
    extra: ["event = 'page_view'", 'refr_medium IS NOT NULL', "refr_medium != 'internal'"],
  },
  referrer_sources: {
    sql: `SELECT refr_medium AS medium, refr_source AS source, ${distinct('domain_sessionid')} AS sessions, ${IDS} AS page_views
      FROM {table} WHERE {where} GROUP BY medium, source ORDER BY sessions DESC, medium, source LIMIT ${TOP_N}`,
    extra: ["event = 'page_view'", 'refr_source IS NOT NULL', 'refr_medium IS NOT NULL', "refr_medium != 'internal'"],
  },
  campaigns: {
    sql: `SELECT mkt_campaign AS campaign, ifNull(mkt_source, '') AS source, ifNull(mkt_medium, '') AS medium,
        ${distinct('domain_sessionid')} AS sessions, ${IDS} AS page_views
      FROM {table} WHERE {where} GROUP BY campaign, source, medium ORDER BY sessions DESC, campaign, source, medium LIMIT ${TOP_N}`,
    extra: ["event = 'page_view'", 'mkt_campaign IS NOT NULL'],
  },
  countries: visitorsBy('geo_country', 'country'),
  browsers: visitorsBy('br_family', 'browser'),
  operating_systems: visitorsBy('os_family', 'os'),
  device_types: visitorsBy('dvce_type', 'device'),
  new_vs_returning: {
    // A visitor is new when the range holds their first session (domain_sessionidx = 1, the
    // tracker's visit counter), returning otherwise; the same answer as the profile's visit count.
    sql: `SELECT if(first_visit = 1, 'new', 'returning') AS kind, count() AS visitors FROM (
        SELECT domain_userid, assumeNotNull(min(domain_sessionidx)) AS first_visit
        FROM {table} WHERE {where} GROUP BY domain_userid)
      GROUP BY kind ORDER BY kind`,
    extra: ['domain_userid IS NOT NULL', 'domain_sessionidx IS NOT NULL'],
  },
  structured_events: {
    sql: `SELECT ifNull(se_category, '') AS category, ifNull(se_action, '') AS action, ${IDS} AS events
      FROM {table} WHERE {where} GROUP BY category, action ORDER BY events DESC, category, action LIMIT ${TOP_N}`,
    extra: ["event = 'struct'"],
  },
  engagement: {
    // Per session with a page view: a bounce is one page view and no page ping; engaged means at
    // least one page ping (the tracker's activity tracking); duration spans its first to last
    // page view/ping.
    sql: `SELECT count() AS sessions, countIf(page_views = 1 AND pings = 0) AS bounces, countIf(pings > 0) AS engaged_sessions,
        sum(duration_ms) AS total_duration_ms, sum(pings) AS page_pings
      FROM (
        SELECT domain_sessionid, ${PAGE_VIEWS} AS page_views, uniqExactIf(cityHash64(event_id), event = 'page_ping') AS pings,
          max(${EVENT_MS}) - min(${EVENT_MS}) AS duration_ms
        FROM {table} WHERE {where} GROUP BY domain_sessionid HAVING page_views > 0)`,
    extra: ["event IN ('page_view', 'page_ping')", 'domain_sessionid IS NOT NULL'],
  },
  apps: {
    // The app filter's choices, alphabetical: app_id leads the sorting key, so this reads one
    // small column (a distinct count of ids per app cost 8x as much at 10M events).
    sql: `SELECT app_id FROM {table} WHERE {where} GROUP BY app_id ORDER BY app_id LIMIT ${MAX_APPS}`,
    ignoresAppFilter: true,
  },
} satisfies Record<string, ViewSpec>;

/**
 * The summary's visitors and sessions when the time series is asked for too: its page views and
 * events are then the sums of the buckets (an event is in one bucket: its derived_tstamp's), so
 * only the two distinct counts that do not add up need a scan of their own. Cheaper than the time
 * series' WITH TOTALS (merging every bucket's sets on one thread: 1.3–1.6 s vs 0.8–0.9 s at 2.3M
 * events) and than a full summary query.
 */
const PEOPLE = 'visitors_and_sessions';
const PEOPLE_SPEC: ViewSpec = {
  sql: `SELECT ${distinct('domain_userid')} AS visitors, ${distinct('domain_sessionid')} AS sessions FROM {table} WHERE {where}`,
};

export type ViewName = keyof typeof VIEW_SPECS;
export const VIEW_NAMES = Object.keys(VIEW_SPECS) as ViewName[];

export function isViewName(name: string): name is ViewName {
  return Object.prototype.hasOwnProperty.call(VIEW_SPECS, name);
}

export interface BuiltQuery {
  readonly sql: string;
  readonly params: QueryParams;
}

/** The SQL and parameters of one view. `table` must be a validated (qualified) identifier. */
export function buildViewQuery(view: ViewName | typeof PEOPLE, table: string, filters: Filters): BuiltQuery {
  const spec: ViewSpec = view === PEOPLE ? PEOPLE_SPEC : VIEW_SPECS[view];
  const effective = spec.ignoresAppFilter ? { ...filters, appId: undefined } : filters;
  const { where, params } = whereOf(effective, spec.extra);
  // Replaced with constants only: the table name (an identifier), the WHERE of constant fragments, the bucket of a whitelisted granularity.
  const sql = spec.sql
    .replace('{table}', () => table)
    .replace('{where}', () => where)
    .replace('{bucket}', () => BUCKET_SQL[filters.granularity]);
  return { sql: sql.replace(/\s+/g, ' ').trim(), params };
}

/** What a view's rows look like (numbers are exact integers on every engine). */
export interface ViewRows {
  summary: [{ visitors: number; sessions: number; page_views: number; events: number }];
  timeseries: Array<{ t: number; visitors: number; sessions: number; page_views: number; events: number }>;
  top_pages: Array<{ page: string; page_views: number; visitors: number }>;
  entry_pages: Array<{ page: string; sessions: number }>;
  referrer_media: Array<{ medium: string; sessions: number; page_views: number }>;
  referrer_sources: Array<{ medium: string; source: string; sessions: number; page_views: number }>;
  campaigns: Array<{ campaign: string; source: string; medium: string; sessions: number; page_views: number }>;
  countries: Array<{ country: string; visitors: number }>;
  browsers: Array<{ browser: string; visitors: number }>;
  operating_systems: Array<{ os: string; visitors: number }>;
  device_types: Array<{ device: string; visitors: number }>;
  new_vs_returning: Array<{ kind: 'new' | 'returning'; visitors: number }>;
  structured_events: Array<{ category: string; action: string; events: number }>;
  engagement: [{ sessions: number; bounces: number; engaged_sessions: number; total_duration_ms: number; page_pings: number }];
  apps: Array<{ app_id: string }>;
}

/** The small interface the views need from an engine (source.ts has the chDB and server ones). */
export interface ViewQuerier {
  /** The events table, qualified, already validated. */
  readonly table: string;
  query<T>(sql: string, params: QueryParams): Promise<T[]>;
}

export type ViewResults = { [K in ViewName]: ViewRows[K] };

export interface Analytics {
  readonly filters: Filters;
  /** The views asked for (all of them unless a subset was). */
  /** Unix seconds of every bucket in the range, the time series' x axis (empty buckets included). */
  readonly buckets: number[];
  readonly views: Partial<ViewResults>;
  /** Milliseconds the queries took together. */
  readonly queryMs: number;
}

/**
 * The views the page shows first (the counts and the chart: one scan each); the rest, among them
 * the per-session and per-visitor aggregations (engagement, new vs returning, entry pages), follow
 * in a second request.
 */
export const FIRST_VIEWS: readonly ViewName[] = ['summary', 'timeseries', 'apps'];

/** `views=a,b` of a request: names from VIEW_NAMES only (FilterError otherwise); absent means all. */
export function viewsFrom(text: string | null | undefined): ViewName[] {
  if (text === null || text === undefined || text === '') return [...VIEW_NAMES];
  const names = [...new Set(text.split(','))];
  for (const name of names) if (!isViewName(name)) throw new FilterError(`views: unknown view ${JSON.stringify(name.slice(0, 40))}; known: ${VIEW_NAMES.join(', ')}`);
  return names as ViewName[];
}

/** Runs the views (all by default; one query each, at most `concurrency` at a time). */
export async function runViews(source: ViewQuerier, filters: Filters, opts: { concurrency?: number; views?: readonly ViewName[] } = {}): Promise<Analytics> {
  const started = performance.now();
  const views = {} as Record<ViewName | typeof PEOPLE, unknown>;
  const queue: Array<ViewName | typeof PEOPLE> = [...(opts.views ?? VIEW_NAMES)];
  // With the time series the summary needs only its visitors and sessions (PEOPLE_SPEC).
  const summaryFromBuckets = queue.includes('summary') && queue.includes('timeseries');
  if (summaryFromBuckets) queue.splice(queue.indexOf('summary'), 1, PEOPLE);
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const { sql, params } = buildViewQuery(name, source.table, filters);
      views[name] = await source.query(sql, params);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  if (summaryFromBuckets) {
    const [people] = views[PEOPLE] as Array<{ visitors: number; sessions: number }>;
    const buckets = views.timeseries as ViewRows['timeseries'];
    const sum = (key: 'page_views' | 'events') => buckets.reduce((n, b) => n + b[key], 0);
    views.summary = [{ visitors: people?.visitors ?? 0, sessions: people?.sessions ?? 0, page_views: sum('page_views'), events: sum('events') }];
    delete views[PEOPLE];
  }
  return { filters, buckets: bucketStarts(filters), views: views as Partial<ViewResults>, queryMs: Math.round(performance.now() - started) };
}

/** The start of every bucket from the one holding `from` up to `to` (exclusive), as BUCKET_SQL computes them. */
export function bucketStarts(filters: Filters): number[] {
  const out: number[] = [];
  let t = bucketOf(filters.from, filters.granularity);
  while (t < filters.to && out.length <= MAX_BUCKETS) {
    out.push(t);
    t = nextBucket(t, filters.granularity);
  }
  return out;
}

/** The UTC bucket start of an instant (seconds), the JavaScript twin of BUCKET_SQL. */
export function bucketOf(seconds: number, granularity: Granularity): number {
  const d = new Date(seconds * 1000);
  switch (granularity) {
    case 'minute':
    case 'hour':
    case 'day':
      return seconds - (((seconds % BUCKET_SECONDS[granularity]) + BUCKET_SECONDS[granularity]) % BUCKET_SECONDS[granularity]);
    case 'week': {
      const day = Math.floor(seconds / 86_400);
      // 1970-01-01 was a Thursday: days since a Monday are (day + 3) mod 7.
      return (day - (((day + 3) % 7) + 7) % 7) * 86_400;
    }
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
  }
}

function nextBucket(start: number, granularity: Granularity): number {
  if (granularity !== 'month') return start + BUCKET_SECONDS[granularity];
  const d = new Date(start * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
}
