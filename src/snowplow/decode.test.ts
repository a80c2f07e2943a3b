import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AccessRecord, LineParser } from '../nginx/record';
import { type BadRow, badRowKind } from './badrow';
import { decodeLine, decodeRecord, type DecodeContext, type DecodeOutcome, firstForwardedIp } from './decode';
import type { SnowplowEvent } from './event';
import { TAILPLOW_ARTIFACT_VERSION } from './version';

const T0 = 1714561200123; // 2024-05-01T11:00:00.123Z
const NOW = 1714561300000;
const EID = '4b6c2c57-5f0e-4f3a-9b1c-2f6d0d1e8a10';
const SID = 'c6ef3124-b53a-4b13-a233-0088f79dcbcb';
const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const PAYLOAD_DATA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';

function qs(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function get(params: Record<string, string> | string, extra: Partial<AccessRecord> = {}): AccessRecord {
  return {
    remoteAddr: '198.51.100.4', timestampMs: T0, method: 'GET', path: '/i', status: 200,
    queryString: typeof params === 'string' ? params : qs(params),
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64)', host: 'collector.example.com', ...extra,
  };
}

function post(events: unknown[], extra: Partial<AccessRecord> = {}): AccessRecord {
  return {
    remoteAddr: '198.51.100.4', timestampMs: T0, method: 'POST', path: TP2, status: 200, queryString: '',
    requestBody: JSON.stringify({ schema: PAYLOAD_DATA, data: events }), ...extra,
  };
}

function ctx(extra: Partial<DecodeContext> = {}): DecodeContext {
  return { line: 'raw log line', offset: 100, now: () => NOW, ...extra };
}

function one(out: DecodeOutcome): SnowplowEvent {
  assert.deepEqual(out.bad, [], `unexpected bad rows: ${JSON.stringify(out.bad)}`);
  assert.equal(out.events.length, 1);
  return out.events[0] as SnowplowEvent;
}

function onlyBad(out: DecodeOutcome): BadRow {
  assert.equal(out.events.length, 0, 'expected no events');
  assert.equal(out.bad.length, 1, `expected one bad row, got ${out.bad.length}`);
  return out.bad[0] as BadRow;
}

function b64(v: unknown, variant: 'base64' | 'base64url' = 'base64url', padded = false): string {
  const s = Buffer.from(JSON.stringify(v)).toString(variant);
  if (!padded) return s.replace(/=+$/, '');
  return s.length % 4 === 0 ? s : s + '='.repeat(4 - (s.length % 4));
}

const linkClick = {
  schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
  data: { schema: 'iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1', data: { targetUrl: 'https://ex.org/ü?a=1' } },
};
const contexts = {
  schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
  data: [
    { schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: 'a3c2b1d0' } },
    { schema: 'iglu:com.acme/cart/jsonschema/2-1-0', data: { items: 3, note: 'tab\there' } },
  ],
};

test('page view over GET /i: ids, versions, collector facts and builtin schema fields', () => {
  const ev = one(decodeRecord(get({ e: 'pv', eid: EID, aid: 'shop', p: 'web', tv: 'js-3.23.0', tna: 'sp1', page: 'Home', url: 'https://shop.example.com/a?b=1' }), ctx()));
  assert.equal(ev.event, 'page_view');
  assert.equal(ev.event_id, EID);
  assert.equal(ev.app_id, 'shop');
  assert.equal(ev.platform, 'web');
  assert.equal(ev.v_tracker, 'js-3.23.0');
  assert.equal(ev.name_tracker, 'sp1');
  assert.equal(ev.page_title, 'Home');
  assert.equal(ev.collector_tstamp, '2024-05-01T11:00:00.123Z');
  assert.equal(ev.etl_tstamp, '2024-05-01T11:01:40.000Z');
  assert.equal(ev.derived_tstamp, '2024-05-01T11:00:00.123Z');
  assert.equal(ev.v_collector, TAILPLOW_ARTIFACT_VERSION);
  assert.equal(ev.v_etl, TAILPLOW_ARTIFACT_VERSION);
  assert.match(TAILPLOW_ARTIFACT_VERSION, /^tailplow-\d+\.\d+\.\d+/);
  assert.equal(ev.user_ipaddress, '198.51.100.4');
  assert.equal(ev.useragent, 'Mozilla/5.0 (X11; Linux x86_64)');
  assert.deepEqual(
    [ev.event_vendor, ev.event_name, ev.event_format, ev.event_version],
    ['com.snowplowanalytics.snowplow', 'page_view', 'jsonschema', '1-0-0'],
  );
});

test('legacy /ice.png is a GET tracker path too', () => {
  assert.equal(one(decodeRecord(get({ e: 'pv' }, { path: '/ice.png' }), ctx())).event, 'page_view');
});

test('page ping maps pp_* offsets', () => {
  const ev = one(decodeRecord(get({ e: 'pp', pp_mix: '0', pp_max: '10', pp_miy: '250', pp_may: '900' }), ctx()));
  assert.equal(ev.event, 'page_ping');
  assert.deepEqual([ev.pp_xoffset_min, ev.pp_xoffset_max, ev.pp_yoffset_min, ev.pp_yoffset_max], [0, 10, 250, 900]);
  assert.equal(ev.event_name, 'page_ping');
});

test('structured event maps se_* and is a com.google.analytics/event', () => {
  const ev = one(decodeRecord(get({ e: 'se', se_ca: 'basket', se_ac: 'add', se_la: 'sku-1', se_pr: 'red', se_va: '19.99' }), ctx()));
  assert.equal(ev.event, 'struct');
  assert.deepEqual([ev.se_category, ev.se_action, ev.se_label, ev.se_property, ev.se_value], ['basket', 'add', 'sku-1', 'red', 19.99]);
  assert.deepEqual([ev.event_vendor, ev.event_name], ['com.google.analytics', 'event']);
});

test('legacy ev_* names fill structured fields, se_* wins when both are sent', () => {
  const ev = one(decodeRecord(get({ e: 'ev', ev_ca: 'old', ev_ac: 'act', se_ca: 'new', ev_va: '2' }), ctx()));
  assert.equal(ev.event, 'struct');
  assert.equal(ev.se_category, 'new');
  assert.equal(ev.se_action, 'act');
  assert.equal(ev.se_value, 2);
});

test('transaction and transaction item map tr_* / ti_*', () => {
  const tr = one(decodeRecord(get({ e: 'tr', tr_id: 'o-1', tr_af: 'web', tr_tt: '100.5', tr_tx: '19', tr_sh: '4.9', tr_ci: 'Köln', tr_st: 'NRW', tr_co: 'DE', tr_cu: 'EUR' }), ctx()));
  assert.equal(tr.event, 'transaction');
  assert.deepEqual(
    [tr.tr_orderid, tr.tr_affiliation, tr.tr_total, tr.tr_tax, tr.tr_shipping, tr.tr_city, tr.tr_state, tr.tr_country, tr.tr_currency],
    ['o-1', 'web', 100.5, 19, 4.9, 'Köln', 'NRW', 'DE', 'EUR'],
  );
  const ti = one(decodeRecord(get({ e: 'ti', ti_id: 'o-1', ti_sk: 'sku', ti_nm: 'Shoe', ti_ca: 'shoes', ti_pr: '49.95', ti_qu: '2', ti_cu: 'EUR' }), ctx()));
  assert.equal(ti.event, 'transaction_item');
  assert.deepEqual(
    [ti.ti_orderid, ti.ti_sku, ti.ti_name, ti.ti_category, ti.ti_price, ti.ti_quantity, ti.ti_currency],
    ['o-1', 'sku', 'Shoe', 'shoes', 49.95, 2, 'EUR'],
  );
  assert.equal(one(decodeRecord(get({ e: 'ti', ti_na: 'Legacy name' }), ctx())).ti_name, 'Legacy name');
});

test('self-describing event from ue_pr (plain JSON) sets unstruct_event and event_* from its Iglu URI', () => {
  const ev = one(decodeRecord(get({ e: 'ue', ue_pr: JSON.stringify(linkClick) }), ctx()));
  assert.equal(ev.event, 'unstruct');
  assert.deepEqual(ev.unstruct_event, linkClick.data);
  assert.deepEqual(
    [ev.event_vendor, ev.event_name, ev.event_format, ev.event_version],
    ['com.snowplowanalytics.snowplow', 'link_click', 'jsonschema', '1-0-1'],
  );
});

test('ue_px and cx decode from base64url and standard base64, with and without padding', () => {
  for (const variant of ['base64url', 'base64'] as const) {
    for (const padded of [false, true]) {
      const ev = one(decodeRecord(get({ e: 'ue', ue_px: b64(linkClick, variant, padded), cx: b64(contexts, variant, padded) }), ctx()));
      assert.deepEqual(ev.unstruct_event, linkClick.data, `${variant} padded=${padded}`);
      assert.deepEqual(ev.contexts, contexts.data, `${variant} padded=${padded}`);
    }
  }
});

test('a standard-base64 "+" sent unencoded in a GET query (read back as a space) still decodes', () => {
  const withPlus = { schema: contexts.schema, data: [{ schema: 'iglu:com.acme/x/jsonschema/1-0-0', data: { s: 'ü>>>???' } }] };
  const text = Buffer.from(JSON.stringify(withPlus)).toString('base64');
  assert.ok(text.includes('+') && text.includes('/'));
  const raw = `e=pv&cx=${text.replace(/=+$/, '')}`; // '+' not percent-encoded: the query decoder turns it into ' '
  assert.deepEqual(one(decodeRecord(get(raw), ctx())).contexts, withPlus.data);
});

test('property: ue_px/cx of any size and content decode like Buffer.from(base64) (a reused buffer must not leak bytes)', () => {
  const entity = fc.record({ schema: fc.constant('iglu:com.acme/x/jsonschema/1-0-0'), data: fc.record({ s: fc.string({ unit: 'binary', maxLength: 40 }) }) });
  fc.assert(
    fc.property(fc.array(entity, { minLength: 1, maxLength: 3 }), fc.nat(40_000), fc.constantFrom('base64url', 'base64') as fc.Arbitrary<'base64url' | 'base64'>, (data, pad, variant) => {
      // Alternating long and short values: a short one after a long one must not see its tail.
      const big = { schema: contexts.schema, data: [...data, { schema: 'iglu:com.acme/pad/jsonschema/1-0-0', data: { p: 'x'.repeat(pad) } }] };
      const small = { schema: contexts.schema, data };
      for (const value of [big, small]) {
        const ev = one(decodeRecord(get({ e: 'pv', cx: b64(value, variant) }), ctx()));
        assert.deepEqual(ev.contexts, JSON.parse(Buffer.from(b64(value, variant), 'base64').toString('utf8')).data);
      }
    }),
    { numRuns: 60 },
  );
});

test('co carries contexts as plain JSON', () => {
  const ev = one(decodeRecord(get({ e: 'pv', co: JSON.stringify(contexts) }), ctx()));
  assert.deepEqual(ev.contexts, contexts.data);
});

test('all common tracker parameters map to their canonical fields', () => {
  const ev = one(decodeRecord(get({
    e: 'pv', tid: '123456', uid: 'user@example.com', duid: 'd-user', sid: SID.toUpperCase(), vid: '7', fp: '1234',
    lang: 'de-DE', cs: 'UTF-8', cd: '24', tz: 'Europe/Berlin', res: '1920x1080', vp: '1280x720', ds: '1265x4200',
    cookie: '1', f_pdf: '1', f_fla: '0', f_java: '0', f_dir: '0', f_qt: '1', f_realp: '0', f_wma: '0', f_gears: '0', f_ag: '1',
    refr: 'http://www.google.com:8080/search?q=shoes#r', url: 'https://shop.example.com/p/1?utm_source=x#frag',
  }), ctx()));
  assert.equal(ev.txn_id, 123456);
  assert.equal(ev.user_id, 'user@example.com');
  assert.equal(ev.domain_userid, 'd-user');
  assert.equal(ev.domain_sessionid, SID);
  assert.equal(ev.domain_sessionidx, 7);
  assert.equal(ev.user_fingerprint, '1234');
  assert.deepEqual([ev.br_lang, ev.doc_charset, ev.br_colordepth, ev.os_timezone], ['de-DE', 'UTF-8', '24', 'Europe/Berlin']);
  assert.deepEqual([ev.dvce_screenwidth, ev.dvce_screenheight, ev.br_viewwidth, ev.br_viewheight, ev.doc_width, ev.doc_height], [1920, 1080, 1280, 720, 1265, 4200]);
  assert.deepEqual(
    [ev.br_cookies, ev.br_features_pdf, ev.br_features_flash, ev.br_features_java, ev.br_features_director, ev.br_features_quicktime,
      ev.br_features_realplayer, ev.br_features_windowsmedia, ev.br_features_gears, ev.br_features_silverlight],
    [true, true, false, false, false, true, false, false, false, true],
  );
  assert.deepEqual(
    [ev.page_url, ev.page_urlscheme, ev.page_urlhost, ev.page_urlport, ev.page_urlpath, ev.page_urlquery, ev.page_urlfragment],
    ['https://shop.example.com/p/1?utm_source=x#frag', 'https', 'shop.example.com', 443, '/p/1', 'utm_source=x', 'frag'],
  );
  assert.deepEqual(
    [ev.page_referrer, ev.refr_urlscheme, ev.refr_urlhost, ev.refr_urlport, ev.refr_urlpath, ev.refr_urlquery, ev.refr_urlfragment],
    ['http://www.google.com:8080/search?q=shoes#r', 'http', 'www.google.com', 8080, '/search', 'q=shoes', 'r'],
  );
});

test('the JavaScript tracker literal "null" for numbers means absent', () => {
  const ev = one(decodeRecord(get({ e: 'se', se_va: 'null', vid: 'null', ti_qu: 'NULL' }), ctx()));
  assert.equal('se_value' in ev, false);
  assert.equal('domain_sessionidx' in ev, false);
  assert.equal('ti_quantity' in ev, false);
});

test('empty parameters are absent, and no field is ever set to undefined or null', () => {
  const ev = one(decodeRecord(get({ e: 'pv', aid: '', page: '', vid: '' }), ctx()));
  for (const [k, v] of Object.entries(ev)) assert.ok(v !== undefined && v !== null, k);
  assert.equal('app_id' in ev, false);
});

test('tabs and newlines in text are made TSV-safe the way Enrich does', () => {
  const ev = one(decodeRecord(get({ e: 'pv', page: 'a\tb\r\nc' }), ctx()));
  assert.equal(ev.page_title, 'a    bc');
});

test('non-ASCII text survives percent-decoding', () => {
  const ev = one(decodeRecord(get({ e: 'pv', page: 'Grüße – 東京 😀', url: 'https://例え.jp/パス' }), ctx()));
  assert.equal(ev.page_title, 'Grüße – 東京 😀');
  assert.equal(ev.page_url, 'https://例え.jp/パス');
  assert.equal(ev.page_urlhost, '例え.jp');
});

test('page_url falls back to the Referer header; the tracker url wins when present', () => {
  const fromHeader = one(decodeRecord(get({ e: 'pv' }, { referer: 'https://blog.example.com/post?id=3' }), ctx()));
  assert.equal(fromHeader.page_url, 'https://blog.example.com/post?id=3');
  assert.equal(fromHeader.page_urlhost, 'blog.example.com');
  assert.equal(fromHeader.page_urlquery, 'id=3');
  assert.equal('page_referrer' in fromHeader, false, 'the Referer header is the page, not the referrer');
  const fromTracker = one(decodeRecord(get({ e: 'pv', url: 'https://shop.example.com/' }, { referer: 'https://blog.example.com/' }), ctx()));
  assert.equal(fromTracker.page_url, 'https://shop.example.com/');
  assert.equal(one(decodeRecord(get({ e: 'pv' }, { referer: '-' }), ctx())).page_url, undefined);
});

test('spaces in URLs are encoded as %20, as Enrich does before parsing', () => {
  const ev = one(decodeRecord(get({ e: 'pv', url: 'https://a.example/with space?q=a b' }), ctx()));
  assert.equal(ev.page_url, 'https://a.example/with%20space?q=a%20b');
  assert.equal(ev.page_urlpath, '/with%20space');
});

test('network_userid: tnuid over nuid over the sp cookie (variable or Cookie header)', () => {
  assert.equal(one(decodeRecord(get({ e: 'pv' }, { cookieSp: 'cookie-id' }), ctx())).network_userid, 'cookie-id');
  assert.equal(one(decodeRecord(get({ e: 'pv' }, { cookieHeader: '_ga=1; sp=hdr-id; other=2' }), ctx())).network_userid, 'hdr-id');
  assert.equal(one(decodeRecord(get({ e: 'pv' }, { cookieHeader: 'xsp=no; asp=no' }), ctx())).network_userid, undefined);
  assert.equal(one(decodeRecord(get({ e: 'pv', nuid: 'from-nuid' }, { cookieSp: 'cookie-id' }), ctx())).network_userid, 'from-nuid');
  assert.equal(one(decodeRecord(get({ e: 'pv', tnuid: 'from-tnuid', nuid: 'from-nuid' }, { cookieSp: 'c' }), ctx())).network_userid, 'from-tnuid');
  assert.equal(one(decodeRecord(get({ e: 'pv', nuid: 'n' }, { cookieSp: '-' }), ctx())).network_userid, 'n');
});

test('user_ipaddress: first X-Forwarded-For address, else remote_addr; the ip parameter overrides', () => {
  const ip = (xff: string | undefined, params: Record<string, string> = {}): string | undefined =>
    one(decodeRecord(get({ e: 'pv', ...params }, { xForwardedFor: xff, remoteAddr: '10.0.0.9' }), ctx())).user_ipaddress;
  assert.equal(ip('203.0.113.7, 10.0.0.2, 10.0.0.3'), '203.0.113.7');
  assert.equal(ip('203.0.113.7:51234'), '203.0.113.7');
  assert.equal(ip('2001:DB8::1, 10.0.0.2'), '2001:db8::1');
  assert.equal(ip('"[2001:db8::7]:443"'), '2001:db8::7');
  assert.equal(ip('unknown'), '10.0.0.9');
  assert.equal(ip('-'), '10.0.0.9');
  assert.equal(ip(undefined), '10.0.0.9');
  assert.equal(ip('203.0.113.7', { ip: '192.0.2.1, 192.0.2.2' }), '192.0.2.1');
  assert.equal(firstForwardedIp(' ::ffff:192.0.2.5 '), '::ffff:192.0.2.5');
});

test('useragent: the ua parameter wins over the User-Agent header', () => {
  assert.equal(one(decodeRecord(get({ e: 'pv', ua: 'Server/1.0' }), ctx())).useragent, 'Server/1.0');
  assert.equal(one(decodeRecord(get({ e: 'pv' }, { userAgent: '-' }), ctx())).useragent, undefined);
});

test('derived_tstamp follows Snowplow: true_tstamp, else collector - (sent - created), else collector', () => {
  const d = (params: Record<string, string>): SnowplowEvent => one(decodeRecord(get({ e: 'pv', ...params }), ctx()));
  const withTrue = d({ ttm: String(T0 - 5000), dtm: String(T0 - 60000), stm: String(T0 - 1000) });
  assert.equal(withTrue.derived_tstamp, new Date(T0 - 5000).toISOString());
  assert.equal(withTrue.true_tstamp, new Date(T0 - 5000).toISOString());
  const skewed = d({ dtm: String(T0 - 3600000 - 400), stm: String(T0 - 3600000) }); // device clock 1h behind, sent 400ms later
  assert.equal(skewed.derived_tstamp, new Date(T0 - 400).toISOString());
  assert.equal(skewed.dvce_created_tstamp, new Date(T0 - 3600000 - 400).toISOString());
  assert.equal(skewed.dvce_sent_tstamp, new Date(T0 - 3600000).toISOString());
  assert.equal(d({ dtm: String(T0 + 500), stm: String(T0) }).derived_tstamp, new Date(T0).toISOString(), 'created after sent');
  assert.equal(d({ dtm: String(T0 - 500) }).derived_tstamp, new Date(T0).toISOString(), 'no stm');
  assert.equal(d({}).derived_tstamp, new Date(T0).toISOString());
});

test('event ids: the tracker eid (lower-cased) is kept; a retry with the same eid gives two events', () => {
  const line = get({ e: 'pv', eid: EID.toUpperCase() });
  const a = one(decodeRecord(line, ctx({ offset: 1 })));
  const b = one(decodeRecord(line, ctx({ offset: 2 })));
  assert.equal(a.event_id, EID);
  assert.equal(b.event_id, EID);
  const twice = decodeRecord(post([{ e: 'pv', p: 'web', tv: 't', eid: EID }, { e: 'pv', p: 'web', tv: 't', eid: EID }]), ctx());
  assert.equal(twice.events.length, 2);
  assert.deepEqual(twice.events.map((e) => e.event_id), [EID, EID]);
});

test('hits without eid get deterministic ids: same line+offset -> same id, other offset or index -> other id', () => {
  const rec = get({ e: 'pv' });
  const first = one(decodeRecord(rec, ctx({ line: 'L', offset: 10 }))).event_id;
  assert.equal(one(decodeRecord(rec, ctx({ line: 'L', offset: 10 }))).event_id, first);
  assert.notEqual(one(decodeRecord(rec, ctx({ line: 'L', offset: 11 }))).event_id, first);
  assert.notEqual(one(decodeRecord(rec, ctx({ line: 'L2', offset: 10 }))).event_id, first);
  const ids = decodeRecord(post([{ e: 'pv', p: 'web', tv: 't' }, { e: 'pv', p: 'web', tv: 't' }]), ctx()).events.map((e) => e.event_id);
  assert.equal(new Set(ids).size, 2);
});

test('tp2 POST: several events, query parameters merge into each and win over body values', () => {
  const out = decodeRecord(post(
    [
      { e: 'pv', p: 'web', tv: 'js-3', aid: 'body-app', url: 'https://a.example/1' },
      { e: 'se', p: 'web', tv: 'js-3', se_ca: 'c', se_ac: 'a' },
    ],
    { queryString: 'aid=query-app&uid=u-9' },
  ), ctx());
  assert.equal(out.bad.length, 0);
  assert.deepEqual(out.events.map((e) => [e.event, e.app_id, e.user_id]), [['page_view', 'query-app', 'u-9'], ['struct', 'query-app', 'u-9']]);
  assert.equal(out.events[0]?.page_url, 'https://a.example/1');
});

test('tp2 over GET carries one event in the query string', () => {
  const ev = one(decodeRecord(get({ e: 'pv', p: 'web' }, { path: TP2 }), ctx()));
  assert.equal(ev.event, 'page_view');
});

test('one bad event in a tp2 array does not spoil the others', () => {
  const out = decodeRecord(post([
    { e: 'pv', p: 'web', tv: 't' },
    { e: 'pv', p: 'web', tv: 't', vid: 3 },
    { e: 'pv', p: 'web', tv: 't', eid: 'not-a-uuid' },
    { e: 'se', p: 'web', tv: 't', se_ca: 'ok' },
  ]), ctx());
  assert.equal(out.events.length, 2);
  assert.deepEqual(out.events.map((e) => e.event), ['page_view', 'struct']);
  assert.deepEqual(out.bad.map(badRowKind), ['tracker_protocol_violations', 'enrichment_failures']);
  const tpv = out.bad[0] as BadRow;
  const body = JSON.parse((tpv.data.payload as { body: string }).body) as { data: unknown[] };
  assert.deepEqual(body.data, [{ e: 'pv', p: 'web', tv: 't', vid: 3 }], 'the bad row body holds only the bad event');
});

test('tp2 body values must be strings and e, p, tv are required (payload_data schema)', () => {
  const bad = onlyBad(decodeRecord(post([{ e: 'pv', tv: 't', vid: 3, cookie: null }]), ctx()));
  assert.equal(bad.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/tracker_protocol_violations/jsonschema/1-0-1');
  const failure = bad.data.failure as unknown as { vendor: string; version: string; messages: Array<{ field: string; expectation: string }> };
  assert.equal(failure.vendor, 'com.snowplowanalytics.snowplow');
  assert.equal(failure.version, 'tp2');
  assert.deepEqual(failure.messages.map((m) => m.field), ['vid', 'cookie', 'p']);
  assert.match(failure.messages[0]?.expectation ?? '', /value is not a string/);
  assert.match(failure.messages[1]?.expectation ?? '', /value cannot be null/);
  assert.match(failure.messages[2]?.expectation ?? '', /payload_data requires "p"/);
});

test('tp2 body problems: not JSON, not self-describing, wrong schema, not an array, empty', () => {
  const kinds = (body: string): [string | undefined, unknown] => {
    const bad = onlyBad(decodeRecord({ ...post([]), requestBody: body }, ctx()));
    return [badRowKind(bad), (bad.data.failure as unknown as { messages: unknown[] }).messages[0]];
  };
  const [k1, m1] = kinds('{"schema": ');
  assert.equal(k1, 'tracker_protocol_violations');
  assert.match(JSON.stringify(m1), /invalid JSON/);
  assert.match(JSON.stringify(kinds('[{"e":"pv"}]')[1]), /INVALID_DATA_PAYLOAD/);
  assert.match(JSON.stringify(kinds('{"schema":"payload_data","data":[]}')[1]), /INVALID_IGLU_URI/);
  assert.deepEqual(kinds('{"schema":"iglu:com.acme/payload_data/jsonschema/1-0-0","data":[]}')[1], {
    schemaKey: 'iglu:com.acme/payload_data/jsonschema/1-0-0',
    schemaCriterion: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-*-*',
  });
  assert.match(JSON.stringify(kinds(`{"schema":"${PAYLOAD_DATA}","data":{"e":"pv"}}`)[1]), /must be an array/);
  assert.match(JSON.stringify(kinds(`{"schema":"${PAYLOAD_DATA}","data":[]}`)[1]), /empty list of events/);
  assert.match(JSON.stringify(kinds(`{"schema":"${PAYLOAD_DATA}","data":["pv"]}`)[1]), /must be a JSON object/);
});

test('empty requests: GET /i without query is an adapter failure, tp2 without body or query a protocol violation', () => {
  const a = onlyBad(decodeRecord(get(''), ctx()));
  assert.equal(a.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/adapter_failures/jsonschema/1-0-0');
  assert.equal((a.data.failure as unknown as { version: string }).version, 'tp1');
  const b = onlyBad(decodeRecord({ ...post([]), requestBody: '-' }, ctx()));
  assert.equal(badRowKind(b), 'tracker_protocol_violations');
  assert.equal((b.data.failure as unknown as { messages: unknown[] }).messages.length, 2);
});

test('tracker-parameter problems are enrichment_failures naming the parameter and the fix', () => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ e: 'xx' }, 'e', /not a known event type/],
    [{ e: 'ad' }, 'e', /legacy ad impression/],
    [{ p: 'web' }, 'e', /missing: every tracker event needs an event type/],
    [{ e: 'pv', p: 'desktop' }, 'p', /not a known platform: expected one of web, mob, pc, srv, app, tv, cnsl, iot, headset/],
    [{ e: 'pv', eid: '123' }, 'eid', /not a valid UUID/],
    [{ e: 'pv', sid: 'abc' }, 'sid', /not a valid UUID/],
    [{ e: 'pv', vid: '1.5' }, 'vid', /not a valid integer/],
    [{ e: 'pv', tid: '99999999999' }, 'tid', /not a valid integer/],
    [{ e: 'se', se_va: 'ten' }, 'se_va', /not a number/],
    [{ e: 'tr', tr_tt: 'NaN' }, 'tr_tt', /not a number/],
    [{ e: 'pv', cookie: 'yes' }, 'cookie', /expected 1 or 0/],
    [{ e: 'pv', res: '1920*1080' }, 'res', /WIDTHxHEIGHT/],
    [{ e: 'pv', dtm: '2024-05-01' }, 'dtm', /milliseconds since the epoch/],
    [{ e: 'pv', stm: '999999999999999999' }, 'stm', /year must be between 0 and 9999/],
    [{ e: 'pp', pp_may: 'x' }, 'pp_may', /not a valid integer/],
  ];
  for (const [params, field, expectation] of cases) {
    const bad = onlyBad(decodeRecord(get(params), ctx()));
    assert.equal(bad.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/enrichment_failures/jsonschema/2-0-1', field);
    const messages = (bad.data.failure as unknown as { messages: Array<{ enrichment: null; message: { field: string; value: string | null; expectation: string } }> }).messages;
    assert.equal(messages.length, 1, JSON.stringify(messages));
    assert.equal(messages[0]?.enrichment, null);
    assert.equal(messages[0]?.message.field, field);
    assert.equal(messages[0]?.message.value, params[field] ?? null);
    assert.match(messages[0]?.message.expectation ?? '', expectation);
  }
});

test('every problem of an event is reported at once', () => {
  const bad = onlyBad(decodeRecord(get({ e: 'pv', eid: 'x', vid: 'y', res: 'z' }), ctx()));
  const fields = (bad.data.failure as unknown as { messages: Array<{ message: { field: string } }> }).messages.map((m) => m.message.field);
  assert.deepEqual(fields, ['eid', 'vid', 'res']);
});

test('enrichment-failure payload: partially enriched event, the raw event parameters and the raw line', () => {
  const bad = onlyBad(decodeRecord(get({ e: 'pv', vid: 'y', aid: 'shop' }, { xForwardedFor: '203.0.113.1' }), ctx({ source: '/var/log/nginx/sp.log' })));
  const payload = bad.data.payload as {
    enriched: Record<string, unknown>; raw: { vendor: string; version: string; parameters: Array<{ name: string; value: string }>; ipAddress: string; timestamp: string; loaderName: string };
    line: string; offset: number; source: string;
  };
  assert.equal(payload.enriched.app_id, 'shop');
  assert.equal(payload.enriched.collector_tstamp, '2024-05-01T11:00:00.123Z');
  assert.deepEqual(payload.raw.parameters, [{ name: 'e', value: 'pv' }, { name: 'vid', value: 'y' }, { name: 'aid', value: 'shop' }]);
  assert.equal(payload.raw.vendor, 'com.snowplowanalytics.snowplow');
  assert.equal(payload.raw.version, 'tp1');
  assert.equal(payload.raw.ipAddress, '203.0.113.1');
  assert.equal(payload.raw.loaderName, 'tailplow');
  assert.equal(payload.line, 'raw log line');
  assert.equal(payload.offset, 100);
  assert.equal(payload.source, '/var/log/nginx/sp.log');
  assert.deepEqual(bad.data.processor, { artifact: 'tailplow', version: TAILPLOW_ARTIFACT_VERSION.slice('tailplow-'.length) });
  assert.equal((bad.data.failure as unknown as { timestamp: string }).timestamp, '2024-05-01T11:01:40.000Z');
});

test('ue/contexts problems are schema_violations: NotJson, NotIglu, CriterionMismatch', () => {
  const messageOf = (params: Record<string, string>): Record<string, unknown> => {
    const bad = onlyBad(decodeRecord(get({ e: 'ue', ...params }), ctx()));
    assert.equal(bad.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1');
    return (bad.data.failure as unknown as { messages: Array<Record<string, unknown>> }).messages[0] as Record<string, unknown>;
  };
  const notJson = messageOf({ ue_pr: '{"schema": nope' });
  assert.equal(notJson.field, 'ue_pr');
  assert.match(String(notJson.error), /invalid JSON/);
  assert.equal(messageOf({ ue_px: Buffer.from('not json').toString('base64url') }).field, 'ue_px');
  const badUri = messageOf({ ue_pr: JSON.stringify({ schema: linkClick.schema, data: { schema: 'iglu:acme/click/1-0-0', data: {} } }) });
  assert.match(String(badUri.error), /INVALID_IGLU_URI: ue_pr.data.schema "iglu:acme\/click\/1-0-0" is not an Iglu URI/);
  const wrongWrapper = messageOf({ ue_pr: JSON.stringify({ schema: 'iglu:com.acme/event/jsonschema/1-0-0', data: {} }) });
  assert.equal(wrongWrapper.schemaCriterion, 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-*-*');
  const noData = messageOf({ ue_pr: JSON.stringify({ schema: linkClick.schema, data: { schema: 'iglu:com.acme/x/jsonschema/1-0-0' } }) });
  assert.match(String(noData.error), /has no "data" property/);
  const ctxNotArray = messageOf({ ue_pr: JSON.stringify(linkClick), co: JSON.stringify({ schema: contexts.schema, data: {} }) });
  assert.match(String(ctxNotArray.error), /co.data must be an array/);
  const ctxBadEntity = messageOf({ ue_pr: JSON.stringify(linkClick), cx: b64({ schema: contexts.schema, data: [contexts.data[0], { schema: 'iglu:com.acme/x/jsonschema/0-1-0', data: {} }] }) });
  assert.match(String(ctxBadEntity.error), /cx.data\[1\].schema .* is not an Iglu URI/);
});

test('values longer than Snowplow column limits fail like Enrich atomic-length validation', () => {
  const bad = onlyBad(decodeRecord(get({ e: 'pv', aid: 'a'.repeat(256), url: `https://a.example/${'p'.repeat(3000)}` }), ctx()));
  assert.equal(badRowKind(bad), 'enrichment_failures');
  const errors = (bad.data.failure as unknown as { messages: Array<{ message: { error: string } }> }).messages.map((m) => m.message.error);
  assert.equal(errors[0], "Enriched event does not conform to atomic schema field's length restrictions");
  assert.ok(errors.some((e) => e.startsWith('Field app_id longer than maximum allowed size 255')), errors.join('|'));
  assert.ok(errors.some((e) => e.startsWith('Field page_urlpath longer than maximum allowed size 3000')), errors.join('|'));
});

test('a malformed percent-escape is a collector_payload_format_violation naming the parameter', () => {
  const bad = onlyBad(decodeRecord(get('e=pv&page=50%+off&aid=x'), ctx()));
  assert.equal(bad.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/collector_payload_format_violation/jsonschema/1-0-0');
  const failure = bad.data.failure as unknown as { loader: string; message: { payloadField: string; expectation: string } };
  assert.equal(failure.loader, 'tailplow');
  assert.equal(failure.message.payloadField, 'querystring');
  assert.match(failure.message.expectation, /"page" has a malformed percent-escape/);
  assert.equal(bad.data.payload, 'raw log line');
});

test('a record without a usable request time is a collector_payload_format_violation', () => {
  const bad = onlyBad(decodeRecord(get({ e: 'pv' }, { timestampMs: undefined }), ctx()));
  assert.equal(badRowKind(bad), 'collector_payload_format_violation');
  assert.match(JSON.stringify(bad.data.failure), /\$msec/);
  assert.equal(badRowKind(onlyBad(decodeRecord(get({ e: 'pv' }, { timestampMs: Number.NaN }), ctx()))), 'collector_payload_format_violation');
});

test('non-tracker requests are skipped with a reason, not errors', () => {
  const skip = (r: Partial<AccessRecord>): string | undefined => {
    const out = decodeRecord({ ...get({ e: 'pv' }), ...r }, ctx());
    assert.deepEqual([out.events.length, out.bad.length], [0, 0]);
    return out.skipped;
  };
  assert.equal(skip({ path: '/favicon.ico' }), 'not_tracker_path');
  assert.equal(skip({ path: '/i/' }), 'not_tracker_path');
  assert.equal(skip({ path: undefined }), 'not_tracker_path');
  assert.equal(skip({ path: TP2, method: 'OPTIONS' }), 'preflight');
  assert.equal(skip({ method: 'HEAD' }), 'head_request');
  assert.equal(skip({ method: 'POST' }), 'method_not_allowed');
  assert.equal(skip({ path: TP2, method: 'PUT' }), 'method_not_allowed');
  assert.equal(skip({ status: 404 }), 'http_error_status');
  assert.equal(skip({ status: 413 }), 'http_error_status');
  assert.equal(decodeRecord(get({ e: 'pv' }, { status: 499 }), ctx()).events.length, 1, 'client-closed 499 still reached nginx');
  assert.equal(decodeRecord(get({ e: 'pv' }, { method: 'get' }), ctx()).events.length, 1);
});

test('decodeLine: parser failures become bad rows; good lines decode with the line as context', () => {
  const parser: LineParser = (line) => {
    if (line.length > 50) return { ok: false, reason: 'line_too_long', message: 'line is longer than maxLineBytes (50 bytes)' };
    if (!line.startsWith('GET ')) return { ok: false, reason: 'line_malformed', message: 'no request line' };
    return { ok: true, record: get(line.slice(4)) };
  };
  const good = decodeLine('GET e=pv', parser, { offset: 7, now: () => NOW });
  assert.equal(good.events.length, 1);
  assert.equal(good.events[0]?.event_id, one(decodeRecord(get('e=pv'), { line: 'GET e=pv', offset: 7, now: () => NOW })).event_id);
  const long = onlyBad(decodeLine('x'.repeat(60), parser, { maxLineBytes: 50, now: () => NOW }));
  assert.equal(long.schema, 'iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0');
  assert.deepEqual(long.data.failure, {
    timestamp: '2024-05-01T11:01:40.000Z', maximumAllowedSizeBytes: 50, actualSizeBytes: 60, expectation: 'line is longer than maxLineBytes (50 bytes)',
  });
  assert.equal(long.data.payload, 'x'.repeat(60));
  const malformed = onlyBad(decodeLine('garbage', parser, { now: () => NOW }));
  assert.equal(badRowKind(malformed), 'collector_payload_format_violation');
  assert.match(JSON.stringify(malformed.data.failure), /line_malformed: no request line/);
});

const arbRecord: fc.Arbitrary<AccessRecord> = fc.record(
  {
    remoteAddr: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()),
    xForwardedFor: fc.oneof(fc.constant('-'), fc.string(), fc.array(fc.oneof(fc.ipV4(), fc.ipV6())).map((a) => a.join(', '))),
    timestampMs: fc.oneof(fc.integer({ min: -1e16, max: 1e16 }), fc.double()),
    method: fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'get'),
    path: fc.constantFrom('/i', '/ice.png', TP2, '/x'),
    queryString: fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.dictionary(fc.constantFrom('e', 'eid', 'p', 'tv', 'vid', 'res', 'dtm', 'stm', 'ttm', 'cx', 'co', 'ue_pr', 'ue_px', 'url', 'refr', 'se_va', 'cookie', 'ip', 'sid', 'tid', 'pp_mix'), fc.string({ unit: 'binary' })).map(qs),
    ),
    requestBody: fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.json(),
      fc.array(fc.dictionary(fc.constantFrom('e', 'p', 'tv', 'eid', 'vid', 'cx', 'ue_px', 'dtm'), fc.oneof(fc.string(), fc.jsonValue()))).map((data) => JSON.stringify({ schema: PAYLOAD_DATA, data })),
    ),
    status: fc.integer({ min: 100, max: 599 }),
    referer: fc.string({ unit: 'binary' }),
    userAgent: fc.string({ unit: 'binary' }),
    cookieSp: fc.string(),
    cookieHeader: fc.string(),
  },
  { requiredKeys: [] },
);

test('property: decodeRecord never throws, and every input yields events, bad rows or a skip reason', () => {
  fc.assert(
    fc.property(arbRecord, fc.string({ unit: 'binary' }), fc.option(fc.nat()), (record, line, offset) => {
      const out = decodeRecord(record, { line, offset: offset ?? undefined, now: () => NOW });
      if (out.skipped !== undefined) return out.events.length === 0 && out.bad.length === 0;
      for (const bad of out.bad) if (badRowKind(bad) === undefined) return false;
      for (const ev of out.events) {
        if (typeof ev.event_id !== 'string' || typeof ev.collector_tstamp !== 'string') return false;
        for (const v of Object.values(ev)) if (v === undefined || v === null) return false;
      }
      return out.events.length + out.bad.length > 0;
    }),
    { numRuns: 3000 },
  );
});
