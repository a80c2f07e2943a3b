import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createFingerprinter, eventFingerprint, fingerprintConfigSchema, fingerprintInput } from './fingerprint';

// Snowplow's own spec (EventFingerprintEnrichmentSpec e1): with a "hash" that returns the input's
// length and stm excluded, {stm, e: se, se_ac: buy} gives "15" = len("e␟se␟se_ac␟buy␟").
test('the hashed string is the one Snowplow builds: sorted name US value US, excluded names skipped', () => {
  const input = fingerprintInput({ stm: '1000000000000', e: 'se', se_ac: 'buy' }, ['stm']);
  assert.equal(input.length, 15);
  assert.equal(input, 'e\u001fse\u001fse_ac\u001fbuy\u001f');
});

test('MD5 of the Snowplow spec example is the md5 hex of that exact string', () => {
  const expected = createHash('md5').update('e\u001fse\u001fse_ac\u001fbuy\u001f').digest('hex');
  assert.equal(expected, eventFingerprint({ stm: '1', eid: 'x', e: 'se', se_ac: 'buy' }));
  // Byte-level vector (coreutils: printf 'e\x1fse\x1fse_ac\x1fbuy\x1f' | md5sum).
  assert.equal(eventFingerprint({ e: 'se', se_ac: 'buy' }, { excludeParameters: [] }), '6829c2021516783f1ef03a9e9736ac77');
});

test('field order does not matter (spec e2) and excluded fields do not matter (spec e3)', () => {
  const a = { e: 'se', se_ac: 'action', se_ca: 'category', se_pr: 'property' };
  const b = { se_ca: 'category', se_ac: 'action', se_pr: 'property', e: 'se' };
  assert.equal(eventFingerprint(a), eventFingerprint(b));
  const first = { stm: '1000000000000', eid: '123e4567-e89b-12d3-a456-426655440000', e: 'se', se_ac: 'buy' };
  const resent = { stm: '9999999999999', e: 'se', se_ac: 'buy' };
  assert.equal(eventFingerprint(first, { excludeParameters: ['stm', 'eid'] }), eventFingerprint(resent, { excludeParameters: ['stm', 'eid'] }));
});

test('overlapping name/value splits give different fingerprints (spec e4)', () => {
  assert.notEqual(eventFingerprint({ prefix: 'suffix' }), eventFingerprint({ prefi: 'xsuffix' }));
});

test('hex lengths per algorithm match Snowplow (spec e5-e8), non-ASCII is hashed as UTF-8', () => {
  const p = { e: 'se', se_ac: 'action' };
  assert.equal(eventFingerprint(p, { hashAlgorithm: 'MD5' }).length, 32);
  assert.equal(eventFingerprint(p, { hashAlgorithm: 'SHA1' }).length, 40);
  assert.equal(eventFingerprint(p, { hashAlgorithm: 'SHA256' }).length, 64);
  assert.equal(eventFingerprint(p, { hashAlgorithm: 'SHA384' }).length, 96);
  assert.equal(eventFingerprint(p, { hashAlgorithm: 'SHA512' }).length, 128);
  const utf8 = createHash('md5').update(Buffer.from('page\u001fMünchen 🚀\u001f', 'utf8')).digest('hex');
  assert.equal(eventFingerprint({ page: 'München 🚀' }), utf8);
});

test('sorting is by code unit (uppercase before lowercase), empty values count, undefined ones do not', () => {
  assert.equal(fingerprintInput({ b: '1', B: '2', a: '' }, []), 'B\u001f2\u001fa\u001f\u001fb\u001f1\u001f');
  assert.equal(fingerprintInput({ a: undefined, b: 'x' }, []), 'b\u001fx\u001f');
});

test('config defaults: enabled, MD5, excludes cv/eid/nuid/stm; disabled gives undefined', () => {
  const config = fingerprintConfigSchema.parse({});
  assert.deepEqual(config.excludeParameters, ['cv', 'eid', 'nuid', 'stm']);
  assert.equal(config.hashAlgorithm, 'MD5');
  const fp = createFingerprinter(config);
  assert.equal(fp({ e: 'pv', eid: 'a', stm: '1', cv: 'x', nuid: 'n' }), fp({ e: 'pv' }));
  assert.equal(fp({ e: 'pv' }), eventFingerprint({ e: 'pv' }));
  assert.equal(createFingerprinter(fingerprintConfigSchema.parse({ enabled: false }))({ e: 'pv' }), undefined);
  assert.throws(() => fingerprintConfigSchema.parse({ hashAlgorithm: 'CRC32' }));
});
