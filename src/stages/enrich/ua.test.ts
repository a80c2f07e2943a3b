import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUaEnrichment, parseUserAgent, UA_PARSER_CONTEXT_SCHEMA, uaConfigSchema } from './ua';

const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/33.0.1750.152 Safari/537.36';
const IE11 = 'Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 5_1_1 like Mac OS X) AppleWebKit/534.46 (KHTML, like Gecko) Version/5.1 Mobile/9B206 Safari/7534.48.3';
const SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10) AppleWebKit/600.1.25 (KHTML, like Gecko) Version/8.0 Safari/600.1.25';
const ANDROID = 'Mozilla/5.0 (Linux; Android 10; SM-G960F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36';
const IPAD = 'Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1';

// Snowplow Enrich UserAgentUtilsEnrichmentSpec, "Safari spec" (a Chrome 33 UA on a Mac).
test('Chrome 33 on a Mac gives the columns of Snowplow\'s user_agent_utils spec', () => {
  assert.deepEqual({ ...parseUserAgent(CHROME_MAC).fields }, {
    br_name: 'Chrome 33',
    br_family: 'Chrome',
    br_version: '33.0.1750.152',
    br_type: 'Browser',
    br_renderengine: 'WEBKIT',
    os_name: 'Mac OS X',
    os_family: 'Mac OS X',
    os_manufacturer: 'Apple Inc.',
    dvce_type: 'Computer',
    dvce_ismobile: false,
  });
});

// Same spec, "IE spec" (with the closing parenthesis the real IE 11 UA has).
test('IE 11 on Windows 7 gives the spec\'s names', () => {
  const f = parseUserAgent(IE11).fields;
  assert.deepEqual([f.br_name, f.br_family, f.br_version, f.br_type, f.br_renderengine], ['Internet Explorer 11', 'Internet Explorer', '11.0', 'Browser', 'TRIDENT']);
  assert.deepEqual([f.os_name, f.os_family, f.os_manufacturer, f.dvce_type, f.dvce_ismobile], ['Windows 7', 'Windows', 'Microsoft Corporation', 'Computer', false]);
});

// Snowplow Enrich UaParserEnrichmentSpec: the two expected ua_parser_context entities, verbatim.
test('ua_parser_context matches Snowplow\'s ua_parser spec for Mobile Safari and Safari', () => {
  assert.deepEqual(parseUserAgent(IPHONE).context, {
    schema: UA_PARSER_CONTEXT_SCHEMA,
    data: {
      useragentFamily: 'Mobile Safari', useragentMajor: '5', useragentMinor: '1', useragentPatch: null, useragentVersion: 'Mobile Safari 5.1',
      osFamily: 'iOS', osMajor: '5', osMinor: '1', osPatch: '1', osPatchMinor: null, osVersion: 'iOS 5.1.1', deviceFamily: 'iPhone',
    },
  });
  assert.deepEqual(parseUserAgent(SAFARI).context.data, {
    useragentFamily: 'Safari', useragentMajor: '8', useragentMinor: '0', useragentPatch: null, useragentVersion: 'Safari 8.0',
    osFamily: 'Mac OS X', osMajor: '10', osMinor: '10', osPatch: null, osPatchMinor: null, osVersion: 'Mac OS X 10.10', deviceFamily: 'Mac',
  });
});

test('mobile and tablet devices: mobile browser names, Browser (mobile), dvce_ismobile', () => {
  const phone = parseUserAgent(ANDROID);
  assert.deepEqual([phone.fields.br_name, phone.fields.br_type, phone.fields.os_name, phone.fields.dvce_type, phone.fields.dvce_ismobile], ['Chrome Mobile', 'Browser (mobile)', 'Android 10.x', 'Mobile', true]);
  const data = phone.context.data as Record<string, unknown>;
  assert.deepEqual([data.useragentFamily, data.deviceFamily], ['Chrome Mobile', 'Samsung SM-G960F']);
  const tablet = parseUserAgent(IPAD).fields;
  assert.deepEqual([tablet.br_name, tablet.os_name, tablet.dvce_type, tablet.dvce_ismobile], ['Mobile Safari', 'iOS 16 (iPad)', 'Tablet', true]);
});

test('unrecognised agents: Unknown columns, "Other" families (the context schema requires strings)', () => {
  const p = parseUserAgent('curl/8.0');
  assert.deepEqual([p.fields.br_name, p.fields.br_type, p.fields.br_renderengine, p.fields.os_family, p.fields.dvce_type], ['Unknown', 'Unknown', 'OTHER', 'Unknown', 'Unknown']);
  assert.equal('br_version' in p.fields, false);
  const data = p.context.data as Record<string, unknown>;
  assert.deepEqual([data.useragentFamily, data.osFamily, data.deviceFamily, data.useragentVersion], ['Other', 'Other', 'Other', 'Other']);
});

test('the enrichment sets the columns and one derived context; no useragent, nothing', () => {
  const enrich = createUaEnrichment(uaConfigSchema.parse({}));
  const event: Record<string, unknown> = { useragent: CHROME_MAC, derived_contexts: [{ schema: 'iglu:a/b/jsonschema/1-0-0', data: {} }] };
  assert.deepEqual(enrich(event), { kind: 'ok' });
  assert.equal(event.br_family, 'Chrome');
  assert.equal(event.dvce_ismobile, false);
  assert.equal((event.derived_contexts as Array<{ schema: string }>)[1]?.schema, UA_PARSER_CONTEXT_SCHEMA);
  const empty: Record<string, unknown> = { useragent: '' };
  enrich(empty);
  assert.deepEqual(Object.keys(empty), ['useragent']);
});

test('fields/context switches and disabled', () => {
  const onlyContext = createUaEnrichment(uaConfigSchema.parse({ fields: false }));
  const a: Record<string, unknown> = { useragent: SAFARI };
  onlyContext(a);
  assert.deepEqual(Object.keys(a).sort(), ['derived_contexts', 'useragent']);
  const onlyFields = createUaEnrichment(uaConfigSchema.parse({ context: false }));
  const b: Record<string, unknown> = { useragent: SAFARI };
  onlyFields(b);
  assert.equal('derived_contexts' in b, false);
  assert.equal(b.br_name, 'Safari 8');
  const off = createUaEnrichment(uaConfigSchema.parse({ enabled: false }));
  const c: Record<string, unknown> = { useragent: SAFARI };
  off(c);
  assert.deepEqual(Object.keys(c), ['useragent']);
});

test('LRU cache: one parse per distinct UA, least recently used evicted at cacheSize, 0 disables it', () => {
  let parses = 0;
  const counting = (ua: string) => {
    parses++;
    return parseUserAgent(ua);
  };
  const enrich = createUaEnrichment(uaConfigSchema.parse({ cacheSize: 2 }), { parse: counting });
  for (const ua of [SAFARI, SAFARI, IPHONE, SAFARI, IPHONE]) enrich({ useragent: ua });
  assert.equal(parses, 2);
  enrich({ useragent: ANDROID }); // evicts SAFARI (least recently used)
  enrich({ useragent: IPHONE });
  assert.equal(parses, 3);
  enrich({ useragent: SAFARI });
  assert.equal(parses, 4);
  parses = 0;
  const uncached = createUaEnrichment(uaConfigSchema.parse({ cacheSize: 0 }), { parse: counting });
  for (let i = 0; i < 3; i++) uncached({ useragent: SAFARI });
  assert.equal(parses, 3);
});

test('cached results are shared frozen objects: events cannot corrupt the cache', () => {
  const enrich = createUaEnrichment(uaConfigSchema.parse({}));
  const first: Record<string, unknown> = { useragent: IPHONE };
  enrich(first);
  first.br_name = 'changed';
  const ctx = (first.derived_contexts as Array<{ data: Record<string, unknown> }>)[0] as { data: Record<string, unknown> };
  assert.throws(() => {
    ctx.data.deviceFamily = 'x';
  }, TypeError);
  const second: Record<string, unknown> = { useragent: IPHONE };
  enrich(second);
  assert.equal(second.br_name, 'Mobile Safari');
});
