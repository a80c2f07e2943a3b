import { TAILPLOW_VERSION } from './version';

/**
 * Snowplow bad rows (iglu:com.snowplowanalytics.snowplow.badrows/…), in the shapes and schema
 * versions of Snowplow's snowplow-badrows library. Where Snowplow's payload is an object
 * (collector payload, raw event + partial enriched event) tailplow adds `line` (the raw log
 * line) and `offset`/`source` when known, so every bad row can be replayed from itself.
 */
export type BadRowKind =
  | 'size_violation'
  | 'collector_payload_format_violation'
  | 'adapter_failures'
  | 'tracker_protocol_violations'
  | 'schema_violations'
  | 'enrichment_failures'
  | 'generic_error';

export const BAD_ROW_VERSIONS: Readonly<Record<BadRowKind, string>> = Object.freeze({
  size_violation: '1-0-0',
  collector_payload_format_violation: '1-0-0',
  adapter_failures: '1-0-0',
  tracker_protocol_violations: '1-0-1',
  schema_violations: '2-0-1',
  enrichment_failures: '2-0-1',
  generic_error: '1-0-0',
});

const BAD_ROW_SCHEMA_PREFIX = 'iglu:com.snowplowanalytics.snowplow.badrows/';

export interface Processor {
  artifact: 'tailplow';
  version: string;
}

export interface BadRow {
  schema: string;
  data: {
    processor: Processor;
    failure: { timestamp: string } & Record<string, unknown>;
    payload: unknown;
  };
}

/** `{field, value, expectation}`: Snowplow's InputData message, the common actionable case. */
export interface InputDataMessage {
  field: string;
  value: string | null;
  expectation: string;
}

/** An enrichment-failure message: Snowplow wraps each in `{enrichment, message}`. */
export interface EnrichmentFailureMessage {
  enrichment: null;
  message: InputDataMessage | { error: string };
}

export interface Nvp {
  name: string;
  value: string | null;
}

/** The request facts both of Snowplow's payload shapes carry. */
interface RequestFacts {
  vendor: string;
  version: string;
  contentType?: string;
  encoding: 'UTF-8';
  hostname?: string;
  timestamp?: string;
  ipAddress?: string;
  useragent?: string;
  refererUri?: string;
  headers: string[];
}

/** Where in the logs a bad row came from (tailplow's addition to Snowplow's payloads). */
interface LineLocation {
  line: string;
  offset?: number;
  source?: string;
}

/** Snowplow's CollectorPayload bad-row payload, plus tailplow's `line`/`offset`/`source`. */
export interface CollectorPayloadJson extends RequestFacts, LineLocation {
  querystring: Nvp[];
  body?: string;
  collector: string;
  networkUserId?: string;
}

/** Snowplow's EnrichmentPayload: the partially enriched event and the raw event it came from. */
export interface EnrichmentPayloadJson extends LineLocation {
  enriched: Record<string, unknown>;
  raw: RequestFacts & {
    parameters: Nvp[];
    loaderName: string;
    userId?: string;
  };
}

export const PROCESSOR: Processor = Object.freeze({ artifact: 'tailplow', version: TAILPLOW_VERSION }) as Processor;

function make(kind: BadRowKind, failure: BadRow['data']['failure'], payload: unknown): BadRow {
  return { schema: `${BAD_ROW_SCHEMA_PREFIX}${kind}/jsonschema/${BAD_ROW_VERSIONS[kind]}`, data: { processor: PROCESSOR, failure, payload } };
}

/** The bad-row type of a row, for metric labels and routing; undefined for foreign schemas. */
export function badRowKind(row: BadRow): BadRowKind | undefined {
  if (!row.schema.startsWith(BAD_ROW_SCHEMA_PREFIX)) return undefined;
  const name = row.schema.slice(BAD_ROW_SCHEMA_PREFIX.length, row.schema.indexOf('/', BAD_ROW_SCHEMA_PREFIX.length));
  return Object.prototype.hasOwnProperty.call(BAD_ROW_VERSIONS, name) ? (name as BadRowKind) : undefined;
}

/** A line longer than the configured maximum. Payload: the raw line, as in Snowplow. */
export function sizeViolation(line: string, maximumAllowedSizeBytes: number, timestamp: string, expectation: string): BadRow {
  return make(
    'size_violation',
    { timestamp, maximumAllowedSizeBytes, actualSizeBytes: Buffer.byteLength(line, 'utf8'), expectation },
    line,
  );
}

/** The log line could not be read as a request at all. Payload: the raw line, as in Snowplow. */
export function cpFormatViolation(line: string, timestamp: string, message: InputDataMessage | { error: string }): BadRow {
  const msg = 'field' in message ? { payloadField: message.field, value: message.value, expectation: message.expectation } : message;
  return make('collector_payload_format_violation', { timestamp, loader: 'tailplow', message: msg }, line);
}

export function adapterFailures(
  payload: CollectorPayloadJson,
  timestamp: string,
  messages: InputDataMessage[],
): BadRow {
  return make('adapter_failures', { timestamp, vendor: payload.vendor, version: payload.version, messages }, payload);
}

/** Tracker-protocol message: InputData, or NotJson/NotIglu/CriterionMismatch for the tp2 body. */
export type TrackerProtocolMessage =
  | InputDataMessage
  | { field: string; value: string | null; error: string }
  | { json: unknown; error: string }
  | { schemaKey: string; schemaCriterion: string };

export function trackerProtocolViolations(
  payload: CollectorPayloadJson,
  timestamp: string,
  messages: TrackerProtocolMessage[],
): BadRow {
  return make('tracker_protocol_violations', { timestamp, vendor: payload.vendor, version: payload.version, messages }, payload);
}

export function schemaViolations(payload: EnrichmentPayloadJson, timestamp: string, messages: unknown[]): BadRow {
  return make('schema_violations', { timestamp, messages }, payload);
}

export function enrichmentFailures(
  payload: EnrichmentPayloadJson,
  timestamp: string,
  messages: EnrichmentFailureMessage[],
): BadRow {
  return make('enrichment_failures', { timestamp, messages }, payload);
}

/** For failures outside the tracker protocol (a pipeline step gave up on an input). */
export function genericError(line: string, timestamp: string, errors: string[]): BadRow {
  return make('generic_error', { timestamp, errors }, line);
}
