/**
 * Captures real tracker traffic into test/fixtures/tracker/ (see its README.md):
 *   npm run capture      (= tsc + node dist/scripts/capture/run.js)
 * Starts a private nginx (scripts/services/nginx.sh, own run dir and ports), drives the browser
 * tracker in Chromium and the node tracker against it, replays one GET on the legacy /ice.png
 * path, then copies the four access logs and writes sent.json (what the clients sent).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { version as nodeTrackerVersion } from '@snowplow/node-tracker';
import { captureBrowser } from './browser';
import { captureNode, NODE_TRACKERS } from './node';
import { sentRequestOf, type SentFile, type SentRequest } from './sent';

const REPO = resolve(__dirname, '../../..');
const RUN_DIR = process.env.TAILPLOW_CAPTURE_RUN_DIR ?? '/tmp/tailplow-capture';
const PORT = Number(process.env.TAILPLOW_CAPTURE_PORT ?? 18180);
const PAGE_PORT = PORT + 1;
const COLLECTOR = `http://127.0.0.1:${PORT}`;
const PAGE_ORIGIN = `http://127.0.0.1:${PAGE_PORT}`;
const OUT = join(REPO, 'test/fixtures/tracker');
const LOGS = ['tailplow-json.log', 'json-default-escape.log', 'combined.log', 'custom.log'];
const NETWORK_USER_ID = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
const BROWSER_TRACKERS = [
  { ns: 'get64', method: 'get', encodeBase64: true },
  { ns: 'getplain', method: 'get', encodeBase64: false },
  { ns: 'post64', method: 'post', encodeBase64: true },
  { ns: 'postplain', method: 'post', encodeBase64: false },
];

function nginx(command: string): void {
  const env = { ...process.env, TAILPLOW_RUN_DIR: RUN_DIR, TAILPLOW_NGINX_PORT: String(PORT), TAILPLOW_NGINX_PAGE_PORT: String(PAGE_PORT) };
  const r = spawnSync('bash', [join(REPO, 'scripts/services/nginx.sh'), command], { env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`scripts/services/nginx.sh ${command} failed (exit ${r.status})`);
}

function ensureChromium(): void {
  if (existsSync('/usr/bin/chromium')) return;
  console.error('capture: installing chromium with apt-get');
  const r = spawnSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('apt-get install chromium failed');
}

/** Sends one recorded browser GET again on the legacy /ice.png path (same query, same headers). */
async function replayOnLegacyPath(from: SentRequest): Promise<SentRequest> {
  const url = `${COLLECTOR}/ice.png?${from.rawQuery}`;
  const headers: Record<string, string> = { ...from.headers, 'x-forwarded-for': '192.0.2.44' };
  delete headers.origin;
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`replay on /ice.png answered ${response.status}`);
  return sentRequestOf('replay', 'GET', url, undefined, headers);
}

function browserTrackerVersion(): string {
  const pkg = JSON.parse(readFileSync(join(REPO, 'node_modules/@snowplow/browser-tracker/package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Every request the clients sent must be in the log exactly once, answered 2xx. */
function checkLog(requests: SentRequest[]): void {
  const lines = readFileSync(join(RUN_DIR, 'nginx/logs/tailplow-json.log'), 'utf8').split('\n').filter(Boolean);
  const logged = lines.map((l) => JSON.parse(l) as Record<string, string>);
  const trackerLines = logged.filter((l) => l.request_method !== 'OPTIONS');
  const bad = logged.filter((l) => !/^2\d\d$/.test(l.status ?? ''));
  if (bad.length > 0) throw new Error(`non-2xx lines in the log: ${JSON.stringify(bad)}`);
  if (trackerLines.length !== requests.length) {
    throw new Error(`log has ${trackerLines.length} tracker lines, clients sent ${requests.length} requests`);
  }
  for (const r of requests) {
    const matches = trackerLines.filter((l) => l.uri === r.path && l.args === r.rawQuery && (l.request_body ?? '') === (r.body ?? ''));
    if (matches.length !== 1) throw new Error(`request ${r.method} ${r.path} found ${matches.length} times in the log`);
  }
}

async function main(): Promise<void> {
  ensureChromium();
  nginx('stop');
  rmSync(join(RUN_DIR, 'nginx/logs'), { recursive: true, force: true });
  nginx('start');
  rmSync(join(RUN_DIR, 'nginx/logs/tailplow-json.log'), { force: true });
  try {
    // nginx.sh start probed /i once; start the logs empty.
    for (const name of LOGS) writeFileSync(join(RUN_DIR, 'nginx/logs', name), '');
    nginx('reopen');

    const browser = await captureBrowser({ collector: COLLECTOR, pageOrigin: PAGE_ORIGIN, networkUserId: NETWORK_USER_ID });
    const node = await captureNode({ host: '127.0.0.1', port: PORT, networkUserId: NETWORK_USER_ID });
    const firstBrowserGet = browser.find((r) => r.method === 'GET' && r.query.e === 'pv');
    if (!firstBrowserGet) throw new Error('the browser tracker sent no GET page view');
    const replay = await replayOnLegacyPath(firstBrowserGet);
    const requests = [...browser, ...node, replay];
    await new Promise((r) => setTimeout(r, 300));
    checkLog(requests);

    mkdirSync(OUT, { recursive: true });
    for (const name of LOGS) copyFileSync(join(RUN_DIR, 'nginx/logs', name), join(OUT, name));
    copyFileSync(join(RUN_DIR, 'nginx/conf/custom.format.txt'), join(OUT, 'custom.format.txt'));
    const bv = browserTrackerVersion();
    const sent: SentFile = {
      capturedAt: new Date().toISOString(),
      collector: COLLECTOR,
      pageOrigin: PAGE_ORIGIN,
      trackers: {
        ...Object.fromEntries(BROWSER_TRACKERS.map((t) => [t.ns, { kind: 'browser' as const, version: bv, method: t.method, encodeBase64: t.encodeBase64 }])),
        ...Object.fromEntries(NODE_TRACKERS.map((t) => [t.namespace, { kind: 'node' as const, version: nodeTrackerVersion, method: t.eventMethod, encodeBase64: t.encodeBase64 }])),
      },
      requests,
    };
    writeFileSync(join(OUT, 'sent.json'), JSON.stringify(sent, null, 2) + '\n');
    const events = requests.reduce((n, r) => n + r.events.length, 0);
    console.error(`capture: ${requests.length} requests (${events} events) written to ${OUT}`);
  } finally {
    nginx('stop');
  }
}

main().catch((err: unknown) => {
  console.error('capture failed:', err);
  process.exitCode = 1;
});
