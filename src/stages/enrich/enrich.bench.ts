/**
 * Per-event cost of each enrichment, in ns/event (best of several passes; every pass runs on fresh
 * JSON-parsed copies of the events, made before the clock starts).
 *   npx tsc -p tsconfig.json && node dist/src/stages/enrich/enrich.bench.js [events] [distinctUserAgents]
 * Events are realistic page views: 60 real-world user agents × version variants (so the UA cache
 * sees `distinctUserAgents` different strings), referrers from search/social/internal/unknown
 * sites, landing URLs with and without utm parameters and click ids, and IPv4/IPv6 addresses of
 * MaxMind's test databases (found and not found). The test databases are small; a real GeoLite2
 * City file has a deeper tree and larger records, so expect geo to cost somewhat more there.
 */
import { join } from 'node:path';
import { createIpAnonymisationEnrichment, createPseudonymisationEnrichment, ipAnonymisationConfigSchema, pseudonymisationConfigSchema } from './anonymise';
import { botsConfigSchema, createBotsEnrichment } from './bots';
import { campaignConfigSchema, createCampaignEnrichment } from './campaign';
import { createFingerprinter, fingerprintConfigSchema } from './fingerprint';
import { createGeoEnrichment, geoConfigSchema, openGeoDatabases } from './geo';
import { createRefererEnrichment, loadRefererDatabase, refererConfigSchema } from './referer';
import type { EnrichableEvent, Enrichment } from './types';
import { createUaEnrichment, uaConfigSchema } from './ua';

const ROOT = join(__dirname, '..', '..', '..', '..');
const EVENTS = Number(process.argv[2] ?? 20000);
const DISTINCT_UAS = Number(process.argv[3] ?? 500);
const PASSES = 5;

const UA_TEMPLATES = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{v} Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{v} Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0',
  'Mozilla/5.0 (iPad; CPU OS 16_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36',
  'Mozilla/5.0 (compatible; Googlebot/2.{v}; +http://www.google.com/bot.html)',
];

const REFERRERS = [
  'https://www.google.com/search?q=running+shoes&hl=en',
  'https://www.google.de/',
  'https://www.bing.com/search?q=trail+shoes&form=QBLH',
  'https://t.co/abc123',
  'https://www.facebook.com/',
  'https://shop.example.com/products/item-1',
  'https://some-blog.example.net/post/42',
  'https://mail.google.com/mail/u/0/',
  'https://duckduckgo.com/?q=shoes',
];

const LANDING_QUERIES = [
  'utm_source=news&utm_medium=email&utm_campaign=spring',
  'gclid=Cj0KCQiA',
  '',
  'id=42&ref=home',
  'utm_source=facebook&utm_medium=social&utm_content=banner&fbclid=IwAR2',
];

const IPS = ['81.2.69.142', '2.125.160.216', '89.160.20.112', '216.160.83.56', '175.16.199.0', '2001:480:10::1', '10.0.0.1', '1.1.1.1', '2001:218::1', '214.78.120.1'];

function userAgent(n: number): string {
  const k = n % DISTINCT_UAS;
  const template = UA_TEMPLATES[k % UA_TEMPLATES.length] as string;
  return template.replace(/\{v\}/g, String(80 + Math.floor(k / UA_TEMPLATES.length)));
}

function makeEvent(n: number): EnrichableEvent {
  const query = LANDING_QUERIES[n % LANDING_QUERIES.length] as string;
  const event: EnrichableEvent = {
    app_id: 'shop', platform: 'web', event: 'page_view', event_id: `e-${n}`,
    user_ipaddress: IPS[n % IPS.length], domain_userid: `d-${n % 5000}`, network_userid: `n-${n % 5000}`,
    page_url: `https://shop.example.com/products/item-${n % 500}${query ? `?${query}` : ''}`,
    page_urlhost: 'shop.example.com',
    page_referrer: REFERRERS[n % REFERRERS.length],
    useragent: userAgent(n),
  };
  if (query) event.page_urlquery = query;
  if (n % 3 === 0) event.user_id = `user-${n % 1000}`;
  return event;
}

function rawParams(n: number): Record<string, string> {
  return {
    e: 'pv', tv: 'js-3.23.0', tna: 'sp1', aid: 'shop', p: 'web', tz: 'Europe/Berlin', lang: 'de-DE', cs: 'UTF-8',
    res: '1920x1080', cd: '24', cookie: '1', eid: `e-${n}`, dtm: String(1714561200000 + n), stm: String(1714561200050 + n),
    vp: '1280x720', ds: '1265x4200', vid: '3', sid: `s-${n}`, duid: `d-${n % 5000}`,
    url: `https://shop.example.com/products/item-${n % 500}`, refr: 'https://www.google.com/', page: 'Item',
  };
}

/**
 * Events reach the processor through JSON.parse (Kafka), so copies are made the same way. Do not
 * copy events with `{...event}`: V8 gives spread copies of these wide objects shapes that make
 * every later property addition slow (measured: ua went from ~1 µs to 50-150 µs per event).
 */
function copyOf(event: EnrichableEvent): EnrichableEvent {
  return JSON.parse(JSON.stringify(event)) as EnrichableEvent;
}

function measure(label: string, events: EnrichableEvent[], run: (e: EnrichableEvent) => unknown): void {
  let best = Infinity;
  for (let pass = 0; pass < PASSES; pass++) {
    const fresh = events.map(copyOf);
    const t0 = process.hrtime.bigint();
    for (const e of fresh) run(e);
    const ns = Number(process.hrtime.bigint() - t0) / fresh.length;
    if (ns < best) best = ns;
  }
  console.log(`${label.padEnd(42)} ${best.toFixed(0).padStart(7)} ns/event`);
}

async function main(): Promise<void> {
  const events = Array.from({ length: EVENTS }, (_, n) => makeEvent(n));
  const params = Array.from({ length: EVENTS }, (_, n) => rawParams(n));

  const database = loadRefererDatabase();
  const geoConfig = geoConfigSchema.parse({
    city: join(ROOT, 'test/fixtures/maxmind/GeoIP2-City-Test.mmdb'),
    isp: join(ROOT, 'test/fixtures/maxmind/GeoIP2-ISP-Test.mmdb'),
  });
  const databases = await openGeoDatabases(geoConfig);

  const uaCached = createUaEnrichment(uaConfigSchema.parse({ cacheSize: 10000 }));
  const uaUncached = createUaEnrichment(uaConfigSchema.parse({ cacheSize: 0 }));
  for (const e of events) uaCached(copyOf(e)); // warm the cache: steady state of a long-running processor

  const parts: Array<[string, Enrichment]> = [
    ['(harness floor: an enrichment doing nothing)', () => ({ kind: 'ok' })],
    [`ua (LRU cache, ${DISTINCT_UAS} distinct UAs, warm)`, uaCached],
    ['ua (no cache: ua-parser-js each time)', uaUncached],
    ['referer', createRefererEnrichment(refererConfigSchema.parse({ internalDomains: ['login.example.com'] }), { database })],
    ['campaign', createCampaignEnrichment(campaignConfigSchema.parse({ clickIds: { fbclid: 'Facebook' } }))],
    ['geo (City + ISP test DBs)', createGeoEnrichment(geoConfig, { databases })],
    ['anon_ip (2 octets / 2 segments)', createIpAnonymisationEnrichment(ipAnonymisationConfigSchema.parse({ anonOctets: 2 }))],
    ['pii (4 fields, SHA-256)', createPseudonymisationEnrichment(pseudonymisationConfigSchema.parse({ salt: 'bench-salt' }))],
    ['bots (tag)', createBotsEnrichment(botsConfigSchema.parse({}))],
  ];
  console.log(`${EVENTS} events, best of ${PASSES} passes`);
  for (const [label, enrichment] of parts) measure(label, events, enrichment);

  const fingerprint = createFingerprinter(fingerprintConfigSchema.parse({}));
  let best = Infinity;
  for (let pass = 0; pass < PASSES; pass++) {
    const t0 = process.hrtime.bigint();
    for (const p of params) fingerprint(p);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / params.length);
  }
  console.log(`${'fingerprint (22 params, MD5)'.padEnd(42)} ${best.toFixed(0).padStart(7)} ns/event`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
