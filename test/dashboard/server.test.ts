// The dashboard's HTTP server over the fixture in chDB: the API answers equal the fixture's
// answers, only the known paths exist (traversal attempts get 404), bad filters get 400 without
// touching the store, hostile values match nothing, and off-loopback needs a token that every
// request must carry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VIEW_NAMES } from '../../src/dashboard/queries';
import { DashboardConfigError, isLoopback, startDashboardServer, type DashboardServer } from '../../src/dashboard/server';
import { openChdbSource, type AnalyticsSource } from '../../src/dashboard/source';
import { createChdbStore } from '../../src/storage/chdb-store';
import { openEventTable } from '../../src/storage/event-table';
import { silentLogger } from '../../src/util/logger';
import { dashboardEvents, expectedViews, FIXTURE_RANGE } from './fixture';

const dataDir = mkdtempSync(join(tmpdir(), 'tailplow-dashboard-server-'));
const path = join(dataDir, 'clickhouse');
const events = dashboardEvents(7);
const TOKEN = 'a-token-of-sufficient-length';
let source: AnalyticsSource;
let server: DashboardServer;

before(async () => {
  const store = await createChdbStore(path);
  const writer = await openEventTable(store, { table: 'events' });
  assert.deepEqual(await writer.write(events), { failed: [] });
  await store.close();
  source = await openChdbSource({ path, table: 'events' });
  server = await startDashboardServer({ source, port: 0, logger: silentLogger });
});
after(async () => {
  await server?.close();
  await source?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A raw GET (the path is sent exactly as given, not normalised as fetch would). */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const rangeQuery = `from=${FIXTURE_RANGE.from}&to=${FIXTURE_RANGE.to}`;

test('GET /api/views answers every view as computed from the events, and filters change it', async () => {
  const all = await get(server.url, `/api/views?${rangeQuery}&granularity=day`);
  assert.equal(all.status, 200);
  const body = JSON.parse(all.body);
  const expected = expectedViews(events, { ...FIXTURE_RANGE, granularity: 'day' });
  for (const name of VIEW_NAMES) assert.deepEqual(body.views[name], expected[name], name);
  assert.deepEqual(body.buckets, [0, 1, 2, 3].map((d) => FIXTURE_RANGE.from + d * 86_400));
  const blog = JSON.parse((await get(server.url, `/api/views?${rangeQuery}&granularity=hour&app_id=blog&page=%2Fpricing`)).body);
  assert.deepEqual(blog.views.summary, expectedViews(events, { ...FIXTURE_RANGE, granularity: 'hour', appId: 'blog', page: '/pricing' }).summary);
  assert.notDeepEqual(blog.views.summary, body.views.summary);
  const subset = JSON.parse((await get(server.url, `/api/views?${rangeQuery}&granularity=day&views=top_pages,summary`)).body);
  assert.deepEqual(Object.keys(subset.views).sort(), ['summary', 'top_pages']);
  assert.deepEqual(subset.views.top_pages, expected.top_pages);
});

test('the page, its script and Chart.js are served from the package; nothing else exists', async () => {
  const page = await get(server.url, '/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<script src="assets\/chart.umd.js"><\/script>/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  const chart = await get(server.url, '/assets/chart.umd.js');
  assert.equal(chart.status, 200);
  assert.match(chart.body, /Chart\.js v4/);
  assert.equal((await get(server.url, '/app.js')).status, 200);
  for (const path of [
    '/assets/../package.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/assets/..%2f..%2fpackage.json',
    '/../../../../etc/passwd',
    '/assets/chart.umd.js/../../../etc/passwd',
    '//etc/passwd',
    '/node_modules/chart.js/package.json',
    '/assets/chart.cjs',
    '/api/views/../../package.json',
    '/app.js%00.png',
  ]) {
    const res = await get(server.url, path);
    assert.equal(res.status, 404, path);
    assert.ok(!res.body.includes('root:') && !res.body.includes('"dependencies"'), path);
  }
  const post = await new Promise<number>((resolve, reject) => {
    const url = new URL(server.url);
    const req = request({ host: url.hostname, port: url.port, path: '/api/views', method: 'POST' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end('x');
  });
  assert.equal(post, 405);
});

test('invalid filters are answered 400 with the reason; hostile values match nothing', async () => {
  for (const [query, reason] of [
    ['granularity=hour%3B%20DROP%20TABLE%20events', /granularity/],
    ['from=2026-03-01%27%20OR%201%3D1', /from/],
    ['from=2026-03-05&to=2026-03-01', /before/],
    [`app_id=${'x'.repeat(300)}`, /app_id/],
    ['page=%2Fa%0Ab', /control/],
    ['from=1000000000&granularity=minute', /coarser/],
    ['views=summary,system.tables', /unknown view/],
    ['views=..%2F..%2Fpackage.json', /unknown view/],
  ] as Array<[string, RegExp]>) {
    const res = await get(server.url, `/api/views?${query}`);
    assert.equal(res.status, 400, query);
    assert.match(JSON.parse(res.body).error, reason, query);
  }
  for (const value of ["x' OR '1'='1", "'; DROP TABLE events; --", '../../etc/passwd', '\\']) {
    const res = await get(server.url, `/api/views?${rangeQuery}&app_id=${encodeURIComponent(value)}&page=${encodeURIComponent(value)}`);
    assert.equal(res.status, 200, value);
    assert.deepEqual(JSON.parse(res.body).views.summary, [{ visitors: 0, sessions: 0, page_views: 0, events: 0 }], value);
  }
  const health = JSON.parse((await get(server.url, '/api/health')).body);
  assert.equal(health.tableExists, true, 'the table survived');
});

test('off loopback the server refuses to start without a token, and a token is required on every request', async () => {
  assert.equal(isLoopback('127.0.0.1'), true);
  assert.equal(isLoopback('127.1.2.3'), true);
  assert.equal(isLoopback('::1'), true);
  assert.equal(isLoopback('localhost'), true);
  for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) assert.equal(isLoopback(host), false, host);
  await assert.rejects(startDashboardServer({ source, host: '0.0.0.0', port: 0, logger: silentLogger }), DashboardConfigError);
  await assert.rejects(startDashboardServer({ source, host: '0.0.0.0', port: 0, token: 'short', logger: silentLogger }), /at least 16/);
  const guarded = await startDashboardServer({ source, host: '0.0.0.0', port: 0, token: TOKEN, logger: silentLogger });
  try {
    const base = guarded.url.replace('0.0.0.0', '127.0.0.1');
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    for (const path of ['/', '/app.js', '/assets/chart.umd.js', `/api/views?${rangeQuery}`, '/api/health', '/nope']) {
      const res = await get(base, path);
      assert.equal(res.status, 401, path);
      assert.match(String(res.headers['www-authenticate']), /^Basic /);
      assert.equal((await get(base, path, { authorization: basic('anyone', 'wrong-token-of-length') })).status, 401, path);
      assert.equal((await get(base, path, { authorization: `Bearer ${TOKEN}x` })).status, 401, path);
      assert.equal((await get(base, path, { authorization: 'Basic !!!' })).status, 401, path);
    }
    assert.equal((await get(base, '/', { authorization: basic('tailplow', TOKEN) })).status, 200);
    assert.equal((await get(base, `/api/views?${rangeQuery}`, { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await get(base, '/nope', { authorization: `Bearer ${TOKEN}` })).status, 404);
  } finally {
    await guarded.close();
  }
});
