import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTlsVerificationError, readPem } from './tls';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('isTlsVerificationError: Node verification codes, ours and the peer\'s', () => {
  assert.equal(isTlsVerificationError(withCode('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')), true);
  assert.equal(isTlsVerificationError(withCode('x', 'ERR_TLS_CERT_ALTNAME_INVALID')), true);
  assert.equal(isTlsVerificationError(withCode('x', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')), true);
});

test('isTlsVerificationError: found inside kafkajs (originalError) and cause chains', () => {
  const inner = withCode('Connection error: self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN');
  const retries = Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', originalError: inner });
  assert.equal(isTlsVerificationError(retries), true);
  assert.equal(isTlsVerificationError(new Error('wrapped', { cause: inner })), true);
});

test('isTlsVerificationError: by message when a client kept only that (Elasticsearch transport)', () => {
  const e = Object.assign(new Error('unable to verify the first certificate'), { name: 'ConnectionError' });
  assert.equal(isTlsVerificationError(e), true);
  assert.equal(isTlsVerificationError(new Error("Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list")), true);
});

test('isTlsVerificationError: network and other errors are not certificate errors', () => {
  assert.equal(isTlsVerificationError(withCode('connect ECONNREFUSED 127.0.0.1:9093', 'ECONNREFUSED')), false);
  assert.equal(isTlsVerificationError(new Error('Connection timeout')), false);
  assert.equal(isTlsVerificationError(new Error('SASL PLAIN authentication failed')), false);
  assert.equal(isTlsVerificationError(undefined), false);
  assert.equal(isTlsVerificationError('certificate'), false);
});

test('readPem: the content, or an error naming the field and path but not the content', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-tls-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    assert.equal(readPem('kafka.tls.caFile', join(dir, 'ca.pem')), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    assert.throws(() => readPem('redis.tls.keyFile', join(dir, 'none.key')), { message: `redis.tls.keyFile: cannot read ${join(dir, 'none.key')}: ENOENT` });
    assert.throws(() => readPem('redis.tls.keyFile', dir), /redis\.tls\.keyFile: cannot read .*: EISDIR$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
