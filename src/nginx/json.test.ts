import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJsonLineParser } from './json';
import type { LineParseResult } from './record';

const parse = createJsonLineParser();

function record(result: LineParseResult) {
  assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
  return result.record;
}

test('the recommended tailplow format (escape=json)', () => {
  const line =
    '{"msec":"1700000000.123","remote_addr":"10.0.0.1","http_x_forwarded_for":"203.0.113.7, 10.1.1.1",' +
    '"request_method":"POST","uri":"/com.snowplowanalytics.snowplow/tp2","args":"",' +
    '"request_body":"{\\"schema\\":\\"iglu:x\\",\\"data\\":[{\\"e\\":\\"pv\\",\\"page\\":\\"Caf\u00e9\\"}]}","status":"200",' +
    '"body_bytes_sent":"43","http_referer":"https://www.example.com/","http_user_agent":"Mozilla/5.0 (X11)",' +
    '"host":"collector.example.com","scheme":"https","cookie_sp":"6f1f8d9a-1c2b-4c3d-9e8f-0a1b2c3d4e5f"}';
  assert.deepEqual(record(parse(line)), {
    timestampMs: 1700000000123,
    remoteAddr: '10.0.0.1',
    xForwardedFor: '203.0.113.7, 10.1.1.1',
    method: 'POST',
    path: '/com.snowplowanalytics.snowplow/tp2',
    requestBody: '{"schema":"iglu:x","data":[{"e":"pv","page":"Café"}]}',
    status: 200,
    bodyBytesSent: 43,
    referer: 'https://www.example.com/',
    userAgent: 'Mozilla/5.0 (X11)',
    host: 'collector.example.com',
    scheme: 'https',
    cookieSp: '6f1f8d9a-1c2b-4c3d-9e8f-0a1b2c3d4e5f',
  });
});

test("the blog series' tracking format: time, size, query_string, server_name", () => {
  const line =
    '{"remote_addr":"2001:db8::7","scheme":"http","msec":"1700000000.500","host":"","server_name":"t.example.org",' +
    '"time":"2023-11-14T22:13:20+00:00","status":"200","size":"43","query_string":"e=pv&aid=site",' +
    '"request_body":"","uri":"/i"}';
  assert.deepEqual(record(parse(line)), {
    remoteAddr: '2001:db8::7',
    scheme: 'http',
    timestampMs: 1700000000500,
    host: 't.example.org',
    status: 200,
    bodyBytesSent: 43,
    queryString: 'e=pv&aid=site',
    path: '/i',
  });
  // Without msec the `time` key gives the timestamp.
  assert.equal(record(parse('{"time":"2023-11-14T22:13:20+00:00","uri":"/i"}')).timestampMs, 1700000000000);
});

test('$-prefixed keys, JSON numbers, request and request_uri', () => {
  const r = record(parse('{"$remote_addr":"1.2.3.4","$status":304,"$body_bytes_sent":0,"$request":"HEAD /i?e=pp HTTP/1.1","$msec":1700000000.25}'));
  assert.deepEqual(r, { remoteAddr: '1.2.3.4', status: 304, bodyBytesSent: 0, method: 'HEAD', path: '/i', queryString: 'e=pp', timestampMs: 1700000000250 });
  const u = record(parse('{"request_method":"GET","request_uri":"/i?e=se&se_ca=c","uri":"/rewritten","args":"x=1"}'));
  assert.deepEqual(u, { method: 'GET', path: '/i', queryString: 'e=se&se_ca=c' });
});

test('msec wins over time_iso8601 and time_local', () => {
  const r = record(parse('{"time_local":"10/Oct/2000:13:55:36 -0700","time_iso8601":"2000-10-10T13:55:36-07:00","msec":"971211336.789","uri":"/i"}'));
  assert.equal(r.timestampMs, 971211336789);
  assert.equal(record(parse('{"time_local":"10/Oct/2000:13:55:36 -0700","uri":"/i"}')).timestampMs, 971211336000);
});

test("'-' and '' mean absent; unknown keys and unreadable values go to extra as strings", () => {
  const r = record(parse('{"uri":"/i","http_referer":"-","http_user_agent":"","request_time":0.002,"upstream":null,"geo":{"cc":"DE"},"status":"abc","msec":"soon"}'));
  assert.deepEqual(r, { path: '/i', extra: { request_time: '0.002', geo: '{"cc":"DE"}', status: 'abc', msec: 'soon' } });
});

test('http_cookie and cookie_sp', () => {
  const r = record(parse('{"uri":"/i","http_cookie":"sp=abc; _ga=GA1.2","cookie_sp":"abc"}'));
  assert.equal(r.cookieHeader, 'sp=abc; _ga=GA1.2');
  assert.equal(r.cookieSp, 'abc');
});

test('a request body logged unquoted (a JSON object) comes back as JSON text', () => {
  const r = record(parse('{"uri":"/com.snowplowanalytics.snowplow/tp2","request_body":{"schema":"s","data":[{"e":"pv"}]}}'));
  assert.equal(r.requestBody, '{"schema":"s","data":[{"e":"pv"}]}');
});

test('a JSON log_format written without escape=json: \\xHH inside strings', () => {
  const line = '{"msec":"1700000000.000","uri":"/i","args":"e=pv","http_user_agent":"\\x22Bot\\x22 caf\\xC3\\xA9 \\x5C \\xFF","request_body":"{\\x22e\\x22:\\x22pv\\x22}"}';
  const r = record(parse(line));
  assert.equal(r.userAgent, '"Bot" café \\ \uFFFD');
  assert.equal(r.requestBody, '{"e":"pv"}');
});

test('truncated and invalid JSON is line_json_invalid with a message saying which', () => {
  const truncated = parse('{"msec":"1700000000.123","remote_addr":"1.2.3.4","ur');
  assert.equal(truncated.ok, false);
  assert.ok(!truncated.ok && truncated.reason === 'line_json_invalid' && /truncated/.test(truncated.message), JSON.stringify(truncated));
  for (const bad of ['', 'not json', '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"', '{"a":"\\q"}', '{"a":"\\x4"}']) {
    const result = parse(bad);
    assert.ok(!result.ok && result.reason === 'line_json_invalid', `${JSON.stringify(bad)} -> ${JSON.stringify(result)}`);
  }
});

test('JSON that is not an object is line_json_invalid', () => {
  for (const [line, kind] of [['[1,2]', 'an array'], ['null', 'null'], ['"x"', 'a string'], ['42', 'a number']] as const) {
    const result = parse(line);
    assert.ok(!result.ok && result.reason === 'line_json_invalid' && result.message.includes(kind), JSON.stringify(result));
  }
});

test('an object without any request key is line_missing_request; empty request keys are not', () => {
  const missing = parse('{"remote_addr":"1.2.3.4","status":"200"}');
  assert.ok(!missing.ok && missing.reason === 'line_missing_request' && missing.message.includes('$request_uri'), JSON.stringify(missing));
  assert.deepEqual(record(parse('{"remote_addr":"1.2.3.4","uri":"","args":""}')), { remoteAddr: '1.2.3.4' });
});

test('a $request that is not a request line (TLS on a plain port) leaves method and path unset', () => {
  const r = record(parse('{"remote_addr":"1.2.3.4","request":"\\u0016\\u0003\\u0001\\u0000\u00a5","status":"400"}'));
  assert.deepEqual(r, { remoteAddr: '1.2.3.4', status: 400, extra: { request: '\x16\x03\x01\x00\u00a5' } });
});

test('the parser keeps no state between lines', () => {
  record(parse('{"uri":"/a","http_referer":"https://r/","foo":"bar"}'));
  assert.deepEqual(record(parse('{"uri":"/b"}')), { path: '/b' });
  parse('{"uri":"/a","foo":"bar","status":"x","msec":"');
  assert.deepEqual(record(parse('{"uri":"/c"}')), { path: '/c' });
});
