import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEscapes, decodeHexEscapes, decodeJsonEscapes, decodeUtf8, hexEscapesToJson } from './escape';
import { nginxEscapeDefault, nginxEscapeJson, readLineBytes } from './testing';

test('default escaping: \\xHH runs decode as UTF-8', () => {
  assert.equal(decodeHexEscapes('caf\\xC3\\xA9'), 'café');
  assert.equal(decodeHexEscapes('\\x22quoted\\x22 back\\x5Cslash'), '"quoted" back\\slash');
  assert.equal(decodeHexEscapes('\\xF0\\x9F\\x98\\x80 smile'), '😀 smile');
  assert.equal(decodeHexEscapes('\\xE6\\x97\\xA5\\xE6\\x9C\\xAC'), '日本');
  assert.equal(decodeHexEscapes('lower \\xc3\\xa9'), 'lower é');
  assert.equal(decodeHexEscapes('tab\\x09nl\\x0Adel\\x7F'), 'tab\tnl\ndel\x7f');
});

test('default escaping: invalid UTF-8 becomes U+FFFD per maximal subpart, like TextDecoder', () => {
  assert.equal(decodeHexEscapes('a\\xC3b'), 'a\uFFFDb');
  assert.equal(decodeHexEscapes('\\xC3\\x28'), '\uFFFD(');
  assert.equal(decodeHexEscapes('\\xE2\\x82'), '\uFFFD');
  assert.equal(decodeHexEscapes('\\xED\\xA0\\x80'), '\uFFFD\uFFFD\uFFFD'); // an encoded surrogate
  assert.equal(decodeHexEscapes('\\xC0\\xAF'), '\uFFFD\uFFFD'); // overlong '/'
  assert.equal(decodeHexEscapes('\\xF4\\x90\\x80\\x80'), '\uFFFD\uFFFD\uFFFD\uFFFD'); // above U+10FFFF
  assert.equal(decodeHexEscapes('\\xFF\\xC3\\xA9'), '\uFFFDé');
});

test('default escaping: things that are not escapes are kept as written', () => {
  assert.equal(decodeHexEscapes('no escapes'), 'no escapes');
  assert.equal(decodeHexEscapes('\\x4'), '\\x4');
  assert.equal(decodeHexEscapes('\\xZZ\\x41'), '\\xZZA');
  assert.equal(decodeHexEscapes('lone \\ and \\n'), 'lone \\ and \\n');
  assert.equal(decodeHexEscapes('\\'), '\\');
});

test('json escaping: JSON escapes, \\u00XX in either case, surrogate pairs', () => {
  assert.equal(decodeJsonEscapes('\\"1 \\\\ \\u001B\\u001c \\"2'), '"1 \\ \x1b\x1c "2');
  assert.equal(decodeJsonEscapes('a\\nb\\rc\\td\\be\\ff\\/g'), 'a\nb\rc\td\be\ff/g');
  assert.equal(decodeJsonEscapes('\\uD83D\\uDE00'), '😀');
  assert.equal(decodeJsonEscapes('raw é stays'), 'raw é stays');
  assert.equal(decodeJsonEscapes('\\\\x41'), '\\x41'); // an escaped backslash, then text
  assert.equal(decodeJsonEscapes('\\xC3\\xA9'), 'é'); // tolerated: only default escaping writes it
});

test('json escaping: unknown and truncated escapes are kept as written', () => {
  assert.equal(decodeJsonEscapes('\\q'), '\\q');
  const long = 'x'.repeat(70);
  // A long value with an escape JSON.parse rejects still decodes the tolerant way.
  assert.equal(decodeJsonEscapes(`${long}\\q\\"\\x22 "raw\n`), `${long}\\q"" "raw\n`);
  assert.equal(decodeJsonEscapes('end\\'), 'end\\');
  assert.equal(decodeJsonEscapes('\\u12'), '\\u12');
  assert.equal(decodeJsonEscapes('\\uZZZZ'), '\\uZZZZ');
});

test('decodeEscapes dispatches on the escape mode', () => {
  assert.equal(decodeEscapes('\\x22', 'default'), '"');
  assert.equal(decodeEscapes('\\"', 'json'), '"');
  assert.equal(decodeEscapes('\\x22', 'none'), '\\x22');
});

test('hexEscapesToJson turns a default-escaped JSON line into valid JSON', () => {
  const line = '{"ua":"\\x22Mozilla\\x22 caf\\xC3\\xA9 \\x5C \\x0A","body":"{\\x22a\\x22:1}"}';
  assert.deepEqual(JSON.parse(hexEscapesToJson(line)), { ua: '"Mozilla" café \\ \n', body: '{"a":1}' });
  assert.equal(hexEscapesToJson('{"a":"\\\\x41"}'), '{"a":"\\\\x41"}');
  assert.equal(hexEscapesToJson('{"a":"plain"}'), '{"a":"plain"}');
});

test('property: default escape then decode gives back any unicode string', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
      assert.equal(decodeHexEscapes(nginxEscapeDefault(s)), s);
    }),
    { numRuns: 2000 },
  );
});

test('property: json escape, line read as UTF-8, then decode gives back any unicode string', () => {
  // Long values take the native JSON.parse path, short ones the hand-written one: both covered.
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
      assert.equal(decodeJsonEscapes(readLineBytes(nginxEscapeJson(s))), s);
    }),
    { numRuns: 2000 },
  );
});

test('property: arbitrary bytes decode exactly as TextDecoder decodes them', () => {
  const decoder = new TextDecoder('utf-8');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const expected = decoder.decode(bytes);
      assert.equal(decodeUtf8(bytes, bytes.length), expected);
      assert.equal(decodeHexEscapes(nginxEscapeDefault(bytes)), expected);
    }),
    { numRuns: 3000 },
  );
});

test('property: decoders never throw on arbitrary text', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('\\', 'x', 'u', 'C', '3', 'A', '9', 'F', 'D', '8', '"', 'é', '\n'), maxLength: 200 }), (s) => {
      decodeHexEscapes(s);
      decodeJsonEscapes(s);
      hexEscapesToJson(s);
    }),
    { numRuns: 3000 },
  );
});
