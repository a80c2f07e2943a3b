/**
 * Nginx access-log line parsing: `createLineParser(format)` gives a LineParser for a builtin
 * format name (json, combined, main) or any nginx log_format string.
 */
import type { LineParser, LineParseResult } from './record';
import { compileLogFormat } from './logformat';
import { COMBINED_FORMAT, MAIN_FORMAT, isBuiltinFormat } from './formats';
import { createJsonLineParser } from './json';

export type { AccessRecord, LineFailure, LineParseResult, LineParser } from './record';
export { BUILTIN_FORMATS, COMBINED_FORMAT, MAIN_FORMAT, isBuiltinFormat, type BuiltinFormat } from './formats';
export { LogFormatError, compileLogFormat, readLogFormatText, type CompiledLogFormat, type LogFormatText } from './logformat';
export { decodeEscapes, decodeHexEscapes, decodeJsonEscapes, type EscapeMode } from './escape';
export { parseMsec, parseTimeIso8601, parseTimeLocal } from './time';
export { parseRequestLine, parseRequestTarget, type RequestLine, type RequestTarget } from './request';

export interface LineParserOptions {
  /** Longer lines fail with `line_too_long` (UTF-8 bytes; default 1 MiB). */
  maxLineBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** UTF-8 length of s, computed only when the UTF-16 length leaves it in doubt. */
function exceedsBytes(s: string, max: number): boolean {
  if (s.length > max) return true; // every UTF-16 unit is at least one byte
  if (s.length * 3 <= max) return false; // and at most three
  return Buffer.byteLength(s, 'utf8') > max;
}

/**
 * A parser for `format`: 'json', 'combined', 'main', or an nginx log_format string (raw, in
 * nginx.conf quoting, with an optional leading `escape=…`). Throws LogFormatError at creation
 * for a format that cannot be compiled; the returned parser never throws.
 */
export function createLineParser(format: string, opts: LineParserOptions = {}): LineParser {
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let parse: LineParser;
  if (format === 'json') parse = createJsonLineParser();
  else if (format === 'combined') parse = compileLogFormat(COMBINED_FORMAT, 'combined').parse;
  else if (format === 'main') parse = compileLogFormat(MAIN_FORMAT, 'main').parse;
  else parse = compileLogFormat(format).parse;
  const formatName = isBuiltinFormat(format) ? format : 'custom';

  return (line: string): LineParseResult => {
    if (exceedsBytes(line, maxLineBytes)) {
      return {
        ok: false,
        reason: 'line_too_long',
        message: `line of format ${formatName} is longer than maxLineBytes (${maxLineBytes} bytes; ${line.length} characters)`,
      };
    }
    try {
      // nginx writes '\n' line ends; a file that passed through Windows tools may add '\r'.
      return parse(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
    } catch (error) {
      // A parser bug must cost one line, not crash the tailer into re-reading the same line forever.
      return {
        ok: false,
        reason: 'line_malformed',
        message: `internal error parsing line of format ${formatName}: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  };
}
