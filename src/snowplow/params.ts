import type { SnowplowEvent } from './event';
import type { InputDataMessage } from './badrow';
import { isUuid } from './ids';
import { isStorableMs, isoOf } from './tstamp';

/**
 * Tracker protocol parameter -> canonical field, following Snowplow Enrich's Transform map
 * (field names, conversions and the messages it fails with). One `switch` over the parameters
 * that are present keeps this free of per-field closures; parameters whose precedence matters
 * (nuid and tnuid, se_ and legacy ev_ names, co/cx, ue_pr/ue_px, ip, ua, url) are parked in the state and
 * resolved by the decoder once every parameter has been seen.
 */
export class ParamState {
  // Every field is set here, so all states share one hidden class (fields added later, one by
  // one per parameter present, made many shapes and grew the property store event by event).
  ev: SnowplowEvent = {};
  failures: InputDataMessage[] = [];
  /** Length-limit violations, reported like Enrich's atomic field length validation. */
  tooLong: string[] = [];
  eid: string | undefined = undefined;
  ip: string | undefined = undefined;
  ua: string | undefined = undefined;
  url: string | undefined = undefined;
  nuid: string | undefined = undefined;
  tnuid: string | undefined = undefined;
  tiNa: string | undefined = undefined;
  evCa: string | undefined = undefined;
  evAc: string | undefined = undefined;
  evLa: string | undefined = undefined;
  evPr: string | undefined = undefined;
  evVa: number | undefined = undefined;
  uePr: string | undefined = undefined;
  uePx: string | undefined = undefined;
  co: string | undefined = undefined;
  cx: string | undefined = undefined;
  dtmMs: number | undefined = undefined;
  stmMs: number | undefined = undefined;
  ttmMs: number | undefined = undefined;
}

export function newParamState(): ParamState {
  return new ParamState();
}

export const PLATFORMS: ReadonlySet<string> = new Set(['web', 'mob', 'pc', 'srv', 'app', 'tv', 'cnsl', 'iot', 'headset']);

const TABS = /\t/g;
const NEWLINES = /[\r\n]/g;

/** Enrich's makeTsvSafe: tabs become four spaces, CR/LF are removed; empty means absent. */
export function tsvSafe(v: string): string | undefined {
  // Three native indexOf scans are several times cheaper than a regex test on short values.
  const out =
    v.indexOf('\t') === -1 && v.indexOf('\n') === -1 && v.indexOf('\r') === -1
      ? v
      : v.replace(NEWLINES, '').replace(TABS, '    ');
  return out === '' ? undefined : out;
}

const DOUBLE_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** /^[+-]?\d{1,19}$/ (a Java long's digits), by hand: dtm and stm are on every event. */
function isLongText(v: string): boolean {
  const n = v.length;
  let k = 0;
  const first = v.charCodeAt(0);
  if (first === 43 /* + */ || first === 45 /* - */) k = 1;
  if (n - k < 1 || n - k > 19) return false;
  for (; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function fail(st: ParamState, field: string, value: string, expectation: string): void {
  st.failures.push({ field, value, expectation });
}

/** Java's Integer.parseInt: optional sign, decimal digits, 32-bit range. */
function toInt(v: string): number | undefined {
  return digitsToInt(v, 0, v.length);
}

function digitsToInt(v: string, from: number, to: number): number | undefined {
  let k = from;
  let negative = false;
  const first = v.charCodeAt(k);
  if (first === 45 /* - */ || first === 43 /* + */) {
    negative = first === 45;
    k++;
  }
  if (k === to || to - k > 10) return undefined;
  let n = 0;
  for (; k < to; k++) {
    const d = v.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  if (negative) n = -n;
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

const INT_EXPECTATION = 'not a valid integer: expected a whole number between -2147483648 and 2147483647';

/** Enrich's stringToJInteger: the literal "null" (a JavaScript tracker bug) means absent. */
/** Enrich's stringToJInteger: the literal "null" (a JavaScript tracker bug) means absent. */
function nullableInt(st: ParamState, key: string, v: string): number | undefined {
  if (v === 'null' || v.toLowerCase() === 'null') return undefined;
  const n = toInt(v);
  if (n === undefined) fail(st, key, v, INT_EXPECTATION);
  return n;
}

/** Enrich's stringToDoubleLike: BigDecimal syntax, "null" means absent. */
function double(st: ParamState, key: string, v: string): number | undefined {
  if (v === 'null') return undefined;
  const n = DOUBLE_RE.test(v) ? Number(v) : NaN;
  if (Number.isFinite(n)) return n;
  fail(st, key, v, 'not a number: expected a decimal like 12.5');
  return undefined;
}

function bool(st: ParamState, key: string, v: string): boolean | undefined {
  if (v === '1') return true;
  if (v === '0') return false;
  fail(st, key, v, 'not a boolean: expected 1 or 0');
  return undefined;
}

/** A text field, TSV-safe, checked against Snowplow's atomic length limit for its column. */
function text(st: ParamState, v: string, field: string, limit: number): string | undefined {
  const safe = tsvSafe(v);
  if (safe !== undefined && safe.length > limit) tooLong(st, field, safe, limit);
  return safe;
}

/** Records a value over its column's limit (Enrich's atomic field length validation). */
export function tooLong(st: ParamState, field: string, value: string, limit: number): void {
  st.tooLong.push(`Field ${field} longer than maximum allowed size ${limit} (it has ${value.length} characters)`);
}

/** tooLong for values set outside applyParam; returns the value for chaining. */
export function checkLength(st: ParamState, field: string, value: string, limit: number): string {
  if (value.length > limit) tooLong(st, field, value, limit);
  return value;
}

/** res/vp/ds: "WIDTHxHEIGHT" (Enrich's extractViewDimensions), as [width, height]. */
function dims(st: ParamState, key: string, v: string): [number, number] | undefined {
  const x = v.indexOf('x');
  const unsigned = v.charCodeAt(0) !== 43 && v.charCodeAt(0) !== 45 && v.charCodeAt(x + 1) !== 43 && v.charCodeAt(x + 1) !== 45;
  const w = x > 0 && unsigned ? digitsToInt(v, 0, x) : undefined;
  const h = w === undefined ? undefined : digitsToInt(v, x + 1, v.length);
  if (w === undefined || h === undefined) {
    fail(st, key, v, 'not a size: expected WIDTHxHEIGHT in pixels, e.g. 1920x1080');
    return undefined;
  }
  return [w, h];
}

/** dtm/stm/ttm: milliseconds since the epoch, years 0..9999. */
function parseTstamp(st: ParamState, key: string, v: string): number | undefined {
  const n = isLongText(v) ? Number(v) : NaN;
  if (Number.isNaN(n)) {
    fail(st, key, v, 'not a timestamp: expected milliseconds since the epoch, e.g. 1714561200123');
    return undefined;
  }
  if (!isStorableMs(n)) {
    fail(st, key, v, 'timestamp out of range: the year must be between 0 and 9999');
    return undefined;
  }
  return n;
}

function setUuid(st: ParamState, key: string, v: string): string | undefined {
  if (isUuid(v)) return v.toLowerCase();
  fail(st, key, v, 'not a valid UUID: expected 8-4-4-4-12 hex digits, e.g. 4b6c2c57-5f0e-4f3a-9b1c-2f6d0d1e8a10');
  return undefined;
}

function eventType(st: ParamState, v: string): void {
  switch (v) {
    case 'pv': st.ev.event = 'page_view'; return;
    case 'pp': st.ev.event = 'page_ping'; return;
    case 'se':
    case 'ev': st.ev.event = 'struct'; return;
    case 'ue': st.ev.event = 'unstruct'; return;
    case 'tr': st.ev.event = 'transaction'; return;
    case 'ti': st.ev.event = 'transaction_item'; return;
    case 'ad':
      fail(st, 'e', v, 'legacy ad impression events (e=ad) are not supported by Snowplow; send a self-describing event (e=ue) instead');
      return;
    default:
      fail(st, 'e', v, 'not a known event type: expected one of pv, pp, se, ue, tr, ti');
  }
}

/** Tracker parameter name -> case number in applyParam (order matches the switch). */
const PARAM_CODES: ReadonlyMap<string, number> = new Map(
  [
    'e', 'eid', 'aid', 'p', 'tv', 'tna', 'tid', 'uid', 'duid', 'nuid', 'tnuid', 'sid', 'vid', 'fp',
    'ip', 'ua', 'dtm', 'stm', 'ttm', 'url', 'refr', 'page', 'lang', 'cs', 'cd', 'tz', 'res', 'vp',
    'ds', 'cookie', 'f_pdf', 'f_fla', 'f_java', 'f_dir', 'f_qt', 'f_realp', 'f_wma', 'f_gears',
    'f_ag', 'co', 'cx', 'ue_pr', 'ue_px', 'se_ca', 'se_ac', 'se_la', 'se_pr', 'se_va', 'ev_ca',
    'ev_ac', 'ev_la', 'ev_pr', 'ev_va', 'tr_id', 'tr_af', 'tr_tt', 'tr_tx', 'tr_sh', 'tr_ci',
    'tr_st', 'tr_co', 'tr_cu', 'ti_id', 'ti_sk', 'ti_nm', 'ti_na', 'ti_ca', 'ti_pr', 'ti_qu',
    'ti_cu', 'pp_mix', 'pp_max', 'pp_miy', 'pp_may',
  ].map((key, code) => [key, code]),
);

/** Applies one non-empty tracker parameter. Unknown parameters are ignored, as in Snowplow. */
export function applyParam(st: ParamState, key: string, v: string): void {
  const ev = st.ev;
  // Parameter names from a query string are not interned, so a string switch would compare
  // each one against dozens of cases; one Map lookup then an integer switch is much cheaper.
  switch (PARAM_CODES.get(key)) {
    case 0 /* e */: eventType(st, v); return;
    case 1 /* eid */: st.eid = setUuid(st, key, v); return;
    case 2 /* aid */: {
      const s = text(st, v, 'app_id', 255);
      if (s !== undefined) ev.app_id = s;
      return;
    }
    case 3 /* p */:
      if (PLATFORMS.has(v)) ev.platform = v;
      else fail(st, key, v, 'not a known platform: expected one of web, mob, pc, srv, app, tv, cnsl, iot, headset');
      return;
    case 4 /* tv */: {
      const s = text(st, v, 'v_tracker', 100);
      if (s !== undefined) ev.v_tracker = s;
      return;
    }
    case 5 /* tna */: {
      const s = text(st, v, 'name_tracker', 128);
      if (s !== undefined) ev.name_tracker = s;
      return;
    }
    case 6 /* tid */: {
      const n = toInt(v);
      if (n === undefined) fail(st, key, v, INT_EXPECTATION);
      else ev.txn_id = n;
      return;
    }
    case 7 /* uid */: {
      const s = text(st, v, 'user_id', 255);
      if (s !== undefined) ev.user_id = s;
      return;
    }
    case 8 /* duid */: {
      const s = text(st, v, 'domain_userid', 128);
      if (s !== undefined) ev.domain_userid = s;
      return;
    }
    case 9 /* nuid */: st.nuid = tsvSafe(v); return;
    case 10 /* tnuid */: st.tnuid = tsvSafe(v); return;
    case 11 /* sid */: {
      const sid = setUuid(st, key, v);
      if (sid !== undefined) ev.domain_sessionid = sid;
      return;
    }
    case 12 /* vid */: {
      const n = nullableInt(st, key, v);
      if (n !== undefined) ev.domain_sessionidx = n;
      return;
    }
    case 13 /* fp */: {
      const s = text(st, v, 'user_fingerprint', 128);
      if (s !== undefined) ev.user_fingerprint = s;
      return;
    }
    case 14 /* ip */: st.ip = v; return;
    case 15 /* ua */: st.ua = tsvSafe(v); return;
    case 16 /* dtm */: st.dtmMs = parseTstamp(st, key, v); return;
    case 17 /* stm */: st.stmMs = parseTstamp(st, key, v); return;
    case 18 /* ttm */: st.ttmMs = parseTstamp(st, key, v); return;
    case 19 /* url */: st.url = tsvSafe(v); return;
    case 20 /* refr */: {
      const s = text(st, v, 'page_referrer', 10000);
      if (s !== undefined) ev.page_referrer = s;
      return;
    }
    case 21 /* page */: {
      const s = text(st, v, 'page_title', 2000);
      if (s !== undefined) ev.page_title = s;
      return;
    }
    case 22 /* lang */: {
      const s = text(st, v, 'br_lang', 255);
      if (s !== undefined) ev.br_lang = s;
      return;
    }
    case 23 /* cs */: {
      const s = text(st, v, 'doc_charset', 128);
      if (s !== undefined) ev.doc_charset = s;
      return;
    }
    case 24 /* cd */: {
      const s = text(st, v, 'br_colordepth', 12);
      if (s !== undefined) ev.br_colordepth = s;
      return;
    }
    case 25 /* tz */: {
      const s = text(st, v, 'os_timezone', 255);
      if (s !== undefined) ev.os_timezone = s;
      return;
    }
    case 26 /* res */: {
      const d = dims(st, key, v);
      if (d !== undefined) {
        ev.dvce_screenwidth = d[0];
        ev.dvce_screenheight = d[1];
      }
      return;
    }
    case 27 /* vp */: {
      const d = dims(st, key, v);
      if (d !== undefined) {
        ev.br_viewwidth = d[0];
        ev.br_viewheight = d[1];
      }
      return;
    }
    case 28 /* ds */: {
      const d = dims(st, key, v);
      if (d !== undefined) {
        ev.doc_width = d[0];
        ev.doc_height = d[1];
      }
      return;
    }
    case 29 /* cookie */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_cookies = b;
      return;
    }
    case 30 /* f_pdf */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_pdf = b;
      return;
    }
    case 31 /* f_fla */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_flash = b;
      return;
    }
    case 32 /* f_java */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_java = b;
      return;
    }
    case 33 /* f_dir */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_director = b;
      return;
    }
    case 34 /* f_qt */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_quicktime = b;
      return;
    }
    case 35 /* f_realp */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_realplayer = b;
      return;
    }
    case 36 /* f_wma */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_windowsmedia = b;
      return;
    }
    case 37 /* f_gears */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_gears = b;
      return;
    }
    case 38 /* f_ag */: {
      const b = bool(st, key, v);
      if (b !== undefined) ev.br_features_silverlight = b;
      return;
    }
    case 39 /* co */: st.co = v; return;
    case 40 /* cx */: st.cx = v; return;
    case 41 /* ue_pr */: st.uePr = v; return;
    case 42 /* ue_px */: st.uePx = v; return;
    case 43 /* se_ca */: {
      const s = text(st, v, 'se_category', 1000);
      if (s !== undefined) ev.se_category = s;
      return;
    }
    case 44 /* se_ac */: {
      const s = text(st, v, 'se_action', 1000);
      if (s !== undefined) ev.se_action = s;
      return;
    }
    case 45 /* se_la */: {
      const s = text(st, v, 'se_label', 4096);
      if (s !== undefined) ev.se_label = s;
      return;
    }
    case 46 /* se_pr */: {
      const s = text(st, v, 'se_property', 1000);
      if (s !== undefined) ev.se_property = s;
      return;
    }
    case 47 /* se_va */: {
      const n = double(st, key, v);
      if (n !== undefined) ev.se_value = n;
      return;
    }
    case 48 /* ev_ca */: st.evCa = tsvSafe(v); return;
    case 49 /* ev_ac */: st.evAc = tsvSafe(v); return;
    case 50 /* ev_la */: st.evLa = tsvSafe(v); return;
    case 51 /* ev_pr */: st.evPr = tsvSafe(v); return;
    case 52 /* ev_va */: st.evVa = double(st, key, v); return;
    case 53 /* tr_id */: {
      const s = text(st, v, 'tr_orderid', 255);
      if (s !== undefined) ev.tr_orderid = s;
      return;
    }
    case 54 /* tr_af */: {
      const s = text(st, v, 'tr_affiliation', 255);
      if (s !== undefined) ev.tr_affiliation = s;
      return;
    }
    case 55 /* tr_tt */: {
      const n = double(st, key, v);
      if (n !== undefined) ev.tr_total = n;
      return;
    }
    case 56 /* tr_tx */: {
      const n = double(st, key, v);
      if (n !== undefined) ev.tr_tax = n;
      return;
    }
    case 57 /* tr_sh */: {
      const n = double(st, key, v);
      if (n !== undefined) ev.tr_shipping = n;
      return;
    }
    case 58 /* tr_ci */: {
      const s = text(st, v, 'tr_city', 255);
      if (s !== undefined) ev.tr_city = s;
      return;
    }
    case 59 /* tr_st */: {
      const s = text(st, v, 'tr_state', 255);
      if (s !== undefined) ev.tr_state = s;
      return;
    }
    case 60 /* tr_co */: {
      const s = text(st, v, 'tr_country', 255);
      if (s !== undefined) ev.tr_country = s;
      return;
    }
    case 61 /* tr_cu */: {
      const s = text(st, v, 'tr_currency', 3);
      if (s !== undefined) ev.tr_currency = s;
      return;
    }
    case 62 /* ti_id */: {
      const s = text(st, v, 'ti_orderid', 255);
      if (s !== undefined) ev.ti_orderid = s;
      return;
    }
    case 63 /* ti_sk */: {
      const s = text(st, v, 'ti_sku', 255);
      if (s !== undefined) ev.ti_sku = s;
      return;
    }
    case 64 /* ti_nm */: {
      const s = text(st, v, 'ti_name', 255);
      if (s !== undefined) ev.ti_name = s;
      return;
    }
    case 65 /* ti_na */: st.tiNa = tsvSafe(v); return;
    case 66 /* ti_ca */: {
      const s = text(st, v, 'ti_category', 255);
      if (s !== undefined) ev.ti_category = s;
      return;
    }
    case 67 /* ti_pr */: {
      const n = double(st, key, v);
      if (n !== undefined) ev.ti_price = n;
      return;
    }
    case 68 /* ti_qu */: {
      const n = nullableInt(st, key, v);
      if (n !== undefined) ev.ti_quantity = n;
      return;
    }
    case 69 /* ti_cu */: {
      const s = text(st, v, 'ti_currency', 3);
      if (s !== undefined) ev.ti_currency = s;
      return;
    }
    case 70 /* pp_mix */: {
      const n = nullableInt(st, key, v);
      if (n !== undefined) ev.pp_xoffset_min = n;
      return;
    }
    case 71 /* pp_max */: {
      const n = nullableInt(st, key, v);
      if (n !== undefined) ev.pp_xoffset_max = n;
      return;
    }
    case 72 /* pp_miy */: {
      const n = nullableInt(st, key, v);
      if (n !== undefined) ev.pp_yoffset_min = n;
      return;
    }
    case 73 /* pp_may */: {
      const n = nullableInt(st, key, v);
      if (n !== undefined) ev.pp_yoffset_max = n;
      return;
    }
    default:
      return;
  }
}

/** Timestamps parked in the state, as ISO strings on the event. */
export function applyTimestamps(st: ParamState): void {
  if (st.dtmMs !== undefined) st.ev.dvce_created_tstamp = isoOf(st.dtmMs);
  if (st.stmMs !== undefined) st.ev.dvce_sent_tstamp = isoOf(st.stmMs);
  if (st.ttmMs !== undefined) st.ev.true_tstamp = isoOf(st.ttmMs);
}

/**
 * Snowplow's derived_tstamp: true_tstamp if the tracker sent one; otherwise the collector time
 * corrected for the device clock (collector - (sent - created)) when the device sent both and
 * created < sent; otherwise the collector time.
 */
export function derivedTstampMs(st: ParamState, collectorMs: number): number {
  if (st.ttmMs !== undefined) return st.ttmMs;
  if (st.dtmMs !== undefined && st.stmMs !== undefined && st.dtmMs < st.stmMs) {
    const derived = collectorMs - (st.stmMs - st.dtmMs);
    return isStorableMs(derived) ? derived : collectorMs;
  }
  return collectorMs;
}
