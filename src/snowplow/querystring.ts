/**
 * Query-string decoding for tracker requests, written to never throw.
 *
 * Behaviour follows Snowplow Enrich's loader (Apache URLEncodedUtils over `java.net.URI`):
 * `+` is a space, `%XX` sequences are UTF-8 bytes, and invalid UTF-8 becomes U+FFFD. A `%` that
 * is not followed by two hex digits makes `java.net.URI` reject the whole query string
 * ("Malformed escape pair"), which Snowplow reports as a collector_payload_format_violation;
 * tailplow does the same, naming the parameter that holds the bad escape.
 */
export type QueryParseResult =
  | { ok: true; params: Array<[string, string]> }
  | { ok: false; param: string; message: string };

const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[65 + c] = 10 + c;
  HEX[97 + c] = 10 + c;
}

function hexValue(code: number): number {
  return code < 128 ? (HEX[code] as number) : -1;
}

const PLUS = /\+/g;

function plusToSpace(s: string): string {
  return s.indexOf('+') === -1 ? s : s.replace(PLUS, ' ');
}

function bytesToString(bytes: number[]): string {
  let ascii = true;
  for (let k = 0; k < bytes.length; k++) {
    if ((bytes[k] as number) > 0x7f) {
      ascii = false;
      break;
    }
  }
  // Buffer's UTF-8 decoder substitutes U+FFFD for invalid sequences instead of throwing.
  return ascii ? String.fromCharCode.apply(null, bytes) : Buffer.from(bytes).toString('utf8');
}

/**
 * Decodes one `application/x-www-form-urlencoded` component. Returns undefined when a `%` is
 * not followed by two hex digits (the caller turns that into a bad row).
 */
export function decodeComponent(s: string): string | undefined {
  let pct = s.indexOf('%');
  if (pct === -1) return plusToSpace(s);
  let out = '';
  let last = 0;
  const n = s.length;
  while (pct !== -1) {
    out += plusToSpace(s.slice(last, pct));
    const bytes: number[] = [];
    let k = pct;
    // A run of consecutive %XX escapes is one byte sequence: multi-byte UTF-8 characters
    // never span literal text, so decoding run by run is exact.
    while (k < n && s.charCodeAt(k) === 37) {
      const hi = hexValue(s.charCodeAt(k + 1));
      const lo = hexValue(s.charCodeAt(k + 2));
      if (hi < 0 || lo < 0) return undefined;
      bytes.push(hi * 16 + lo);
      k += 3;
    }
    out += bytesToString(bytes);
    last = k;
    pct = s.indexOf('%', k);
  }
  return out + plusToSpace(s.slice(last));
}

/**
 * Splits and decodes a raw query string (without the leading `?`). Pairs keep their order;
 * a name without `=` has no value and is dropped (Snowplow ignores valueless parameters).
 */
export function parseQueryString(qs: string | undefined): QueryParseResult {
  const params: Array<[string, string]> = [];
  if (qs === undefined || qs === '' || qs === '-') return { ok: true, params };
  const n = qs.length;
  // The next '%' and '+' in the whole string: most names and values hold neither, and for those
  // a slice is the decoded text, with no per-component search.
  let pct = qs.indexOf('%');
  let plus = qs.indexOf('+');
  const component = (from: number, to: number): string | undefined => {
    if (pct !== -1 && pct < from) pct = qs.indexOf('%', from);
    if (plus !== -1 && plus < from) plus = qs.indexOf('+', from);
    if (pct !== -1 && pct < to) return decodeComponent(qs.slice(from, to));
    return plus !== -1 && plus < to ? qs.slice(from, to).replace(PLUS, ' ') : qs.slice(from, to);
  };
  let start = 0;
  while (start <= n) {
    let end = qs.indexOf('&', start);
    if (end === -1) end = n;
    if (end > start) {
      const eq = qs.indexOf('=', start);
      if (eq !== -1 && eq < end) {
        const name = component(start, eq);
        const value = component(eq + 1, end);
        if (name === undefined || value === undefined) {
          const rawName = qs.slice(start, eq);
          return {
            ok: false,
            param: name ?? rawName,
            message:
              `query parameter "${name ?? rawName}" has a malformed percent-escape ` +
              `(a "%" must be followed by two hex digits): ${qs.slice(start, Math.min(end, start + 200))}`,
          };
        }
        if (name !== '') params.push([name, value]);
      }
    }
    start = end + 1;
  }
  return { ok: true, params };
}
