/**
 * The `events` table that the `clickhouse` and `embedded` sinks write and that queries (and the
 * dashboard) read: the 131 canonical columns under their Snowplow names, generated from
 * snowplow/fields.ts, in one of two variants chosen by the server's version.
 *
 * - `modern` (ClickHouse >= 22.3, and chDB): timestamps `DateTime64(3, 'UTC')`, low-cardinality
 *   strings as `LowCardinality(...)`, flags as `Bool`, plus a materialized `context_schemas`
 *   array (the Iglu URIs of `contexts`) for "events with context X" filters.
 * - `legacy` (older servers, e.g. Debian's 18.16): no DateTime64, Bool or stable LowCardinality
 *   (18.16 has it only behind `allow_experimental_low_cardinality_type`, so it is not used),
 *   so timestamps are `DateTime('UTC')` (seconds) and flags `UInt8`; plain `String`s.
 *
 * In both variants every timestamp column `<name>` has a companion `<name>_ms UInt16`, the
 * milliseconds within the second: a real column on legacy (where `<name>` keeps only seconds), an
 * ALIAS computed from the DateTime64 on modern. So every column name, and every query that
 * uses only these names, is the same on both. contexts, unstruct_event and derived_contexts are
 * JSON text (`String`) everywhere; the modern variant can read them with JSONExtract*, 18.16
 * only with visitParamExtract*.
 *
 * Engine: ReplacingMergeTree, PARTITION BY toYYYYMM(derived_tstamp),
 * ORDER BY (app_id, event, toDate(derived_tstamp), event_id). Rows collapse (at merges, or at read
 * time with FINAL) when their whole sorting key is equal, within one partition, so the key holds
 * only what a redelivery cannot change: app_id and event come from the tracker, derived_tstamp is
 * computed from the tracker's timestamps and the log line's $msec, so a replayed or redelivered
 * line gives the same value. A tracker that re-sends an event (its own retry, a new log line) gets a
 * slightly different derived_tstamp; the copies still collapse unless they fall on different UTC
 * days. Without a version column the last inserted copy wins.
 */
import type { SnowplowEvent } from '../snowplow/event';
import { ENRICHED_FIELDS, type FieldSpec } from '../snowplow/fields';

export type SchemaVariant = 'modern' | 'legacy';

/** The oldest server version that takes the modern variant (LTS with DateTime64, Bool, LowCardinality). */
export const MODERN_SCHEMA_SINCE: readonly [number, number] = [22, 3];

/** async_insert (with wait_for_async_insert) exists since this version. */
export const ASYNC_INSERT_SINCE: readonly [number, number] = [21, 11];

/** `23.8.1.1` → [23, 8]; an unparsable version counts as 0.0 (legacy, the safe choice). */
export function majorMinor(version: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function versionAtLeast(version: string, since: readonly [number, number]): boolean {
  const [major, minor] = majorMinor(version);
  return major > since[0] || (major === since[0] && minor >= since[1]);
}

export function schemaVariantFor(serverVersion: string): SchemaVariant {
  return versionAtLeast(serverVersion, MODERN_SCHEMA_SINCE) ? 'modern' : 'legacy';
}

/** Columns that are part of the sorting/partition key or always set: never NULL. */
const REQUIRED = new Set(['event_id', 'collector_tstamp', 'derived_tstamp']);
/** In the sorting key, so not Nullable; an event without them stores ''. */
const KEY_STRINGS = new Set(['app_id', 'event']);

/** Strings with few distinct values (types, versions, countries, browsers): LowCardinality on modern. */
const LOW_CARDINALITY = new Set([
  'app_id', 'platform', 'event', 'name_tracker', 'v_tracker', 'v_collector', 'v_etl',
  'geo_country', 'geo_region', 'geo_city', 'geo_region_name', 'geo_timezone', 'ip_netspeed',
  'page_urlscheme', 'page_urlhost', 'refr_urlscheme', 'refr_medium', 'refr_source',
  'mkt_medium', 'mkt_source', 'mkt_network', 'br_name', 'br_family', 'br_version', 'br_type',
  'br_renderengine', 'br_lang', 'br_colordepth', 'os_name', 'os_family', 'os_manufacturer',
  'os_timezone', 'dvce_type', 'doc_charset', 'tr_currency', 'ti_currency', 'base_currency',
  'event_vendor', 'event_name', 'event_format', 'event_version',
]);

export interface ColumnDef {
  readonly name: string;
  readonly type: string;
  /** `ALIAS …` / `MATERIALIZED …`: computed by the engine, never sent on insert. */
  readonly computed?: string;
}

/** Name of the milliseconds-within-the-second companion of a timestamp column. */
export const msColumnOf = (timestampColumn: string) => `${timestampColumn}_ms`;

function baseType(field: FieldSpec, variant: SchemaVariant): string {
  switch (field.type) {
    case 'string':
      return variant === 'modern' && LOW_CARDINALITY.has(field.name) ? 'LowCardinality(String)' : 'String';
    case 'int':
      return 'Int32';
    case 'float':
      return 'Float64';
    case 'bool':
      return variant === 'modern' ? 'Bool' : 'UInt8';
    case 'timestamp':
      return variant === 'modern' ? "DateTime64(3, 'UTC')" : "DateTime('UTC')";
    case 'json':
      return 'String';
  }
}

function nullable(type: string): string {
  const lc = /^LowCardinality\((.*)\)$/.exec(type);
  return lc ? `LowCardinality(Nullable(${lc[1]}))` : `Nullable(${type})`;
}

const isNullable = (name: string) => !REQUIRED.has(name) && !KEY_STRINGS.has(name);

/** Every column of the table in DDL order: the 131 canonical ones, then the computed/companion ones. */
export function eventColumns(variant: SchemaVariant): ColumnDef[] {
  const columns: ColumnDef[] = ENRICHED_FIELDS.map((field) => {
    const type = baseType(field, variant);
    return { name: field.name, type: isNullable(field.name) ? nullable(type) : type };
  });
  for (const field of ENRICHED_FIELDS) {
    if (field.type !== 'timestamp') continue;
    const type = isNullable(field.name) ? 'Nullable(UInt16)' : 'UInt16';
    // ((x % 1000) + 1000) % 1000: the millisecond also for instants before 1970 (negative epoch).
    const computed = variant === 'modern' ? `ALIAS toUInt16(((toUnixTimestamp64Milli(${field.name}) % 1000) + 1000) % 1000)` : undefined;
    columns.push({ name: msColumnOf(field.name), type, ...(computed ? { computed } : {}) });
  }
  if (variant === 'modern') {
    columns.push({
      name: 'context_schemas',
      type: 'Array(LowCardinality(String))',
      computed: "MATERIALIZED arrayMap(c -> JSONExtractString(c, 'schema'), JSONExtractArrayRaw(ifNull(contexts, '[]')))",
    });
  }
  return columns;
}

/** Database and table names are interpolated into SQL, so they are restricted to plain identifiers. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const SORTING_KEY = '(app_id, event, toDate(derived_tstamp), event_id)';
export const PARTITION_KEY = 'toYYYYMM(derived_tstamp)';

export function createTableSql(qualifiedTable: string, variant: SchemaVariant): string {
  const lines = eventColumns(variant).map((c) => `  ${c.name} ${c.type}${c.computed ? ` ${c.computed}` : ''}`);
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedTable} (`,
    lines.join(',\n'),
    ') ENGINE = ReplacingMergeTree',
    `PARTITION BY ${PARTITION_KEY}`,
    `ORDER BY ${SORTING_KEY}`,
  ].join('\n');
}

/** Why an event cannot become a row. Closed set: metric label and bad-row reason. */
export type RowProblem = 'missing_field' | 'invalid_value';

/** One event as a line of `INSERT … (insertColumns) FORMAT TabSeparated`, without the newline. */
export type RowOutcome = { ok: true; line: string } | { ok: false; reason: RowProblem; message: string };

/**
 * Instants each variant can store. ClickHouse 18.16 does not reject a DateTime outside
 * 1970..2106: it silently wraps it, so the range is checked here.
 */
const TIMESTAMP_RANGE: Record<SchemaVariant, readonly [number, number]> = {
  legacy: [0, 4294967295 * 1000],
  modern: [Date.UTC(1900, 0, 1), Date.UTC(2299, 11, 31, 23, 59, 59, 999)],
};
const INT32: readonly [number, number] = [-2147483648, 2147483647];

/** TabSeparated's NULL. */
const TSV_NULL = '\\N';

/** Where one canonical field goes in an insert's row: everything putField needs, found with one lookup. */
interface FieldSlot {
  readonly field: FieldSpec;
  /** Its column's index in the row. */
  readonly at: number;
  /** The legacy layout's `<name>_ms` column of a timestamp; -1 otherwise. */
  readonly msAt: number;
  readonly required: boolean;
}

/** The columns an insert names (the stored ones, in DDL order) and where each field's value goes. */
interface InsertLayout {
  readonly columns: readonly string[];
  /** A row of absent fields: NULL, or '' for the key strings (not Nullable; their column default). */
  readonly empty: readonly string[];
  readonly slots: ReadonlyMap<string, FieldSlot>;
}

function insertLayoutOf(variant: SchemaVariant): InsertLayout {
  const columns = eventColumns(variant)
    .filter((c) => !c.computed)
    .map((c) => c.name);
  const index = new Map(columns.map((name, i) => [name, i]));
  const slotOf = (field: FieldSpec): FieldSlot => ({
    field,
    at: index.get(field.name)!,
    msAt: field.type === 'timestamp' && variant === 'legacy' ? index.get(msColumnOf(field.name))! : -1,
    required: REQUIRED.has(field.name),
  });
  return {
    columns,
    empty: columns.map((name) => (KEY_STRINGS.has(name) ? '' : TSV_NULL)),
    slots: new Map(ENRICHED_FIELDS.map((field) => [field.name, slotOf(field)])),
  };
}

const LAYOUTS: Record<SchemaVariant, InsertLayout> = { legacy: insertLayoutOf('legacy'), modern: insertLayoutOf('modern') };

/**
 * Rows of an INSERT … FORMAT TabSeparated: the body, every line ended by a newline, and how many
 * lines it holds. Rows travel as one buffer from the moment they are built: lines kept as strings
 * until the insert (~3 KB each, up to an insert's 10,000 rows) outlived the young generation and
 * were copied into the old one, and joining them made two more copies. A group commit streams the
 * buffers of its callers one after the other, so they are not copied again either.
 */
export interface TsvRows {
  readonly body: Buffer;
  readonly count: number;
}

/** The lines (eventRowOf's, without newlines) as TsvRows. */
export function tsvRows(lines: readonly string[]): TsvRows {
  let bytes = 0;
  for (const line of lines) bytes += Buffer.byteLength(line) + 1;
  const body = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const line of lines) {
    at += body.write(line, at);
    body[at++] = 0x0a;
  }
  return { body, count: lines.length };
}

/** The column list of the INSERT the lines of `eventRowOf` belong to: every stored column, in DDL order. */
export const insertColumns = (variant: SchemaVariant): readonly string[] => LAYOUTS[variant].columns;

const TSV_SPECIAL = /[\\\t\n\r]/;
const TSV_SPECIALS = /[\\\t\n\r]/g;
const TSV_ESCAPE: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * A string as a TabSeparated field: backslash, tab, line feed and carriage return escaped (the
 * escapes every ClickHouse version reads back; any other byte, `\0` and quotes included, goes
 * as it is). So a value reading `\N` stays that text, never NULL.
 */
export function tsvEscape(text: string): string {
  return TSV_SPECIAL.test(text) ? text.replace(TSV_SPECIALS, (c) => TSV_ESCAPE[c]!) : text;
}

/**
 * tsvEscape for JSON.stringify's output, which has no raw tab, line feed or carriage return (it
 * writes them as escapes): only backslashes are doubled. includes finds one far faster than the
 * regular expression scans a context's ~1.5 KB.
 */
function jsonTsv(json: string): string {
  return json.includes('\\') ? json.replace(/\\/g, '\\\\') : json;
}

/**
 * The TabSeparated line of one event: canonical fields only (anything else on the event is not
 * stored), absent fields NULL (the key strings app_id and event: empty). Values are checked
 * against the column types here, because ClickHouse wraps overflowing integers and dates
 * instead of refusing them.
 *
 * TabSeparated rather than JSONEachRow: the server parses it for ~40 % less CPU per insert
 * (18.16, bench/storage), and the line is built straight from the event instead of an object
 * the client serialises again. Walks the event's own fields (~45) rather than all 131 columns;
 * an event with a problem is walked again in column order, so the problem reported is the
 * first in column order.
 */
export function eventRowOf(event: SnowplowEvent, variant: SchemaVariant): RowOutcome {
  const source = event as Record<string, unknown>;
  const layout = LAYOUTS[variant];
  const values = layout.empty.slice();
  let required = 0;
  for (const name in source) {
    const slot = layout.slots.get(name);
    if (slot === undefined) continue;
    const value = source[name];
    if (value === undefined || value === null) continue;
    if (putField(values, slot, value, variant) !== undefined) return rowInColumnOrder(source, variant);
    if (slot.required) required++;
  }
  if (required !== REQUIRED.size) return rowInColumnOrder(source, variant);
  return { ok: true, line: values.join('\t') };
}

function rowInColumnOrder(source: Record<string, unknown>, variant: SchemaVariant): RowOutcome {
  const layout = LAYOUTS[variant];
  const values = layout.empty.slice();
  for (const field of ENRICHED_FIELDS) {
    const slot = layout.slots.get(field.name)!;
    const value = source[field.name];
    if (value === undefined || value === null) {
      if (slot.required) return { ok: false, reason: 'missing_field', message: `${field.name} is missing` };
      continue;
    }
    const problem = putField(values, slot, value, variant);
    if (problem) return problem;
  }
  return { ok: true, line: values.join('\t') };
}

/** Sets the field's column(s) in `values` (TabSeparated text); a problem with the value comes back instead. */
function putField(values: string[], slot: FieldSlot, value: unknown, variant: SchemaVariant): Extract<RowOutcome, { ok: false }> | undefined {
  const { field, at } = slot;
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') return invalidValue(field, value, 'expected a string');
      if (slot.required && value === '') return { ok: false, reason: 'missing_field', message: `${field.name} is empty` };
      values[at] = tsvEscape(value);
      break;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32[0] || value > INT32[1]) return invalidValue(field, value, 'expected a 32-bit integer');
      values[at] = String(value);
      break;
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return invalidValue(field, value, 'expected a finite number');
      // String() writes 1e-7 / 1e+21 for the extremes: both parsers read the exponent.
      values[at] = String(value);
      break;
    case 'bool':
      if (typeof value !== 'boolean') return invalidValue(field, value, 'expected true or false');
      values[at] = variant === 'modern' ? (value ? 'true' : 'false') : value ? '1' : '0';
      break;
    case 'timestamp': {
      if (typeof value !== 'string') return invalidValue(field, value, 'expected an ISO-8601 timestamp');
      // 'YYYY-MM-DD hh:mm:ss.sss' in UTC: what both DateTime parsers take without best_effort.
      if (isStorableIso(value, variant)) {
        putTimestamp(values, slot, variant, value);
        break;
      }
      const ms = Date.parse(value);
      const [min, max] = TIMESTAMP_RANGE[variant];
      if (!Number.isFinite(ms)) return invalidValue(field, value, 'expected an ISO-8601 timestamp');
      if (ms < min || ms > max) return invalidValue(field, value, `outside ${new Date(min).toISOString()} .. ${new Date(max).toISOString()}`);
      putTimestamp(values, slot, variant, new Date(ms).toISOString());
      break;
    }
    case 'json':
      if (typeof value === 'string') {
        if (!isJson(value)) return invalidValue(field, value, 'expected JSON');
        values[at] = tsvEscape(value);
      } else if (typeof value === 'object') {
        // undefined for an object whose toJSON() gives nothing: no JSON to store.
        const text = jsonText(value!);
        if (text === undefined) return invalidValue(field, value, 'expected a JSON object or array');
        values[at] = jsonTsv(text);
      } else return invalidValue(field, value, 'expected a JSON object or array');
      break;
  }
  return undefined;
}

/** JSON text of deeply frozen objects: the entities enrichments share between events (ua_parser_context). */
const FROZEN_JSON = new WeakMap<object, string>();

/** Frozen all the way down, so its JSON text can never change. */
function isDeepFrozen(value: object): boolean {
  if (!Object.isFrozen(value)) return false;
  for (const key in value) {
    const child: unknown = (value as Record<string, unknown>)[key];
    if (child !== null && typeof child === 'object' && !isDeepFrozen(child)) return false;
  }
  return true;
}

/**
 * JSON.stringify of a JSON field, with the text of each deeply frozen entity of an array written
 * once and reused: most events of a site carry the same few shared contexts.
 */
function jsonText(value: object): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return JSON.stringify(value) as string | undefined;
  // Joined rather than concatenated: `+=` makes a rope that the next scan would copy flat again.
  const texts: string[] = new Array<string>(value.length);
  for (let i = 0; i < value.length; i++) {
    const entity: unknown = value[i];
    let json: string | undefined;
    if (entity !== null && typeof entity === 'object' && Object.isFrozen(entity)) {
      json = FROZEN_JSON.get(entity);
      if (json === undefined) {
        json = JSON.stringify(entity);
        if (isDeepFrozen(entity)) FROZEN_JSON.set(entity, json);
      }
    } else json = JSON.stringify(entity) as string | undefined;
    // As JSON.stringify writes an array's undefined, function and symbol elements.
    texts[i] = json ?? 'null';
  }
  texts[0] = `[${texts[0]}`;
  texts[value.length - 1] = `${texts[value.length - 1]}]`;
  return texts.join(',');
}

/** A function rather than a closure made per putField call: that runs for each of an event's ~60 fields. */
function invalidValue(field: FieldSpec, value: unknown, what: string): Extract<RowOutcome, { ok: false }> {
  return { ok: false, reason: 'invalid_value', message: `${field.name}: ${what}, got ${describe(value)}` };
}

/**
 * A timestamp's column text from its instant in toISOString's form: modern 'YYYY-MM-DD
 * hh:mm:ss.sss'; legacy the seconds, and the milliseconds in its `_ms` column.
 */
function putTimestamp(values: string[], slot: FieldSlot, variant: SchemaVariant, iso: string): void {
  if (variant === 'modern') values[slot.at] = `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  else {
    values[slot.at] = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    values[slot.msAt] = String(Number(iso.slice(20, 23)));
  }
}

/** What toISOString gives (and the decoder writes), for an instant that is surely valid: day ≤ 28. */
const CANONICAL_ISO = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** Years whose every instant is inside the variant's TIMESTAMP_RANGE. */
const SAFE_YEARS: Record<SchemaVariant, readonly [number, number]> = { legacy: [1970, 2105], modern: [1900, 2299] };

/**
 * Whether a timestamp is already in toISOString's form, a valid instant and inside the variant's
 * range, so its column text is cut from it without parsing (Date.parse cost ~0.45 µs for each of
 * an event's five timestamps). Anything else (days 29-31, other forms, years at the range's
 * ends) takes the Date.parse way, which also rolls 02-30 or hour 24 over as before.
 */
function isStorableIso(text: string, variant: SchemaVariant): boolean {
  if (!CANONICAL_ISO.test(text)) return false;
  const year = Number(text.slice(0, 4));
  const [from, to] = SAFE_YEARS[variant];
  return year >= from && year <= to;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
