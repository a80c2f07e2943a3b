/**
 * Timestamps the Snowplow way: milliseconds since the epoch in, UTC out, years 0..9999 only
 * ("Redshift-compatible", Enrich rejects anything else).
 */
const MIN_MS = -62167219200000; // 0000-01-01T00:00:00.000Z
const MAX_MS = 253402300799999; // 9999-12-31T23:59:59.999Z

export function isStorableMs(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_MS && ms <= MAX_MS;
}

/** ISO-8601 with milliseconds and Z; only call with isStorableMs(ms) true. */
export function isoOf(ms: number): string {
  return new Date(Math.trunc(ms)).toISOString();
}

/** `2024-05-01T12:00:00.123Z` -> `2024-05-01 12:00:00.123`, Snowplow's TSV timestamp form. */
export function tsvTimestampOf(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
