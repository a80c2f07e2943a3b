/**
 * User-agent parsing: `useragent` → Snowplow's browser/OS/device columns and the
 * `ua_parser_context` derived entity, with ua-parser-js 1.x (MIT; 2.x is AGPL and must not be used).
 *
 * Columns, in the vocabulary of Snowplow's legacy `user_agent_utils` enrichment (the one that fills
 * them in Snowplow), e.g. for Chrome 33 on a Mac: br_name "Chrome 33", br_family "Chrome",
 * br_version "33.0.1750.152", br_type "Browser", br_renderengine "WEBKIT", os_name "Mac OS X",
 * os_family "Mac OS X", os_manufacturer "Apple Inc.", dvce_type "Computer", dvce_ismobile false.
 * - br_name: family + major version on computers ("Firefox 121", "Internet Explorer 11"); the mobile
 *   variant's name on phones/tablets ("Chrome Mobile", "Mobile Safari", "Firefox Mobile").
 * - br_type: "Browser", "Browser (mobile)", "Unknown" ("Robot" is set by the bots enrichment).
 * - br_renderengine: user-agent-utils' enum names: WEBKIT (also for Blink, as Snowplow reports
 *   Chrome), GECKO, TRIDENT, EDGE_HTML, PRESTO, KHTML, OTHER.
 * - dvce_type: "Computer", "Mobile", "Tablet", "Game console", "Digital media receiver",
 *   "Wearable computer", "Unknown"; dvce_ismobile is true for Mobile, Tablet and Wearable.
 * The detection itself is ua-parser-js's, so a value can differ from what the (deprecated, frozen)
 * user-agent-utils library would have said for the same string, especially for versions.
 *
 * The context follows `iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0`
 * as Snowplow's ua_parser enrichment builds it (family names in uap-core's vocabulary where they
 * differ from ua-parser-js: "Chrome Mobile", "Firefox Mobile", "Mac OS X", "Chrome OS",
 * "HeadlessChrome", "Samsung Internet"; "Other" when unknown; version strings like
 * "Mobile Safari 5.1" and "iOS 5.1.1").
 *
 * Parsing costs tens of microseconds, so results are kept in an LRU cache keyed by the UA string;
 * the cached fields and context are frozen and shared between events.
 */
import UAParser from 'ua-parser-js';
import { z } from 'zod';
import { addDerivedContext, cachedByKey, type DerivedContext, type Enrichment, type EnrichableEvent, OK, stringField } from './types';

export const UA_PARSER_CONTEXT_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0';

export const uaConfigSchema = z
  .object({
    type: z.literal('ua').default('ua').describe('Enrichment type: user-agent parsing (Snowplow user_agent_utils columns + ua_parser_context).'),
    enabled: z.boolean().default(true).describe('Parse the useragent field.'),
    fields: z.boolean().default(true).describe('Fill br_name, br_family, br_version, br_type, br_renderengine, os_name, os_family, os_manufacturer, dvce_type, dvce_ismobile.'),
    context: z.boolean().default(true).describe('Add the ua_parser_context entity to derived_contexts.'),
    cacheSize: z.number().int().min(0).default(10000).describe('Distinct user agents kept parsed in memory (LRU); 0 disables the cache.'),
  })
  .describe('User-agent parsing with ua-parser-js 1.x into browser, OS and device fields.');

export type UaConfig = z.infer<typeof uaConfigSchema>;

/** The atomic columns this enrichment sets. */
export interface UaFields {
  br_name: string;
  br_family: string;
  br_version?: string;
  br_type: string;
  br_renderengine: string;
  os_name: string;
  os_family: string;
  os_manufacturer: string;
  dvce_type: string;
  dvce_ismobile: boolean;
}

export interface ParsedUserAgent {
  readonly fields: Readonly<UaFields>;
  readonly context: Readonly<DerivedContext>;
}

export interface UaDeps {
  /** The parser; default `parseUserAgent`. Injected by tests and benchmarks. */
  parse?: (useragent: string) => ParsedUserAgent;
}

// ua-parser-js browser name → [user-agent-utils family, name on mobile devices, uap-core family]
const BROWSERS: Readonly<Record<string, readonly [string, string, string]>> = {
  Chrome: ['Chrome', 'Chrome Mobile', 'Chrome'],
  'Mobile Chrome': ['Chrome', 'Chrome Mobile', 'Chrome Mobile'],
  'Chrome WebView': ['Chrome', 'Chrome Mobile', 'Chrome Mobile WebView'],
  'Chrome Headless': ['Chrome', 'Chrome', 'HeadlessChrome'],
  Chromium: ['Chrome', 'Chrome Mobile', 'Chromium'],
  Safari: ['Safari', 'Mobile Safari', 'Safari'],
  'Mobile Safari': ['Safari', 'Mobile Safari', 'Mobile Safari'],
  Firefox: ['Firefox', 'Firefox Mobile', 'Firefox'],
  'Mobile Firefox': ['Firefox', 'Firefox Mobile', 'Firefox Mobile'],
  IE: ['Internet Explorer', 'IE Mobile', 'IE'],
  IEMobile: ['Internet Explorer', 'IE Mobile', 'IE Mobile'],
  Edge: ['Microsoft Edge', 'Microsoft Edge Mobile', 'Edge'],
  Opera: ['Opera', 'Opera Mobile', 'Opera'],
  'Opera Mini': ['Opera', 'Opera Mini', 'Opera Mini'],
  'Opera Mobi': ['Opera', 'Opera Mobile', 'Opera Mobile'],
  'Samsung Browser': ['Samsung Browser', 'Samsung Browser', 'Samsung Internet'],
};

// ua-parser-js OS name → [os_family, os_manufacturer, uap-core family]
const OPERATING_SYSTEMS: Readonly<Record<string, readonly [string, string, string]>> = {
  Windows: ['Windows', 'Microsoft Corporation', 'Windows'],
  'Windows Phone': ['Windows', 'Microsoft Corporation', 'Windows Phone'],
  'Mac OS': ['Mac OS X', 'Apple Inc.', 'Mac OS X'],
  macOS: ['Mac OS X', 'Apple Inc.', 'Mac OS X'],
  iOS: ['iOS', 'Apple Inc.', 'iOS'],
  Android: ['Android', 'Google Inc.', 'Android'],
  'Chromium OS': ['Chrome OS', 'Google Inc.', 'Chrome OS'],
  Linux: ['Linux', 'Other', 'Linux'],
  Ubuntu: ['Linux', 'Other', 'Ubuntu'],
  Debian: ['Linux', 'Other', 'Debian'],
  Fedora: ['Linux', 'Other', 'Fedora'],
};

// Blink is reported as WEBKIT: user-agent-utils (and so Snowplow) says WEBKIT for Chrome.
const ENGINES: Readonly<Record<string, string>> = {
  Blink: 'WEBKIT', WebKit: 'WEBKIT', Gecko: 'GECKO', Trident: 'TRIDENT', EdgeHTML: 'EDGE_HTML', Presto: 'PRESTO', KHTML: 'KHTML',
};

const DEVICE_TYPES: Readonly<Record<string, string>> = {
  mobile: 'Mobile', tablet: 'Tablet', console: 'Game console', smarttv: 'Digital media receiver', wearable: 'Wearable computer', embedded: 'Unknown',
};

const COMPUTER_OS_FAMILIES: ReadonlySet<string> = new Set(['Windows', 'Mac OS X', 'Linux', 'Chrome OS']);

function versionParts(version: string | undefined): [string | null, string | null, string | null, string | null] {
  if (version === undefined || version === '') return [null, null, null, null];
  const p = version.split(/[._]/);
  return [p[0] ?? null, p[1] ?? null, p[2] ?? null, p[3] ?? null];
}

/** Snowplow's version string: family, then " major", ".minor", ".patch"… for the parts present. */
function versionString(family: string, parts: ReadonlyArray<string | null>): string {
  let out = family;
  parts.forEach((part, i) => {
    if (part !== null) out += (i === 0 ? ' ' : '.') + part;
  });
  return out;
}

function osName(family: string, rawName: string | undefined, version: string | undefined, major: string | null, model: string | undefined): string {
  switch (family) {
    case 'Windows':
      return version !== undefined ? `Windows ${version}` : 'Windows';
    case 'iOS':
      return `iOS${major !== null ? ` ${major}` : ''}${model !== undefined ? ` (${model})` : ''}`;
    case 'Android':
      return major !== null ? `Android ${major}.x` : 'Android';
    case 'Mac OS X':
    case 'Chrome OS':
      return family;
    default:
      return rawName ?? 'Unknown';
  }
}

/** Parses one user agent into the Snowplow columns and the ua_parser_context entity (no cache). */
export function parseUserAgent(useragent: string): ParsedUserAgent {
  const r = new UAParser(useragent).getResult();
  const deviceType = r.device.type !== undefined ? DEVICE_TYPES[r.device.type] ?? 'Unknown' : undefined;
  const os = r.os.name !== undefined ? OPERATING_SYSTEMS[r.os.name] : undefined;
  const osFamily = os?.[0] ?? r.os.name ?? 'Unknown';
  const dvceType = deviceType ?? (COMPUTER_OS_FAMILIES.has(osFamily) ? 'Computer' : 'Unknown');
  const isMobile = dvceType === 'Mobile' || dvceType === 'Tablet' || dvceType === 'Wearable computer';

  const browserName = r.browser.name;
  const known = browserName !== undefined ? BROWSERS[browserName] : undefined;
  const family = known?.[0] ?? browserName ?? 'Unknown';
  const major = r.browser.major;
  let brName: string;
  if (browserName === undefined) brName = 'Unknown';
  else if (isMobile) brName = known?.[1] ?? family;
  else brName = major !== undefined ? `${family} ${major}` : family;

  const [osMajor, osMinor, osPatch, osPatchMinor] = versionParts(r.os.version);
  const fields: UaFields = {
    br_name: brName,
    br_family: family,
    br_type: browserName === undefined ? 'Unknown' : isMobile ? 'Browser (mobile)' : 'Browser',
    br_renderengine: (r.engine.name !== undefined ? ENGINES[r.engine.name] : undefined) ?? 'OTHER',
    os_name: r.os.name === undefined ? 'Unknown' : osName(osFamily, r.os.name, r.os.version, osMajor, r.device.model),
    os_family: osFamily,
    os_manufacturer: os?.[1] ?? 'Other',
    dvce_type: dvceType,
    dvce_ismobile: isMobile,
  };
  if (r.browser.version !== undefined) fields.br_version = r.browser.version;

  let uapFamily = known?.[2] ?? browserName ?? 'Other';
  if (isMobile && (uapFamily === 'Chrome' || uapFamily === 'Firefox')) uapFamily += ' Mobile';
  const [uaMajor, uaMinor, uaPatch] = versionParts(r.browser.version);
  const uapOs = os?.[2] ?? r.os.name ?? 'Other';
  const context: DerivedContext = {
    schema: UA_PARSER_CONTEXT_SCHEMA,
    data: Object.freeze({
      useragentFamily: uapFamily,
      useragentMajor: uaMajor,
      useragentMinor: uaMinor,
      useragentPatch: uaPatch,
      useragentVersion: versionString(uapFamily, [uaMajor, uaMinor, uaPatch]),
      osFamily: uapOs,
      osMajor,
      osMinor,
      osPatch,
      osPatchMinor,
      osVersion: versionString(uapOs, [osMajor, osMinor, osPatch, osPatchMinor]),
      deviceFamily: deviceFamilyOf(r.device.vendor, r.device.model),
    }),
  };
  return Object.freeze({ fields: Object.freeze(fields), context: Object.freeze(context) });
}

function deviceFamilyOf(vendor: string | undefined, model: string | undefined): string {
  if (model === undefined) return 'Other';
  if (model === 'Macintosh') return 'Mac';
  if (vendor === undefined || vendor === 'Apple') return model;
  return `${vendor} ${model}`;
}

export function createUaEnrichment(config: UaConfig, deps: UaDeps = {}): Enrichment {
  if (!config.enabled || (!config.fields && !config.context)) return () => OK;
  const parse = cachedByKey(config.cacheSize, deps.parse ?? parseUserAgent);
  const setFields = config.fields;
  const setContext = config.context;

  return function parseUa(event: EnrichableEvent) {
    const useragent = stringField(event, 'useragent');
    if (useragent === undefined) return OK;
    const parsed = parse(useragent);
    if (setFields) Object.assign(event, parsed.fields);
    if (setContext) addDerivedContext(event, parsed.context);
    return OK;
  };
}
