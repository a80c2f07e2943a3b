/**
 * Fuzz targets: each takes one input string and throws an InvariantViolation when the code under
 * test breaks its promise (an exception escaping a "never throws" function, a line that yields
 * neither an event, a bad row nor a skip reason, a config error without file:line, an event whose
 * JSON or TSV form is broken). Shared by the fast-check properties (targets.test.ts) and the
 * coverage-guided fuzzer (coverage-fuzz.ts), so both check the same invariants.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfigText } from '../../src/config/load';
import { processConfigSchema } from '../../src/config/process';
import { tailConfigSchema } from '../../src/config/tail';
import { COMBINED_FORMAT, LogFormatError, MAIN_FORMAT, compileLogFormat, createLineParser, decodeHexEscapes, decodeJsonEscapes } from '../../src/nginx';
import { createJsonLineParser } from '../../src/nginx/json';
import type { LineParser, LineParseResult } from '../../src/nginx/record';
import { badRowKind, type BadRow } from '../../src/snowplow/badrow';
import { decodeLine, type DecodeOutcome } from '../../src/snowplow/decode';
import { ENRICHED_FIELD_COUNT } from '../../src/snowplow/fields';
import { eventToJson, eventToTsv } from '../../src/snowplow/format';
import { decodeComponent, parseQueryString } from '../../src/snowplow/querystring';
import { decodeContexts, decodeUnstruct } from '../../src/snowplow/sdj';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function violated(message: string): never {
  throw new InvariantViolation(message);
}

/** Runs f; any exception other than an InvariantViolation is one: these functions must not throw. */
function mustNotThrow<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof InvariantViolation) throw err;
    violated(`${what} threw ${err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err)}`);
  }
}

export const FIXTURES = join(__dirname, '../../../test/fixtures');
/** The custom log_format of the tracker capture (test/fixtures/tracker/custom.format.txt). */
export const CUSTOM_FORMAT = readFileSync(join(FIXTURES, 'tracker/custom.format.txt'), 'utf8').trim();
export const CUSTOM_JSON_FORMAT =
  'escape=json {"msec":"$msec","remote_addr":"$remote_addr","request":"$request","status":"$status","request_body":"$request_body","http_user_agent":"$http_user_agent"}';

/** Every fixture line of test/fixtures (tracker captures and edge cases), by the format it is in. */
export function fixtureLines(): Record<'json' | 'combined' | 'custom', string[]> {
  const lines = (file: string) => readFileSync(join(FIXTURES, file), 'utf8').split('\n').filter((l) => l !== '');
  return {
    json: [...lines('tracker/tailplow-json.log'), ...lines('tracker/json-default-escape.log'), ...lines('edge/json-edge.log')],
    combined: [...lines('tracker/combined.log'), ...lines('edge/combined-edge.log')],
    custom: lines('tracker/custom.log'),
  };
}

const LINE_FAILURES = new Set(['line_too_long', 'line_malformed', 'line_json_invalid', 'line_missing_request']);
const BAD_ROW_KINDS = new Set(['size_violation', 'collector_payload_format_violation', 'adapter_failures', 'tracker_protocol_violations', 'schema_violations', 'enrichment_failures', 'generic_error']);
const NOW = () => 1_795_813_792_000;

function checkParseResult(format: string, r: LineParseResult): void {
  if (r.ok) {
    if (typeof r.record !== 'object' || r.record === null) violated(`${format}: ok result without a record`);
    return;
  }
  if (!LINE_FAILURES.has(r.reason)) violated(`${format}: unknown failure reason ${String(r.reason)}`);
  if (typeof r.message !== 'string' || r.message === '') violated(`${format}: failure ${r.reason} without a message`);
  if (r.message.startsWith('internal error')) violated(`${format}: parser bug caught by the safety net: ${r.message}`);
}

function checkBadRow(line: string, b: BadRow): void {
  const kind = badRowKind(b);
  if (kind === undefined || !BAD_ROW_KINDS.has(kind)) violated(`bad row of unknown schema ${b.schema}`);
  const text = mustNotThrow('JSON.stringify(bad row)', () => JSON.stringify(b));
  if (!text.includes('"payload"')) violated(`bad row without payload: ${text.slice(0, 200)}`);
  void line;
}

/** Events must serialise to valid JSON and to exactly 131 TSV columns on one line. */
function checkOutcome(line: string, out: DecodeOutcome): void {
  if (out.events.length === 0 && out.bad.length === 0 && out.skipped === undefined) {
    violated(`line yields neither an event, a bad row nor a skip reason: ${JSON.stringify(line.slice(0, 300))}`);
  }
  for (const b of out.bad) checkBadRow(line, b);
  for (const e of out.events) {
    if (typeof e.event_id !== 'string' || e.event_id === '') violated('event without event_id');
    const json = mustNotThrow('eventToJson', () => eventToJson(e));
    mustNotThrow('JSON.parse(eventToJson(event))', () => JSON.parse(json));
    const tsv = mustNotThrow('eventToTsv', () => eventToTsv(e));
    if (/[\n\r]/.test(tsv)) violated(`TSV row contains a line break: ${JSON.stringify(tsv.slice(0, 200))}`);
    const columns = tsv.split('\t').length;
    if (columns !== ENRICHED_FIELD_COUNT) violated(`TSV row has ${columns} columns, not ${ENRICHED_FIELD_COUNT}`);
  }
}

/**
 * A line through one format: the compiled parser itself (createLineParser's try/catch would hide
 * its bugs) and then the whole decoder.
 */
export function lineTarget(format: string): (line: string) => void {
  const raw: LineParser =
    format === 'json' ? createJsonLineParser() : compileLogFormat(format === 'combined' ? COMBINED_FORMAT : format === 'main' ? MAIN_FORMAT : format).parse;
  const parser = createLineParser(format, { maxLineBytes: 64 * 1024 });
  return (line) => {
    const r = mustNotThrow(`${format} parser`, () => raw(line));
    checkParseResult(format, r);
    const out = mustNotThrow('decodeLine', () => decodeLine(line, parser, { offset: 0, source: 'fuzz.log', now: NOW, maxLineBytes: 64 * 1024 }));
    checkOutcome(line, out);
  };
}

/** The log_format compiler: compiles or throws LogFormatError; a compiled parser never throws. */
export function logFormatTarget(input: string): void {
  // The input is "format\nline\nline…": the format and a few lines to parse with it.
  const [format = '', ...lines] = input.split('\n');
  let parse: LineParser;
  try {
    parse = compileLogFormat(format).parse;
  } catch (err) {
    if (err instanceof LogFormatError) return;
    violated(`compileLogFormat threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} for ${JSON.stringify(format)}`);
  }
  for (const line of lines) checkParseResult('custom', mustNotThrow('compiled log_format parser', () => parse(line)));
}

/** Query strings: parse never throws; every decoded pair comes from a real `name=value`. */
export function queryStringTarget(qs: string): void {
  const r = mustNotThrow('parseQueryString', () => parseQueryString(qs));
  if (!r.ok) {
    if (!qs.includes('%')) violated(`query string without '%' refused: ${JSON.stringify(qs)}`);
    return;
  }
  if (r.params.length > qs.split('&').length) violated('more parameters than &-separated pieces');
  for (const piece of qs.split('&')) mustNotThrow('decodeComponent', () => decodeComponent(piece));
}

/** nginx escapes: decoding arbitrary text never throws. */
export function escapeTarget(s: string): void {
  mustNotThrow('decodeHexEscapes', () => decodeHexEscapes(s));
  mustNotThrow('decodeJsonEscapes', () => decodeJsonEscapes(s));
}

/** ue_pr/co JSON and what base64 ue_px/cx decode to: results, never exceptions. */
export function sdjTarget(text: string): void {
  for (const r of [mustNotThrow('decodeUnstruct', () => decodeUnstruct('ue_pr', text)), mustNotThrow('decodeContexts', () => decodeContexts('co', text))]) {
    if (!r.ok && (typeof r.problem.error !== 'string' || r.problem.error === '')) violated('sdj problem without an error message');
  }
}

/**
 * The config loader: returns a config or throws ConfigError whose every problem names the file
 * (and a line, when the problem has a place in the file).
 */
/** What tail's command-line flags do to the parsed YAML before validation (src/cli/commands/tail.ts). */
function cliOverrides(raw: Record<string, unknown>): void {
  raw.input = { ...((raw.input ?? {}) as Record<string, unknown>), paths: ['/var/log/nginx/access.log'] };
  raw.kafka = { ...((raw.kafka ?? {}) as object), brokers: ['127.0.0.1:9092'] };
}

export function configTarget(schemaName: 'tail' | 'process'): (text: string) => void {
  const schema = schemaName === 'tail' ? tailConfigSchema : processConfigSchema;
  return (text) => {
    try {
      parseConfigText(text, 'fuzz.yml', schema as never, { env: { SECRET: 's3cret' }, readFile: () => 'from-file\n', overrides: cliOverrides });
    } catch (err) {
      if (!(err instanceof ConfigError)) {
        violated(`parseConfigText threw ${err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err)} for ${JSON.stringify(text.slice(0, 300))}`);
      }
      if (err.problems.length === 0) violated('ConfigError without problems');
      for (const line of err.message.split('\n')) {
        if (!/^fuzz\.yml(:\d+:\d+)?: /.test(line)) violated(`config problem without file[:line:col]: ${JSON.stringify(line)}`);
      }
    }
  };
}

export const TARGETS: Record<string, (input: string) => void> = {
  'line-json': lineTarget('json'),
  'line-combined': lineTarget('combined'),
  'line-main': lineTarget('main'),
  'line-custom': lineTarget(CUSTOM_FORMAT),
  'line-custom-json': lineTarget(CUSTOM_JSON_FORMAT),
  logformat: logFormatTarget,
  querystring: queryStringTarget,
  escape: escapeTarget,
  sdj: sdjTarget,
  'config-tail': configTarget('tail'),
  'config-process': configTarget('process'),
};
