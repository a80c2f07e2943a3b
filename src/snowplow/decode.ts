import type { AccessRecord, LineParser } from '../nginx/record';
import type { SelfDescribing, SnowplowEvent } from './event';
import {
  adapterFailures,
  type BadRow,
  type CollectorPayloadJson,
  cpFormatViolation,
  enrichmentFailures,
  type EnrichmentFailureMessage,
  type EnrichmentPayloadJson,
  type Nvp,
  schemaViolations,
  sizeViolation,
  trackerProtocolViolations,
  type TrackerProtocolMessage,
} from './badrow';
import type { RawParamsFingerprint } from './fingerprint';
import { deterministicEventId } from './ids';
import { applyParam, applyTimestamps, checkLength, derivedTstampMs, newParamState, type ParamState, tsvSafe } from './params';
import { parseQueryString } from './querystring';
import { decodeContexts, decodeUnstruct, igluKeyOf, parseJson, type SdjProblem } from './sdj';
import { isoOf, isStorableMs } from './tstamp';
import { splitUrl } from './url';
import { TAILPLOW_ARTIFACT_VERSION } from './version';

/**
 * Why a request is not a tracker hit at all. Closed union: reused as metric labels.
 * - not_tracker_path: any path other than /i, /ice.png, /com.snowplowanalytics.snowplow/tp2
 * - preflight: a CORS OPTIONS request before a POST
 * - head_request: HEAD carries no event
 * - method_not_allowed: e.g. POST to /i, PUT to tp2 (Snowplow's collector would reject it)
 * - http_error_status: Nginx answered 4xx (except 499 client-closed), so no collector saw it
 */
export type SkipReason = 'not_tracker_path' | 'preflight' | 'head_request' | 'method_not_allowed' | 'http_error_status';

export const SKIP_REASONS: ReadonlyArray<SkipReason> = Object.freeze([
  'not_tracker_path', 'preflight', 'head_request', 'method_not_allowed', 'http_error_status',
] as SkipReason[]);

export interface DecodeContext {
  /** The raw log line the record came from (bad-row payload, deterministic ids). */
  line: string;
  /** Byte offset of the line in its file: part of generated event ids. */
  offset?: number;
  /** Where the line came from (file path), copied into bad rows. */
  source?: string;
  /** Clock for etl_tstamp and bad-row timestamps (epoch ms). Default Date.now. */
  now?: () => number;
  /** The parser's line limit, reported in size_violation bad rows. */
  maxLineBytes?: number;
  /**
   * Snowplow's event fingerprint over the event's raw tracker parameters (body merged with the
   * query string), set as `event_fingerprint`. Only the decoder still has the raw parameters.
   */
  fingerprint?: RawParamsFingerprint;
}

export interface DecodeOutcome {
  events: SnowplowEvent[];
  bad: BadRow[];
  skipped?: SkipReason;
}

const TP2_PATH = '/com.snowplowanalytics.snowplow/tp2';
const VENDOR = 'com.snowplowanalytics.snowplow';
const PAYLOAD_DATA_VENDOR_NAME = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-';
const REQUIRED_IN_POST = ['e', 'p', 'tv'] as const;

type Api = 'tp1' | 'tp2';

function routeOf(record: AccessRecord): Api | SkipReason {
  const path = record.path;
  let api: Api;
  if (path === '/i' || path === '/ice.png') api = 'tp1';
  else if (path === TP2_PATH) api = 'tp2';
  else return 'not_tracker_path';
  const method = record.method === undefined ? 'GET' : record.method.toUpperCase();
  if (method === 'OPTIONS') return 'preflight';
  if (method === 'HEAD') return 'head_request';
  if (method !== 'GET' && !(api === 'tp2' && method === 'POST')) return 'method_not_allowed';
  const status = record.status;
  if (status !== undefined && status >= 400 && status < 500 && status !== 499) return 'http_error_status';
  return api;
}

function present(v: string | undefined): string | undefined {
  return v === undefined || v === '' || v === '-' ? undefined : v;
}

const IPV4_PREFIX = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})/;
const IPV6_PREFIX = /^([0-9a-fA-F.:]*:[0-9a-fA-F.:]*)/;

/** The client address in the first X-Forwarded-For entry, as Snowplow's IpAddressExtractor finds it. */
export function firstForwardedIp(xff: string | undefined): string | undefined {
  const header = present(xff);
  if (header === undefined) return undefined;
  const comma = header.indexOf(',');
  let first = (comma === -1 ? header : header.slice(0, comma)).trim();
  if (first.charCodeAt(0) === 34 /* " */) first = first.slice(1);
  if (first.charCodeAt(0) === 91 /* [ */) first = first.slice(1);
  const v4 = IPV4_PREFIX.exec(first);
  if (v4 !== null) return v4[1];
  const v6 = IPV6_PREFIX.exec(first);
  return v6 === null ? undefined : (v6[1] as string).toLowerCase();
}

const SP_COOKIE = /(?:^|;)\s*sp=([^;]*)/;

function networkUserIdOf(record: AccessRecord): string | undefined {
  const fromVar = present(record.cookieSp);
  if (fromVar !== undefined) return fromVar;
  const header = present(record.cookieHeader);
  if (header === undefined) return undefined;
  const m = SP_COOKIE.exec(header);
  return m === null ? undefined : present((m[1] as string).trim());
}

/** What the collector knows about the request, shared by every event of one line. */
interface Collected {
  api: Api;
  collectorMs: number;
  collectorIso: string;
  nowIso: string;
  ip?: string;
  useragent?: string;
  networkUserId?: string;
  referer?: string;
  record: AccessRecord;
  ctx: DecodeContext;
  query: Array<[string, string]>;
  /** Names in the query string, when a POST also has one (they override body values). */
  queryKeys?: Set<string>;
}

function nvps(pairs: Iterable<[string, string]>): Nvp[] {
  const out: Nvp[] = [];
  for (const [name, value] of pairs) out.push({ name, value });
  return out;
}

function withLocation<T extends object>(payload: T, ctx: DecodeContext): T & { line: string; offset?: number; source?: string } {
  const out = payload as T & { line: string; offset?: number; source?: string };
  out.line = ctx.line;
  if (ctx.offset !== undefined) out.offset = ctx.offset;
  if (ctx.source !== undefined) out.source = ctx.source;
  return out;
}

function collectorPayload(c: Collected, body: string | undefined): CollectorPayloadJson {
  const p: Omit<CollectorPayloadJson, 'line'> = {
    vendor: VENDOR,
    version: c.api,
    querystring: nvps(c.query),
    collector: TAILPLOW_ARTIFACT_VERSION,
    encoding: 'UTF-8',
    headers: [],
  };
  if (body !== undefined) p.body = body;
  if (c.record.host !== undefined) p.hostname = c.record.host;
  p.timestamp = c.collectorIso;
  if (c.ip !== undefined) p.ipAddress = c.ip;
  if (c.useragent !== undefined) p.useragent = c.useragent;
  if (c.referer !== undefined) p.refererUri = c.referer;
  if (c.networkUserId !== undefined) p.networkUserId = c.networkUserId;
  return withLocation(p, c.ctx);
}

function enrichmentPayload(c: Collected, params: Record<string, string>, enriched: SnowplowEvent): EnrichmentPayloadJson {
  const raw: EnrichmentPayloadJson['raw'] = {
    vendor: VENDOR,
    version: c.api,
    parameters: nvps(Object.entries(params)),
    loaderName: 'tailplow',
    encoding: 'UTF-8',
    headers: [],
  };
  if (c.record.host !== undefined) raw.hostname = c.record.host;
  raw.timestamp = c.collectorIso;
  if (c.ip !== undefined) raw.ipAddress = c.ip;
  if (c.useragent !== undefined) raw.useragent = c.useragent;
  if (c.referer !== undefined) raw.refererUri = c.referer;
  if (c.networkUserId !== undefined) raw.userId = c.networkUserId;
  return withLocation({ enriched: enriched as Record<string, unknown>, raw }, c.ctx);
}

function sdjMessage(p: SdjProblem): unknown {
  switch (p.kind) {
    case 'NotJson': return { field: p.field, value: p.value, error: p.error };
    case 'NotIglu': return { field: p.field, json: p.json, error: p.error };
    case 'CriterionMismatch': return { field: p.field, schemaKey: p.schemaKey, schemaCriterion: p.schemaCriterion, error: p.error };
  }
}

// Decoded ue_px/cx bytes land here: Buffer.from would allocate a buffer per parameter.
let base64Scratch = Buffer.allocUnsafe(16 * 1024);

/** ue_px/cx: base64url or standard base64, padded or not (Node's decoder takes all four). */
function base64Text(v: string): string {
  // A standard-base64 '+' sent unencoded in a GET query reads back as ' ' (never valid base64).
  const fixed = v.indexOf(' ') === -1 ? v : v.replace(/ /g, '+');
  // Never more bytes than 3 per 4 characters, so the write is never cut short.
  const bound = Math.ceil((fixed.length * 3) / 4) + 3;
  if (base64Scratch.length < bound) base64Scratch = Buffer.allocUnsafe(Math.max(bound, base64Scratch.length * 2));
  const n = base64Scratch.write(fixed, 0, 'base64');
  return base64Scratch.toString('utf8', 0, n);
}

const BUILTIN_SCHEMAS: Readonly<Record<string, readonly [string, string]>> = {
  page_view: [VENDOR, 'page_view'],
  page_ping: [VENDOR, 'page_ping'],
  transaction: [VENDOR, 'transaction'],
  transaction_item: [VENDOR, 'transaction_item'],
  struct: ['com.google.analytics', 'event'],
};

// Two near-copies on purpose: each writes its fields by literal name, which keeps events on one
// V8 hidden class (computed keys pushed them into slow dictionary mode; see the perf history).
function setPageUrlParts(st: ParamState, url: string): void {
  const parts = splitUrl(url);
  if (parts === undefined) return;
  const ev = st.ev;
  ev.page_urlscheme = checkLength(st, 'page_urlscheme', parts.scheme, 16);
  ev.page_urlhost = checkLength(st, 'page_urlhost', parts.host, 255);
  ev.page_urlport = parts.port;
  if (parts.path !== undefined) ev.page_urlpath = checkLength(st, 'page_urlpath', parts.path, 3000);
  if (parts.query !== undefined) ev.page_urlquery = checkLength(st, 'page_urlquery', parts.query, 6000);
  if (parts.fragment !== undefined) ev.page_urlfragment = checkLength(st, 'page_urlfragment', parts.fragment, 3000);
}

function setRefrUrlParts(st: ParamState, url: string): void {
  const parts = splitUrl(url);
  if (parts === undefined) return;
  const ev = st.ev;
  ev.refr_urlscheme = checkLength(st, 'refr_urlscheme', parts.scheme, 16);
  ev.refr_urlhost = checkLength(st, 'refr_urlhost', parts.host, 255);
  ev.refr_urlport = parts.port;
  if (parts.path !== undefined) ev.refr_urlpath = checkLength(st, 'refr_urlpath', parts.path, 6000);
  if (parts.query !== undefined) ev.refr_urlquery = checkLength(st, 'refr_urlquery', parts.query, 6000);
  if (parts.fragment !== undefined) ev.refr_urlfragment = checkLength(st, 'refr_urlfragment', parts.fragment, 3000);
}

function firstIpOfParam(v: string): string | undefined {
  const m = /[,| ]/.exec(v);
  return tsvSafe(m === null ? v : v.slice(0, m.index));
}

/** The merged parameters of one event, for bad-row payloads only (built lazily). */
function mergedParams(c: Collected, body: Record<string, string> | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  if (body !== undefined) for (const key in body) params[key] = body[key] as string;
  for (const [name, value] of c.query) params[name] = value;
  return params;
}

const encodeSpaces = (s: string): string => (s.indexOf(' ') === -1 ? s : s.replace(/ /g, '%20'));

/**
 * Builds one event from its tracker parameters: the tp2 body values (if any), then the query
 * string, which wins (as in Snowplow's Tp2Adapter). Returns the event or its bad row.
 */
function buildEvent(c: Collected, body: Record<string, string> | undefined, index: number): SnowplowEvent | BadRow {
  const st: ParamState = newParamState();
  const query = c.query;
  if (body !== undefined) {
    const shadowed = c.queryKeys;
    for (const key in body) {
      const v = body[key] as string;
      if (v !== '' && (shadowed === undefined || !shadowed.has(key))) applyParam(st, key, v);
    }
  }
  for (let k = 0; k < query.length; k++) {
    const pair = query[k] as [string, string];
    if (pair[1] !== '') applyParam(st, pair[0], pair[1]);
  }
  const ev = st.ev;
  if (ev.event === undefined && !st.failures.some((f) => f.field === 'e')) {
    st.failures.push({ field: 'e', value: null, expectation: 'missing: every tracker event needs an event type (e=pv, pp, se, ue, tr or ti)' });
  }
  applyTimestamps(st);
  ev.collector_tstamp = c.collectorIso;
  ev.etl_tstamp = c.nowIso;
  ev.v_collector = TAILPLOW_ARTIFACT_VERSION;
  ev.v_etl = TAILPLOW_ARTIFACT_VERSION;
  ev.event_id = st.eid ?? deterministicEventId(c.ctx.line, c.ctx.offset, index);
  if (c.ctx.fingerprint !== undefined) {
    const fingerprint = c.ctx.fingerprint(body, query);
    if (fingerprint !== undefined) ev.event_fingerprint = fingerprint;
  }

  const ip = st.ip !== undefined ? firstIpOfParam(st.ip) : c.ip;
  if (ip !== undefined) ev.user_ipaddress = checkLength(st, 'user_ipaddress', ip, 128);
  const ua = st.ua ?? c.useragent;
  if (ua !== undefined) ev.useragent = checkLength(st, 'useragent', ua, 1000);
  const nuid = st.tnuid ?? st.nuid ?? c.networkUserId;
  if (nuid !== undefined) ev.network_userid = checkLength(st, 'network_userid', nuid, 128);

  // Legacy ev_* structured-event names only fill what se_* did not.
  if (ev.se_category === undefined && st.evCa !== undefined) ev.se_category = checkLength(st, 'se_category', st.evCa, 1000);
  if (ev.se_action === undefined && st.evAc !== undefined) ev.se_action = checkLength(st, 'se_action', st.evAc, 1000);
  if (ev.se_label === undefined && st.evLa !== undefined) ev.se_label = checkLength(st, 'se_label', st.evLa, 4096);
  if (ev.se_property === undefined && st.evPr !== undefined) ev.se_property = checkLength(st, 'se_property', st.evPr, 1000);
  if (ev.se_value === undefined && st.evVa !== undefined) ev.se_value = st.evVa;
  if (ev.ti_name === undefined && st.tiNa !== undefined) ev.ti_name = checkLength(st, 'ti_name', st.tiNa, 255);

  // The tracker's url wins over the Referer header (the page that loaded the pixel).
  const pageUrl = st.url ?? c.referer;
  if (pageUrl !== undefined) {
    const url = encodeSpaces(pageUrl);
    ev.page_url = checkLength(st, 'page_url', url, 10000);
    setPageUrlParts(st, url);
  }
  if (ev.page_referrer !== undefined) setRefrUrlParts(st, encodeSpaces(ev.page_referrer));
  ev.derived_tstamp = isoOf(derivedTstampMs(st, c.collectorMs));

  if (st.failures.length > 0) {
    const messages: EnrichmentFailureMessage[] = st.failures.map((message) => ({ enrichment: null, message }));
    return enrichmentFailures(enrichmentPayload(c, mergedParams(c, body), ev), c.nowIso, messages);
  }

  const schemaProblems: unknown[] = [];
  let unstruct: SelfDescribing | undefined;
  const ueField = st.uePx !== undefined ? 'ue_px' : 'ue_pr';
  const ueText = st.uePx !== undefined ? base64Text(st.uePx) : st.uePr;
  if (ueText !== undefined) {
    const r = decodeUnstruct(ueField, ueText);
    if (r.ok) unstruct = ev.unstruct_event = r.value;
    else schemaProblems.push(sdjMessage(r.problem));
  }
  const coField = st.cx !== undefined ? 'cx' : 'co';
  const coText = st.cx !== undefined ? base64Text(st.cx) : st.co;
  if (coText !== undefined) {
    const r = decodeContexts(coField, coText);
    if (r.ok) {
      if (r.value.length > 0) ev.contexts = r.value;
    } else {
      schemaProblems.push(sdjMessage(r.problem));
    }
  }
  if (schemaProblems.length > 0) {
    return schemaViolations(enrichmentPayload(c, mergedParams(c, body), ev), c.nowIso, schemaProblems);
  }

  const builtin = ev.event === undefined ? undefined : BUILTIN_SCHEMAS[ev.event];
  if (builtin !== undefined) {
    ev.event_vendor = builtin[0];
    ev.event_name = builtin[1];
    ev.event_format = 'jsonschema';
    ev.event_version = '1-0-0';
  } else if (ev.event === 'unstruct' && unstruct !== undefined) {
    const key = igluKeyOf(unstruct.schema);
    if (key !== undefined) {
      ev.event_vendor = checkLength(st, 'event_vendor', key.vendor, 1000);
      ev.event_name = checkLength(st, 'event_name', key.name, 1000);
      ev.event_format = checkLength(st, 'event_format', key.format, 128);
      ev.event_version = checkLength(st, 'event_version', key.version, 128);
    }
  }

  if (st.tooLong.length > 0) {
    const messages: EnrichmentFailureMessage[] = [
      { enrichment: null, message: { error: "Enriched event does not conform to atomic schema field's length restrictions" } },
    ];
    for (const error of st.tooLong) messages.push({ enrichment: null, message: { error } });
    return enrichmentFailures(enrichmentPayload(c, mergedParams(c, body), ev), c.nowIso, messages);
  }
  return ev;
}

function isBadRow(x: SnowplowEvent | BadRow): x is BadRow {
  return (x as BadRow).data !== undefined && typeof (x as BadRow).schema === 'string';
}

function push(out: DecodeOutcome, x: SnowplowEvent | BadRow): void {
  if (isBadRow(x)) out.bad.push(x);
  else out.events.push(x);
}

function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A POST body: payload_data JSON, each event an object of string values. */
function decodePostBody(c: Collected, body: string, out: DecodeOutcome): void {
  const tpv = (messages: TrackerProtocolMessage[], payloadBody: string): void => {
    out.bad.push(trackerProtocolViolations(collectorPayload(c, payloadBody), c.nowIso, messages));
  };
  const parsed = parseJson(body);
  if (!parsed.ok) {
    tpv([{ field: 'body', value: body, error: `invalid JSON: ${parsed.error}` }], body);
    return;
  }
  const root = parsed.value as { schema?: unknown; data?: unknown } | null;
  if (typeof root !== 'object' || root === null || Array.isArray(root) || typeof root.schema !== 'string' || !('data' in root)) {
    tpv([{ json: root, error: 'INVALID_DATA_PAYLOAD: the POST body must be {"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[...]}' }], body);
    return;
  }
  if (igluKeyOf(root.schema) === undefined) {
    tpv([{ json: root, error: `INVALID_IGLU_URI: body schema ${JSON.stringify(root.schema)} is not an Iglu URI` }], body);
    return;
  }
  if (!root.schema.startsWith(PAYLOAD_DATA_VENDOR_NAME)) {
    tpv([{ schemaKey: root.schema, schemaCriterion: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-*-*' }], body);
    return;
  }
  const data = root.data;
  if (!Array.isArray(data)) {
    tpv([{ field: 'body', value: body, expectation: `payload_data "data" must be an array of events, got ${describeJson(data)}` }], body);
    return;
  }
  if (data.length === 0) {
    tpv([{ field: 'body', value: body, expectation: 'empty list of events' }], body);
    return;
  }
  for (let index = 0; index < data.length; index++) {
    const item: unknown = data[index];
    // Each bad event gets a bad row whose body holds only that event, so it can be replayed alone.
    const single = (): string => JSON.stringify({ schema: root.schema, data: [item] });
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      tpv([{ field: `data[${index}]`, value: JSON.stringify(item) ?? null, expectation: `each event must be a JSON object, got ${describeJson(item)}` }], single());
      continue;
    }
    const messages: TrackerProtocolMessage[] = [];
    const obj = item as Record<string, unknown>;
    for (const key in obj) {
      const v = obj[key];
      if (typeof v === 'string') continue;
      if (v === null) messages.push({ field: key, value: null, expectation: 'value cannot be null: payload_data values must be strings' });
      else messages.push({ field: key, value: JSON.stringify(v) ?? null, expectation: 'value is not a string: payload_data values must be strings (e.g. "1" not 1)' });
    }
    for (const key of REQUIRED_IN_POST) {
      if (!(key in obj)) messages.push({ field: key, value: null, expectation: `missing: payload_data requires "${key}" in every event (e, p and tv)` });
    }
    if (messages.length > 0) {
      tpv(messages, single());
      continue;
    }
    push(out, buildEvent(c, obj as Record<string, string>, index));
  }
}

/**
 * Turns one access-log record into Snowplow events and bad rows. Never throws: every problem
 * with the input becomes a bad row (Snowplow's bad-row types) or a skip reason.
 */
export function decodeRecord(record: AccessRecord, ctx: DecodeContext): DecodeOutcome {
  const route = routeOf(record);
  if (route !== 'tp1' && route !== 'tp2') return { events: [], bad: [], skipped: route };
  const nowMs = ctx.now === undefined ? Date.now() : ctx.now();
  const nowIso = isoOf(isStorableMs(nowMs) ? nowMs : 0);
  const out: DecodeOutcome = { events: [], bad: [] };

  const collectorMs = record.timestampMs;
  if (collectorMs === undefined || !isStorableMs(collectorMs)) {
    out.bad.push(cpFormatViolation(ctx.line, nowIso, {
      field: 'timestamp',
      value: collectorMs === undefined ? null : String(collectorMs),
      expectation: 'the request time is missing or outside years 0-9999: log $msec (or $time_iso8601/$time_local)',
    }));
    return out;
  }
  const qs = parseQueryString(record.queryString);
  if (!qs.ok) {
    out.bad.push(cpFormatViolation(ctx.line, nowIso, { field: 'querystring', value: record.queryString ?? null, expectation: qs.message }));
    return out;
  }
  const c: Collected = {
    api: route,
    collectorMs,
    collectorIso: isoOf(collectorMs),
    nowIso,
    record,
    ctx,
    query: qs.params,
  };
  const ip = firstForwardedIp(record.xForwardedFor) ?? present(record.remoteAddr);
  if (ip !== undefined) c.ip = ip;
  const ua = present(record.userAgent);
  if (ua !== undefined) c.useragent = tsvSafe(ua);
  const nuid = networkUserIdOf(record);
  if (nuid !== undefined) c.networkUserId = tsvSafe(nuid);
  const referer = present(record.referer);
  if (referer !== undefined) c.referer = tsvSafe(referer);

  const body = record.method !== undefined && record.method.toUpperCase() === 'POST' ? present(record.requestBody) : undefined;
  if (body !== undefined) {
    if (qs.params.length > 0) c.queryKeys = new Set(qs.params.map((pair) => pair[0]));
    decodePostBody(c, body, out);
    return out;
  }
  if (qs.params.length === 0) {
    if (route === 'tp1') {
      out.bad.push(adapterFailures(collectorPayload(c, undefined), nowIso, [
        { field: 'querystring', value: null, expectation: 'empty querystring: not a valid URI redirect (a GET /i hit carries its event in the query string)' },
      ]));
    } else {
      out.bad.push(trackerProtocolViolations(collectorPayload(c, undefined), nowIso, [
        { field: 'body', value: null, expectation: 'empty body: not a valid tracker protocol event' },
        { field: 'querystring', value: null, expectation: 'empty querystring: not a valid tracker protocol event' },
      ]));
    }
    return out;
  }
  push(out, buildEvent(c, undefined, 0));
  return out;
}

/**
 * Parses one log line with `parser` and decodes it. A line the parser rejects becomes a bad row:
 * size_violation when too long, collector_payload_format_violation otherwise.
 */
export function decodeLine(line: string, parser: LineParser, ctx: Omit<DecodeContext, 'line'>): DecodeOutcome {
  const parsed = parser(line);
  if (parsed.ok) {
    const full: DecodeContext = { line, offset: ctx.offset, source: ctx.source, now: ctx.now, maxLineBytes: ctx.maxLineBytes, fingerprint: ctx.fingerprint };
    return decodeRecord(parsed.record, full);
  }
  const nowMs = ctx.now === undefined ? Date.now() : ctx.now();
  const nowIso = isoOf(isStorableMs(nowMs) ? nowMs : 0);
  if (parsed.reason === 'line_too_long') {
    return { events: [], bad: [sizeViolation(line, ctx.maxLineBytes ?? -1, nowIso, parsed.message)] };
  }
  return { events: [], bad: [cpFormatViolation(line, nowIso, { field: 'line', value: null, expectation: `${parsed.reason}: ${parsed.message}` })] };
}
