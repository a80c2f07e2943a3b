/**
 * Referer classification (Snowplow `referer_parser` enrichment): `page_referrer` →
 * `refr_medium`, `refr_source`, `refr_term`, using the referer-parser database
 * (`data/referer-parser/referers.yml`, GPL-3 data read at run time, see data/README.md).
 *
 * Behaviour follows snowplow-referer-parser's Parser, which Snowplow Enrich calls:
 * - only `http`, `https` and `android-app` referers with a host are classified; any other
 *   referer leaves the three fields unset;
 * - a referer whose host equals the page's host (`page_urlhost`) or one of `internalDomains` is
 *   `internal` (no source, no term);
 * - otherwise the database is searched for host+path keys: paths in the order full path, first
 *   path segment, no path; for each path the host, then the host without its first label, and so
 *   on (`www.google.co.uk/imgres`, `google.co.uk/imgres`, `co.uk/imgres`, `uk/imgres`, then the
 *   same with `/…` and finally bare hosts);
 * - a host found in the database's `unknown` section, or not found at all, is `unknown` with no
 *   source;
 * - for `search` referers the term is the first query parameter (in query order) whose name is one
 *   of the engine's `parameters`, form-decoded, with tabs made 4 spaces and control characters
 *   removed; an empty term is no term.
 *
 * Extension over Snowplow: an `internalDomains` entry starting with `*.` also matches every
 * subdomain (`*.example.com` matches `shop.example.com` and `example.com`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { decodeComponent } from '../../snowplow/querystring';
import { splitUrl } from '../../snowplow/url';
import { type Enrichment, type EnrichableEvent, OK, setLimited, stringField } from './types';

export type RefererMedium = 'unknown' | 'search' | 'internal' | 'social' | 'email' | 'paid' | 'chatbot';

const DATABASE_MEDIA: ReadonlySet<string> = new Set(['unknown', 'search', 'social', 'email', 'paid', 'chatbot']);

export interface RefererEntry {
  readonly medium: RefererMedium;
  readonly source: string;
  /** Query parameter names that hold the search term (search engines only). */
  readonly parameters: ReadonlyArray<string>;
}

/** The database as a map from `host` or `host/path` (lowercase) to its entry. */
export interface RefererDatabase {
  readonly entries: ReadonlyMap<string, RefererEntry>;
}

/** `data/referer-parser/referers.yml` of the installed package (resolved from dist/src/stages/enrich). */
export const DEFAULT_REFERER_DATABASE_PATH = join(__dirname, '..', '..', '..', '..', 'data', 'referer-parser', 'referers.yml');

/** Builds the lookup map from the YAML text of a referers.yml database. Throws on a malformed file. */
export function parseRefererDatabase(yamlText: string): RefererDatabase {
  const doc: unknown = parseYaml(yamlText);
  if (doc === null || typeof doc !== 'object') throw new Error('referer database: expected a mapping of media');
  const entries = new Map<string, RefererEntry>();
  for (const [medium, sources] of Object.entries(doc as Record<string, unknown>)) {
    if (!DATABASE_MEDIA.has(medium)) throw new Error(`referer database: unknown medium "${medium}"`);
    if (sources === null || typeof sources !== 'object') throw new Error(`referer database: medium "${medium}" holds no sources`);
    for (const [source, spec] of Object.entries(sources as Record<string, unknown>)) {
      const s = spec as { domains?: unknown; parameters?: unknown } | null;
      if (s === null || !Array.isArray(s.domains)) throw new Error(`referer database: ${medium}/${source} has no domains list`);
      const parameters = Array.isArray(s.parameters) ? s.parameters.map(String) : [];
      const entry: RefererEntry = Object.freeze({ medium: medium as RefererMedium, source, parameters: Object.freeze(parameters) });
      // Later sections override earlier ones for a repeated domain, as the upstream loaders do.
      for (const domain of s.domains) entries.set(String(domain).toLowerCase(), entry);
    }
  }
  return { entries };
}

/** Reads and parses a referers.yml file (once, when the processor starts). */
export function loadRefererDatabase(path: string = DEFAULT_REFERER_DATABASE_PATH): RefererDatabase {
  return parseRefererDatabase(readFileSync(path, 'utf8'));
}

export const refererConfigSchema = z
  .object({
    type: z.literal('referer').default('referer').describe('Enrichment type: referer classification (Snowplow referer_parser).'),
    enabled: z.boolean().default(true).describe('Classify page_referrer into refr_medium / refr_source / refr_term.'),
    database: z
      .string()
      .optional()
      .describe('Path of a referers.yml database. Default: the copy shipped in data/referer-parser/ (GPL-3 data).'),
    internalDomains: z
      .array(z.string())
      .default([])
      .describe('Hosts whose referrals count as internal, besides the page\'s own host. "*.example.com" also matches subdomains.'),
  })
  .describe('Referer parser: tells search engines, social networks, email, paid and chatbot referrals apart, and extracts search terms.');

export type RefererConfig = z.infer<typeof refererConfigSchema>;

export interface RefererDeps {
  /** The parsed database (`loadRefererDatabase(config.database)`), shared by all instances. */
  database: RefererDatabase;
}

export interface RefererClassification {
  medium: RefererMedium;
  source?: string;
  term?: string;
}

const VALID_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'android-app']);

/** Tabs → 4 spaces, other control characters removed (Snowplow ConversionUtils.fixTabsNewlines). */
function cleanTerm(term: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const cleaned = term.replace(/\t/g, '    ').replace(/[\u0000-\u001f\u007f]/g, '');
  return cleaned === '' ? undefined : cleaned;
}

function searchTerm(query: string | undefined, parameters: ReadonlyArray<string>): string | undefined {
  if (query === undefined || parameters.length === 0) return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq > 0 ? pair.slice(0, eq) : pair);
    if (name === undefined || !parameters.includes(name)) continue;
    if (eq <= 0) return undefined;
    const value = decodeComponent(pair.slice(eq + 1));
    return value === undefined ? undefined : cleanTerm(value);
  }
  return undefined;
}

/** The database entry for a host and path, searched in Snowplow's order (see module comment). */
export function lookupReferer(database: RefererDatabase, host: string, path: string | undefined): RefererEntry | undefined {
  const entries = database.entries;
  const paths: string[] = [];
  const firstSegment = path === undefined ? undefined : path.split('/').find((segment) => segment !== '');
  if (path !== undefined && firstSegment !== undefined) {
    paths.push(path);
    if (path !== '/' + firstSegment) paths.push('/' + firstSegment);
  }
  paths.push('');
  for (const p of paths) {
    let h = host;
    for (;;) {
      const entry = entries.get(h + p);
      if (entry !== undefined) return entry;
      const dot = h.indexOf('.');
      if (dot === -1) break;
      h = h.slice(dot + 1);
    }
  }
  return undefined;
}

function isInternal(host: string, pageHost: string | undefined, exact: ReadonlySet<string>, suffixes: ReadonlyArray<string>): boolean {
  if (pageHost !== undefined && pageHost.toLowerCase() === host) return true;
  if (exact.has(host)) return true;
  for (const suffix of suffixes) {
    if (host.endsWith(suffix) || host === suffix.slice(1)) return true;
  }
  return false;
}

/**
 * Classifies one referer URL. Returns undefined when it is not classifiable (not http(s) or
 * android-app, or no host), in which case Snowplow sets no refr_medium either.
 */
export function createRefererClassifier(
  database: RefererDatabase,
  internalDomains: ReadonlyArray<string> = [],
): (referer: string, pageHost?: string) => RefererClassification | undefined {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of internalDomains) {
    const d = raw.trim().toLowerCase();
    if (d.startsWith('*.')) suffixes.push(d.slice(1));
    else if (d !== '') exact.add(d);
  }
  return (referer, pageHost) => {
    const parts = splitUrl(referer);
    if (parts === undefined || !VALID_SCHEMES.has(parts.scheme.toLowerCase())) return undefined;
    const host = parts.host.toLowerCase();
    if (isInternal(host, pageHost, exact, suffixes)) return { medium: 'internal' };
    const entry = lookupReferer(database, host, parts.path);
    if (entry === undefined || entry.medium === 'unknown') return { medium: 'unknown' };
    if (entry.medium !== 'search') return { medium: entry.medium, source: entry.source };
    const term = searchTerm(parts.query, entry.parameters);
    return term === undefined ? { medium: 'search', source: entry.source } : { medium: 'search', source: entry.source, term };
  };
}

/**
 * Sets refr_medium / refr_source / refr_term from page_referrer. The page's own host comes from
 * page_urlhost (set by the decoder), so a referral from the same site is `internal`.
 */
export function createRefererEnrichment(config: RefererConfig, deps: RefererDeps): Enrichment {
  if (!config.enabled) return () => OK;
  const classify = createRefererClassifier(deps.database, config.internalDomains);
  return function classifyReferer(event: EnrichableEvent) {
    const referer = stringField(event, 'page_referrer');
    if (referer === undefined) return OK;
    const found = classify(referer, pageHostOf(event));
    if (found === undefined) return OK;
    event.refr_medium = found.medium;
    if (found.source !== undefined) {
      const failed = setLimited(event, 'refr_source', found.source);
      if (failed !== undefined) return failed;
    }
    if (found.term !== undefined) {
      const failed = setLimited(event, 'refr_term', found.term);
      if (failed !== undefined) return failed;
    }
    return OK;
  };
}

function pageHostOf(event: EnrichableEvent): string | undefined {
  const host = stringField(event, 'page_urlhost');
  if (host !== undefined) return host;
  const url = stringField(event, 'page_url');
  return url === undefined ? undefined : splitUrl(url)?.host;
}
