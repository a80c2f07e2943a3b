import type { SnowplowEvent } from './event';
import { ENRICHED_FIELDS } from './fields';
import { isStorableMs, isoOf, tsvTimestampOf } from './tstamp';

/**
 * The two output forms of an event.
 * - JSON: canonical field names, only fields with a value; the same shape as SnowplowEvent.
 * - TSV: the 131-column enriched event exactly as Snowplow Enrich writes it, readable by the
 *   Snowplow analytics SDKs and loaders.
 */

const CONTEXTS_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0';
// Enrich writes the contexts it derives itself with contexts 1-0-1.
const DERIVED_CONTEXTS_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1';
const UNSTRUCT_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0';

export function eventToJson(e: SnowplowEvent): string {
  const rec = e as Record<string, unknown>;
  for (const key in rec) {
    if (rec[key] === null) return JSON.stringify(withoutNulls(rec));
  }
  return JSON.stringify(e);
}

function withoutNulls(rec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in rec) if (rec[key] !== null) out[key] = rec[key];
  return out;
}

const TSV_UNSAFE = /[\t\r\n]/;

/** Enrich's makeTsvSafe: tabs become four spaces, CR/LF are dropped, so a row stays one line. */
function tsvText(s: string): string {
  return TSV_UNSAFE.test(s) ? s.replace(/[\r\n]/g, '').replace(/\t/g, '    ') : s;
}

function tsvCell(type: string, name: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  switch (type) {
    case 'bool':
      return v === true || v === 1 || v === '1' ? '1' : v === false || v === 0 || v === '0' ? '0' : '';
    case 'timestamp':
      if (typeof v === 'string') return v.length >= 23 && v.charCodeAt(10) === 84 /* T */ ? tsvTimestampOf(v) : tsvText(v);
      if (typeof v === 'number' && isStorableMs(v)) return tsvTimestampOf(isoOf(v));
      return '';
    case 'json':
      if (name === 'unstruct_event') return JSON.stringify({ schema: UNSTRUCT_SCHEMA, data: v });
      if (Array.isArray(v) && v.length === 0) return '';
      return JSON.stringify({ schema: name === 'derived_contexts' ? DERIVED_CONTEXTS_SCHEMA : CONTEXTS_SCHEMA, data: v });
    case 'int':
    case 'float':
      return typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : tsvText(String(v));
    default:
      return typeof v === 'string' ? tsvText(v) : tsvText(String(v));
  }
}

/** The event as one 131-column enriched-event TSV row (no trailing newline). */
export function eventToTsv(e: SnowplowEvent): string {
  const rec = e as Record<string, unknown>;
  let row = '';
  for (let k = 0; k < ENRICHED_FIELDS.length; k++) {
    const f = ENRICHED_FIELDS[k] as { name: string; type: string };
    if (k > 0) row += '\t';
    row += tsvCell(f.type, f.name, rec[f.name]);
  }
  return row;
}
