import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestLine, parseRequestTarget } from './request';

test('request lines of tracker requests', () => {
  assert.deepEqual(parseRequestLine('GET /i?e=pv&url=https%3A%2F%2Fx.com%2F HTTP/1.1'), {
    method: 'GET', path: '/i', queryString: 'e=pv&url=https%3A%2F%2Fx.com%2F', protocol: 'HTTP/1.1',
  });
  assert.deepEqual(parseRequestLine('POST /com.snowplowanalytics.snowplow/tp2 HTTP/2.0'), {
    method: 'POST', path: '/com.snowplowanalytics.snowplow/tp2', protocol: 'HTTP/2.0',
  });
  assert.deepEqual(parseRequestLine('HEAD / HTTP/1.0'), { method: 'HEAD', path: '/', protocol: 'HTTP/1.0' });
  assert.deepEqual(parseRequestLine('OPTIONS * HTTP/1.1'), { method: 'OPTIONS', path: '*', protocol: 'HTTP/1.1' });
});

test('an empty query is no query; the query is kept raw', () => {
  assert.deepEqual(parseRequestLine('GET /i? HTTP/1.1'), { method: 'GET', path: '/i', protocol: 'HTTP/1.1' });
  assert.deepEqual(parseRequestLine('GET /i?a=%20b+c&a=?x HTTP/1.1')?.queryString, 'a=%20b+c&a=?x');
});

test('absolute-form targets (proxy requests) and HTTP/0.9 lines', () => {
  assert.deepEqual(parseRequestLine('GET http://collector.example.com/i?e=pv HTTP/1.1'), {
    method: 'GET', path: '/i', queryString: 'e=pv', protocol: 'HTTP/1.1',
  });
  assert.deepEqual(parseRequestTarget('https://example.com'), { path: '/' });
  assert.deepEqual(parseRequestTarget('https://example.com?x=1'), { path: '/', queryString: 'x=1' });
  assert.deepEqual(parseRequestLine('GET /old'), { method: 'GET', path: '/old' });
});

test('a target with a space (nginx accepts some) stays whole', () => {
  assert.deepEqual(parseRequestLine('GET /a b?c HTTP/1.1'), { method: 'GET', path: '/a b', queryString: 'c', protocol: 'HTTP/1.1' });
});

test('garbage is not a request line', () => {
  for (const junk of ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', '-', '', 'GET', 'GET ', 'G€T / HTTP/1.1',
    'GET foo HTTP/1.1', '\uFFFD\uFFFD / HTTP/1.1', 'SSTP_DUPLEX_POST']) {
    assert.equal(parseRequestLine(junk), undefined, JSON.stringify(junk));
  }
});
