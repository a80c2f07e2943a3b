import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, ConfigError } from '../../config/load';
import { processConfigSchema } from '../../config/process';
import type { SnowplowEvent } from '../../snowplow/event';
import { silentLogger } from '../../util/logger';
import { createEnrichStage, enrichStageSchema } from './index';
import { createOptOutEnrichment, optOutConfigSchema } from './opt-out';

const PRIVACY = 'iglu:com.acme/privacy/jsonschema/1-0-0';

function event(id: string, extra: Partial<SnowplowEvent> = {}): Record<string, unknown> {
  return { event_id: id, event: 'page_view', page_url: 'https://shop.example/p?a=1', page_urlquery: 'a=1', ...extra };
}

const privacy = (data: unknown) => ({ contexts: [{ schema: 'iglu:com.acme/other/jsonschema/1-0-0', data: {} }, { schema: PRIVACY, data }] });

test('an entity field with an opted-out value drops the event; other values, types and schemas do not', () => {
  const optOut = createOptOutEnrichment(optOutConfigSchema.parse({ entities: [{ schema: 'iglu:com.acme/privacy/', field: 'doNotTrack' }] }));
  assert.deepEqual(optOut(event('a', privacy({ doNotTrack: true }))), { kind: 'drop', reason: 'opt_out' });
  assert.deepEqual(optOut(event('b', privacy({ doNotTrack: '1' }))), { kind: 'drop', reason: 'opt_out' });
  assert.equal(optOut(event('c', privacy({ doNotTrack: false }))).kind, 'ok');
  assert.equal(optOut(event('d', privacy({ doNotTrack: 1 }))).kind, 'ok', 'number 1 is not in the default values (true, "true", "1", "yes")');
  assert.equal(optOut(event('e', privacy({}))).kind, 'ok');
  assert.equal(optOut(event('f', privacy(null))).kind, 'ok');
  assert.equal(optOut(event('g', { contexts: [{ schema: 'iglu:com.acme/privacy/jsonschema/2-1-0', data: { doNotTrack: true } }] })).kind, 'drop', 'the prefix matches every version');
  assert.equal(optOut(event('g2', { contexts: [{ schema: 'iglu:com.acme/privacyx/jsonschema/1-0-0', data: { doNotTrack: true } }] })).kind, 'ok');
  assert.equal(optOut(event('h', { contexts: [{ schema: 'iglu:com.other/privacy/jsonschema/1-0-0', data: { doNotTrack: true } }] })).kind, 'ok');
  assert.equal(optOut(event('i')).kind, 'ok');
});

test('nested fields, custom values, and an entity whose presence alone opts out', () => {
  const nested = createOptOutEnrichment(optOutConfigSchema.parse({ entities: [{ schema: PRIVACY, field: 'consent.analytics', values: ['denied', 0] }] }));
  assert.equal(nested(event('a', privacy({ consent: { analytics: 'denied' } }))).kind, 'drop');
  assert.equal(nested(event('b', privacy({ consent: { analytics: 0 } }))).kind, 'drop');
  assert.equal(nested(event('c', privacy({ consent: { analytics: 'granted' } }))).kind, 'ok');
  assert.equal(nested(event('d', privacy({ consent: 'denied' }))).kind, 'ok');
  const presence = createOptOutEnrichment(optOutConfigSchema.parse({ entities: [{ schema: 'iglu:com.acme/opted_out/' }] }));
  assert.equal(presence(event('e', { contexts: [{ schema: 'iglu:com.acme/opted_out/jsonschema/1-0-0', data: {} }] })).kind, 'drop');
  assert.equal(presence(event('f', privacy({}))).kind, 'ok');
});

test('page URL parameters: any "on" value by default, or the configured values; names and values percent-decoded', () => {
  const any = createOptOutEnrichment(optOutConfigSchema.parse({ pageUrlParams: [{ name: 'sp_optout' }] }));
  const withQuery = (q: string) => event('x', { page_url: `https://shop.example/p?${q}#frag`, page_urlquery: q });
  assert.equal(any(withQuery('a=1&sp_optout=1')).kind, 'drop');
  assert.equal(any(withQuery('sp%5Foptout=yes')).kind, 'drop');
  assert.equal(any(withQuery('sp_optout')).kind, 'ok', 'a bare name has no value');
  for (const off of ['0', 'false', 'no', '', 'FALSE']) assert.equal(any(withQuery(`sp_optout=${off}`)).kind, 'ok', off);
  assert.equal(any(withQuery('xsp_optout=1')).kind, 'ok');
  // Without page_urlquery (an event the decoder did not split), the query comes from page_url.
  assert.equal(any(event('y', { page_url: 'https://shop.example/?sp_optout=1#x', page_urlquery: undefined })).kind, 'drop');
  assert.equal(any(event('z', { page_url: 'https://shop.example/#?sp_optout=1', page_urlquery: undefined })).kind, 'ok');
  const exact = createOptOutEnrichment(optOutConfigSchema.parse({ pageUrlParams: [{ name: 'tracking', values: ['off', 'no way'] }] }));
  assert.equal(exact(withQuery('tracking=off')).kind, 'drop');
  assert.equal(exact(withQuery('tracking=no+way')).kind, 'drop');
  assert.equal(exact(withQuery('tracking=%ZZ')).kind, 'ok', 'a bad escape is compared raw, not thrown');
  assert.equal(exact(withQuery('tracking=1')).kind, 'ok');
});

test('in the enrich stage: opted-out events are counted as dropped (reason opt_out), the rest go on in order', async () => {
  const config = enrichStageSchema.parse({
    type: 'enrich',
    enrichments: [{ type: 'opt_out', entities: [{ schema: PRIVACY, field: 'doNotTrack' }], pageUrlParams: [{ name: 'sp_optout' }] }, { type: 'anon_ip' }],
  });
  const stage = await createEnrichStage(config, { logger: silentLogger, dataDir: '/nonexistent' });
  const out = await stage.run(([
    event('keep1', { user_ipaddress: '81.2.69.142' }),
    event('drop1', privacy({ doNotTrack: true })),
    event('drop2', { page_urlquery: 'sp_optout=1' }),
    event('keep2', privacy({ doNotTrack: false })),
  ] as SnowplowEvent[]));
  assert.deepEqual(out.events.map((e) => e.event_id), ['keep1', 'keep2']);
  assert.deepEqual(out.dropped, { opt_out: 2 });
  assert.equal((out.events[0] as Record<string, unknown>).user_ipaddress, '81.2.69.x');
});

test('config: opt_out without any signal is an error at its line; enabled: false needs none', () => {
  const text = 'stages:\n  - type: enrich\n    enrichments:\n      - type: opt_out\n';
  assert.throws(
    () => parseConfigText(text, 'p.yml', processConfigSchema),
    (e: unknown) => e instanceof ConfigError && /^p\.yml:4:\d+: stages\[0\]\.enrichments\[0\]\.entities: opt_out needs at least one signal/.test(e.message),
  );
  const off = parseConfigText(`${text}        enabled: false\n`, 'p.yml', processConfigSchema);
  assert.equal(off.stages[0]!.type, 'enrich');
  assert.throws(
    () => parseConfigText(`${text}        entities: [{schema: "com.acme/privacy"}]\n`, 'p.yml', processConfigSchema),
    (e: unknown) => e instanceof ConfigError && /entities\[0\]\.schema: an Iglu URI or its prefix/.test(e.message),
  );
});
