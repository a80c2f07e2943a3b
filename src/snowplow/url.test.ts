import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { splitUrl } from './url';

test('splits a full URL into Snowplow URL columns, keeping raw encoding', () => {
  assert.deepEqual(splitUrl('https://shop.example.com/a%20b/c?q=1&x=%C3%A4#top'), {
    scheme: 'https', host: 'shop.example.com', port: 443, path: '/a%20b/c', query: 'q=1&x=%C3%A4', fragment: 'top',
  });
});

test('default ports are 443 for https and 80 otherwise; explicit ports win', () => {
  assert.equal(splitUrl('http://a.b/')?.port, 80);
  assert.equal(splitUrl('https://a.b/')?.port, 443);
  assert.equal(splitUrl('HTTPS://a.b/')?.port, 443);
  assert.equal(splitUrl('http://a.b:8080/x')?.port, 8080);
  assert.equal(splitUrl('android-app://com.example')?.port, 80);
});

test('empty path, query and fragment are absent; userinfo is not the host; IPv6 hosts keep brackets', () => {
  assert.deepEqual(splitUrl('http://example.com'), { scheme: 'http', host: 'example.com', port: 80 });
  assert.deepEqual(splitUrl('http://example.com/?#'), { scheme: 'http', host: 'example.com', port: 80, path: '/' });
  assert.equal(splitUrl('https://user:pw@example.com/')?.host, 'example.com');
  assert.deepEqual(splitUrl('http://[2001:db8::1]:8443/p'), { scheme: 'http', host: '[2001:db8::1]', port: 8443, path: '/p' });
});

test('relative or scheme-less strings give no parts', () => {
  assert.equal(splitUrl('/just/a/path'), undefined);
  assert.equal(splitUrl('example.com/x'), undefined);
  assert.equal(splitUrl('http:///nohost'), undefined);
});

test('property: splitUrl agrees with WHATWG URL on scheme, host and port of generated web URLs', () => {
  fc.assert(
    fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (u) => {
      const parts = splitUrl(u);
      const ref = new URL(u);
      if (parts === undefined) return false;
      const port = ref.port === '' ? (ref.protocol === 'https:' ? 443 : 80) : Number(ref.port);
      return (
        `${parts.scheme}:` === ref.protocol &&
        parts.host.toLowerCase() === ref.hostname.toLowerCase() &&
        parts.port === port &&
        (parts.fragment ?? '') === ref.hash.slice(1)
      );
    }),
  );
});

/** The regex splitUrl replaced, as the reference for its hand scan. */
function splitUrlByRegex(url: string): ReturnType<typeof splitUrl> {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#([\s\S]*))?$/.exec(url);
  if (m === null) return undefined;
  let authority = m[2]!;
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  let host = authority;
  let portText = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close !== -1) {
      host = authority.slice(0, close + 1);
      if (authority[close + 1] === ':') portText = authority.slice(close + 2);
    }
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon !== -1) {
      host = authority.slice(0, colon);
      portText = authority.slice(colon + 1);
    }
  }
  if (host === '') return undefined;
  const parts: NonNullable<ReturnType<typeof splitUrl>> = { scheme: m[1]!, host, port: m[1]!.toLowerCase() === 'https' ? 443 : 80 };
  if (/^\d{1,5}$/.test(portText)) parts.port = Number(portText);
  if (m[3]) parts.path = m[3];
  if (m[4]) parts.query = m[4];
  if (m[5]) parts.fragment = m[5];
  return parts;
}

test('property: the hand scan splits exactly like the regex it replaced, on URL-ish strings', () => {
  const piece = fc.constantFrom('http', 'HTTPS', 'a1+.-', '1x', ':', '//', '/', '?', '#', '@', '[', ']', '::1', ':8080', ':99999', ':', 'h.com', 'x', '%20', ' ', '\n', 'é', '');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), fc.string({ maxLength: 6 }), (pieces, tail) => {
      const url = pieces.join('') + tail;
      assert.deepEqual(splitUrl(url), splitUrlByRegex(url), JSON.stringify(url));
      const web = `https://${url}`;
      assert.deepEqual(splitUrl(web), splitUrlByRegex(web), JSON.stringify(web));
    }),
    { numRuns: 3000 },
  );
});
