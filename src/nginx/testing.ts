/**
 * Nginx's side of access logging, re-implemented for tests and fixtures: escaping a variable's
 * bytes the way ngx_http_log_module does, and rendering a log_format into a line. Lets tests
 * produce lines exactly as nginx would write them without running nginx.
 */
import type { EscapeMode } from './escape';

const HEX = '0123456789ABCDEF';

/** Bytes nginx's default escaping writes as `\xHH`: `"`, `\`, controls, and 0x7F and above. */
function escapedByDefault(b: number): boolean {
  return b < 0x20 || b === 0x22 || b === 0x5c || b >= 0x7f;
}

/** escape=default: every escaped byte as `\xHH`; the result is ASCII. */
export function nginxEscapeDefault(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const b of bytes) out += escapedByDefault(b) ? '\\x' + HEX[b >> 4] + HEX[b & 15] : String.fromCharCode(b);
  return out;
}

/** escape=json (ngx_escape_json): JSON escapes for `"`, `\` and controls; other bytes raw. */
export function nginxEscapeJson(value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const out: number[] = [];
  const ascii = (s: string) => {
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
  };
  for (const b of bytes) {
    if (b > 0x1f) {
      if (b === 0x22 || b === 0x5c) out.push(0x5c);
      out.push(b);
    } else if (b === 0x0a) ascii('\\n');
    else if (b === 0x0d) ascii('\\r');
    else if (b === 0x09) ascii('\\t');
    else if (b === 0x08) ascii('\\b');
    else if (b === 0x0c) ascii('\\f');
    else ascii('\\u00' + HEX[b >> 4] + HEX[b & 15]);
  }
  return Buffer.from(out);
}

/** Line bytes decoded as the tailer's line reader does (UTF-8, invalid bytes as U+FFFD). */
export function readLineBytes(bytes: Uint8Array): string {
  // As the line splitter reads: Buffer's decoder keeps a leading U+FEFF, TextDecoder's default drops it.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * Renders a log_format body (the format string itself, no quoting) into the line nginx would
 * write. Values missing or empty are written as nginx does: `-` in escape=default/none, '' in
 * escape=json. Values may be raw bytes to produce invalid UTF-8.
 */
export function renderLogLine(
  body: string,
  escape: EscapeMode,
  values: Readonly<Record<string, string | Uint8Array | undefined>>,
): string {
  const pieces: Uint8Array[] = [];
  let last = 0;
  const variable = /\$\{(\w+)\}|\$(\w+)/g;
  for (let m = variable.exec(body); m !== null; m = variable.exec(body)) {
    pieces.push(Buffer.from(body.slice(last, m.index), 'utf8'));
    const value = values[m[1] ?? m[2]!];
    const missing = value === undefined || value.length === 0;
    if (missing) pieces.push(Buffer.from(escape === 'json' ? '' : '-'));
    else if (escape === 'default') pieces.push(Buffer.from(nginxEscapeDefault(value), 'latin1'));
    else if (escape === 'json') pieces.push(nginxEscapeJson(value));
    else pieces.push(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    last = m.index + m[0].length;
  }
  pieces.push(Buffer.from(body.slice(last), 'utf8'));
  return readLineBytes(Buffer.concat(pieces));
}
