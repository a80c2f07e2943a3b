import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import {
  anonymiseIp,
  createIpAnonymisationEnrichment,
  createPseudonymisationEnrichment,
  ipAnonymisationConfigSchema,
  pseudonymisationConfigSchema,
  pseudonymise,
} from './anonymise';

// The table of Snowplow Enrich's AnonIpEnrichmentSpec (e1): [ip, octets, segments, expected].
const SNOWPLOW_CASES: Array<[string, number, number, string]> = [
  ['0.23.0.20', 1, 1, '0.23.0.x'],
  ['168.192.102.4', 2, 2, '168.192.x.x'],
  ['54.242.102.43', 3, 3, '54.x.x.x'],
  ['94.15.213.171', 4, 4, 'x.x.x.x'],
  ['777.2', 1, 1, '777.2'],
  ['777.2.23', 4, 4, 'x.x.x'],
  ['999.123.777.2', 3, 3, '999.x.x.x'],
  ['999.aaa.bbb.c', 3, 3, '999.x.x.x'],
  ['hello;goodbye', 3, 3, 'hello;goodbye'],
  ['', 4, 4, 'x'],
  ['4b0c:0:0:0:880c:99a8:4b0:4411', 1, 1, '4b0c:0:0:0:880c:99a8:4b0:x'],
  ['4b0c::880c:99a8:4b0:4411', 2, 2, '4b0c:0:0:0:880c:99a8:x:x'],
  ['2605:2700:0:3:0:0:4713:93e3', 3, 3, '2605:2700:0:3:0:x:x:x'],
  ['2605:2700:0:3::4713:93e3', 4, 4, '2605:2700:0:3:x:x:x:x'],
  ['2605:2700:0:3::4713:93e3', 4, 5, '2605:2700:0:x:x:x:x:x'],
  ['2605:2700:0:3::4713:93e3', 4, 6, '2605:2700:x:x:x:x:x:x'],
  ['2605:2700:0:3::4713:93e3', 4, 7, '2605:x:x:x:x:x:x:x'],
  ['2605:2700:0:3::4713:93e3', 4, 8, 'x:x:x:x:x:x:x:x'],
  ['2605:2700::4713:93e3', 4, 8, 'x:x:x:x:x:x:x:x'],
  ['2700::4713', 4, 8, 'x:x:x:x:x:x:x:x'],
  ['2700:zzzz::gggg', 4, 6, '2700:zzzz:x:x:x:x:x:x'],
  ['f334::40cb:152.16.24.142', 4, 2, 'f334:0:0:0:0:40cb:x:x'],
  ['f334::40cb:152.16.24.142', 4, 4, 'f334:0:0:0:x:x:x:x'],
  ['::192.168.0.1', 4, 1, '0:0:0:0:0:0:c0a8:x'],
  ['::FFFF:152.16.24.123', 2, 4, '::FFFF:152.16.x.x'],
  ['::FFFF:152.16.24.123', 4, 4, '::FFFF:x.x.x.x'],
];

test('anonymiseIp reproduces every case of Snowplow Enrich AnonIpEnrichmentSpec', () => {
  for (const [ip, octets, segments, expected] of SNOWPLOW_CASES) {
    assert.equal(anonymiseIp(ip, octets, segments), expected, `${ip} octets=${octets} segments=${segments}`);
  }
});

test('uppercase and leading-zero IPv6 is written the Java way before masking', () => {
  assert.equal(anonymiseIp('2001:0DB8:0000:0000:0000:0000:0000:0001', 1, 2), '2001:db8:0:0:0:0:x:x');
  assert.equal(anonymiseIp('::1', 1, 1), '0:0:0:0:0:0:0:x');
  assert.equal(anonymiseIp('fe80::1%eth0', 1, 4), 'fe80:0:0:0:x:x:x:x');
});

// Snowplow's property tests e2/e3: N octets (segments) masked → exactly N x's, and replacing the
// x's by 1 gives a valid address again.
test('property: valid IPv4 with N octets masked has N x and stays an address shape', () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
  fc.assert(fc.property(ipv4, fc.integer({ min: 1, max: 4 }), (ip, n) => {
    const anon = anonymiseIp(ip, n, 1);
    assert.equal(anon.split('x').length - 1, n);
    assert.ok(isIPv4(anon.replace(/x/g, '1')), anon);
  }));
});

test('property: valid IPv6 (full or shortened) with N segments masked has N x and stays an address shape', () => {
  const segment = fc.stringMatching(/^[0-9a-f]{4}$/);
  const full = fc.array(segment, { minLength: 8, maxLength: 8 }).map((s) => s.join(':'));
  const shortened = fc.array(segment, { minLength: 2, maxLength: 7 }).map((s) => `${s.slice(0, -1).join(':')}::${s[s.length - 1]}`);
  fc.assert(fc.property(fc.oneof(full, shortened), fc.integer({ min: 1, max: 8 }), (ip, n) => {
    const anon = anonymiseIp(ip, 1, n);
    assert.equal(anon.split('x').length - 1, n, `${ip} → ${anon}`);
    assert.ok(isIPv6(anon.replace(/x/g, '1')), anon);
  }));
});

test('the enrichment masks user_ipaddress in place; anonSegments defaults to anonOctets; disabled leaves it', () => {
  const config = ipAnonymisationConfigSchema.parse({ anonOctets: 2 });
  const anon = createIpAnonymisationEnrichment(config);
  const v4: Record<string, unknown> = { user_ipaddress: '13.54.45.87' };
  assert.deepEqual(anon(v4), { kind: 'ok' });
  assert.equal(v4.user_ipaddress, '13.54.x.x');
  const v6: Record<string, unknown> = { user_ipaddress: '2001:db8::1' };
  anon(v6);
  assert.equal(v6.user_ipaddress, '2001:db8:0:0:0:0:x:x');
  const none: Record<string, unknown> = {};
  anon(none);
  assert.equal('user_ipaddress' in none, false);
  const off = createIpAnonymisationEnrichment(ipAnonymisationConfigSchema.parse({ enabled: false }));
  const kept: Record<string, unknown> = { user_ipaddress: '13.54.45.87' };
  off(kept);
  assert.equal(kept.user_ipaddress, '13.54.45.87');
  assert.throws(() => ipAnonymisationConfigSchema.parse({ anonOctets: 5 }));
  assert.throws(() => ipAnonymisationConfigSchema.parse({ anonSegments: 0 }));
});

test('pseudonymise is hex(hash(value + salt)) as in Snowplow, for every hash function', () => {
  assert.equal(pseudonymise('alice@example.com', 'pepper'), createHash('sha256').update('alice@example.compepper').digest('hex'));
  // Fixed vector: printf 'user1s3cret' | sha256sum
  assert.equal(pseudonymise('user1', 's3cret', 'SHA-256'), '97ca81098f1b8cc5fd355e40aed4f74016d52ae2c34390954e73ab9b03eaab4c');
  assert.equal(pseudonymise('x', 'y', 'MD5').length, 32);
  assert.equal(pseudonymise('x', 'y', 'SHA-1').length, 40);
  assert.equal(pseudonymise('x', 'y', 'SHA-384').length, 96);
  assert.equal(pseudonymise('x', 'y', 'SHA-512').length, 128);
});

test('the PII enrichment hashes exactly the configured fields that are present', () => {
  const config = pseudonymisationConfigSchema.parse({ fields: ['user_id', 'domain_userid', 'user_ipaddress'], salt: 'NaCl', hashFunction: 'MD5' });
  const pii = createPseudonymisationEnrichment(config);
  const event: Record<string, unknown> = { user_id: 'bob', domain_userid: 'd-1', network_userid: 'n-1', app_id: 'site' };
  assert.deepEqual(pii(event), { kind: 'ok' });
  assert.equal(event.user_id, createHash('md5').update('bobNaCl').digest('hex'));
  assert.equal(event.domain_userid, createHash('md5').update('d-1NaCl').digest('hex'));
  assert.equal(event.network_userid, 'n-1');
  assert.equal(event.app_id, 'site');
  assert.equal('user_ipaddress' in event, false);
});

test('PII config: salt required when enabled, unknown fields rejected, defaults documented', () => {
  assert.throws(() => pseudonymisationConfigSchema.parse({ fields: ['user_id'] }), /salt/);
  assert.throws(() => pseudonymisationConfigSchema.parse({ fields: ['page_url'], salt: 's' }));
  assert.doesNotThrow(() => pseudonymisationConfigSchema.parse({ enabled: false }));
  const c = pseudonymisationConfigSchema.parse({ salt: 's' });
  assert.equal(c.hashFunction, 'SHA-256');
  assert.deepEqual(c.fields, ['user_id', 'user_ipaddress', 'user_fingerprint', 'network_userid']);
});
