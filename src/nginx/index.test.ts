import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MAX_LINE_BYTES, LogFormatError, createLineParser, isBuiltinFormat } from './index';
import { createJsonLineParser } from './json';

const COMBINED_LINE = '203.0.113.7 - - [01/Jan/2026:00:00:00 +0000] "GET /i?e=pv HTTP/1.1" 200 43 "-" "UA"';
const JSON_LINE = '{"msec":"1767225600.000","remote_addr":"203.0.113.7","request_method":"GET","uri":"/i","args":"e=pv","status":"200","body_bytes_sent":"43","http_user_agent":"UA"}';
const EXPECTED = { remoteAddr: '203.0.113.7', timestampMs: Date.UTC(2026, 0, 1), method: 'GET', path: '/i', queryString: 'e=pv', status: 200, bodyBytesSent: 43, userAgent: 'UA' };

test('createLineParser: builtin names and log_format strings give the same record', () => {
  assert.deepEqual(createLineParser('combined')(COMBINED_LINE), { ok: true, record: EXPECTED });
  assert.deepEqual(createLineParser('main')(COMBINED_LINE + ' "-"'), { ok: true, record: EXPECTED });
  assert.deepEqual(createLineParser('json')(JSON_LINE), { ok: true, record: EXPECTED });
  const custom = createLineParser(`'$remote_addr - $remote_user [$time_local] ' '"$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'`);
  assert.deepEqual(custom(COMBINED_LINE), { ok: true, record: EXPECTED });
});

test('a trailing carriage return is ignored', () => {
  assert.deepEqual(createLineParser('combined')(COMBINED_LINE + '\r'), { ok: true, record: EXPECTED });
  assert.deepEqual(createLineParser('json')(JSON_LINE + '\r'), { ok: true, record: EXPECTED });
});

test('isBuiltinFormat', () => {
  assert.equal(isBuiltinFormat('json'), true);
  assert.equal(isBuiltinFormat('combined'), true);
  assert.equal(isBuiltinFormat('main'), true);
  assert.equal(isBuiltinFormat('$remote_addr'), false);
  assert.equal(isBuiltinFormat('JSON'), false);
});

test('a format that cannot be compiled throws LogFormatError when the parser is created', () => {
  assert.throws(() => createLineParser('jsno'), LogFormatError);
});

test('maxLineBytes: longer lines are line_too_long, counted in UTF-8 bytes', () => {
  const parse = createLineParser('json', { maxLineBytes: 100 });
  const ascii = `{"uri":"/i","args":"${'a'.repeat(100)}"}`;
  const tooLong = parse(ascii);
  assert.ok(!tooLong.ok && tooLong.reason === 'line_too_long' && tooLong.message.includes('100 bytes'), JSON.stringify(tooLong));
  // 40 characters but 120 bytes.
  const wide = `{"uri":"/i","args":"${'€'.repeat(30)}"}`;
  assert.equal(wide.length < 100, true);
  assert.equal(parse(wide).ok, false);
  assert.equal(parse(`{"uri":"/i","args":"${'€'.repeat(20)}"}`).ok, true);
});

test('the default limit is 1 MiB: a 1 MB line parses, a 2 MB line is refused', () => {
  assert.equal(DEFAULT_MAX_LINE_BYTES, 1024 * 1024);
  const parse = createLineParser('combined');
  const line = (n: number) => `1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /i?x=${'b'.repeat(n)} HTTP/1.1" 200 43 "-" "-"`;
  const oneMb = parse(line(1_000_000));
  assert.ok(oneMb.ok && oneMb.record.queryString?.length === 1_000_002);
  const twoMb = parse(line(2_000_000));
  assert.ok(!twoMb.ok && twoMb.reason === 'line_too_long');
});

test('binary garbage is a failure result, never an exception', () => {
  const garbage = new TextDecoder().decode(Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) % 256));
  for (const format of ['json', 'combined', 'main']) {
    const result = createLineParser(format)(garbage);
    assert.equal(result.ok, false, format);
  }
});

test('property: the JSON parser never throws on arbitrary strings or bytes', () => {
  const parse = createJsonLineParser();
  const keys = fc.constantFrom('uri', '$request', 'msec', 'time', 'status', 'request_body', 'x', '__proto__', 'constructor');
  const values = fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.nat()), fc.constant('\\x'));
  const lines = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((b) => new TextDecoder().decode(b)),
    fc.dictionary(keys, values).map((o) => JSON.stringify(o)),
    fc.dictionary(keys, values).map((o) => JSON.stringify(o).replace(/\\"/g, '\\x22').replace(/\\\\/g, '\\x5C')),
    fc.string({ unit: fc.constantFrom('{', '}', '"', ':', ',', '\\', 'x', '2', 'u', '0'), maxLength: 80 }),
  );
  fc.assert(
    fc.property(lines, (line) => {
      const result = parse(line);
      assert.equal(typeof result.ok, 'boolean');
      if (result.ok) assert.equal(typeof result.record, 'object');
    }),
    { numRuns: 3000 },
  );
});
