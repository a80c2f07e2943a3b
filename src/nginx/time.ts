/**
 * Nginx's request-time variables to epoch milliseconds, by hand: these run once per line, and
 * Date.parse is both slow and lenient (it accepts things nginx never writes). Each parser returns
 * undefined for anything that is not exactly the shape nginx writes.
 */

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The number written by `width` ASCII digits at s[at..], or -1. */
function digits(s: string, at: number, width: number): number {
  let n = 0;
  for (let i = at; i < at + width; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function epochMs(year: number, month: number, day: number, h: number, m: number, sec: number): number | undefined {
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return undefined;
  return daysFromCivil(year, month, day) * MS_PER_DAY + ((h * 60 + m) * 60 + sec) * 1000;
}

/** Month number of the English abbreviation at s[at..at+3] (as nginx writes it), or -1. */
function monthAt(s: string, at: number): number {
  switch (s.slice(at, at + 3)) {
    case 'Jan': return 1;
    case 'Feb': return 2;
    case 'Mar': return 3;
    case 'Apr': return 4;
    case 'May': return 5;
    case 'Jun': return 6;
    case 'Jul': return 7;
    case 'Aug': return 8;
    case 'Sep': return 9;
    case 'Oct': return 10;
    case 'Nov': return 11;
    case 'Dec': return 12;
    default: return -1;
  }
}

/** Offset in minutes of `+hhmm`/`-hhmm` (colon optional) at s[at..], or undefined. */
function zoneOffsetMinutes(s: string, at: number, colon: boolean): number | undefined {
  const sign = s.charCodeAt(at);
  if (sign !== 43 && sign !== 45) return undefined; // + -
  const hh = digits(s, at + 1, 2);
  if (colon && s.charCodeAt(at + 3) !== 58) return undefined;
  const mm = digits(s, at + (colon ? 4 : 3), 2);
  if (hh < 0 || mm < 0 || hh > 23 || mm > 59) return undefined;
  return (sign === 45 ? -1 : 1) * (hh * 60 + mm);
}

/** Length of `$time_local` as nginx writes it: `10/Oct/2000:13:55:36 -0700`. */
export const TIME_LOCAL_LENGTH = 26;
/** Length of `$time_iso8601` as nginx writes it: `2000-10-10T13:55:36-07:00`. */
export const TIME_ISO8601_LENGTH = 25;

/** `$time_local` (`10/Oct/2000:13:55:36 -0700`) to epoch ms. */
export function parseTimeLocal(s: string): number | undefined {
  if (s.length !== TIME_LOCAL_LENGTH) return undefined;
  if (s[2] !== '/' || s[6] !== '/' || s[11] !== ':' || s[14] !== ':' || s[17] !== ':' || s[20] !== ' ') return undefined;
  const ms = epochMs(digits(s, 7, 4), monthAt(s, 3), digits(s, 0, 2), digits(s, 12, 2), digits(s, 15, 2), digits(s, 18, 2));
  const offset = zoneOffsetMinutes(s, 21, false);
  if (ms === undefined || offset === undefined) return undefined;
  return ms - offset * 60_000;
}

/**
 * `$time_iso8601` (`2000-10-10T13:55:36-07:00`) to epoch ms. Also accepts what other writers of
 * the same field produce: fractional seconds, `Z`, and `+hhmm` without a colon.
 */
export function parseTimeIso8601(s: string): number | undefined {
  if (s.length < 20) return undefined;
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return undefined;
  const base = epochMs(digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2));
  if (base === undefined) return undefined;
  let at = 19;
  let fractionMs = 0;
  if (s[at] === '.') {
    at++;
    let scale = 100;
    const start = at;
    while (at < s.length) {
      const d = s.charCodeAt(at) - 48;
      if (d < 0 || d > 9) break;
      fractionMs += d * scale;
      scale /= 10;
      at++;
    }
    if (at === start) return undefined;
    fractionMs = Math.floor(fractionMs);
  }
  if (s[at] === 'Z') return at + 1 === s.length ? base + fractionMs : undefined;
  const colon = s.length - at === 6;
  if (!colon && s.length - at !== 5) return undefined;
  const offset = zoneOffsetMinutes(s, at, colon);
  if (offset === undefined) return undefined;
  return base + fractionMs - offset * 60_000;
}

/** `$msec` (`1700000000.123`: seconds with millisecond resolution) to epoch ms, exactly. */
export function parseMsec(s: string): number | undefined {
  const dot = s.indexOf('.');
  const intEnd = dot < 0 ? s.length : dot;
  if (intEnd === 0 || intEnd > 15) return undefined;
  const seconds = digits(s, 0, intEnd);
  if (seconds < 0) return undefined;
  let ms = 0;
  if (dot >= 0) {
    const fractionDigits = s.length - dot - 1;
    if (fractionDigits < 1 || fractionDigits > 9) return undefined;
    const fraction = digits(s, dot + 1, fractionDigits);
    if (fraction < 0) return undefined;
    // Keep milliseconds, dropping finer digits (nginx writes exactly three).
    ms = fractionDigits >= 3 ? Math.floor(fraction / 10 ** (fractionDigits - 3)) : fraction * 10 ** (3 - fractionDigits);
  }
  return seconds * 1000 + ms;
}

/**
 * A timestamp string of unknown kind (the `time` key of some JSON formats, `@timestamp`):
 * ISO 8601 first, then `$time_local`, then `$msec`.
 */
export function parseAnyTime(s: string): number | undefined {
  return parseTimeIso8601(s) ?? parseTimeLocal(s) ?? parseMsec(s);
}
