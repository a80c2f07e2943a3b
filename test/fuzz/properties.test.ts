/**
 * Property-based fuzzing (fast-check) of the line parsers, the log_format compiler, the
 * query-string / base64 / JSON decoders and the config loader; the invariants are in targets.ts.
 *
 * Bounded for CI: a fixed number of runs per property (TAILPLOW_FUZZ_RUNS, default 200), the
 * whole file in a few seconds. TAILPLOW_FUZZ_SECONDS=N runs each property for N seconds instead.
 * A failure prints fast-check's seed and path; TAILPLOW_FUZZ_SEED=<seed> replays it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COMBINED_FORMAT, createLineParser } from '../../src/nginx';
import { nginxEscapeDefault, renderLogLine } from '../../src/nginx/testing';
import { decodeComponent, parseQueryString } from '../../src/snowplow/querystring';
import { decodeHexEscapes, decodeJsonEscapes } from '../../src/nginx/escape';
import { nginxEscapeJson } from '../../src/nginx/testing';
import { CUSTOM_FORMAT, fixtureLines, TARGETS } from './targets';

const seconds = Number(process.env.TAILPLOW_FUZZ_SECONDS ?? 0);
const runs = Number(process.env.TAILPLOW_FUZZ_RUNS ?? 200);
const seed = process.env.TAILPLOW_FUZZ_SEED === undefined ? undefined : Number(process.env.TAILPLOW_FUZZ_SEED);

function params(): fc.Parameters<unknown> {
  const p: fc.Parameters<unknown> = seconds > 0 ? { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false } : { numRuns: runs };
  if (seed !== undefined) p.seed = seed;
  return p;
}

/** fast-check's report (seed, path, counterexample) is the assertion message. */
function check<T>(arb: fc.Arbitrary<T>, predicate: (x: T) => void): void {
  fc.assert(fc.property(arb, predicate), params() as fc.Parameters<[T]>);
}

const fixtures = fixtureLines();

/** Characters that matter to the parsers: quotes, escapes, separators, percent and base64 text. */
const interesting = fc.constantFrom('"', '\\', '\\x', '\\x22', '\\u00', '%', '%2', '%zz', '&', '=', '?', ' ', '\t', '[', ']', '{', '}', ',', ':', '-', '\r', '\n', '\u0000', '\uFFFD', '\uD800', 'é', '日本', '/i', '/com.snowplowanalytics.snowplow/tp2', 'ue_px=', 'cx=', 'co=', 'ue_pr=', 'e=ue', 'e=pv', 'POST', 'OPTIONS', '+', '==');
const anyText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), interesting);

/** A fixture line with a few edits: insert, delete, replace, truncate. */
function mutated(seedLines: string[]): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.nat({ max: 40 }), anyText);
  return fc.tuple(fc.constantFrom(...seedLines), fc.array(edit, { minLength: 1, maxLength: 6 }), fc.boolean()).map(([line, edits, truncate]) => {
    let s = line;
    for (const [at, del, ins] of edits) {
      const p = at % (s.length + 1);
      s = s.slice(0, p) + ins + s.slice(p + del);
    }
    return truncate ? s.slice(0, s.length >> 1) : s;
  });
}

/** Percent-encodes the UTF-8 bytes of any string (encodeURIComponent refuses lone surrogates). */
const pctEncode = (s: string) => Buffer.from(s, 'utf8').toString('latin1').replace(/[^A-Za-z0-9\-_.~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
const base64 = (s: string, url: boolean) => {
  const b = Buffer.from(s, 'utf8').toString(url ? 'base64url' : 'base64');
  return url ? b : b.replace(/=+$/, '');
};
const jsonish = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.record({ schema: fc.constantFrom('iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0', 'iglu:x/y/jsonschema/1-0-0', 'nope'), data: fc.jsonValue({ maxDepth: 3 }) }).map((v) => JSON.stringify(v)),
  fc.string(),
);
/** A tracker query string: known parameters with odd values, ue_px/cx as base64 of (mostly) JSON. */
const trackerQuery = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom('e', 'p', 'tv', 'aid', 'eid', 'duid', 'sid', 'vid', 'url', 'refr', 'page', 'res', 'dtm', 'stm', 'ttm', 'tz', 'se_ca', 'se_va', 'tr_tt', 'ti_qu', 'ip', 'ua', 'cd', 'cookie', 'f_pdf', 'nuid'), anyText),
      fc.tuple(fc.constantFrom('ue_px', 'cx'), fc.tuple(jsonish, fc.boolean()).map(([j, url]) => base64(j, url))),
      fc.tuple(fc.constantFrom('ue_pr', 'co'), jsonish),
    ),
    { maxLength: 12 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${pctEncode(v)}`).join('&'));

/** A line in a given format, rendered as nginx would, around a generated tracker request. */
function renderedLine(body: string, escape: 'default' | 'json'): fc.Arbitrary<string> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS'),
      path: fc.constantFrom('/i', '/ice.png', '/com.snowplowanalytics.snowplow/tp2', '/favicon.ico'),
      query: trackerQuery,
      body: fc.oneof(fc.constant(''), trackerQuery.map((q) => JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: [Object.fromEntries(new URLSearchParams(q))] })), anyText),
      ua: anyText,
      xff: fc.oneof(fc.constant(''), fc.ipV4(), fc.ipV6(), anyText),
      status: fc.constantFrom('200', '204', '400', '404', '499', '500'),
    })
    .map((r) =>
      renderLogLine(body, escape, {
        msec: '1795813792.353',
        time_local: '27/Nov/2026:21:09:52 +0000',
        remote_addr: '10.0.0.1',
        host: 'c.example.com',
        request: `${r.method} ${r.path}${r.query ? `?${r.query}` : ''} HTTP/1.1`,
        status: r.status,
        body_bytes_sent: '43',
        http_referer: 'https://example.com/',
        http_user_agent: r.ua,
        http_x_forwarded_for: r.xff,
        request_body: r.body,
      }),
    );
}

const JSON_BODY =
  '{"msec":"$msec","remote_addr":"$remote_addr","http_x_forwarded_for":"$http_x_forwarded_for","request":"$request","request_body":"$request_body","status":"$status","http_user_agent":"$http_user_agent"}';
const CUSTOM_BODY = CUSTOM_FORMAT;

test('json lines: fixtures mutated, generated requests, random text', () => {
  check(fc.oneof(mutated(fixtures.json), renderedLine(JSON_BODY, 'json'), renderedLine(JSON_BODY, 'default'), fc.string({ unit: 'binary' })), TARGETS['line-json']!);
});

test('combined and main lines: fixtures mutated, generated requests, random text', () => {
  check(fc.oneof(mutated(fixtures.combined), renderedLine(COMBINED_FORMAT, 'default'), fc.string({ unit: 'binary' })), TARGETS['line-combined']!);
  check(fc.oneof(mutated(fixtures.combined.map((l) => `${l} "203.0.113.7"`)), renderedLine(`${COMBINED_FORMAT} "$http_x_forwarded_for"`, 'default')), TARGETS['line-main']!);
});

test('custom log_format lines (the capture format and an escape=json one)', () => {
  check(fc.oneof(mutated(fixtures.custom), renderedLine(CUSTOM_BODY, 'default'), fc.string({ unit: 'binary' })), TARGETS['line-custom']!);
  const jsonBody = '{"msec":"$msec","remote_addr":"$remote_addr","request":"$request","status":"$status","request_body":"$request_body","http_user_agent":"$http_user_agent"}';
  check(renderedLine(jsonBody, 'json'), TARGETS['line-custom-json']!);
});

test('log_format compiler: random formats compile or throw LogFormatError; their parsers never throw', () => {
  const piece = fc.oneof(
    fc.constantFrom('$remote_addr', '$request', '$msec', '$time_local', '$time_iso8601', '$status', '${http_user_agent}', '$args', '$uri', '$request_uri', '$cookie_sp', '$http_cookie', '$request_body', '$', '${', '${x', '$1', '$x-y'),
    fc.constantFrom(' ', '"', "'", ' - ', ' [', '] ', '\\"', '{', '}', ':', ',', ';', '#', 'escape=json ', 'escape=none ', 'escape=bogus ', 'log_format x ', '\\', '\\n'),
    fc.string({ maxLength: 5 }),
  );
  const format = fc.array(piece, { minLength: 1, maxLength: 14 }).map((p) => p.join(''));
  check(fc.tuple(format, fc.array(fc.oneof(anyText, fc.constantFrom(...fixtures.custom, ...fixtures.combined)), { maxLength: 4 })), ([f, lines]) =>
    TARGETS.logformat!([f.replace(/\n/g, ' '), ...lines.map((l) => l.replace(/\n/g, ' '))].join('\n')),
  );
});

test('generated values come back exactly from the lines nginx would write (combined, custom, escape=json)', () => {
  // Quoted variables may hold any text: the escaping makes their end unambiguous.
  const value = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => s !== '-');
  const cases: Array<{ body: string; escape: 'default' | 'json'; format: string }> = [
    { body: COMBINED_FORMAT, escape: 'default', format: 'combined' },
    { body: CUSTOM_FORMAT, escape: 'default', format: CUSTOM_FORMAT },
    { body: '{"msec":"$msec","request":"$request","http_referer":"$http_referer","http_user_agent":"$http_user_agent","request_body":"$request_body"}', escape: 'json', format: 'escape=json {"msec":"$msec","request":"$request","http_referer":"$http_referer","http_user_agent":"$http_user_agent","request_body":"$request_body"}' },
  ];
  for (const c of cases) {
    const parse = createLineParser(c.format);
    check(fc.record({ ua: value, referer: value, body: value }), (v) => {
      const line = renderLogLine(c.body, c.escape, {
        msec: '1795813792.353', time_local: '27/Nov/2026:21:09:52 +0000', remote_addr: '10.0.0.1', host: 'h', request: 'GET /i?e=pv HTTP/1.1',
        status: '200', body_bytes_sent: '1', http_referer: v.referer, http_user_agent: v.ua, request_body: v.body, http_x_forwarded_for: '1.2.3.4', cookie_sp: 'x',
      });
      const r = parse(line);
      assert.ok(r.ok, `${c.format}: ${JSON.stringify(line)} -> ${r.ok ? '' : r.message}`);
      assert.equal(r.record.userAgent, v.ua);
      assert.equal(r.record.referer, v.referer);
      if (c.body.includes('$request_body')) assert.equal(r.record.requestBody, v.body);
    });
  }
});

test('query strings: any text parses or is refused for a bad %-escape; encoded pairs come back exactly', () => {
  check(fc.oneof(fc.string({ unit: 'binary' }), trackerQuery, mutated(['e=pv&url=http%3A%2F%2Fa%2Fb%3Fc%3Dd&page=Gr%C3%BC%C3%9Fe+x'])), TARGETS.querystring!);
  const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
  check(fc.array(fc.tuple(name, fc.string({ unit: 'grapheme', maxLength: 30 })), { maxLength: 8 }), (pairs) => {
    const qs = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%20/g, '+')}`).join('&');
    const r = parseQueryString(qs);
    assert.ok(r.ok);
    assert.deepEqual(r.params, pairs);
  });
  check(fc.string({ unit: 'grapheme' }), (s) => assert.equal(decodeComponent(encodeURIComponent(s)), s));
});

test('nginx escapes: any text decodes without throwing; escaped text decodes back exactly', () => {
  check(fc.oneof(fc.string({ unit: 'binary' }), fc.array(interesting).map((a) => a.join(''))), TARGETS.escape!);
  check(fc.string({ unit: 'grapheme' }), (s) => {
    assert.equal(decodeHexEscapes(nginxEscapeDefault(s)), s);
    assert.equal(decodeJsonEscapes(nginxEscapeJson(s).toString('utf8')), s);
  });
});

test('ue_pr / co / base64-decoded JSON: results, never exceptions', () => {
  check(fc.oneof(jsonish, fc.string({ unit: 'binary' }), fc.constantFrom('{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:a/b/jsonschema/1-0-0","data":{}}]}')), TARGETS.sdj!);
});

/** YAML built from config-like pieces, so many inputs get past the YAML parser into the schema. */
const yamlConfig = fc
  .array(
    fc.oneof(
      fc.constantFrom('input:', 'output:', 'kafka:', 'http:', 'stages:', 'sinks:', 'fingerprint:', 'dataDir:', 'logLevel: info', '  - type: enrich', '  - type: clickhouse', '  - type: elasticsearch', '  - type: file', '  - type: profile', '    enrichments:', '      - type: anon_ip', '      - type: pii', '      - type: geo', '  paths: [/var/log/nginx/a.log]', '  password: ${SECRET}', '  password: ${file:/x}', '  password: ${NOPE}', '  password: ${}', '  listen: 0.0.0.0:9464', '  brokers: []', '  sasl: {mechanism: plain, username: u, password: p}', '  format: combined', '  format: "$bogus"', '  format: "${x"', 'a: &a [*a]', 'a: &x {b: 1}\nc: *x', '<<: {x: 1}', '? [a, b]\n: c', '- x', '!!binary abc', '%YAML 1.2\n---', '---\n---', 'x: !!js/undefined', 'key: key: key', '  tls: {caFile: /nope}', '    salt: ${SECRET}', '    url: http://u:pw@h:8123'),
      fc.string({ maxLength: 12 }),
    ),
    { maxLength: 12 },
  )
  .map((lines) => lines.join('\n'));

test('config loader: any text gives a config or a ConfigError naming file:line', () => {
  check(fc.oneof(yamlConfig, fc.string({ unit: 'binary', maxLength: 200 })), TARGETS['config-tail']!);
  check(fc.oneof(yamlConfig, fc.string({ unit: 'binary', maxLength: 200 })), TARGETS['config-process']!);
});
