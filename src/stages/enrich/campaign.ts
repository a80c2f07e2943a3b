/**
 * Campaign attribution (Snowplow `campaign_attribution` enrichment): marketing parameters in the
 * page URL's query string → `mkt_medium`, `mkt_source`, `mkt_term`, `mkt_content`,
 * `mkt_campaign`, and ad-network click ids → `mkt_clickid` + `mkt_network`.
 *
 * As in Snowplow: each field has a list of parameter names in order of precedence and takes the
 * value of the first name present in the query; when a name repeats in the query the last value
 * wins; names are case-sensitive; values are form-decoded (`+` is a space, `%XX` UTF-8). The
 * click-id map always contains gclid → Google, msclkid → Microsoft, dclid → DoubleClick, and the
 * configured `clickIds` are added to it (overriding a default network name for the same name).
 *
 * Not copied: Snowplow sets a field to "" when its parameter is present without a value; tailplow
 * leaves the field unset (in the TSV both are an empty column).
 */
import { z } from 'zod';
import { parseQueryString } from '../../snowplow/querystring';
import { splitUrl } from '../../snowplow/url';
import { type Enrichment, type EnrichableEvent, OK, setLimited, stringField } from './types';

/** Snowplow's built-in click-id parameters (CampaignAttributionEnrichment.DefaultNetworkMap). */
export const DEFAULT_CLICK_IDS: Readonly<Record<string, string>> = Object.freeze({
  gclid: 'Google',
  msclkid: 'Microsoft',
  dclid: 'DoubleClick',
});

const parameterList = (defaults: string[], field: string) =>
  z.array(z.string().min(1)).default(defaults).describe(`Query parameters that fill ${field}, first present wins.`);

export const campaignConfigSchema = z
  .object({
    type: z.literal('campaign').default('campaign').describe('Enrichment type: campaign attribution (Snowplow campaign_attribution).'),
    enabled: z.boolean().default(true).describe('Read utm_* style parameters and click ids from the page URL.'),
    fields: z
      .object({
        mktMedium: parameterList(['utm_medium'], 'mkt_medium'),
        mktSource: parameterList(['utm_source'], 'mkt_source'),
        mktTerm: parameterList(['utm_term'], 'mkt_term'),
        mktContent: parameterList(['utm_content'], 'mkt_content'),
        mktCampaign: parameterList(['utm_campaign'], 'mkt_campaign'),
      })
      .default({})
      .describe('Parameter names per marketing field (Snowplow names: mktMedium, mktSource, mktTerm, mktContent, mktCampaign).'),
    clickIds: z
      .record(z.string().min(1), z.string().min(1))
      .default({})
      .describe('Extra click-id parameters → network name, e.g. {fbclid: Facebook}. Added to gclid→Google, msclkid→Microsoft, dclid→DoubleClick.'),
  })
  .describe('Campaign attribution: fills the mkt_* fields from the landing page URL.');

export type CampaignConfig = z.infer<typeof campaignConfigSchema>;

const FIELD_ORDER = [
  ['mktMedium', 'mkt_medium'],
  ['mktSource', 'mkt_source'],
  ['mktTerm', 'mkt_term'],
  ['mktContent', 'mkt_content'],
  ['mktCampaign', 'mkt_campaign'],
] as const;

function queryOf(event: EnrichableEvent): string | undefined {
  const query = stringField(event, 'page_urlquery');
  if (query !== undefined) return query;
  const url = stringField(event, 'page_url');
  return url === undefined ? undefined : splitUrl(url)?.query;
}

export function createCampaignEnrichment(config: CampaignConfig): Enrichment {
  if (!config.enabled) return () => OK;
  const fields = FIELD_ORDER.map(([key, column]) => ({ column, names: config.fields[key] }));
  const clickIds = Object.entries({ ...DEFAULT_CLICK_IDS, ...config.clickIds });
  // Every parameter name the enrichment cares about: a query without any of them costs one scan.
  const wanted = new Set<string>([...fields.flatMap((f) => f.names), ...clickIds.map(([name]) => name)]);

  return function attributeCampaign(event: EnrichableEvent) {
    const query = queryOf(event);
    if (query === undefined) return OK;
    const parsed = parseQueryString(query);
    if (!parsed.ok) return OK;
    let values: Map<string, string> | undefined;
    for (const [name, value] of parsed.params) {
      if (!wanted.has(name)) continue;
      (values ??= new Map()).set(name, value);
    }
    if (values === undefined) return OK;
    for (const { column, names } of fields) {
      for (const name of names) {
        const value = values.get(name);
        if (value === undefined) continue;
        if (value !== '') {
          const failed = setLimited(event, column, value);
          if (failed !== undefined) return failed;
        }
        break;
      }
    }
    for (const [name, network] of clickIds) {
      const value = values.get(name);
      if (value === undefined) continue;
      if (value !== '') {
        const failed = setLimited(event, 'mkt_clickid', value) ?? setLimited(event, 'mkt_network', network);
        if (failed !== undefined) return failed;
      }
      break;
    }
    return OK;
  };
}
