import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LogFormatError, compileLogFormat, readLogFormatText } from './logformat';
import { COMBINED_FORMAT, MAIN_FORMAT } from './formats';
import type { AccessRecord, LineParseResult } from './record';
import { renderLogLine } from './testing';

function record(result: LineParseResult): AccessRecord {
  assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
  return result.record;
}

function failure(result: LineParseResult) {
  assert.ok(!result.ok, `expected a failure, got ${JSON.stringify(result)}`);
  return result;
}

const combined = compileLogFormat(COMBINED_FORMAT, 'combined').parse;
const main = compileLogFormat(MAIN_FORMAT, 'main').parse;

test('readLogFormatText: raw text, nginx.conf quoting, escape=, a whole directive', () => {
  assert.deepEqual(readLogFormatText('$remote_addr "$request"'), { escape: 'default', body: '$remote_addr "$request"' });
  assert.deepEqual(readLogFormatText("'$remote_addr - $remote_user [$time_local] '\n    '\"$request\" $status'"), {
    escape: 'default', body: '$remote_addr - $remote_user [$time_local] "$request" $status',
  });
  assert.deepEqual(readLogFormatText("escape=json '{\"uri\":\"$uri\",' '\"args\":\"$args\"}'"), { escape: 'json', body: '{"uri":"$uri","args":"$args"}' });
  assert.deepEqual(readLogFormatText('escape=none $uri?$args'), { escape: 'none', body: '$uri?$args' });
  assert.deepEqual(readLogFormatText(`log_format tracking escape=json '{"a":"$uri",' # comment\n  "\\"b\\":\\"$args\\"}";`), {
    escape: 'json', body: '{"a":"$uri","b":"$args"}',
  });
  assert.deepEqual(readLogFormatText("'tab\\there'"), { escape: 'default', body: 'tab\there' });
  assert.deepEqual(readLogFormatText('"$request" $status'), { escape: 'default', body: '"$request" $status' });
});

test('formats that cannot be compiled throw LogFormatError naming the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['combnied', /no \$variables.*builtin/],
    ['$status$body_bytes_sent', /\$status directly followed by \$body_bytes_sent/],
    ['escape=yaml $uri', /escape must be one of default, json, none/],
    ["'$uri", /unterminated single-quoted/],
    ['$uri ${args', /without a closing/],
    ['$uri $ x', /without a valid variable name/],
    ['${a-b} x', /without a valid variable name/],
  ];
  for (const [format, message] of cases) {
    assert.throws(() => compileLogFormat(format), (e: unknown) => e instanceof LogFormatError && message.test(e.message), format);
  }
});

test('combined: a tracker GET with IPv6, escapes and multi-byte UTF-8', () => {
  const line = '2001:db8::1 - - [10/Oct/2000:13:55:36 -0700] "GET /i?e=pv&page=Caf%C3%A9 HTTP/1.1" 200 43 ' +
    '"https://example.com/caf\\xC3\\xA9" "Mozilla/5.0 \\x22quoted\\x22 \\xE6\\x97\\xA5 \\xC3"';
  assert.deepEqual(record(combined(line)), {
    remoteAddr: '2001:db8::1',
    timestampMs: Date.UTC(2000, 9, 10, 20, 55, 36),
    method: 'GET',
    path: '/i',
    queryString: 'e=pv&page=Caf%C3%A9',
    status: 200,
    bodyBytesSent: 43,
    referer: 'https://example.com/café',
    userAgent: 'Mozilla/5.0 "quoted" 日 \uFFFD',
  });
});

test('combined: HEAD and POST, a remote user, - values', () => {
  const head = record(combined('127.0.0.1 - alice [01/Jan/2026:00:00:00 +0000] "HEAD /i HTTP/1.1" 200 0 "-" "-"'));
  assert.deepEqual(head, { remoteAddr: '127.0.0.1', timestampMs: Date.UTC(2026, 0, 1), method: 'HEAD', path: '/i', status: 200, bodyBytesSent: 0, extra: { remote_user: 'alice' } });
  const post = record(combined('10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "POST /com.snowplowanalytics.snowplow/tp2 HTTP/2.0" 200 2 "-" "curl/8.5.0"'));
  assert.equal(post.method, 'POST');
  assert.equal(post.path, '/com.snowplowanalytics.snowplow/tp2');
  assert.equal(post.queryString, undefined);
  assert.equal(post.userAgent, 'curl/8.5.0');
});

test('combined: TLS bytes on a plain port and an empty request are records without method/path', () => {
  const tls = record(combined('198.51.100.9 - - [01/Jan/2026:00:00:00 +0000] "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03" 400 157 "-" "-"'));
  assert.equal(tls.method, undefined);
  assert.equal(tls.path, undefined);
  assert.equal(tls.status, 400);
  assert.equal(tls.extra?.request, '\x16\x03\x01\x02\x00\x01\x00\x01\uFFFD\x03\x03');
  const empty = record(combined('198.51.100.9 - - [01/Jan/2026:00:00:00 +0000] "" 400 0 "-" "-"'));
  assert.deepEqual(empty, { remoteAddr: '198.51.100.9', timestampMs: Date.UTC(2026, 0, 1), status: 400, bodyBytesSent: 0 });
});

test('main: combined plus an X-Forwarded-For chain', () => {
  const r = record(main('10.0.0.2 - - [01/Jan/2026:00:00:00 +0000] "GET /i?e=pv HTTP/1.1" 200 43 "-" "UA" "203.0.113.7, 2001:db8::2, 10.0.0.1"'));
  assert.equal(r.xForwardedFor, '203.0.113.7, 2001:db8::2, 10.0.0.1');
  assert.equal(r.remoteAddr, '10.0.0.2');
});

test('lines that do not match say which format, where, and what was expected', () => {
  const mainLine = '10.0.0.2 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 43 "-" "UA" "1.1.1.1"';
  const trailing = failure(combined(mainLine));
  assert.equal(trailing.reason, 'line_malformed');
  const column = mainLine.indexOf(' "1.1.1.1"') + 1;
  assert.equal(trailing.message, `line does not match log_format combined: expected the end of the line (the format ends here) at column ${column}, found " \\"1.1.1.1\\""`);
  const json = failure(combined('{"msec":"1700000000.123","uri":"/i"}'));
  assert.match(json.message, /log_format combined: expected \$remote_addr followed by " - " at column 1/);
  const cut = failure(combined('10.0.0.2 - - [01/Jan/2026:00:00:00 +0000] "GET /i?e=pv HTT'));
  assert.match(cut.message, /expected \$request followed by "\\" " at column 44/);
  assert.equal(failure(combined('')).reason, 'line_malformed');
});

test('a custom format: ${var}, unquoted $time_local (contains a space), extras, a trailing variable', () => {
  const parse = compileLogFormat('${time_local} $host "$request" $status ${request_time}s $upstream_addr $http_x_forwarded_for').parse;
  const r = record(parse('01/Jan/2026:00:00:00 +0000 t.example.com "GET /i?e=pv HTTP/1.1" 200 0.003s 127.0.0.1:8080 203.0.113.7, 10.0.0.1'));
  assert.deepEqual(r, {
    timestampMs: Date.UTC(2026, 0, 1), host: 't.example.com', method: 'GET', path: '/i', queryString: 'e=pv', status: 200,
    xForwardedFor: '203.0.113.7, 10.0.0.1', extra: { request_time: '0.003', upstream_addr: '127.0.0.1:8080' },
  });
});

test('a text format with escape=json: escaped quotes inside values do not end them', () => {
  const parse = compileLogFormat('escape=json $remote_addr "$request" "$http_user_agent" $request_body').parse;
  const r = record(parse('1.2.3.4 "POST /tp2 HTTP/1.1" "say \\"hi\\" \\\\" {\\"a\\":\\"\\u0001\\"}'));
  assert.equal(r.userAgent, 'say "hi" \\');
  assert.equal(r.requestBody, '{"a":"\x01"}');
  assert.equal(r.path, '/tp2');
});

test('escape=json: multi-byte UTF-8 is raw in the line; invalid bytes arrive as U+FFFD from the line reader', () => {
  const body = '$uri "$http_user_agent" "$http_referer"';
  const parse = compileLogFormat(`escape=json '${body}'`).parse;
  const line = renderLogLine(body, 'json', { uri: '/i', http_user_agent: 'Käse 日本 😀 "q"', http_referer: Uint8Array.from([0x61, 0xc3, 0x28, 0xff, 0x62]) });
  assert.deepEqual(record(parse(line)), { path: '/i', userAgent: 'Käse 日本 😀 "q"', referer: 'a\uFFFD(\uFFFDb' });
});

test('the recommended tailplow JSON format compiles too (escape=json)', () => {
  const parse = compileLogFormat(
    `escape=json '{"msec":"$msec","remote_addr":"$remote_addr",' '"request_method":"$request_method","uri":"$uri","args":"$args",' '"request_body":"$request_body","cookie_sp":"$cookie_sp"}'`,
  ).parse;
  const r = record(parse('{"msec":"1700000000.123","remote_addr":"::1","request_method":"GET","uri":"/i","args":"e=pv&x=\\"y\\"","request_body":"","cookie_sp":""}'));
  assert.deepEqual(r, { timestampMs: 1700000000123, remoteAddr: '::1', method: 'GET', path: '/i', queryString: 'e=pv&x="y"' });
});

test('a format without any request variable: every line is line_missing_request', () => {
  const compiled = compileLogFormat('$remote_addr $status');
  assert.equal(compiled.carriesRequest, false);
  assert.equal(failure(compiled.parse('1.2.3.4 200')).reason, 'line_missing_request');
  assert.equal(compileLogFormat(COMBINED_FORMAT).carriesRequest, true);
});

test('a one-megabyte request parses', () => {
  const query = 'e=pv&x=' + 'a'.repeat(1_000_000);
  const r = record(combined(`1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /i?${query} HTTP/1.1" 200 43 "-" "-"`));
  assert.equal(r.queryString, query);
});

// ---- properties ----

const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => s !== '-');
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), { minLength: 8, maxLength: 8 }).map((p) => p.join(':'));
const pathArb = fc.stringMatching(/^\/[A-Za-z0-9._~%\/-]{0,20}$/);
// '-' alone is nginx's "not set" and reads back as absent.
const queryArb = fc.stringMatching(/^[A-Za-z0-9=&%+._~-]{1,40}$/).filter((q) => q !== '-');
const methodArb = fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS');
const msecArb = fc.integer({ min: 0, max: 4_102_444_800_000 });

const generated = fc.record({
  remoteAddr: fc.oneof(ipv4, ipv6),
  method: methodArb,
  path: pathArb,
  queryString: fc.option(queryArb, { nil: undefined }),
  status: fc.integer({ min: 100, max: 599 }),
  bodyBytesSent: fc.nat(),
  referer: fc.option(text, { nil: undefined }),
  userAgent: fc.option(text, { nil: undefined }),
  xForwardedFor: fc.option(fc.array(fc.oneof(ipv4, ipv6), { minLength: 1, maxLength: 3 }).map((a) => a.join(', ')), { nil: undefined }),
  requestBody: fc.option(text, { nil: undefined }),
  cookieSp: fc.option(fc.uuid(), { nil: undefined }),
  timestampMs: msecArb,
});

function expected(g: Record<string, unknown>): AccessRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(g)) if (v !== undefined) out[k] = v;
  return out as AccessRecord;
}

function nginxValues(g: Record<string, unknown>): Record<string, string | undefined> {
  const msec = g['timestampMs'] as number;
  return {
    remote_addr: g['remoteAddr'] as string,
    msec: `${Math.floor(msec / 1000)}.${String(msec % 1000).padStart(3, '0')}`,
    request: `${g['method']} ${g['path']}${g['queryString'] === undefined ? '' : '?' + g['queryString']} HTTP/1.1`,
    request_method: g['method'] as string,
    uri: g['path'] as string,
    args: g['queryString'] as string | undefined,
    status: String(g['status']),
    body_bytes_sent: String(g['bodyBytesSent']),
    http_referer: g['referer'] as string | undefined,
    http_user_agent: g['userAgent'] as string | undefined,
    http_x_forwarded_for: g['xForwardedFor'] as string | undefined,
    request_body: g['requestBody'] as string | undefined,
    cookie_sp: g['cookieSp'] as string | undefined,
  };
}

const TEXT_FORMAT = '$remote_addr [$msec] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" "$request_body" $cookie_sp';
const JSON_TEXT_FORMAT = '{"msec":"$msec","remote_addr":"$remote_addr","http_x_forwarded_for":"$http_x_forwarded_for","request_method":"$request_method","uri":"$uri","args":"$args","request_body":"$request_body","status":"$status","body_bytes_sent":"$body_bytes_sent","http_referer":"$http_referer","http_user_agent":"$http_user_agent","cookie_sp":"$cookie_sp"}';

test('property: a custom default-escaped format round-trips generated records', () => {
  const parse = compileLogFormat(TEXT_FORMAT).parse;
  fc.assert(
    fc.property(generated, (g) => {
      const line = renderLogLine(TEXT_FORMAT, 'default', nginxValues(g));
      assert.deepEqual(record(parse(line)), expected(g));
    }),
    { numRuns: 1000 },
  );
});

test('property: an escape=json format round-trips generated records', () => {
  const parse = compileLogFormat(`escape=json ${JSON_TEXT_FORMAT}`).parse;
  fc.assert(
    fc.property(generated, (g) => {
      const line = renderLogLine(JSON_TEXT_FORMAT, 'json', nginxValues(g));
      assert.deepEqual(record(parse(line)), expected(g));
    }),
    { numRuns: 1000 },
  );
});

test('property: compiled parsers never throw, whatever the line', () => {
  const parsers = [combined, main, compileLogFormat(`escape=json ${JSON_TEXT_FORMAT}`).parse, compileLogFormat('escape=none $time_iso8601$remote_addr "$request"').parse];
  const lines = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: fc.constantFrom(' ', '"', '-', '[', ']', '\\', 'x', '2', '/', '$', '{', '}', ':'), maxLength: 120 }),
    fc.uint8Array({ maxLength: 200 }).map((b) => new TextDecoder().decode(b)),
  );
  fc.assert(
    fc.property(lines, (line) => {
      for (const parse of parsers) {
        const result = parse(line);
        assert.equal(typeof result.ok, 'boolean');
      }
    }),
    { numRuns: 3000 },
  );
});
