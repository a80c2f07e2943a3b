/**
 * Timestamps the Snowplow way: milliseconds since the epoch in, UTC out, years 0..9999 only
 * ("Redshift-compatible", Enrich rejects anything else).
 *
 * isoOf formats by arithmetic: `Date#toISOString` measured ~1.3 µs per call on Node 20 here,
 * which alone was a third of the per-event budget; this is ~10x cheaper and never throws.
 */
const MIN_MS = -62167219200000; // 0000-01-01T00:00:00.000Z
const MAX_MS = 253402300799999; // 9999-12-31T23:59:59.999Z
const DAY_MS = 86400000;

export function isStorableMs(ms: number): boolean {
  return ms >= MIN_MS && ms <= MAX_MS; // false for NaN too
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`;
}

function pad4(n: number): string {
  return n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : `${n}`;
}

let lastDays = NaN;
let lastDatePart = '';

/**
 * ISO-8601 with milliseconds and Z (same text as Date#toISOString) for isStorableMs(ms).
 * Fractions of a millisecond are dropped; float noise from seconds*1000 ($msec) is absorbed.
 */
export function isoOf(msIn: number): string {
  const ms = Math.floor(msIn + 0.0005);
  const days = Math.floor(ms / DAY_MS);
  // Timestamps of one log come from few days: the date part of the last day is remembered.
  const datePart = days === lastDays ? lastDatePart : datePartOf(days);
  let rem = ms - days * DAY_MS;
  const hour = Math.floor(rem / 3600000);
  rem -= hour * 3600000;
  const minute = Math.floor(rem / 60000);
  rem -= minute * 60000;
  const second = Math.floor(rem / 1000);
  const milli = rem - second * 1000;
  return `${datePart}${pad2(hour)}:${pad2(minute)}:${pad2(second)}.${pad3(milli)}Z`;
}

/** `YYYY-MM-DDT` of a day number (days since 1970-01-01); remembered as the last day. */
function datePartOf(days: number): string {
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  lastDays = days;
  lastDatePart = `${pad4(year)}-${pad2(month)}-${pad2(day)}T`;
  return lastDatePart;
}

/** `2024-05-01T12:00:00.123Z` -> `2024-05-01 12:00:00.123`, Snowplow's TSV timestamp form. */
export function tsvTimestampOf(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
