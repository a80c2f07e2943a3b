/**
 * Drives the real @snowplow/browser-tracker in Debian's Chromium (playwright-core) against the
 * capture nginx, and records every collector request as the browser sent it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Request as PlaywrightRequest } from 'playwright-core';
import { sentRequestOf, type SentRequest } from './sent';

export interface BrowserCaptureOptions {
  collector: string;
  pageOrigin: string;
  /** Value of the `sp` cookie, the network user id a Snowplow collector would have set. */
  networkUserId: string;
  executablePath?: string;
  /**
   * Awaited between two steps of the scenario (after page views, struct events, self-describing
   * events and the first link click), so a test can act mid-traffic, e.g. rotate the log.
   */
  between?: (step: 'pageViews' | 'structEvents' | 'selfDescribing' | 'linkClick') => Promise<void>;
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function captureBrowser(opts: BrowserCaptureOptions): Promise<SentRequest[]> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'tailplow-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.executablePath ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 720 },
    screen: { width: 1920, height: 1080 },
    deviceScaleFactor: 1,
    locale: 'de-DE',
    timezoneId: 'Europe/Berlin',
    // Headless Chromium says "HeadlessChrome", which every bot filter drops; the fixtures
    // should look like an ordinary visitor, so only that word is changed.
    userAgent: (await defaultUserAgent(opts.executablePath)).replace('HeadlessChrome', 'Chrome'),
  });
  const recorded: Array<Promise<SentRequest>> = [];
  let pending = 0;
  const isCollector = (req: PlaywrightRequest) => req.url().startsWith(opts.collector);
  context.on('request', (req) => {
    if (!isCollector(req)) return;
    pending += 1;
    recorded.push(
      req.allHeaders().then((headers) => sentRequestOf('browser', req.method(), req.url(), req.postData() ?? undefined, headers)),
    );
  });
  const settle = (req: PlaywrightRequest) => {
    if (isCollector(req)) pending -= 1;
  };
  context.on('requestfinished', settle);
  context.on('requestfailed', (req) => {
    settle(req);
    if (isCollector(req)) console.error(`capture: browser request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
  });
  // No context.route() here: with request interception on, Playwright answers CORS preflights
  // itself and the OPTIONS requests would never reach nginx.

  const untilQuiet = async () => {
    let quietFor = 0;
    while (quietFor < 800) {
      await sleep(100);
      quietFor = pending === 0 ? quietFor + 100 : 0;
    }
  };

  try {
    await context.addCookies([{ name: 'sp', value: opts.networkUserId, domain: '127.0.0.1', path: '/' }]);
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${opts.pageOrigin}/index.html?utm_source=capture&utm_medium=test&utm_campaign=gr%C3%BC%C3%9Fe`, {
      referer: 'https://www.google.com/search?q=snowplow+gr%C3%BC%C3%9Fe',
    });
    await page.evaluate(`window.capture.setup(${JSON.stringify(opts.collector)})`);
    const between = opts.between ?? (async () => undefined);
    await page.evaluate('window.capture.pageViews()');
    await untilQuiet();
    await between('pageViews');
    await moveMouseFor(page, 3500);
    await page.evaluate('window.capture.structEvents()');
    await untilQuiet();
    await between('structEvents');
    await page.evaluate('window.capture.selfDescribing()');
    await untilQuiet();
    await between('selfDescribing');
    await page.click('#link-plain');
    await untilQuiet();
    await between('linkClick');
    await page.click('#link-external');
    await page.mouse.wheel(0, 600);
    await moveMouseFor(page, 2500);
    await page.evaluate('window.capture.flush()');
    await untilQuiet();
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  return Promise.all(recorded);
}

async function moveMouseFor(page: import('playwright-core').Page, ms: number): Promise<void> {
  const end = Date.now() + ms;
  let x = 100;
  while (Date.now() < end) {
    x = x >= 600 ? 100 : x + 50;
    await page.mouse.move(x, 200 + (x % 100));
    await sleep(150);
  }
}

async function defaultUserAgent(executablePath?: string): Promise<string> {
  const browser = await chromium.launch({ executablePath: executablePath ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    return (await page.evaluate('navigator.userAgent')) as string;
  } finally {
    await browser.close();
  }
}
