/**
 * Real tracker traffic (test/fixtures/tracker, captured by `npm run capture`) decoded from every
 * nginx log format, compared field by field with what the trackers sent (sent.json, recorded on
 * the client side). No servers: only the committed fixtures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLineParser } from '../src/nginx/index';
import { decodeLine, type DecodeOutcome } from '../src/snowplow/decode';
import type { SnowplowEvent } from '../src/snowplow/event';
import type { SentFile, SentRequest } from '../scripts/capture/sent';

const REPO = resolve(__dirname, '../..');
const DIR = join(REPO, 'test/fixtures/tracker');
const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const NON_ASCII = 'Grüße ✓ 日本';

const read = (name: string) => readFileSync(join(DIR, name), 'utf8');
const linesOf = (name: string) => read(name).split('\n').filter((l) => l !== '');
const sent = JSON.parse(read('sent.json')) as SentFile;

/** The log_format directive exactly as nginx/tailplow.conf ships it. */
const SHIPPED_FORMAT = (/^log_format tailplow\b[^;]*;/m.exec(readFileSync(join(REPO, 'nginx/tailplow.conf'), 'utf8')) ?? [''])[0];
const CUSTOM_FORMAT = read('custom.format.txt').trim();

/** Formats that log everything the decoder needs (msec, X-Forwarded-For, body, sp cookie). */
const FULL_FORMATS: Array<{ file: string; format: string; label: string }> = [
  { file: 'tailplow-json.log', format: 'json', label: 'tailplow-json.log as json' },
  { file: 'tailplow-json.log', format: SHIPPED_FORMAT, label: 'tailplow-json.log as the shipped log_format' },
  { file: 'json-default-escape.log', format: 'json', label: 'json-default-escape.log as json' },
  { file: 'json-default-escape.log', format: SHIPPED_FORMAT.replace(' escape=json', ''), label: 'json-default-escape.log as its log_format' },
  { file: 'custom.log', format: CUSTOM_FORMAT, label: 'custom.log as custom.format.txt' },
];

function decodeFile(file: string, format: string): DecodeOutcome[] {
  const parser = createLineParser(format);
  return linesOf(file).map((line) => decodeLine(line, parser, { now: () => NOW, source: file }));
}

/** The request facts of each line, read straight from the escape=json log (independent of the parsers). */
interface LoggedRequest {
  method: string;
  uri: string;
  args: string;
  body: string;
  collectorMs: number;
  remoteAddr: string;
}
const logged: LoggedRequest[] = linesOf('tailplow-json.log').map((line) => {
  const j = JSON.parse(line) as Record<string, string>;
  return {
    method: j.request_method ?? '',
    uri: j.uri ?? '',
    args: j.args ?? '',
    body: j.request_body ?? '',
    collectorMs: Math.round(Number(j.msec) * 1000),
    remoteAddr: j.remote_addr ?? '',
  };
});

/** The sent request behind each log line (undefined for the CORS preflight). */
const sentByLine: Array<SentRequest | undefined> = logged.map((l) => {
  if (l.method === 'OPTIONS') return undefined;
  const matches = sent.requests.filter((r) => r.method === l.method && r.path === l.uri && r.rawQuery === l.args && (r.body ?? '') === l.body);
  assert.equal(matches.length, 1, `log line ${l.method} ${l.uri}?${l.args.slice(0, 60)} matches ${matches.length} sent requests`);
  return matches[0];
});

const reference = decodeFile('tailplow-json.log', 'json');

const iso = (ms: number) => new Date(ms).toISOString();
/** Enrich's makeTsvSafe, written out independently: tabs → four spaces, CR/LF removed. */
const tsvSafe = (v: string) => v.replace(/\t/g, '    ').replace(/[\r\n]/g, '');

const EVENT_TYPES: Record<string, string> = { pv: 'page_view', pp: 'page_ping', se: 'struct', ue: 'unstruct', tr: 'transaction', ti: 'transaction_item' };
const STRINGS: Record<string, keyof SnowplowEvent> = {
  eid: 'event_id', aid: 'app_id', p: 'platform', tv: 'v_tracker', tna: 'name_tracker', uid: 'user_id',
  duid: 'domain_userid', sid: 'domain_sessionid', page: 'page_title', refr: 'page_referrer',
  lang: 'br_lang', cs: 'doc_charset', cd: 'br_colordepth', tz: 'os_timezone',
  se_ca: 'se_category', se_ac: 'se_action', se_la: 'se_label', se_pr: 'se_property',
  tr_id: 'tr_orderid', tr_af: 'tr_affiliation', tr_ci: 'tr_city', tr_st: 'tr_state', tr_co: 'tr_country', tr_cu: 'tr_currency',
  ti_id: 'ti_orderid', ti_sk: 'ti_sku', ti_nm: 'ti_name', ti_ca: 'ti_category', ti_cu: 'ti_currency',
};
const NUMBERS: Record<string, keyof SnowplowEvent> = {
  se_va: 'se_value', tr_tt: 'tr_total', tr_tx: 'tr_tax', tr_sh: 'tr_shipping', ti_pr: 'ti_price', ti_qu: 'ti_quantity',
  vid: 'domain_sessionidx', pp_mix: 'pp_xoffset_min', pp_max: 'pp_xoffset_max', pp_miy: 'pp_yoffset_min', pp_may: 'pp_yoffset_max',
};
const DIMENSIONS: Record<string, [keyof SnowplowEvent, keyof SnowplowEvent]> = {
  res: ['dvce_screenwidth', 'dvce_screenheight'], vp: ['br_viewwidth', 'br_viewheight'], ds: ['doc_width', 'doc_height'],
};
const TIMESTAMPS: Record<string, keyof SnowplowEvent> = { dtm: 'dvce_created_tstamp', stm: 'dvce_sent_tstamp', ttm: 'true_tstamp' };

function selfDescribingData(plain: string | undefined, base64: string | undefined): unknown {
  const text = base64 !== undefined ? Buffer.from(base64, 'base64url').toString('utf8') : plain;
  return text === undefined ? undefined : (JSON.parse(text) as { data: unknown }).data;
}

function schemaParts(uri: string): { vendor: string; name: string; format: string; version: string } {
  const [vendor, name, format, version] = uri.replace(/^iglu:/, '').split('/') as [string, string, string, string];
  return { vendor, name, format, version };
}

/** What tailplow must make of one sent event, derived from the tracker parameters and request headers. */
function expectedEvent(params: Record<string, string>, request: SentRequest, line: LoggedRequest): Record<string, unknown> {
  const x: Record<string, unknown> = { event: EVENT_TYPES[params.e ?? ''] };
  for (const [k, f] of Object.entries(STRINGS)) x[f] = params[k] === undefined ? undefined : tsvSafe(params[k]);
  for (const [k, f] of Object.entries(NUMBERS)) x[f] = params[k] === undefined ? undefined : Number(params[k]);
  for (const [k, [w, h]] of Object.entries(DIMENSIONS)) {
    const m = params[k] === undefined ? null : /^(\d+)x(\d+)$/.exec(params[k]);
    x[w] = m ? Number(m[1]) : undefined;
    x[h] = m ? Number(m[2]) : undefined;
  }
  for (const [k, f] of Object.entries(TIMESTAMPS)) x[f] = params[k] === undefined ? undefined : iso(Number(params[k]));
  x.br_cookies = params.cookie === undefined ? undefined : params.cookie === '1';
  x.page_url = params.url ?? request.headers.referer;
  x.useragent = request.headers['user-agent'];
  x.user_ipaddress = params.ip ?? request.headers['x-forwarded-for']?.split(',')[0]?.trim() ?? line.remoteAddr;
  x.network_userid = params.tnuid ?? params.nuid ?? /(?:^|;\s*)sp=([^;]*)/.exec(request.headers.cookie ?? '')?.[1];
  x.collector_tstamp = iso(line.collectorMs);
  const ttm = params.ttm, dtm = params.dtm, stm = params.stm;
  x.derived_tstamp = iso(ttm !== undefined ? Number(ttm) : dtm !== undefined && stm !== undefined ? line.collectorMs - (Number(stm) - Number(dtm)) : line.collectorMs);

  const unstruct = selfDescribingData(params.ue_pr, params.ue_px) as { schema: string } | undefined;
  x.unstruct_event = unstruct;
  const contexts = selfDescribingData(params.co, params.cx) as unknown[] | undefined;
  x.contexts = contexts !== undefined && contexts.length > 0 ? contexts : undefined;
  const eventSchema = params.e === 'ue' && unstruct !== undefined ? schemaParts(unstruct.schema)
    : params.e === 'se' ? { vendor: 'com.google.analytics', name: 'event', format: 'jsonschema', version: '1-0-0' }
      : { vendor: 'com.snowplowanalytics.snowplow', name: EVENT_TYPES[params.e ?? ''] ?? '', format: 'jsonschema', version: '1-0-0' };
  x.event_vendor = eventSchema.vendor;
  x.event_name = eventSchema.name;
  x.event_format = eventSchema.format;
  x.event_version = eventSchema.version;
  return x;
}

function pick(e: SnowplowEvent, keys: string[]): Record<string, unknown> {
  const r = e as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, r[k]]));
}

test('the four logs hold the same requests in the same order, and every sent request is logged once', () => {
  const counts = ['tailplow-json.log', 'json-default-escape.log', 'combined.log', 'custom.log'].map((f) => linesOf(f).length);
  assert.deepEqual(counts, [logged.length, logged.length, logged.length, logged.length]);
  assert.ok(logged.length >= 40, `only ${logged.length} lines captured`);
  const customMsec = linesOf('custom.log').map((l) => Math.round(Number(l.split(' ')[0]) * 1000));
  assert.deepEqual(customMsec, logged.map((l) => l.collectorMs));
  const matched = sentByLine.filter((r) => r !== undefined);
  assert.equal(matched.length, sent.requests.length);
  assert.equal(new Set(matched).size, sent.requests.length);
  assert.deepEqual(logged.filter((l) => l.method === 'OPTIONS').map((l) => l.uri), ['/com.snowplowanalytics.snowplow/tp2']);
});

for (const { file, format, label } of FULL_FORMATS) {
  test(`${label}: no bad rows, only the CORS preflight skipped, one event per sent event`, () => {
    const outcomes = decodeFile(file, format);
    assert.equal(outcomes.length, logged.length);
    outcomes.forEach((o, i) => {
      const request = sentByLine[i];
      assert.deepEqual(o.bad, [], `line ${i + 1} gave bad rows`);
      if (request === undefined) {
        assert.equal(o.skipped, 'preflight', `line ${i + 1}`);
        assert.equal(o.events.length, 0);
      } else {
        assert.equal(o.skipped, undefined, `line ${i + 1}`);
        assert.equal(o.events.length, request.events.length, `line ${i + 1}: ${request.method} ${request.path}`);
      }
    });
  });

  test(`${label}: events identical to tailplow-json.log decoded as json`, () => {
    const outcomes = decodeFile(file, format);
    outcomes.forEach((o, i) => assert.deepStrictEqual(o.events, reference[i]?.events, `line ${i + 1}`));
  });
}

test('decoded events match what each tracker sent, field by field', () => {
  let compared = 0;
  const typesSeen = new Set<string>();
  reference.forEach((o, i) => {
    const request = sentByLine[i];
    if (request === undefined) return;
    o.events.forEach((event, j) => {
      const params = request.events[j] as Record<string, string>;
      const expected = expectedEvent(params, request, logged[i] as LoggedRequest);
      assert.deepStrictEqual(pick(event, Object.keys(expected)), expected, `line ${i + 1} event ${j} (${params.tna} e=${params.e} eid=${params.eid})`);
      typesSeen.add(`${request.source}:${request.method}:${params.e}`);
      compared++;
    });
  });
  assert.equal(compared, sent.requests.reduce((n, r) => n + r.events.length, 0));
  for (const kind of ['browser:GET:pv', 'browser:GET:pp', 'browser:GET:se', 'browser:GET:ue', 'browser:POST:pv', 'browser:POST:pp',
    'browser:POST:se', 'browser:POST:ue', 'node:GET:tr', 'node:GET:ti', 'node:POST:tr', 'node:POST:ti', 'replay:GET:pv']) {
    assert.ok(typesSeen.has(kind), `no ${kind} event in the capture`);
  }
});

test('non-ASCII text arrives exactly, from every tracker, GET and POST, base64 or not', () => {
  const events = reference.flatMap((o) => o.events);
  for (const tracker of Object.keys(sent.trackers)) {
    const mine = events.filter((e) => e.name_tracker === tracker);
    assert.ok(mine.some((e) => e.se_category === NON_ASCII), `${tracker}: no structured event with category ${NON_ASCII}`);
    assert.ok(mine.some((e) => e.event === 'page_view' && e.page_title?.endsWith(`— ${NON_ASCII}`)), `${tracker}: page title`);
    assert.ok(mine.some((e) => JSON.stringify(e.unstruct_event ?? null).includes(NON_ASCII)), `${tracker}: self-describing data`);
    const inContext = sent.trackers[tracker]?.kind === 'node' ? NON_ASCII : '日本';
    assert.ok(mine.some((e) => JSON.stringify(e.contexts ?? []).includes(inContext)), `${tracker}: context data`);
  }
  const browserLabel = events.find((e) => e.name_tracker === 'post64' && e.se_label !== undefined)?.se_label;
  assert.equal(browserLabel, 'line1line2    tab \\ back/slash 🚀');
  const linkTexts = events.filter((e) => e.event_name === 'link_click').map((e) => (e.unstruct_event?.data as { elementContent?: string }).elementContent);
  assert.ok(linkTexts.includes(`Weiter → ${NON_ASCII}`), `link texts: ${JSON.stringify(linkTexts)}`);
});

test('combined.log: GET events equal the full formats except what combined cannot log; POST lines are bad rows', () => {
  const outcomes = decodeFile('combined.log', 'combined');
  const missing = ['collector_tstamp', 'derived_tstamp', 'user_ipaddress', 'network_userid'];
  const without = (e: SnowplowEvent) => Object.fromEntries(Object.entries(e).filter(([k]) => !missing.includes(k)));
  let getEvents = 0;
  outcomes.forEach((o, i) => {
    const line = logged[i] as LoggedRequest;
    const request = sentByLine[i];
    if (request === undefined) {
      assert.equal(o.skipped, 'preflight');
      return;
    }
    if (request.method === 'POST') {
      // combined has no $request_body: the events of a POST are lost, and say so.
      assert.equal(o.events.length, 0, `line ${i + 1}`);
      assert.equal(o.bad.length, 1, `line ${i + 1}`);
      assert.match(o.bad[0]?.schema ?? '', /\/tracker_protocol_violations\//);
      return;
    }
    assert.deepEqual(o.bad, [], `line ${i + 1}`);
    const full = reference[i]?.events ?? [];
    assert.equal(o.events.length, full.length);
    o.events.forEach((e, j) => {
      const params = request.events[j] as Record<string, string>;
      assert.deepStrictEqual(without(e), without(full[j] as SnowplowEvent), `line ${i + 1}`);
      // $time_local has whole seconds; no X-Forwarded-For and no sp cookie in combined.
      assert.equal(e.collector_tstamp, iso(Math.floor(line.collectorMs / 1000) * 1000));
      assert.equal(e.user_ipaddress, params.ip ?? line.remoteAddr);
      assert.equal(e.network_userid, params.tnuid ?? params.nuid);
      getEvents++;
    });
  });
  assert.equal(getEvents, sent.requests.filter((r) => r.method === 'GET').reduce((n, r) => n + r.events.length, 0));
});
