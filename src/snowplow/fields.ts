/**
 * The 131 columns of a Snowplow enriched event, in the exact order Snowplow writes its
 * enriched TSV (Snowplow's EnrichedEvent / the analytics SDKs' field list), with the type
 * each column carries. TSV writers, TSV readers and storage schemas (ClickHouse, ES) are all
 * generated from this one list so they cannot drift apart.
 *
 * Name note: column 122 is `refr_dvce_tstamp` as in the canonical event model and the
 * warehouse `atomic.events` table; Snowplow's analytics SDKs call the same column
 * `refr_device_tstamp` when they turn TSV into JSON.
 */
export type FieldType = 'string' | 'int' | 'float' | 'bool' | 'timestamp' | 'json';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
}

const s = 'string' as const;
const i = 'int' as const;
const f = 'float' as const;
const b = 'bool' as const;
const t = 'timestamp' as const;
const j = 'json' as const;

const SPEC: ReadonlyArray<readonly [string, FieldType]> = [
  ['app_id', s], ['platform', s], ['etl_tstamp', t], ['collector_tstamp', t], ['dvce_created_tstamp', t],
  ['event', s], ['event_id', s], ['txn_id', i], ['name_tracker', s], ['v_tracker', s],
  ['v_collector', s], ['v_etl', s], ['user_id', s], ['user_ipaddress', s], ['user_fingerprint', s],
  ['domain_userid', s], ['domain_sessionidx', i], ['network_userid', s], ['geo_country', s], ['geo_region', s],
  ['geo_city', s], ['geo_zipcode', s], ['geo_latitude', f], ['geo_longitude', f], ['geo_region_name', s],
  ['ip_isp', s], ['ip_organization', s], ['ip_domain', s], ['ip_netspeed', s], ['page_url', s],
  ['page_title', s], ['page_referrer', s], ['page_urlscheme', s], ['page_urlhost', s], ['page_urlport', i],
  ['page_urlpath', s], ['page_urlquery', s], ['page_urlfragment', s], ['refr_urlscheme', s], ['refr_urlhost', s],
  ['refr_urlport', i], ['refr_urlpath', s], ['refr_urlquery', s], ['refr_urlfragment', s], ['refr_medium', s],
  ['refr_source', s], ['refr_term', s], ['mkt_medium', s], ['mkt_source', s], ['mkt_term', s],
  ['mkt_content', s], ['mkt_campaign', s], ['contexts', j], ['se_category', s], ['se_action', s],
  ['se_label', s], ['se_property', s], ['se_value', f], ['unstruct_event', j], ['tr_orderid', s],
  ['tr_affiliation', s], ['tr_total', f], ['tr_tax', f], ['tr_shipping', f], ['tr_city', s],
  ['tr_state', s], ['tr_country', s], ['ti_orderid', s], ['ti_sku', s], ['ti_name', s],
  ['ti_category', s], ['ti_price', f], ['ti_quantity', i], ['pp_xoffset_min', i], ['pp_xoffset_max', i],
  ['pp_yoffset_min', i], ['pp_yoffset_max', i], ['useragent', s], ['br_name', s], ['br_family', s],
  ['br_version', s], ['br_type', s], ['br_renderengine', s], ['br_lang', s], ['br_features_pdf', b],
  ['br_features_flash', b], ['br_features_java', b], ['br_features_director', b], ['br_features_quicktime', b], ['br_features_realplayer', b],
  ['br_features_windowsmedia', b], ['br_features_gears', b], ['br_features_silverlight', b], ['br_cookies', b], ['br_colordepth', s],
  ['br_viewwidth', i], ['br_viewheight', i], ['os_name', s], ['os_family', s], ['os_manufacturer', s],
  ['os_timezone', s], ['dvce_type', s], ['dvce_ismobile', b], ['dvce_screenwidth', i], ['dvce_screenheight', i],
  ['doc_charset', s], ['doc_width', i], ['doc_height', i], ['tr_currency', s], ['tr_total_base', f],
  ['tr_tax_base', f], ['tr_shipping_base', f], ['ti_currency', s], ['ti_price_base', f], ['base_currency', s],
  ['geo_timezone', s], ['mkt_clickid', s], ['mkt_network', s], ['etl_tags', s], ['dvce_sent_tstamp', t],
  ['refr_domain_userid', s], ['refr_dvce_tstamp', t], ['derived_contexts', j], ['domain_sessionid', s], ['derived_tstamp', t],
  ['event_vendor', s], ['event_name', s], ['event_format', s], ['event_version', s], ['event_fingerprint', s],
  ['true_tstamp', t],
];

/** All 131 enriched-event columns in Snowplow's TSV order. */
export const ENRICHED_FIELDS: ReadonlyArray<FieldSpec> = Object.freeze(
  SPEC.map(([name, type]) => Object.freeze({ name, type })),
);

/** Column names only, in TSV order. */
export const ENRICHED_FIELD_NAMES: ReadonlyArray<string> = Object.freeze(ENRICHED_FIELDS.map((x) => x.name));

export const ENRICHED_FIELD_COUNT = 131;

/** Type of a canonical field by name (undefined for a name that is not a canonical field). */
export const FIELD_TYPES: Readonly<Record<string, FieldType>> = Object.freeze(
  Object.fromEntries(ENRICHED_FIELDS.map((x) => [x.name, x.type])),
);

/**
 * Snowplow's maximum lengths for string columns (Enrich's atomic-field limits, the same numbers
 * its analytics SDK validates). An event with a longer value is an enrichment failure in Snowplow,
 * and in tailplow.
 */
export const FIELD_MAX_LENGTHS: Readonly<Record<string, number>> = Object.freeze({
  app_id: 255, platform: 255, event: 128, event_id: 36, name_tracker: 128, v_tracker: 100,
  v_collector: 100, v_etl: 100, user_id: 255, user_ipaddress: 128, user_fingerprint: 128,
  domain_userid: 128, network_userid: 128, geo_country: 2, geo_region: 3, geo_city: 75,
  geo_zipcode: 15, geo_region_name: 100, ip_isp: 100, ip_organization: 128, ip_domain: 128,
  ip_netspeed: 100, page_url: 10000, page_title: 2000, page_referrer: 10000, page_urlscheme: 16,
  page_urlhost: 255, page_urlpath: 3000, page_urlquery: 6000, page_urlfragment: 3000,
  refr_urlscheme: 16, refr_urlhost: 255, refr_urlpath: 6000, refr_urlquery: 6000,
  refr_urlfragment: 3000, refr_medium: 25, refr_source: 50, refr_term: 255, mkt_clickid: 1000,
  mkt_network: 64, mkt_medium: 255, mkt_source: 255, mkt_term: 255, mkt_content: 500,
  mkt_campaign: 255, se_category: 1000, se_action: 1000, se_label: 4096, se_property: 1000,
  tr_orderid: 255, tr_affiliation: 255, tr_city: 255, tr_state: 255, tr_country: 255,
  ti_orderid: 255, ti_sku: 255, ti_name: 255, ti_category: 255, useragent: 1000, br_name: 50,
  br_family: 50, br_version: 50, br_type: 50, br_renderengine: 50, br_lang: 255,
  br_colordepth: 12, os_name: 50, os_family: 50, os_manufacturer: 50, os_timezone: 255,
  dvce_type: 50, doc_charset: 128, tr_currency: 3, ti_currency: 3, base_currency: 3,
  geo_timezone: 64, etl_tags: 500, refr_domain_userid: 128, domain_sessionid: 128,
  event_vendor: 1000, event_name: 1000, event_format: 128, event_version: 128,
  event_fingerprint: 128,
});
