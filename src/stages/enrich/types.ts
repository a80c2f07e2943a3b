/**
 * Shared shapes of the enrichment functions.
 *
 * An enrichment is `createXxxEnrichment(config, deps) => (event) => EnrichResult`. It works on a
 * Snowplow canonical event (a plain object keyed by canonical field names, see
 * `src/snowplow/event.ts`) and **mutates it in place**: it sets the fields it derives and appends
 * derived contexts to `derived_contexts`. In-place mutation was chosen over returning a patch
 * because every enrichment runs on every event: a patch object per enrichment per event would be
 * pure garbage-collector load, and the stage owns the event while it runs anyway.
 *
 * The result only says what should happen to the event next. It never carries data.
 */

import { LRUCache } from 'lru-cache';
import { FIELD_MAX_LENGTHS } from '../../snowplow/fields';

/** The event as enrichments see it: canonical field name → value. */
export type EnrichableEvent = Record<string, unknown>;

/**
 * Why an enrichment asks for an event to be dropped (not stored, counted). Closed union: reused as
 * metric labels and in `--dry-run` summaries.
 * - bot: the user agent matched the bot list and the bots enrichment is set to `action: drop`.
 * - opt_out: the event carries an opt-out signal the opt_out enrichment is configured to honour.
 */
export type EnrichDropReason = 'bot' | 'opt_out';

export const ENRICH_DROP_REASONS: ReadonlyArray<EnrichDropReason> = Object.freeze(['bot', 'opt_out'] as EnrichDropReason[]);

/**
 * Why an enrichment turns an event into a bad row (Snowplow `enrichment_failures`). Closed union.
 * - field_too_long: a value the enrichment derived (a search term, a utm parameter, a city name)
 *   is longer than Snowplow's limit for that atomic column (`FIELD_MAX_LENGTHS`). Snowplow Enrich
 *   fails such an event the same way instead of truncating it.
 *
 * Lookups that find nothing (unknown IP, unknown user agent) are not failures: Snowplow
 * suppresses them too, and the event is stored without those fields.
 */
export type EnrichBadReason = 'field_too_long';

export const ENRICH_BAD_REASONS: ReadonlyArray<EnrichBadReason> = Object.freeze(['field_too_long'] as EnrichBadReason[]);

export type EnrichResult =
  | { readonly kind: 'ok' }
  | { readonly kind: 'drop'; readonly reason: EnrichDropReason }
  | { readonly kind: 'bad'; readonly reason: EnrichBadReason; readonly message: string };

/** The one `ok` value: enrichments return it instead of allocating a result per event. */
export const OK: EnrichResult = Object.freeze({ kind: 'ok' as const });

export function drop(reason: EnrichDropReason): EnrichResult {
  return { kind: 'drop', reason };
}

export function bad(reason: EnrichBadReason, message: string): EnrichResult {
  return { kind: 'bad', reason, message };
}

/**
 * `compute` with its results kept per user agent (or other key) in an LRU of `size` entries; 0:
 * no cache. For lookups that cost microseconds per event while a site repeats a few keys.
 */
export function cachedByKey<V extends {}>(size: number, compute: (key: string) => V): (key: string) => V {
  if (size <= 0) return compute;
  const cache = new LRUCache<string, V>({ max: size });
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = compute(key);
      cache.set(key, value);
    }
    return value;
  };
}

/** One enrichment applied to one event. */
export type Enrichment = (event: EnrichableEvent) => EnrichResult;

/** A Snowplow self-describing JSON, as held in `contexts` / `derived_contexts`. */
export interface DerivedContext {
  schema: string;
  data: unknown;
}

/** Appends a derived context, creating `derived_contexts` on first use. */
export function addDerivedContext(event: EnrichableEvent, context: DerivedContext): void {
  const list = event.derived_contexts;
  if (Array.isArray(list)) list.push(context);
  else event.derived_contexts = [context];
}

/** A string field's value, or undefined when absent or empty. */
export function stringField(event: EnrichableEvent, field: string): string | undefined {
  const v = event[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Sets a derived string field, or returns the bad result when it exceeds Snowplow's limit for that
 * column (limits count UTF-16 code units, like Enrich's Java strings). Returns undefined when set.
 */
export function setLimited(event: EnrichableEvent, field: string, value: string): EnrichResult | undefined {
  const limit = FIELD_MAX_LENGTHS[field];
  if (limit !== undefined && value.length > limit) {
    return bad('field_too_long', `${field}: value of length ${value.length} exceeds the maximum of ${limit}`);
  }
  event[field] = value;
  return undefined;
}
