/**
 * Parser for JSON access-log lines: the recommended `tailplow` log_format, any object keyed by
 * nginx variable names (with or without '$'), and the blog series' `tracking` format.
 *
 * Fast path is JSON.parse. A JSON log_format written without escape=json contains `\xHH`
 * escapes, which JSON.parse rejects; such lines are rewritten into valid JSON (decoding the
 * runs as UTF-8) and parsed again.
 */
import type { LineParser, LineParseResult } from './record';
import { hexEscapesToJson } from './escape';
import { RecordAssembler, jsonKeyId } from './variables';

export const JSON_FORMAT_NAME = 'json';

/** Text of a JSON value as an nginx variable value would be. */
function valueText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return undefined;
  // A variable logged unquoted, e.g. `"request_body":$request_body` with a JSON body.
  return JSON.stringify(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function invalid(line: string, error: unknown): LineParseResult {
  const detail = error instanceof Error ? error.message : String(error);
  const trimmed = line.trimEnd();
  const truncated = trimmed.startsWith('{') && !trimmed.endsWith('}');
  return {
    ok: false,
    reason: 'line_json_invalid',
    message: truncated
      ? `line of format json is truncated (no closing '}'; ${line.length} characters): ${detail}`
      : `line of format json is not valid JSON: ${detail}`,
  };
}

export function createJsonLineParser(): LineParser {
  const assembler = new RecordAssembler();
  return (line: string): LineParseResult => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      if (!line.includes('\\x')) return invalid(line, error);
      try {
        parsed = JSON.parse(hexEscapesToJson(line));
      } catch {
        return invalid(line, error);
      }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return {
        ok: false,
        reason: 'line_json_invalid',
        message: `line of format json must be a JSON object keyed by nginx variable names, got ${describe(parsed)}`,
      };
    }
    const object = parsed as Record<string, unknown>;
    for (const key in object) {
      const text = valueText(object[key]);
      if (text === undefined) continue;
      const id = jsonKeyId(key);
      assembler.set(id, key.charCodeAt(0) === 36 ? key.slice(1) : key, text);
    }
    return assembler.finish(true, JSON_FORMAT_NAME);
  };
}
