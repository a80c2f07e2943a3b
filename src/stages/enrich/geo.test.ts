import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createIpAnonymisationEnrichment, ipAnonymisationConfigSchema } from './anonymise';
import { ASN_CONTEXT_SCHEMA, createGeoEnrichment, type GeoDatabases, geoConfigSchema, lookupAddress, openGeoDatabases } from './geo';
import type { Enrichment } from './types';

// MaxMind's synthetic test databases (test/fixtures/maxmind/README.md lists the known answers).
const FIXTURES = join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'maxmind');
const config = geoConfigSchema.parse({
  city: join(FIXTURES, 'GeoIP2-City-Test.mmdb'),
  isp: join(FIXTURES, 'GeoIP2-ISP-Test.mmdb'),
});
const asnOnlyConfig = geoConfigSchema.parse({
  city: join(FIXTURES, 'GeoIP2-City-Test.mmdb'),
  asn: join(FIXTURES, 'GeoLite2-ASN-Test.mmdb'),
});

let databases: GeoDatabases;
let asnOnly: GeoDatabases;
let geo: Enrichment;

test.before(async () => {
  databases = await openGeoDatabases(config);
  asnOnly = await openGeoDatabases(asnOnlyConfig);
  geo = createGeoEnrichment(config, { databases });
});

function lookup(ip: string, enrichment: Enrichment = geo): Record<string, unknown> {
  const event: Record<string, unknown> = { user_ipaddress: ip };
  assert.deepEqual(enrichment(event), { kind: 'ok' });
  return event;
}

test('81.2.69.142 → GB, London, ENG, Europe/London (country, not registered_country)', () => {
  const e = lookup('81.2.69.142');
  assert.equal(e.geo_country, 'GB');
  assert.equal(e.geo_city, 'London');
  assert.equal(e.geo_region, 'ENG');
  assert.equal(e.geo_region_name, 'England');
  assert.equal(e.geo_timezone, 'Europe/London');
  assert.equal(typeof e.geo_latitude, 'number');
  assert.equal(typeof e.geo_longitude, 'number');
});

test('2.125.160.216 → Boxford, postcode OX1, region = most specific subdivision (WBK) as in Snowplow', () => {
  const e = lookup('2.125.160.216');
  assert.equal(e.geo_country, 'GB');
  assert.equal(e.geo_city, 'Boxford');
  assert.equal(e.geo_zipcode, 'OX1');
  assert.equal(e.geo_region, 'WBK');
  assert.equal(e.geo_region_name, 'West Berkshire');
  assert.equal(e.geo_latitude, 51.75);
  assert.equal(e.geo_longitude, -1.25);
});

test('non-ASCII city, US/CN records, IPv6 records, 6to4 alias and a country-only record', () => {
  assert.equal(lookup('89.160.20.112').geo_city, 'Linköping');
  const milton = lookup('216.160.83.56');
  assert.deepEqual([milton.geo_country, milton.geo_city, milton.geo_region, milton.geo_zipcode, milton.geo_timezone], ['US', 'Milton', 'WA', '98354', 'America/Los_Angeles']);
  const changchun = lookup('175.16.199.0');
  assert.deepEqual([changchun.geo_country, changchun.geo_city, changchun.geo_region, changchun.geo_timezone], ['CN', 'Changchun', '22', 'Asia/Harbin']);
  const sanDiego = lookup('2001:480:10::1');
  assert.deepEqual([sanDiego.geo_country, sanDiego.geo_city, sanDiego.geo_region, sanDiego.geo_zipcode], ['US', 'San Diego', 'CA', '92101']);
  const sixToFour = lookup('2002:5102:458e::1');
  assert.deepEqual([sixToFour.geo_country, sixToFour.geo_city], ['GB', 'London']);
  const japan = lookup('2001:218::1');
  assert.equal(japan.geo_country, 'JP');
  assert.equal(japan.geo_timezone, 'Asia/Tokyo');
  assert.equal('geo_city' in japan, false);
  assert.deepEqual([lookup('214.78.120.1').geo_city, lookup('214.0.1.1').geo_city, lookup('214.0.1.1').geo_zipcode], ['San Diego', 'Melbourne', '3000']);
});

test('not found, anycast-only record, junk and ports: no failure, no fields (Snowplow suppresses lookup errors)', () => {
  for (const ip of ['10.0.0.1', '127.0.0.1', '1.1.1.1', '81.2.69.141', 'not-an-ip', '1.2.x.x']) {
    const e = lookup(ip);
    assert.deepEqual(Object.keys(e), ['user_ipaddress'], ip);
  }
  // The City record of 214.1.1.5 holds only traits: no geo field; the ISP database still knows it.
  const anycast = lookup('214.1.1.5');
  assert.deepEqual(Object.keys(anycast).filter((k) => k.startsWith('geo_')), []);
  assert.equal(lookup('81.2.69.142:8080').geo_city, 'London');
  assert.equal(lookupAddress('81.2.69.142:8080'), '81.2.69.142');
  assert.equal(lookupAddress('::1'), '::1');
  assert.equal(lookupAddress('hello'), undefined);
});

test('ISP database: ip_isp, ip_organization and the ASN entity', () => {
  const e = lookup('89.160.20.112');
  assert.equal(e.ip_isp, 'Bredband2 AB');
  assert.equal(e.ip_organization, 'Bevtec');
  assert.deepEqual(e.derived_contexts, [{ schema: ASN_CONTEXT_SCHEMA, data: { number: 29518, organization: 'Bredband2 AB' } }]);
  const century = lookup('216.160.83.56');
  assert.deepEqual([century.ip_isp, century.ip_organization], ['Century Link', 'Lariat Software']);
});

test('ASN-only setup (free GeoLite2): ASN entity without ip_isp; an ASN without organisation', () => {
  const enrich = createGeoEnrichment(asnOnlyConfig, { databases: asnOnly });
  const e = lookup('89.160.20.112', enrich);
  assert.equal('ip_isp' in e, false);
  assert.deepEqual(e.derived_contexts, [{ schema: ASN_CONTEXT_SCHEMA, data: { number: 29518, organization: 'Bredband2 AB' } }]);
  assert.deepEqual(lookup('216.160.83.56', enrich).derived_contexts, [{ schema: ASN_CONTEXT_SCHEMA, data: { number: 209 } }]);
  assert.deepEqual(lookup('1.128.0.1', enrich).derived_contexts, [{ schema: ASN_CONTEXT_SCHEMA, data: { number: 1221, organization: 'Telstra Pty Ltd' } }]);
  const existing: Record<string, unknown> = { user_ipaddress: '1.128.0.1', derived_contexts: [{ schema: 'iglu:x/y/jsonschema/1-0-0', data: {} }] };
  enrich(existing);
  assert.equal((existing.derived_contexts as unknown[]).length, 2);
});

test('ordering: geo before anon_ip finds the city; after anon_ip it finds nothing', () => {
  const anon = createIpAnonymisationEnrichment(ipAnonymisationConfigSchema.parse({ anonOctets: 2 }));
  const right: Record<string, unknown> = { user_ipaddress: '81.2.69.142' };
  geo(right);
  anon(right);
  assert.deepEqual([right.geo_city, right.user_ipaddress], ['London', '81.2.x.x']);
  const wrong: Record<string, unknown> = { user_ipaddress: '81.2.69.142' };
  anon(wrong);
  geo(wrong);
  assert.equal('geo_city' in wrong, false);
});

test('existing geo_country is kept; disabled or no databases is a no-op; a missing file fails at startup', async () => {
  const preset: Record<string, unknown> = { user_ipaddress: '81.2.69.142', geo_country: 'FR' };
  geo(preset);
  assert.deepEqual([preset.geo_country, preset.geo_city], ['FR', undefined]);
  const off = createGeoEnrichment(geoConfigSchema.parse({ enabled: false }), { databases });
  assert.deepEqual(Object.keys(lookup('81.2.69.142', off)), ['user_ipaddress']);
  const empty = createGeoEnrichment(geoConfigSchema.parse({}), { databases: {} });
  assert.deepEqual(Object.keys(lookup('81.2.69.142', empty)), ['user_ipaddress']);
  await assert.rejects(openGeoDatabases(geoConfigSchema.parse({ city: join(FIXTURES, 'missing.mmdb') })));
});

test('injected readers: a too-long city name is a field_too_long bad result', () => {
  const fake: GeoDatabases = { city: { get: () => ({ city: { geoname_id: 1, names: { en: 'C'.repeat(76) } } }) as never } };
  const result = createGeoEnrichment(geoConfigSchema.parse({}), { databases: fake })({ user_ipaddress: '8.8.8.8' });
  assert.equal(result.kind === 'bad' ? result.reason : result.kind, 'field_too_long');
});
