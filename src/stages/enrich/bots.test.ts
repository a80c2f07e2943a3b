import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findBotPatterns } from 'isbot';
import { BOT_BROWSER_TYPE, botsConfigSchema, createBotMatcher, createBotsEnrichment } from './bots';
import { createUaEnrichment, uaConfigSchema } from './ua';

const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const BINGBOT = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';
const HEADLESS = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36';
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

test('tag (default): crawlers, headless browsers and HTTP tools get br_type Robot; browsers are untouched', () => {
  const tag = createBotsEnrichment(botsConfigSchema.parse({}));
  for (const ua of [GOOGLEBOT, BINGBOT, HEADLESS, 'curl/8.4.0', 'python-requests/2.31.0']) {
    const event: Record<string, unknown> = { useragent: ua };
    assert.deepEqual(tag(event), { kind: 'ok' }, ua);
    assert.equal(event.br_type, BOT_BROWSER_TYPE, ua);
  }
  for (const ua of [CHROME, IPHONE]) {
    const event: Record<string, unknown> = { useragent: ua };
    tag(event);
    assert.equal('br_type' in event, false, ua);
  }
});

test('drop: a bot is a drop result with reason bot, a browser is ok', () => {
  const dropBots = createBotsEnrichment(botsConfigSchema.parse({ action: 'drop' }));
  assert.deepEqual(dropBots({ useragent: GOOGLEBOT }), { kind: 'drop', reason: 'bot' });
  assert.deepEqual(dropBots({ useragent: CHROME }), { kind: 'ok' });
});

test('run after ua: the Robot tag survives, and ua still fills the other columns', () => {
  const ua = createUaEnrichment(uaConfigSchema.parse({}));
  const bots = createBotsEnrichment(botsConfigSchema.parse({}));
  const event: Record<string, unknown> = { useragent: HEADLESS };
  ua(event);
  bots(event);
  assert.equal(event.br_type, 'Robot');
  assert.equal(event.os_family, 'Linux');
});

test('missing user agent: not a bot unless treatMissingAsBot', () => {
  assert.deepEqual(createBotsEnrichment(botsConfigSchema.parse({ action: 'drop' }))({}), { kind: 'ok' });
  assert.deepEqual(createBotsEnrichment(botsConfigSchema.parse({ action: 'drop', treatMissingAsBot: true }))({ useragent: '' }), { kind: 'drop', reason: 'bot' });
});

test('custom list: extra patterns add bots, allowPatterns removes isbot entries; bad regex rejected by the schema', () => {
  const extra = createBotMatcher(botsConfigSchema.parse({ extraPatterns: ['acme-uptime'] }));
  assert.equal(extra('ACME-Uptime/1.0 (+https://acme.test)'), true);
  assert.equal(extra(GOOGLEBOT), true);
  assert.equal(extra(CHROME), false);
  const curlPatterns = findBotPatterns('curl/8.4.0');
  assert.ok(curlPatterns.length > 0, 'isbot knows curl');
  const allowCurl = createBotMatcher(botsConfigSchema.parse({ allowPatterns: curlPatterns }));
  assert.equal(allowCurl('curl/8.4.0'), false);
  assert.equal(allowCurl(GOOGLEBOT), true);
  assert.throws(() => botsConfigSchema.parse({ extraPatterns: ['(unclosed'] }), /regular expression/);
  assert.throws(() => botsConfigSchema.parse({ action: 'block' }));
});

test('disabled does nothing', () => {
  const off = createBotsEnrichment(botsConfigSchema.parse({ enabled: false, action: 'drop' }));
  assert.deepEqual(off({ useragent: GOOGLEBOT }), { kind: 'ok' });
});

test('verdicts are cached per user agent (LRU of cacheSize); 0 disables the cache', () => {
  let tests = 0;
  const counting = (ua: string) => {
    tests++;
    return ua === GOOGLEBOT;
  };
  const tag = createBotsEnrichment(botsConfigSchema.parse({ cacheSize: 2 }), { isBot: counting });
  const brTypes = [GOOGLEBOT, CHROME, GOOGLEBOT, CHROME].map((ua) => {
    const event: Record<string, unknown> = { useragent: ua };
    tag(event);
    return event.br_type;
  });
  assert.deepEqual(brTypes, [BOT_BROWSER_TYPE, undefined, BOT_BROWSER_TYPE, undefined], 'a cached verdict acts as a fresh one');
  assert.equal(tests, 2);
  tag({ useragent: IPHONE }); // evicts GOOGLEBOT (least recently used)
  tag({ useragent: GOOGLEBOT });
  assert.equal(tests, 4);
  tests = 0;
  const uncached = createBotsEnrichment(botsConfigSchema.parse({ cacheSize: 0 }), { isBot: counting });
  for (let i = 0; i < 3; i++) uncached({ useragent: GOOGLEBOT });
  assert.equal(tests, 3);
});
