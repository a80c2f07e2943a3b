/**
 * Undoing Nginx's access-log escaping.
 *
 * - `escape=default`: nginx writes `"`, `\`, bytes < 0x20 and bytes >= 0x7F of a variable's
 *   value as `\xHH` (upper-case hex). A multi-byte UTF-8 character therefore arrives as a run
 *   (`\xC3\xA9` is "é"), so runs are collected as bytes and decoded as UTF-8 together.
 * - `escape=json`: `\"`, `\\`, `\n` `\r` `\t` `\b` `\f` and `\u00XX` for other control bytes;
 *   bytes >= 0x80 are written raw (the line reader has already decoded them as UTF-8).
 * - `escape=none`: nothing to undo.
 *
 * Every function here is total: malformed escapes are kept as written, invalid UTF-8 becomes
 * U+FFFD exactly as the WHATWG decoder (and so `TextDecoder`) does. Nothing throws.
 */

export type EscapeMode = 'default' | 'json' | 'none';

/** Hex digit value of a UTF-16 code unit, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 65 && c <= 70) return c - 55; // A-F
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

// One growable scratch buffer for `\xHH` runs: decoding allocates only the resulting string.
let scratch = new Uint8Array(256);

function ensureScratch(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(Math.max(size, scratch.length * 2));
  return scratch;
}

/**
 * Decodes `bytes[0, length)` as UTF-8 with WHATWG replacement semantics: each maximal
 * invalid subpart becomes one U+FFFD.
 */
export function decodeUtf8(bytes: Uint8Array, length: number): string {
  let out = '';
  let i = 0;
  while (i < length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    let need: number;
    let cp: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f; // no UTF-16 surrogates
      need = 2;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f; // nothing above U+10FFFF
      need = 3;
      cp = b & 0x07;
    } else {
      out += '\uFFFD';
      i++;
      continue;
    }
    let j = i + 1;
    let complete = true;
    for (let k = 0; k < need; k++) {
      const c = j < length ? bytes[j]! : -1;
      if (c < lower || c > upper) {
        complete = false;
        break;
      }
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (c & 0x3f);
      j++;
    }
    // On failure the offending byte (at j) is not consumed: it may start the next character.
    out += complete ? String.fromCodePoint(cp) : '\uFFFD';
    i = j;
  }
  return out;
}

/** True when s[i..i+3] is `\xHH`. */
function isHexEscapeAt(s: string, i: number): boolean {
  return (
    i + 3 < s.length &&
    s.charCodeAt(i) === 92 &&
    s.charCodeAt(i + 1) === 120 &&
    hexValue(s.charCodeAt(i + 2)) >= 0 &&
    hexValue(s.charCodeAt(i + 3)) >= 0
  );
}

/**
 * Decodes the run of `\xHH` escapes starting at `start` (which must be one).
 * Returns the decoded text; `hexRunEnd` receives the index just past the run.
 */
let hexRunEnd = 0;
function decodeHexRun(s: string, start: number): string {
  let i = start;
  let n = 0;
  // Fast path: a single ASCII byte such as \x22 (the common case in default-escaped logs).
  const first = hexValue(s.charCodeAt(i + 2)) * 16 + hexValue(s.charCodeAt(i + 3));
  if (first < 0x80 && !isHexEscapeAt(s, i + 4)) {
    hexRunEnd = i + 4;
    return String.fromCharCode(first);
  }
  let buf = ensureScratch(64);
  while (isHexEscapeAt(s, i)) {
    if (n === buf.length) buf = ensureScratch(n * 2);
    buf[n++] = hexValue(s.charCodeAt(i + 2)) * 16 + hexValue(s.charCodeAt(i + 3));
    i += 4;
  }
  hexRunEnd = i;
  return decodeUtf8(buf, n);
}

/** Undoes nginx's default escaping (`\xHH` runs, decoded as UTF-8). */
export function decodeHexEscapes(s: string): string {
  let backslash = s.indexOf('\\x');
  if (backslash < 0) return s;
  let out = '';
  let from = 0;
  while (backslash >= 0) {
    if (isHexEscapeAt(s, backslash)) {
      out += s.slice(from, backslash) + decodeHexRun(s, backslash);
      from = hexRunEnd;
      backslash = s.indexOf('\\x', from);
    } else {
      backslash = s.indexOf('\\x', backslash + 1);
    }
  }
  return out + s.slice(from);
}

/**
 * Undoes JSON string escaping (the inside of a JSON string, without quotes), as nginx's
 * escape=json writes it. `\xHH` runs are decoded too: escape=json never writes them, so they
 * can only come from a default-escaped value and decoding them is never wrong.
 */
export function decodeJsonEscapes(s: string): string {
  let backslash = s.indexOf('\\');
  if (backslash < 0) return s;
  // Values nginx wrote are valid JSON string content: let the native parser do the work.
  // Anything it rejects (\xHH, broken escapes, a raw quote) takes the tolerant path below.
  if (s.length > 64) {
    try {
      return JSON.parse('"' + s + '"') as string;
    } catch {
      // fall through
    }
  }
  let out = '';
  let from = 0;
  while (backslash >= 0) {
    out += s.slice(from, backslash);
    const next = s.charCodeAt(backslash + 1);
    let consumed = 2;
    switch (next) {
      case 34: out += '"'; break; // \"
      case 92: out += '\\'; break; // \\
      case 47: out += '/'; break; // \/
      case 98: out += '\b'; break;
      case 102: out += '\f'; break;
      case 110: out += '\n'; break;
      case 114: out += '\r'; break;
      case 116: out += '\t'; break;
      case 117: { // \uXXXX; surrogate pairs come out right by concatenating both units
        const h0 = hexValue(s.charCodeAt(backslash + 2));
        const h1 = hexValue(s.charCodeAt(backslash + 3));
        const h2 = hexValue(s.charCodeAt(backslash + 4));
        const h3 = hexValue(s.charCodeAt(backslash + 5));
        if (h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0) {
          out += String.fromCharCode((h0 << 12) | (h1 << 8) | (h2 << 4) | h3);
          consumed = 6;
        } else {
          out += '\\u';
        }
        break;
      }
      case 120: // \x
        if (isHexEscapeAt(s, backslash)) {
          out += decodeHexRun(s, backslash);
          consumed = hexRunEnd - backslash;
        } else {
          out += '\\x';
        }
        break;
      default:
        // Not an escape JSON knows (or a lone trailing backslash): keep it as written.
        out += '\\';
        consumed = 1;
    }
    from = backslash + consumed;
    backslash = s.indexOf('\\', from);
  }
  return out + s.slice(from);
}

/** Decodes a variable's value as logged with the given `escape=` mode. */
export function decodeEscapes(s: string, mode: EscapeMode): string {
  if (mode === 'default') return decodeHexEscapes(s);
  if (mode === 'json') return decodeJsonEscapes(s);
  return s;
}

/** JSON string-content form of a decoded run: what escape=json would have written. */
function jsonStringContent(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) out += '\\"';
    else if (c === 92) out += '\\\\';
    else if (c < 0x20) out += '\\u00' + (c < 16 ? '0' : '') + c.toString(16);
    else out += text[i];
  }
  return out;
}

/**
 * Rewrites every `\xHH` run of a JSON line into proper JSON string content, so that a JSON
 * log_format written WITHOUT escape=json (which JSON.parse rejects) can be parsed. Other
 * backslash escapes are copied as pairs, so `\\x41` (an escaped backslash) stays untouched.
 */
export function hexEscapesToJson(line: string): string {
  let backslash = line.indexOf('\\');
  if (backslash < 0) return line;
  let out = '';
  let from = 0;
  while (backslash >= 0) {
    if (isHexEscapeAt(line, backslash)) {
      out += line.slice(from, backslash) + jsonStringContent(decodeHexRun(line, backslash));
      from = hexRunEnd;
      backslash = line.indexOf('\\', from);
    } else {
      backslash = line.indexOf('\\', backslash + 2);
    }
  }
  return out + line.slice(from);
}
