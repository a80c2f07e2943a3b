import type { SelfDescribing } from './event';

/**
 * Self-describing JSON (Iglu) checks for `ue_pr`/`ue_px` and `co`/`cx`, mirroring what Enrich
 * checks before it looks schemas up: valid JSON, the `{schema, data}` wrapper, a valid Iglu URI,
 * and the expected wrapper schema (unstruct_event 1-*-*, contexts 1-*-*). tailplow has no schema
 * registry, so it does not validate `data` against the event's own schema.
 */

export type JsonParse = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * The one place tailplow's decoder catches: `JSON.parse` reports bad input only by throwing,
 * and untrusted JSON is expected to be bad sometimes. The error becomes data for a bad row.
 */
export function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

// Iglu core's SchemaKey grammar: vendor/name/format/MODEL-REVISION-ADDITION, model >= 1.
const IGLU_URI_RE =
  /^iglu:([a-zA-Z0-9\-_.]+)\/([a-zA-Z0-9\-_]+)\/([a-zA-Z0-9\-_]+)\/([1-9][0-9]*-(?:0|[1-9][0-9]*)-(?:0|[1-9][0-9]*))$/;

export interface SchemaKey {
  vendor: string;
  name: string;
  format: string;
  version: string;
}

/**
 * Schema URIs repeat on almost every event (contexts, web_page, payload_data …): remembering
 * the last few hundred replaces two regex runs per entity with one Map lookup. Keys are frozen
 * because callers share them. Bounded, and simply emptied when full.
 */
const KNOWN_URIS = new Map<string, Readonly<SchemaKey> | null>();
const MAX_KNOWN_URIS = 512;
const MAX_KNOWN_URI_LENGTH = 256;

function lookupIgluUri(uri: string): Readonly<SchemaKey> | null {
  const known = KNOWN_URIS.get(uri);
  if (known !== undefined) return known;
  const m = IGLU_URI_RE.exec(uri);
  const key = m === null ? null : Object.freeze({ vendor: m[1] as string, name: m[2] as string, format: m[3] as string, version: m[4] as string });
  if (uri.length <= MAX_KNOWN_URI_LENGTH) {
    if (KNOWN_URIS.size >= MAX_KNOWN_URIS) KNOWN_URIS.clear();
    KNOWN_URIS.set(uri, key);
  }
  return key;
}

export function isIgluUri(uri: string): boolean {
  return lookupIgluUri(uri) !== null;
}

export function parseIgluUri(uri: string): SchemaKey | undefined {
  const key = lookupIgluUri(uri);
  return key === null ? undefined : { vendor: key.vendor, name: key.name, format: key.format, version: key.version };
}

/** parseIgluUri without the copy: the key is shared and frozen, for reading only. */
export function igluKeyOf(uri: string): Readonly<SchemaKey> | undefined {
  return lookupIgluUri(uri) ?? undefined;
}

/** A problem with a self-describing parameter, in Snowplow's schema-violation message shapes. */
export type SdjProblem =
  | { kind: 'NotJson'; field: string; value: string; error: string }
  | { kind: 'NotIglu'; field: string; json: unknown; error: string }
  | { kind: 'CriterionMismatch'; field: string; schemaKey: string; schemaCriterion: string; error: string };

export type SdjResult<T> = { ok: true; value: T } | { ok: false; problem: SdjProblem };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Checks `{schema, data}` with a valid Iglu URI; `where` names the spot for the message. */
function asSelfDescribing(field: string, where: string, v: unknown, root: unknown): SdjResult<SelfDescribing> {
  if (!isObject(v)) {
    return {
      ok: false,
      problem: {
        kind: 'NotIglu', field, json: root,
        error: `INVALID_DATA_PAYLOAD: ${where} must be a {"schema","data"} object, got ${describe(v)}`,
      },
    };
  }
  const schema = v.schema;
  if (typeof schema !== 'string' || !isIgluUri(schema)) {
    return {
      ok: false,
      problem: {
        kind: 'NotIglu', field, json: root,
        error:
          `INVALID_IGLU_URI: ${where}.schema ${JSON.stringify(schema) ?? 'is missing'} is not an Iglu URI ` +
          '(expected iglu:vendor/name/format/M-R-A, e.g. iglu:com.acme/click/jsonschema/1-0-0)',
      },
    };
  }
  if (!('data' in v)) {
    return {
      ok: false,
      problem: { kind: 'NotIglu', field, json: root, error: `INVALID_DATA_PAYLOAD: ${where} has no "data" property` },
    };
  }
  return { ok: true, value: { schema, data: v.data } };
}

function wrapper(
  field: string,
  text: string,
  name: 'unstruct_event' | 'contexts',
): SdjResult<{ sd: SelfDescribing; root: unknown }> {
  const parsed = parseJson(text);
  if (!parsed.ok) {
    return { ok: false, problem: { kind: 'NotJson', field, value: text, error: `invalid JSON: ${parsed.error}` } };
  }
  const outer = asSelfDescribing(field, field, parsed.value, parsed.value);
  if (!outer.ok) return outer;
  const key = igluKeyOf(outer.value.schema) as SchemaKey;
  if (key.vendor !== 'com.snowplowanalytics.snowplow' || key.name !== name || key.format !== 'jsonschema' || !key.version.startsWith('1-')) {
    const criterion = `iglu:com.snowplowanalytics.snowplow/${name}/jsonschema/1-*-*`;
    return {
      ok: false,
      problem: {
        kind: 'CriterionMismatch', field, schemaKey: outer.value.schema, schemaCriterion: criterion,
        error: `${field} must be wrapped in ${criterion}, got ${outer.value.schema}`,
      },
    };
  }
  return { ok: true, value: { sd: outer.value, root: parsed.value } };
}

/** `ue_pr` (plain JSON) / `ue_px` (already base64-decoded) -> the event's own self-describing JSON. */
export function decodeUnstruct(field: string, text: string): SdjResult<SelfDescribing> {
  const outer = wrapper(field, text, 'unstruct_event');
  if (!outer.ok) return outer;
  return asSelfDescribing(field, `${field}.data`, outer.value.sd.data, outer.value.root);
}

/** `co` (plain JSON) / `cx` (already base64-decoded) -> the list of context entities. */
export function decodeContexts(field: string, text: string): SdjResult<SelfDescribing[]> {
  const outer = wrapper(field, text, 'contexts');
  if (!outer.ok) return outer;
  const data = outer.value.sd.data;
  if (!Array.isArray(data)) {
    return {
      ok: false,
      problem: { kind: 'NotIglu', field, json: outer.value.root, error: `INVALID_DATA_PAYLOAD: ${field}.data must be an array of entities, got ${describe(data)}` },
    };
  }
  const entities: SelfDescribing[] = new Array(data.length);
  for (let k = 0; k < data.length; k++) {
    const entity = asSelfDescribing(field, `${field}.data[${k}]`, data[k], outer.value.root);
    if (!entity.ok) return entity;
    entities[k] = entity.value;
  }
  return { ok: true, value: entities };
}
