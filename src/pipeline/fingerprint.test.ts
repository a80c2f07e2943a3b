import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLineParser } from '../nginx';
import { eventFingerprint } from '../stages/enrich/fingerprint';
import { createLineDecoder } from './decode-lines';

const parser = createLineParser('json');
const line = (args: string, body = '', method = 'GET', uri = '/i') =>
  JSON.stringify({ msec: '1795813792.353', remote_addr: '10.0.0.1', request_method: method, uri, args, request_body: body, status: '200' });
const decodeOne = (text: string, opts: Parameters<typeof createLineDecoder>[1] = { maxLineBytes: 1 << 20 }) =>
  createLineDecoder(parser, opts)({ text, offset: 0, nextOffset: text.length + 1 }, 'test.log');

test('event_fingerprint is Snowplow\'s hash of the raw parameters, without stm and eid', () => {
  const args = 'e=pv&p=web&tv=js-4&aid=site&url=https%3A%2F%2Fexample.com%2F&stm=1795813792344&eid=6c1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b';
  const [event] = decodeOne(line(args)).events;
  const expected = eventFingerprint({ e: 'pv', p: 'web', tv: 'js-4', aid: 'site', url: 'https://example.com/', stm: '1795813792344', eid: 'x' });
  assert.equal(event!.event_fingerprint, expected);
  const resent = decodeOne(line(args.replace('stm=1795813792344', 'stm=1795813799999'))).events[0]!;
  assert.equal(resent.event_fingerprint, expected, 'a resend (new stm) has the same fingerprint');
  const other = decodeOne(line(args.replace('aid=site', 'aid=other'))).events[0]!;
  assert.notEqual(other.event_fingerprint, expected);
});

test('POST events hash their own parameters merged with the query string', () => {
  const body = JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: [{ e: 'pv', p: 'web', tv: 'js-4' }, { e: 'se', p: 'web', tv: 'js-4', se_ca: 'c', se_ac: 'a' }] });
  const events = decodeOne(line('aid=q', body, 'POST', '/com.snowplowanalytics.snowplow/tp2')).events;
  assert.equal(events.length, 2);
  assert.equal(events[0]!.event_fingerprint, eventFingerprint({ e: 'pv', p: 'web', tv: 'js-4', aid: 'q' }));
  assert.equal(events[1]!.event_fingerprint, eventFingerprint({ e: 'se', p: 'web', tv: 'js-4', se_ca: 'c', se_ac: 'a', aid: 'q' }));
});

test('configurable: algorithm, and off', () => {
  const text = line('e=pv&p=web&tv=js-4');
  const sha = decodeOne(text, { maxLineBytes: 1 << 20, fingerprint: { type: 'fingerprint', enabled: true, hashAlgorithm: 'SHA256', excludeParameters: [] } }).events[0]!;
  assert.match(sha.event_fingerprint!, /^[0-9a-f]{64}$/);
  const off = decodeOne(text, { maxLineBytes: 1 << 20, fingerprint: { type: 'fingerprint', enabled: false, hashAlgorithm: 'MD5', excludeParameters: [] } }).events[0]!;
  assert.equal(off.event_fingerprint, undefined);
});
