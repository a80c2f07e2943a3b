import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SnowplowEvent } from '../../snowplow/event';
import { silentLogger } from '../../util/logger';
import { createEnrichStage, DEFAULT_ENRICHMENTS, enrichStageSchema } from './index';

const CITY_DB = join(__dirname, '../../../../test/fixtures/maxmind/GeoIP2-City-Test.mmdb');
const deps = { logger: silentLogger, dataDir: '/nonexistent' };
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

function visit(id: string, extra: Partial<SnowplowEvent> = {}): SnowplowEvent {
  return {
    event_id: id,
    event: 'page_view',
    user_ipaddress: '81.2.69.142',
    useragent: CHROME,
    page_url: 'https://www.example.com/p?utm_source=newsletter&utm_medium=email&utm_campaign=spring',
    page_urlhost: 'www.example.com',
    page_urlquery: 'utm_source=newsletter&utm_medium=email&utm_campaign=spring',
    page_referrer: 'https://www.google.com/search?q=nginx+analytics',
    user_id: 'bob',
    ...extra,
  };
}

const all = (extra: Record<string, unknown> = {}) =>
  enrichStageSchema.parse({
    type: 'enrich',
    enrichments: [
      { type: 'ua' },
      { type: 'referer' },
      { type: 'campaign' },
      { type: 'geo', city: CITY_DB },
      { type: 'bots', ...extra },
      { type: 'anon_ip' },
      { type: 'pii', salt: 'pepper', fields: ['user_id'] },
    ],
  });

test('every enrichment in its configured order: geo sees the full IP, anon_ip masks it afterwards, pii hashes user_id', async () => {
  const stage = await createEnrichStage(all(), deps);
  assert.equal(stage.name, 'enrich');
  const out = await stage.run([visit('e1'), visit('e2', { user_ipaddress: '89.160.20.112' })]);
  assert.deepEqual(out.failed, []);
  assert.deepEqual(out.dropped, {});
  assert.deepEqual(out.events.map((e) => e.event_id), ['e1', 'e2']);
  const [a, b] = out.events as Array<SnowplowEvent & Record<string, unknown>>;
  assert.equal(a!.br_family, 'Chrome');
  assert.equal(a!.os_family, 'Windows');
  assert.equal(a!.refr_medium, 'search');
  assert.equal(a!.refr_source, 'Google');
  assert.equal(a!.refr_term, 'nginx analytics');
  assert.equal(a!.mkt_source, 'newsletter');
  assert.equal(a!.mkt_medium, 'email');
  assert.equal(a!.mkt_campaign, 'spring');
  assert.equal(a!.geo_country, 'GB');
  assert.equal(a!.geo_city, 'London');
  assert.equal(a!.user_ipaddress, '81.2.69.x');
  assert.match(String(a!.user_id), /^[0-9a-f]{64}$/);
  assert.notEqual(a!.user_id, 'bob');
  assert.equal(b!.geo_country, 'SE');
  assert.equal(b!.user_ipaddress, '89.160.20.x');
});

test('bots: tagged as Robot by default, dropped and counted with action: drop', async () => {
  const tag = await createEnrichStage(all(), deps);
  const tagged = await tag.run([visit('h'), visit('bot', { useragent: GOOGLEBOT })]);
  assert.deepEqual(tagged.events.map((e) => [e.event_id, e.br_type]), [['h', 'Browser'], ['bot', 'Robot']]);
  const dropping = await createEnrichStage(all({ action: 'drop' }), deps);
  const out = await dropping.run([visit('h1'), visit('bot1', { useragent: GOOGLEBOT }), visit('bot2', { useragent: GOOGLEBOT }), visit('h2')]);
  assert.deepEqual(out.events.map((e) => e.event_id), ['h1', 'h2']);
  assert.deepEqual(out.dropped, { bot: 2 });
});

test('a dropped event stops its chain: later enrichments never see it (no pii hash computed)', async () => {
  const stage = await createEnrichStage(all({ action: 'drop' }), deps);
  const bot = visit('bot', { useragent: GOOGLEBOT });
  await stage.run([bot]);
  assert.equal(bot.user_id, 'bob');
  assert.equal(bot.user_ipaddress, '81.2.69.142');
});

test('a value over Snowplow\'s column limit fails that event (field_too_long) and only that one', async () => {
  const stage = await createEnrichStage(all(), deps);
  const long = 'x'.repeat(300);
  const out = await stage.run([visit('ok1'), visit('long', { page_urlquery: `utm_campaign=${long}` }), visit('ok2')]);
  assert.deepEqual(out.events.map((e) => e.event_id), ['ok1', 'ok2']);
  assert.equal(out.failed.length, 1);
  assert.equal(out.failed[0]!.event.event_id, 'long');
  assert.equal(out.failed[0]!.reason, 'field_too_long');
  assert.match(out.failed[0]!.message, /mkt_campaign/);
});

test('enabled: false leaves an enrichment out; defaults are ua, referer, campaign, bots', async () => {
  const cfg = enrichStageSchema.parse({ type: 'enrich', enrichments: [{ type: 'ua', enabled: false }, { type: 'campaign' }] });
  const out = await (await createEnrichStage(cfg, deps)).run([visit('e')]);
  const e = out.events[0] as Record<string, unknown>;
  assert.equal(e.br_family, undefined);
  assert.equal(e.mkt_source, 'newsletter');
  assert.deepEqual(enrichStageSchema.parse({ type: 'enrich' }).enrichments.map((x) => x.type), DEFAULT_ENRICHMENTS.map((x) => x.type));
  const defaults = await (await createEnrichStage(enrichStageSchema.parse({ type: 'enrich' }), deps)).run([visit('d')]);
  const d = defaults.events[0] as Record<string, unknown>;
  assert.equal(d.br_family, 'Chrome');
  assert.equal(d.refr_medium, 'search');
  assert.equal(d.geo_country, undefined, 'no geo without a database');
  assert.equal(d.user_ipaddress, '81.2.69.142', 'no anonymisation unless configured');
});

test('an empty batch gives an empty result', async () => {
  const out = await (await createEnrichStage(all(), deps)).run([]);
  assert.deepEqual(out, { events: [], failed: [], dropped: {} });
});

test('the schema refuses anon_ip before geo, bots before ua and a missing geo database file fails at start', async () => {
  const bad = enrichStageSchema.safeParse({ type: 'enrich', enrichments: [{ type: 'anon_ip' }, { type: 'geo', city: CITY_DB }] });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /anon_ip must come after geo/);
  const bots = enrichStageSchema.safeParse({ type: 'enrich', enrichments: [{ type: 'bots' }, { type: 'ua' }] });
  assert.equal(bots.success, false);
  await assert.rejects(createEnrichStage(enrichStageSchema.parse({ type: 'enrich', enrichments: [{ type: 'geo', city: '/no/such.mmdb' }] }), deps));
});
