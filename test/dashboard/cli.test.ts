// `tailplow report` and `tailplow dashboard` as a user runs them (the real bin in a child
// process) over a store another child wrote: the report's embedded data equals the fixture's
// answers; a store held by another process (as `tailplow run` holds it) is exit 5 saying so; an
// off-loopback address without a token is refused before anything opens; the dashboard serves and
// stops on SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { VIEW_NAMES } from '../../src/dashboard/queries';
import { TAILPLOW_BIN } from '../support/tailplow-child';
import { dashboardEvents, expectedViews, FIXTURE_RANGE } from './fixture';

const SEED = resolve(__dirname, 'seed-store.js');
const work = mkdtempSync(join(tmpdir(), 'tailplow-dashboard-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

const run = (file: string, args: string[]) =>
  promisify(execFile)(process.execPath, [file, ...args], { timeout: 120_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );

test('tailplow report writes one HTML file whose data equals the answers computed from the events', async () => {
  const dataDir = join(work, 'report');
  assert.equal((await run(SEED, [dataDir])).code, 0);
  const out = join(work, 'report.html');
  const r = await run(TAILPLOW_BIN, ['report', '--data-dir', dataDir, '--from', '2026-03-02', '--to', '2026-03-06', '--granularity', 'day', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const expected = expectedViews(dashboardEvents(42), { ...FIXTURE_RANGE, granularity: 'day' });
  assert.match(r.stderr, new RegExp(`${expected.summary[0].visitors} visitors, ${expected.summary[0].sessions} sessions, ${expected.summary[0].page_views} page views`));
  const html = readFileSync(out, 'utf8');
  const data = JSON.parse(/<script type="application\/json" id="tailplow-data">(.*?)<\/script>/s.exec(html)![1]!);
  for (const name of VIEW_NAMES) assert.deepEqual(data.views[name], expected[name], name);
  assert.match(html, /Chart\.js v4/, 'Chart.js inlined');

  const blog = await run(TAILPLOW_BIN, ['report', '--data-dir', dataDir, '--from', '2026-03-02', '--to', '2026-03-06', '--app-id', 'blog', '--out', out]);
  assert.equal(blog.code, 0, blog.stderr);
  const blogSummary = expectedViews(dashboardEvents(42), { ...FIXTURE_RANGE, granularity: 'hour', appId: 'blog' }).summary[0];
  assert.match(blog.stderr, new RegExp(`: ${blogSummary.visitors} visitors, ${blogSummary.sessions} sessions`));

  const bad = await run(TAILPLOW_BIN, ['report', '--data-dir', dataDir, '--granularity', 'hour; DROP TABLE events', '--out', out]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /granularity/);
  const none = await run(TAILPLOW_BIN, ['report', '--data-dir', join(work, 'nothing-here'), '--out', out]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no embedded store/);
});

test('a store another process holds (as tailplow run does) is exit 5, naming the problem', async () => {
  const dataDir = join(work, 'held');
  const holder = spawn(process.execPath, [SEED, dataDir, '--hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (b: Buffer) => b.toString().includes('holding') && resolve());
      holder.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    const r = await run(TAILPLOW_BIN, ['report', '--data-dir', dataDir, '--out', join(work, 'held.html')]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /in use.*one process/);
    const d = await run(TAILPLOW_BIN, ['dashboard', '--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    assert.equal(d.code, 5, d.stderr);
  } finally {
    holder.kill('SIGTERM');
    await new Promise((resolve) => holder.once('exit', resolve));
  }
});

test('dashboard: off loopback without a token is refused before the store is touched; on loopback it serves and stops on SIGTERM', async () => {
  const refused = await run(TAILPLOW_BIN, ['dashboard', '--data-dir', join(work, 'never-created'), '--listen', '0.0.0.0:0']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--token/);
  const short = await run(TAILPLOW_BIN, ['dashboard', '--data-dir', join(work, 'never-created'), '--listen', '0.0.0.0:0', '--token', 'short']);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /at least 16 characters/);
  assert.equal(existsSync(join(work, 'never-created')), false, 'the store was not opened');

  const dataDir = join(work, 'serve');
  assert.equal((await run(SEED, [dataDir, '--seed', '5'])).code, 0);
  const child = spawn(process.execPath, [TAILPLOW_BIN, 'dashboard', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const onData = (b: Buffer) => {
        out += b.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(out);
        if (m) resolve(m[1]!);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`dashboard exited ${code}: ${out}`)));
    });
    const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      get(`${url}api/health`, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).tableExists, true);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0);
});
