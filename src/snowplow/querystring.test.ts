import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeComponent, parseQueryString } from './querystring';

test('decodes percent-escapes, + as space and multi-byte UTF-8', () => {
  assert.equal(decodeComponent('Hello+W%C3%B6rld%21'), 'Hello Wörld!');
  assert.equal(decodeComponent('%E2%80%93%20%F0%9F%98%80'), '– 😀');
  assert.equal(decodeComponent('a%2Bb'), 'a+b');
  assert.equal(decodeComponent('plain'), 'plain');
  assert.equal(decodeComponent('already ünïcode+%41'), 'already ünïcode A');
});

test('invalid UTF-8 byte sequences become U+FFFD, as Java decoding does', () => {
  assert.equal(decodeComponent('%C3%28'), '\uFFFD(');
  assert.equal(decodeComponent('x%FFy'), 'x\uFFFDy');
});

test('a % without two hex digits is malformed', () => {
  assert.equal(decodeComponent('100%'), undefined);
  assert.equal(decodeComponent('%zz'), undefined);
  assert.equal(decodeComponent('%4'), undefined);
});

test('parseQueryString keeps order, drops valueless names, reports the parameter with a bad escape', () => {
  const r = parseQueryString('e=pv&flag&x=&url=https%3A%2F%2Fa.b%2F&e=se');
  assert.deepEqual(r, { ok: true, params: [['e', 'pv'], ['x', ''], ['url', 'https://a.b/'], ['e', 'se']] });
  assert.deepEqual(parseQueryString(''), { ok: true, params: [] });
  assert.deepEqual(parseQueryString('-'), { ok: true, params: [] });
  assert.deepEqual(parseQueryString(undefined), { ok: true, params: [] });
  assert.deepEqual(parseQueryString('a=1&&b=2&'), { ok: true, params: [['a', '1'], ['b', '2']] });
  const bad = parseQueryString('e=pv&page=50%+off');
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.equal(bad.param, 'page');
    assert.match(bad.message, /query parameter "page" has a malformed percent-escape/);
  }
});

test('property: decoding what encodeURIComponent wrote gives the original text back', () => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => decodeComponent(encodeURIComponent(s)) === s));
});

test('property: parseQueryString never throws and always answers', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const r = parseQueryString(s);
      return r.ok === true || (r.ok === false && typeof r.message === 'string');
    }),
  );
});

test('property: parseQueryString equals splitting on & and = and decoding every part', () => {
  const reference = (qs: string) => {
    const params: Array<[string, string]> = [];
    for (const part of qs.split('&')) {
      const eq = part.indexOf('=');
      if (part === '' || eq === -1) continue;
      const name = decodeComponent(part.slice(0, eq));
      const value = decodeComponent(part.slice(eq + 1));
      if (name === undefined || value === undefined) return { ok: false, param: name ?? part.slice(0, eq) };
      if (name !== '') params.push([name, value]);
    }
    return { ok: true, params };
  };
  const char = fc.constantFrom('%', '+', '&', '=', 'a', 'F', '4', '1', 'é', ' ', '%41', '%C3%A9', '%2B', '%zz');
  fc.assert(
    fc.property(fc.array(char, { maxLength: 40 }).map((cs) => cs.join('')), (qs) => {
      const r = parseQueryString(qs);
      const want = reference(qs);
      if (r.ok) assert.deepEqual(r, want, qs);
      else assert.deepEqual({ ok: r.ok, param: r.param }, want, qs);
    }),
    { numRuns: 5000 },
  );
});
