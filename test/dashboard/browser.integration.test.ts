// Needs Debian's chromium (/usr/bin/chromium, or TAILPLOW_CHROMIUM). The dashboard page and the
// HTML report in headless Chromium over the fixture in chDB: no console errors, the numbers on
// the page equal the answers computed from the fixture events, a filter changes them, readable at
// 390 px (no horizontal scrolling) and 1280 px; screenshots go to test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderPage } from '../../src/dashboard/page';
import { runViews, type Filters } from '../../src/dashboard/queries';
import { startDashboardServer, type DashboardServer } from '../../src/dashboard/server';
import { openChdbSource, type AnalyticsSource } from '../../src/dashboard/source';
import { createChdbStore } from '../../src/storage/chdb-store';
import { openEventTable } from '../../src/storage/event-table';
import { silentLogger } from '../../src/util/logger';
import { dashboardEvents, expectedViews, FIXTURE_RANGE } from './fixture';

const ARTIFACTS = resolve(__dirname, '../../../test-artifacts');
const CHROMIUM = process.env.TAILPLOW_CHROMIUM ?? '/usr/bin/chromium';
const dataDir = mkdtempSync(join(tmpdir(), 'tailplow-dashboard-browser-'));
const events = dashboardEvents(11);
const whole: Filters = { ...FIXTURE_RANGE, granularity: 'day' };
const pageQuery = '?from=2026-03-02T00:00Z&to=2026-03-06T00:00Z&granularity=day';
let source: AnalyticsSource;
let server: DashboardServer;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (or set TAILPLOW_CHROMIUM)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  const writer = await openEventTable(store, { table: 'events' });
  assert.deepEqual(await writer.write(events), { failed: [] });
  await store.close();
  source = await openChdbSource({ path: join(dataDir, 'clickhouse') });
  server = await startDashboardServer({ source, port: 0, logger: silentLogger, refreshSeconds: 1 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  await server?.close();
  await source?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A page that records console errors, page errors and failed requests. */
async function openPage(width: number): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (r) => {
    // The page cancels its pending request when the user changes a filter: intended.
    if (!(r.url().includes('/api/views?') && r.failure()?.errorText === 'net::ERR_ABORTED')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  return { page, problems };
}

async function renderedAt(page: Page): Promise<string> {
  await page.waitForSelector('body[data-rendered]');
  return (await page.getAttribute('body', 'data-rendered'))!;
}

interface Shown {
  kpis: Record<string, number>;
  tables: Record<string, Array<Record<string, string | number>>>;
  newVisitors: number;
  returning: number;
  series: { labels: string[]; pageViews: number[] };
  overflow: number;
}

/** Runs in the page (a string: the project compiles without DOM types): the numbers it shows. */
const SHOWN = `(() => {
  const kpis = {};
  document.querySelectorAll('[data-kpi]').forEach((e) => (kpis[e.getAttribute('data-kpi')] = Number(e.getAttribute('data-value'))));
  const tables = {};
  document.querySelectorAll('table[data-view]').forEach((t) => {
    tables[t.getAttribute('data-view')] = [...t.querySelectorAll('tbody tr')].map((tr) => {
      const row = {};
      tr.querySelectorAll('td').forEach((td) => {
        row[td.getAttribute('data-col')] = td.hasAttribute('data-value') ? Number(td.getAttribute('data-value')) : td.textContent;
      });
      return row;
    });
  });
  const nvr = document.getElementById('new_vs_returning');
  const chart = window.Chart.getChart(document.getElementById('timeseries'));
  return {
    kpis,
    tables,
    newVisitors: Number(nvr.getAttribute('data-new')),
    returning: Number(nvr.getAttribute('data-returning')),
    series: { labels: chart.data.labels, pageViews: chart.data.datasets[0].data },
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  };
})()`;

const shown = (page: Page): Promise<Shown> => page.evaluate(SHOWN) as Promise<Shown>;
/**
 * Resolves once the page rendered again after `previous`, showing `filters` where given. Live
 * mode polls every second here, so a poll with the old filters can finish between reading
 * `previous` and the user's change: that render must not count as the change's.
 */
async function renderedAfter(page: Page, previous: string, filters?: Partial<Filters>, timeout = 30_000): Promise<void> {
  // Polled from here: waitForFunction evaluates a string with eval, which the page's CSP forbids.
  const deadline = Date.now() + timeout;
  for (;;) {
    const rendered = await page.getAttribute('body', 'data-rendered');
    const shownFilters = JSON.parse((await page.getAttribute('body', 'data-rendered-filters')) ?? '{}') as Partial<Filters>;
    const matches = filters === undefined || Object.entries(filters).every(([k, v]) => shownFilters[k as keyof Filters] === v);
    if (rendered !== previous && matches) return;
    assert.ok(Date.now() < deadline, `the page did not render again${filters ? ` with ${JSON.stringify(filters)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function assertShows(s: Shown, filters: Filters): void {
  const expected = expectedViews(events, filters);
  const summary = expected.summary[0];
  const engagement = expected.engagement[0];
  assert.deepEqual(
    { visitors: s.kpis.visitors, sessions: s.kpis.sessions, page_views: s.kpis.page_views, events: s.kpis.events },
    { visitors: summary.visitors, sessions: summary.sessions, page_views: summary.page_views, events: summary.events },
  );
  assert.equal(s.kpis.engaged_sessions, engagement.engaged_sessions);
  assert.equal(s.kpis.bounce_rate, Math.round((1000 * engagement.bounces) / engagement.sessions) / 10);
  assert.equal(s.kpis.avg_duration_ms, Math.round(engagement.total_duration_ms / engagement.sessions));
  assert.deepEqual(s.tables.top_pages, expected.top_pages.map((r) => ({ page: r.page, page_views: r.page_views, visitors: r.visitors })));
  assert.deepEqual(s.tables.countries, expected.countries.map((r) => ({ country: r.country, visitors: r.visitors })));
  assert.deepEqual(s.tables.structured_events, expected.structured_events.map((r) => ({ category: r.category, action: r.action, events: r.events })));
  assert.equal(s.newVisitors, expected.new_vs_returning.find((r) => r.kind === 'new')?.visitors ?? 0);
  assert.equal(s.returning, expected.new_vs_returning.find((r) => r.kind === 'returning')?.visitors ?? 0);
  // Page views per day over the whole range, with 0 for days without any.
  const byDay = new Map(expected.timeseries.map((r) => [r.t, r.page_views]));
  const days = Array.from({ length: (filters.to - filters.from) / 86_400 }, (_, d) => filters.from + d * 86_400);
  assert.deepEqual(s.series.pageViews, days.map((t) => byDay.get(t) ?? 0));
  assert.deepEqual(s.series.labels, days.map((t) => new Date(t * 1000).toISOString().slice(0, 10)));
}

test('the live page at 1280 px: no console errors, the fixture numbers, filters by app and page change them', async () => {
  const { page, problems } = await openPage(1280);
  try {
    await page.goto(`${server.url}${pageQuery}`);
    await renderedAt(page);
    assertShows(await shown(page), whole);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-1280.png'), fullPage: true });

    let before = await renderedAt(page);
    await page.selectOption('select[name=app_id]', 'blog');
    await renderedAfter(page, before, { appId: 'blog' });
    const blog = await shown(page);
    assertShows(blog, { ...whole, appId: 'blog' });
    assert.notEqual(blog.kpis.visitors, expectedViews(events, whole).summary[0].visitors);
    assert.match(page.url(), /app_id=blog/);

    // A click on a top page filters by that page.
    before = await renderedAt(page);
    const target = expectedViews(events, { ...whole, appId: 'blog' }).top_pages[0]!.page;
    await page.click(`table[data-view=top_pages] a[data-page="${target.replace(/"/g, '\\"')}"]`);
    await renderedAfter(page, before, { appId: 'blog', page: target });
    assertShows(await shown(page), { ...whole, appId: 'blog', page: target });
    assert.equal(await page.inputValue('input[name=page]'), target);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the live page at 390 px: readable (no horizontal scrolling), same numbers; live mode refreshes by itself', async () => {
  const { page, problems } = await openPage(390);
  try {
    await page.goto(`${server.url}${pageQuery}`);
    const first = await renderedAt(page);
    const s = await shown(page);
    assertShows(s, whole);
    assert.ok(s.overflow <= 0, `page is ${s.overflow}px wider than the phone screen`);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-390.png'), fullPage: true });
    // refreshSeconds is 1 here: the page asks again without any user action.
    await renderedAfter(page, first, undefined, 15_000);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the page shows an invalid filter as an error message, not a broken page', async () => {
  const { page } = await openPage(1280);
  try {
    await page.goto(`${server.url}?from=2026-03-02T00:00Z&to=2026-03-06T00:00Z&granularity=minute`);
    await page.waitForSelector('#status.error');
    assert.match((await page.textContent('#status'))!, /coarser granularity/);
  } finally {
    await page.close();
  }
});

test('the HTML report: one self-contained file (no requests), no console errors, the fixture numbers at both widths', async () => {
  const analytics = await runViews(source, whole);
  const html = renderPage({ title: 'tailplow report', location: 'fixture', mode: 'report', data: { ...analytics, generatedAt: new Date().toISOString() } });
  const file = join(ARTIFACTS, 'report.html');
  writeFileSync(file, html);
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/cdn/i);
  for (const width of [390, 1280]) {
    const { page, problems } = await openPage(width);
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    try {
      await page.goto(`file://${file}`);
      await renderedAt(page);
      const s = await shown(page);
      assertShows(s, whole);
      assert.ok(s.overflow <= 0, `report is ${s.overflow}px wider than ${width}px`);
      await page.screenshot({ path: join(ARTIFACTS, `report-${width}.png`), fullPage: true });
      assert.deepEqual(problems, []);
      assert.deepEqual(requests, []);
    } finally {
      await page.close();
    }
  }
});
