// Dashboard first render with many events in the embedded store (chDB), measured in headless
// Chromium: from navigation (of a tab that finished starting up, and of one navigated at once) to
// the first render (KPIs and chart: body[data-first-render]) and to the complete page (every ranking too: body[data-rendered]), for the
// default range (last 7 days) and for the whole 30 days of data, next to baselines measured in the
// same run on the same store: a bare `SELECT count()` and one `uniqExact(event_id)` over the range.
//
//   npx tsc -p tsconfig.json && node dist/bench/dashboard/run.js [--events 10000000] [--dir DIR] [--runs 3]
//
// The events are generated inside chDB (INSERT … SELECT FROM numbers()), spread over the last 30
// days: 60 % page views, 30 % page pings, 10 % structured events, 500k visitors, 2M sessions,
// 1000 pages. --dir keeps the store between runs (generated once).
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { runViews, filtersFrom } from '../../src/dashboard/queries';
import { startDashboardServer } from '../../src/dashboard/server';
import { openChdbSource } from '../../src/dashboard/source';
import { createTableSql } from '../../src/storage/clickhouse-schema';
import { createChdbStore } from '../../src/storage/chdb-store';
import { silentLogger } from '../../src/util/logger';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1]!;
}

const EVENTS = Number(arg('events', '10000000'));
const RUNS = Number(arg('runs', '3'));
const DIR = resolve(arg('dir', join(__dirname, '../../../bench/out/dashboard')));
/** Only generate the store (it takes minutes on a loaded machine), measure later. */
const GENERATE_ONLY = process.argv.includes('--generate-only');
const CHROMIUM = process.env.TAILPLOW_CHROMIUM ?? '/usr/bin/chromium';
/**
 * A new Chromium tab keeps starting up (≈1.2 s of CPU on this 2-core machine) after newPage()
 * resolves, competing with the server's queries, which a user's browser on its own machine never
 * does. The headline figure navigates a tab left idle this long; the other one navigates at once.
 */
const TAB_SETTLE_MS = 1500;

/** One row per number: the columns the views read, everything else NULL/default. */
const generateSql = (events: number, now: number) => `INSERT INTO events (app_id, platform, event, event_id, collector_tstamp, derived_tstamp,
    domain_userid, domain_sessionid, domain_sessionidx, page_urlpath, refr_medium, refr_source, mkt_campaign, mkt_source, mkt_medium,
    geo_country, br_family, os_family, dvce_type, se_category, se_action)
  SELECT
    if(number % 5 = 0, 'blog', 'shop') AS app_id, 'web',
    multiIf(number % 10 < 6, 'page_view', number % 10 < 9, 'page_ping', 'struct') AS event,
    toString(generateUUIDv4(number)) AS event_id,
    toDateTime64(${now} - (number * 2654435761) % (30 * 86400), 3, 'UTC') AS t, t,
    concat('u', toString(intHash32(number) % 500000)) AS visitor,
    concat('s', toString(intHash32(number) % 2000000)) AS session,
    toInt32(1 + intHash32(number) % 4),
    concat('/page/', toString(intHash64(number) % 1000)),
    if(number % 7 = 0, ['search', 'social', 'email', 'unknown'][1 + number % 4], NULL),
    if(number % 7 = 0, ['Google', 'Facebook', 'Bing', 'Twitter'][1 + number % 4], NULL),
    if(number % 11 = 0, ['spring_sale', 'launch', 'retargeting'][1 + number % 3], NULL),
    if(number % 11 = 0, 'newsletter', NULL), if(number % 11 = 0, 'email', NULL),
    ['DE', 'FR', 'US', 'GB', 'NL', 'IT'][1 + intHash32(number) % 6],
    ['Chrome', 'Firefox', 'Safari', 'Edge'][1 + intHash32(number) % 4],
    ['Windows', 'Mac OS X', 'iOS', 'Android', 'Linux'][1 + intHash32(number) % 5],
    ['Computer', 'Mobile', 'Tablet'][1 + intHash32(number) % 3],
    if(number % 10 = 9, ['video', 'form', 'cart'][1 + number % 3], NULL),
    if(number % 10 = 9, ['play', 'submit', 'add'][1 + number % 3], NULL)
  FROM numbers(${events})`;

async function ensureStore(path: string): Promise<void> {
  const store = await createChdbStore(path);
  try {
    await store.command(createTableSql('events', 'modern'));
    const [row] = await store.query<{ n: number }>('SELECT count() AS n FROM events');
    if (row?.n === EVENTS) return;
    await store.command('TRUNCATE TABLE events');
    const started = performance.now();
    await store.command(generateSql(EVENTS, Math.floor(Date.now() / 1000)));
    console.log(`generated ${EVENTS} events in ${((performance.now() - started) / 1000).toFixed(1)} s (INSERT … SELECT FROM numbers)`);
  } finally {
    await store.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}`);
  mkdirSync(DIR, { recursive: true });
  const path = join(DIR, 'clickhouse');
  await ensureStore(path);
  if (GENERATE_ONLY) return;
  const source = await openChdbSource({ path });
  const server = await startDashboardServer({ source, port: 0, logger: silentLogger });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const time = async (fn: () => Promise<unknown>) => {
      const started = performance.now();
      await fn();
      return performance.now() - started;
    };
    const ranges = { 'last 7 days (default)': '', 'last 30 days (all events)': '?from=31d' };
    const results: string[] = [];
    for (const [label, query] of Object.entries(ranges)) {
      const filters = filtersFrom(new URLSearchParams(query.slice(1)));
      const [inRange] = await source.query<{ n: number }>("SELECT count() AS n FROM events WHERE derived_tstamp >= toDateTime({from:UInt32}, 'UTC') AND derived_tstamp < toDateTime({to:UInt32}, 'UTC')", { from: filters.from, to: filters.to });
      const count: number[] = [];
      const uniq: number[] = [];
      const views: number[] = [];
      const first: number[] = [];
      const render: number[] = [];
      const firstFreshTab: number[] = [];
      const renderFreshTab: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        count.push(await time(() => source.query('SELECT count() FROM events', {})));
        uniq.push(await time(() => source.query("SELECT uniqExact(event_id) FROM events WHERE derived_tstamp >= toDateTime({from:UInt32}, 'UTC') AND derived_tstamp < toDateTime({to:UInt32}, 'UTC')", { from: filters.from, to: filters.to })));
        views.push(await time(() => runViews(source, { ...filters, to: filters.to + run })));
        // A fresh page each run, both ways (see TAB_SETTLE_MS); `to` moved so no answer is shared
        // from a previous run.
        for (const settled of [true, false]) {
          const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
          const errors: string[] = [];
          page.on('pageerror', (e) => errors.push(e.message));
          if (settled) await page.waitForTimeout(TAB_SETTLE_MS);
          // The page takes a relative `from` only from its range menu (7d, 30d, …); with a custom `to`
          // it needs an absolute `from` too, or it falls back to the default 7 days before `to`.
          const pageQuery = query ? `?from=${filters.from}&granularity=${filters.granularity}` : '';
          const sep = pageQuery ? '&' : '?';
          const started = performance.now();
          await page.goto(`${server.url}${pageQuery}${sep}to=${filters.to + 100 + 2 * run + (settled ? 0 : 1)}`);
          await page.waitForSelector('body[data-first-render]', { timeout: 300_000 });
          (settled ? first : firstFreshTab).push(performance.now() - started);
          await page.waitForSelector('body[data-rendered]', { timeout: 300_000 });
          (settled ? render : renderFreshTab).push(performance.now() - started);
          if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
          await page.close();
        }
      }
      const f = median(first);
      const r = median(render);
      const ms = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
      results.push(
        `${label}: ${inRange?.n} events in range (median of ${RUNS} runs)\n` +
          `    first render (numbers + chart) ${f.toFixed(0)} ms [${ms(first)}], complete ${r.toFixed(0)} ms [${ms(render)}]; all views in Node ${median(views).toFixed(0)} ms\n` +
          `    navigated at once in a new tab: first render ${median(firstFreshTab).toFixed(0)} ms [${ms(firstFreshTab)}], complete ${median(renderFreshTab).toFixed(0)} ms\n` +
          `    baselines: SELECT count() ${median(count).toFixed(1)} ms, uniqExact(event_id) over the range ${median(uniq).toFixed(0)} ms\n` +
          `    ratios: first render / uniqExact ${(f / median(uniq)).toFixed(1)}x, complete / uniqExact ${(r / median(uniq)).toFixed(1)}x, complete / count() ${(r / median(count)).toFixed(0)}x`,
      );
    }
    console.log(`dashboard bench: ${EVENTS} events in chDB ${source.version} at ${path}`);
    for (const line of results) console.log(`  ${line}`);
  } finally {
    await browser.close();
    await server.close();
    await source.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
