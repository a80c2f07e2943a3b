/**
 * How events are laid out in Elasticsearch: the index template (explicit mappings generated
 * from the 131 canonical columns in src/snowplow/fields.ts, so storage cannot drift from the
 * event model), the document an event becomes (its JSON form plus two derived, typed fields),
 * and index names with an optional date pattern.
 *
 * Mapping decisions (README "Elasticsearch sink" repeats them for users):
 * - Strings are `keyword` (exact match, aggregations), with `ignore_above` so a value longer
 *   than Lucene's 32766-byte term limit (page_url may hold 10000 characters of 4-byte UTF-8) is
 *   kept in `_source` but not indexed, instead of failing the document. `page_title` also gets
 *   a `text` sub-field for full-text search.
 * - `user_ipaddress` stays `keyword`: the enrich stage may anonymise it (`1.2.x.x`), which an
 *   `ip` field refuses, and a refused field would turn the whole event into a bad row. The
 *   document gets a separate `user_ip` of type `ip` only when the address is a valid IPv4/IPv6
 *   address, so CIDR queries work on the ones that are.
 * - `geo_location` (`geo_point`) is derived from geo_latitude/geo_longitude when both are present
 *   and in range; the two columns stay as `double` too.
 * - `contexts`, `derived_contexts` and `unstruct_event` are `flattened`, holding the canonical
 *   shape unchanged (`[{schema, data}]`, `{schema, data}`): their keys are defined by whatever
 *   schemas trackers send, so an `object` mapping would grow a field per tracker property
 *   (mapping explosion) and reject an event whose property has another type than an earlier
 *   one. Flattened indexes every leaf as a keyword (`contexts.schema`, `contexts.data.id`), and
 *   `_source` stays identical to the event's JSON form on Kafka.
 */
import { isIP } from 'node:net';
import type { SnowplowEvent } from '../snowplow/event';
import { ENRICHED_FIELDS, type FieldType } from '../snowplow/fields';

/** Longest keyword that is indexed: 8191 characters × 4 UTF-8 bytes stays under Lucene's 32766-byte term limit. */
export const KEYWORD_IGNORE_ABOVE = 8191;

/** Field names this module adds to every document when it can derive them. */
export const GEO_LOCATION_FIELD = 'geo_location';
export const USER_IP_FIELD = 'user_ip';

export type FieldMapping = Record<string, unknown>;

/** What happens to a document field the template does not know (a stage added it). */
export type UnknownFields = 'keep' | 'reject';

const DATE_FORMAT = 'strict_date_optional_time||epoch_millis';

function mappingOf(name: string, type: FieldType): FieldMapping {
  switch (type) {
    case 'string':
      return name === 'page_title'
        ? { type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE, fields: { text: { type: 'text' } } }
        : { type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE };
    case 'int':
      return { type: 'long' };
    case 'float':
      return { type: 'double' };
    case 'bool':
      return { type: 'boolean' };
    case 'timestamp':
      return { type: 'date', format: DATE_FORMAT };
    case 'json':
      return { type: 'flattened', ignore_above: KEYWORD_IGNORE_ABOVE };
  }
}

/** Mappings of the 131 canonical columns plus the derived `geo_location` and `user_ip`. */
export function eventMappings(unknownFields: UnknownFields = 'keep'): { dynamic: 'strict' | 'false'; properties: Record<string, FieldMapping> } {
  const properties: Record<string, FieldMapping> = {};
  for (const field of ENRICHED_FIELDS) properties[field.name] = mappingOf(field.name, field.type);
  properties[GEO_LOCATION_FIELD] = { type: 'geo_point' };
  properties[USER_IP_FIELD] = { type: 'ip' };
  // 'keep' (dynamic false): a field added by a newer stage is stored in _source but not indexed,
  // rather than turning every event into a bad row; 'reject' makes it a per-event mapping error.
  return { dynamic: unknownFields === 'reject' ? 'strict' : 'false', properties };
}

export interface TemplateOptions {
  /** Index pattern(s) the template applies to (see IndexName.templatePattern). */
  indexPatterns: string[];
  priority: number;
  shards?: number;
  replicas?: number;
  unknownFields?: UnknownFields;
}

/** The body of `PUT _index_template/<name>`. */
export function buildIndexTemplate(opts: TemplateOptions): {
  index_patterns: string[];
  priority: number;
  template: { settings: Record<string, unknown>; mappings: ReturnType<typeof eventMappings> };
  _meta: Record<string, unknown>;
} {
  const settings: Record<string, unknown> = {};
  if (opts.shards !== undefined) settings.number_of_shards = opts.shards;
  if (opts.replicas !== undefined) settings.number_of_replicas = opts.replicas;
  return {
    index_patterns: opts.indexPatterns,
    priority: opts.priority,
    template: { settings, mappings: eventMappings(opts.unknownFields) },
    _meta: { managed_by: 'tailplow', description: 'Snowplow canonical events written by the tailplow elasticsearch sink' },
  };
}

function isValidLatLon(lat: unknown, lon: unknown): lat is number {
  return typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
}

/** The document stored for an event: its JSON form plus `geo_location` and `user_ip` when derivable. */
export function eventDocument(event: SnowplowEvent): Record<string, unknown> {
  const doc: Record<string, unknown> = { ...event };
  const { geo_latitude: lat, geo_longitude: lon, user_ipaddress: ip } = event;
  if (isValidLatLon(lat, lon)) doc[GEO_LOCATION_FIELD] = { lat, lon };
  else delete doc[GEO_LOCATION_FIELD];
  if (typeof ip === 'string' && isIP(ip) !== 0) doc[USER_IP_FIELD] = ip;
  else delete doc[USER_IP_FIELD];
  return doc;
}

/** Date tokens allowed inside `{…}` of an index pattern, in UTC. */
const DATE_BLOCK = /\{([^{}]*)\}/g;
const DATE_FORMAT_BODY = /^(?:yyyy|MM|dd|HH|[._-])+$/;
const DATE_TOKEN = /yyyy|MM|dd|HH/g;
// Elasticsearch's rules for index names, on the literal parts.
const INDEX_FORBIDDEN = /[\\/*?"<>| ,#:A-Z]/;

export interface IndexName {
  /** True when the name holds a date pattern. */
  readonly dated: boolean;
  /** Pattern for the index template: the date blocks replaced by `*`. */
  readonly templatePattern: string;
  /** The index for an event time (ms since epoch, UTC); the fixed name when not dated. */
  at(ms: number): string;
}

/** Problem with an index name, or undefined when it is usable. */
export function indexNameProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'index name is empty';
  const literal = pattern.replace(DATE_BLOCK, (_, body: string) => (DATE_FORMAT_BODY.test(body) ? '' : '\u0000'));
  if (literal.includes('\u0000')) return `date pattern in "${pattern}" may hold only yyyy, MM, dd, HH and . - _ inside {…}`;
  if (/[{}]/.test(literal)) return `unbalanced { } in index name "${pattern}"`;
  if (INDEX_FORBIDDEN.test(literal)) return `index name "${pattern}" must be lower case without \\ / * ? " < > | space , # :`;
  if (/^[-_+]/.test(pattern) || pattern === '.' || pattern === '..') return `index name "${pattern}" must not start with - _ + or be . or ..`;
  if (Buffer.byteLength(pattern) > 200) return `index name "${pattern}" is too long (Elasticsearch allows 255 bytes)`;
  return undefined;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Compiles `tracking_persisted` or `tracking_persisted-{yyyy.MM.dd}`; throws on an invalid name. */
export function compileIndexName(pattern: string): IndexName {
  const problem = indexNameProblem(pattern);
  if (problem) throw new Error(problem);
  const dated = /\{/.test(pattern);
  return {
    dated,
    templatePattern: pattern.replace(DATE_BLOCK, '*'),
    at(ms) {
      if (!dated) return pattern;
      const d = new Date(ms);
      const values: Record<string, string> = {
        yyyy: String(d.getUTCFullYear()).padStart(4, '0'),
        MM: pad(d.getUTCMonth() + 1),
        dd: pad(d.getUTCDate()),
        HH: pad(d.getUTCHours()),
      };
      return pattern.replace(DATE_BLOCK, (_, body: string) => body.replace(DATE_TOKEN, (token) => values[token] ?? token));
    },
  };
}
