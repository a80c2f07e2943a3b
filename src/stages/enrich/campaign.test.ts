import { test } from 'node:test';
import assert from 'node:assert/strict';
import { campaignConfigSchema, createCampaignEnrichment } from './campaign';

const defaults = createCampaignEnrichment(campaignConfigSchema.parse({}));

test('utm parameters fill the mkt_* fields, decoded (Snowplow docs example)', () => {
  const event: Record<string, unknown> = {
    page_url: 'https://www.acme.com/spring_offer_product?utm_source=influencer&utm_medium=blog&utm_campaign=spring_offer&utm_term=red+shoes&utm_content=caf%C3%A9',
    page_urlquery: 'utm_source=influencer&utm_medium=blog&utm_campaign=spring_offer&utm_term=red+shoes&utm_content=caf%C3%A9',
  };
  assert.deepEqual(defaults(event), { kind: 'ok' });
  assert.equal(event.mkt_source, 'influencer');
  assert.equal(event.mkt_medium, 'blog');
  assert.equal(event.mkt_campaign, 'spring_offer');
  assert.equal(event.mkt_term, 'red shoes');
  assert.equal(event.mkt_content, 'café');
  assert.equal('mkt_clickid' in event, false);
});

test('page_url is used when page_urlquery is absent; no query, no fields', () => {
  const event: Record<string, unknown> = { page_url: 'https://a.com/?utm_source=news#top' };
  defaults(event);
  assert.equal(event.mkt_source, 'news');
  const bare: Record<string, unknown> = { page_url: 'https://a.com/' };
  defaults(bare);
  assert.deepEqual(Object.keys(bare), ['page_url']);
});

test('click ids: gclid → Google, msclkid → Microsoft, dclid → DoubleClick, custom ones added', () => {
  const g: Record<string, unknown> = { page_urlquery: 'gclid=abc' };
  defaults(g);
  assert.deepEqual([g.mkt_clickid, g.mkt_network], ['abc', 'Google']);
  const m: Record<string, unknown> = { page_urlquery: 'msclkid=m1' };
  defaults(m);
  assert.deepEqual([m.mkt_clickid, m.mkt_network], ['m1', 'Microsoft']);
  const d: Record<string, unknown> = { page_urlquery: 'dclid=d1' };
  defaults(d);
  assert.deepEqual([d.mkt_clickid, d.mkt_network], ['d1', 'DoubleClick']);
  const custom = createCampaignEnrichment(campaignConfigSchema.parse({ clickIds: { fbclid: 'Facebook', gclid: 'Google Ads' } }));
  const f: Record<string, unknown> = { page_urlquery: 'fbclid=f1' };
  custom(f);
  assert.deepEqual([f.mkt_clickid, f.mkt_network], ['f1', 'Facebook']);
  const renamed: Record<string, unknown> = { page_urlquery: 'gclid=g2' };
  custom(renamed);
  assert.equal(renamed.mkt_network, 'Google Ads');
  const both: Record<string, unknown> = { page_urlquery: 'msclkid=m&gclid=g' };
  defaults(both);
  assert.deepEqual([both.mkt_clickid, both.mkt_network], ['g', 'Google'], 'the map order decides, gclid first');
});

test('configurable parameter names per field, in precedence order (Omniture-style cid)', () => {
  const enrich = createCampaignEnrichment(
    campaignConfigSchema.parse({ fields: { mktCampaign: ['cid', 'utm_campaign'], mktSource: ['source', 'utm_source'] } }),
  );
  const event: Record<string, unknown> = { page_urlquery: 'utm_campaign=later&cid=first&utm_source=u&utm_medium=email' };
  enrich(event);
  assert.equal(event.mkt_campaign, 'first');
  assert.equal(event.mkt_source, 'u');
  assert.equal(event.mkt_medium, 'email', 'unconfigured fields keep their defaults');
});

test('names are case-sensitive, the last of repeated parameters wins, empty values set nothing', () => {
  const event: Record<string, unknown> = { page_urlquery: 'UTM_SOURCE=x&utm_medium=a&utm_medium=b&utm_term=&gclid' };
  defaults(event);
  assert.equal('mkt_source' in event, false);
  assert.equal(event.mkt_medium, 'b');
  assert.equal('mkt_term' in event, false);
  assert.equal('mkt_clickid' in event, false);
});

test('malformed query strings are ignored; too-long values are field_too_long; disabled does nothing', () => {
  const bad: Record<string, unknown> = { page_urlquery: 'utm_source=%zz' };
  assert.deepEqual(defaults(bad), { kind: 'ok' });
  assert.equal('mkt_source' in bad, false);
  const long = defaults({ page_urlquery: `utm_campaign=${'c'.repeat(256)}` });
  assert.equal(long.kind === 'bad' ? long.reason : long.kind, 'field_too_long');
  const off = createCampaignEnrichment(campaignConfigSchema.parse({ enabled: false }));
  const event: Record<string, unknown> = { page_urlquery: 'utm_source=x' };
  off(event);
  assert.equal('mkt_source' in event, false);
  assert.throws(() => campaignConfigSchema.parse({ fields: { mktSource: [''] } }));
});
