/**
 * What a tracker put on the wire, recorded on the client side (test/fixtures/tracker/sent.json).
 * Tests compare tailplow's decoded events with these field by field.
 */
export type SentSource = 'browser' | 'node' | 'replay';

export interface SentRequest {
  /** Who sent it: the browser tracker in Chromium, the node tracker, or a replay of a recorded GET. */
  source: SentSource;
  method: string;
  /** URL path on the collector, e.g. /i or /com.snowplowanalytics.snowplow/tp2 */
  path: string;
  /** Raw query string without '?', exactly as sent (percent-encoded). */
  rawQuery: string;
  /** The query string decoded into parameters (the tracker encodes with encodeURIComponent). */
  query: Record<string, string>;
  /** POST only: the raw body and the schema of its payload_data envelope. */
  body?: string;
  payloadSchema?: string;
  /** The tracker events in this request: the query for GET, payload_data's data for POST. */
  events: Array<Record<string, string>>;
  /** Request headers that matter to the collector side (lower-case names). */
  headers: Record<string, string>;
}

export interface SentFile {
  capturedAt: string;
  collector: string;
  pageOrigin: string;
  trackers: Record<string, { kind: 'browser' | 'node'; version: string; method: string; encodeBase64: boolean }>;
  requests: SentRequest[];
}

const KEPT_HEADERS = ['origin', 'referer', 'cookie', 'content-type', 'user-agent', 'x-forwarded-for', 'accept-language'];

export function keptHeaders(all: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) {
    const lower = name.toLowerCase();
    if (KEPT_HEADERS.includes(lower)) out[lower] = value;
  }
  return out;
}

/** Builds the record of one collector request from what the client sent. */
export function sentRequestOf(
  source: SentSource,
  method: string,
  url: string,
  body: string | undefined,
  headers: Record<string, string>,
): SentRequest {
  const parsed = new URL(url);
  const rawQuery = parsed.search.startsWith('?') ? parsed.search.slice(1) : parsed.search;
  const query = Object.fromEntries(new URLSearchParams(rawQuery));
  const request: SentRequest = { source, method, path: parsed.pathname, rawQuery, query, events: [], headers: keptHeaders(headers) };
  if (method === 'POST' && body !== undefined) {
    const payload = JSON.parse(body) as { schema: string; data: Array<Record<string, string>> };
    request.body = body;
    request.payloadSchema = payload.schema;
    request.events = payload.data;
  } else if (Object.keys(query).length > 0) {
    request.events = [query];
  }
  return request;
}
