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
export interface ParamState {
  ev: SnowplowEvent;
  failures: InputDataMessage[];
  eid?: string;
  ip?: string;
  ua?: string;
  url?: string;
  nuid?: string;
  tnuid?: string;
  tiNa?: string;
  evCa?: string;
  evAc?: string;
  evLa?: string;
  evPr?: string;
  evVa?: number;
  uePr?: string;
  uePx?: string;
  co?: string;
  cx?: string;
  dtmMs?: number;
  stmMs?: number;
  ttmMs?: number;
}

export function newParamState(): ParamState {
  return { ev: {}, failures: [] };
}

export const PLATFORMS: ReadonlySet<string> = new Set(['web', 'mob', 'pc', 'srv', 'app', 'tv', 'cnsl', 'iot', 'headset']);

const TSV_UNSAFE = /[\t\r\n]/;
const TABS = /\t/g;
const NEWLINES = /[\r\n]/g;

/** Enrich's makeTsvSafe: tabs become four spaces, CR/LF are removed; empty means absent. */
export function tsvSafe(v: string): string | undefined {
  const out = TSV_UNSAFE.test(v) ? v.replace(NEWLINES, '').replace(TABS, '    ') : v;
  return out === '' ? undefined : out;
}

const INT_RE = /^[+-]?\d{1,10}$/;
const DOUBLE_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const LONG_RE = /^[+-]?\d{1,19}$/;
const DIMS_RE = /^(\d{1,10})x(\d{1,10})$/;

function fail(st: ParamState, field: string, value: string, expectation: string): void {
  st.failures.push({ field, value, expectation });
}

function toInt(v: string): number | undefined {
  if (!INT_RE.test(v)) return undefined;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

const INT_EXPECTATION = 'not a valid integer: expected a whole number between -2147483648 and 2147483647';

/** Enrich's stringToJInteger: the literal "null" (a JavaScript tracker bug) means absent. */
function setNullableInt(st: ParamState, key: string, v: string, field: keyof SnowplowEvent): void {
  if (v.toLowerCase() === 'null') return;
  const n = toInt(v);
  if (n === undefined) fail(st, key, v, INT_EXPECTATION);
  else (st.ev as Record<string, unknown>)[field] = n;
}

/** Enrich's stringToDoubleLike: BigDecimal syntax, "null" means absent. */
function setDouble(st: ParamState, key: string, v: string, field: keyof SnowplowEvent): void {
  if (v === 'null') return;
  const n = DOUBLE_RE.test(v) ? Number(v) : NaN;
  if (Number.isFinite(n)) (st.ev as Record<string, unknown>)[field] = n;
  else fail(st, key, v, 'not a number: expected a decimal like 12.5');
}

function parseDouble(st: ParamState, key: string, v: string): number | undefined {
  if (v === 'null') return undefined;
  const n = DOUBLE_RE.test(v) ? Number(v) : NaN;
  if (Number.isFinite(n)) return n;
  fail(st, key, v, 'not a number: expected a decimal like 12.5');
  return undefined;
}

function setBool(st: ParamState, key: string, v: string, field: keyof SnowplowEvent): void {
  if (v === '1') (st.ev as Record<string, unknown>)[field] = true;
  else if (v === '0') (st.ev as Record<string, unknown>)[field] = false;
  else fail(st, key, v, 'not a boolean: expected 1 or 0');
}

function setString(st: ParamState, v: string, field: keyof SnowplowEvent): void {
  const safe = tsvSafe(v);
  if (safe !== undefined) (st.ev as Record<string, unknown>)[field] = safe;
}

function setDims(st: ParamState, key: string, v: string, wField: keyof SnowplowEvent, hField: keyof SnowplowEvent): void {
  const m = DIMS_RE.exec(v);
  const w = m === null ? undefined : toInt(m[1] as string);
  const h = m === null ? undefined : toInt(m[2] as string);
  if (w === undefined || h === undefined) {
    fail(st, key, v, 'not a size: expected WIDTHxHEIGHT in pixels, e.g. 1920x1080');
    return;
  }
  (st.ev as Record<string, unknown>)[wField] = w;
  (st.ev as Record<string, unknown>)[hField] = h;
}

/** dtm/stm/ttm: milliseconds since the epoch, years 0..9999. */
function parseTstamp(st: ParamState, key: string, v: string): number | undefined {
  const n = LONG_RE.test(v) ? Number(v) : NaN;
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

/** Applies one non-empty tracker parameter. Unknown parameters are ignored, as in Snowplow. */
export function applyParam(st: ParamState, key: string, v: string): void {
  const ev = st.ev;
  switch (key) {
    case 'e': eventType(st, v); return;
    case 'eid': st.eid = setUuid(st, key, v); return;
    case 'aid': setString(st, v, 'app_id'); return;
    case 'p':
      if (PLATFORMS.has(v)) ev.platform = v;
      else fail(st, key, v, 'not a known platform: expected one of web, mob, pc, srv, app, tv, cnsl, iot, headset');
      return;
    case 'tv': setString(st, v, 'v_tracker'); return;
    case 'tna': setString(st, v, 'name_tracker'); return;
    case 'tid': {
      const n = toInt(v);
      if (n === undefined) fail(st, key, v, INT_EXPECTATION);
      else ev.txn_id = n;
      return;
    }
    case 'uid': setString(st, v, 'user_id'); return;
    case 'duid': setString(st, v, 'domain_userid'); return;
    case 'nuid': st.nuid = tsvSafe(v); return;
    case 'tnuid': st.tnuid = tsvSafe(v); return;
    case 'sid': {
      const sid = setUuid(st, key, v);
      if (sid !== undefined) ev.domain_sessionid = sid;
      return;
    }
    case 'vid': setNullableInt(st, key, v, 'domain_sessionidx'); return;
    case 'fp': setString(st, v, 'user_fingerprint'); return;
    case 'ip': st.ip = v; return;
    case 'ua': st.ua = tsvSafe(v); return;
    case 'dtm': st.dtmMs = parseTstamp(st, key, v); return;
    case 'stm': st.stmMs = parseTstamp(st, key, v); return;
    case 'ttm': st.ttmMs = parseTstamp(st, key, v); return;
    case 'url': st.url = tsvSafe(v); return;
    case 'refr': setString(st, v, 'page_referrer'); return;
    case 'page': setString(st, v, 'page_title'); return;
    case 'lang': setString(st, v, 'br_lang'); return;
    case 'cs': setString(st, v, 'doc_charset'); return;
    case 'cd': setString(st, v, 'br_colordepth'); return;
    case 'tz': setString(st, v, 'os_timezone'); return;
    case 'res': setDims(st, key, v, 'dvce_screenwidth', 'dvce_screenheight'); return;
    case 'vp': setDims(st, key, v, 'br_viewwidth', 'br_viewheight'); return;
    case 'ds': setDims(st, key, v, 'doc_width', 'doc_height'); return;
    case 'cookie': setBool(st, key, v, 'br_cookies'); return;
    case 'f_pdf': setBool(st, key, v, 'br_features_pdf'); return;
    case 'f_fla': setBool(st, key, v, 'br_features_flash'); return;
    case 'f_java': setBool(st, key, v, 'br_features_java'); return;
    case 'f_dir': setBool(st, key, v, 'br_features_director'); return;
    case 'f_qt': setBool(st, key, v, 'br_features_quicktime'); return;
    case 'f_realp': setBool(st, key, v, 'br_features_realplayer'); return;
    case 'f_wma': setBool(st, key, v, 'br_features_windowsmedia'); return;
    case 'f_gears': setBool(st, key, v, 'br_features_gears'); return;
    case 'f_ag': setBool(st, key, v, 'br_features_silverlight'); return;
    case 'co': st.co = v; return;
    case 'cx': st.cx = v; return;
    case 'ue_pr': st.uePr = v; return;
    case 'ue_px': st.uePx = v; return;
    case 'se_ca': setString(st, v, 'se_category'); return;
    case 'se_ac': setString(st, v, 'se_action'); return;
    case 'se_la': setString(st, v, 'se_label'); return;
    case 'se_pr': setString(st, v, 'se_property'); return;
    case 'se_va': setDouble(st, key, v, 'se_value'); return;
    case 'ev_ca': st.evCa = tsvSafe(v); return;
    case 'ev_ac': st.evAc = tsvSafe(v); return;
    case 'ev_la': st.evLa = tsvSafe(v); return;
    case 'ev_pr': st.evPr = tsvSafe(v); return;
    case 'ev_va': st.evVa = parseDouble(st, key, v); return;
    case 'tr_id': setString(st, v, 'tr_orderid'); return;
    case 'tr_af': setString(st, v, 'tr_affiliation'); return;
    case 'tr_tt': setDouble(st, key, v, 'tr_total'); return;
    case 'tr_tx': setDouble(st, key, v, 'tr_tax'); return;
    case 'tr_sh': setDouble(st, key, v, 'tr_shipping'); return;
    case 'tr_ci': setString(st, v, 'tr_city'); return;
    case 'tr_st': setString(st, v, 'tr_state'); return;
    case 'tr_co': setString(st, v, 'tr_country'); return;
    case 'tr_cu': setString(st, v, 'tr_currency'); return;
    case 'ti_id': setString(st, v, 'ti_orderid'); return;
    case 'ti_sk': setString(st, v, 'ti_sku'); return;
    case 'ti_nm': setString(st, v, 'ti_name'); return;
    case 'ti_na': st.tiNa = tsvSafe(v); return;
    case 'ti_ca': setString(st, v, 'ti_category'); return;
    case 'ti_pr': setDouble(st, key, v, 'ti_price'); return;
    case 'ti_qu': setNullableInt(st, key, v, 'ti_quantity'); return;
    case 'ti_cu': setString(st, v, 'ti_currency'); return;
    case 'pp_mix': setNullableInt(st, key, v, 'pp_xoffset_min'); return;
    case 'pp_max': setNullableInt(st, key, v, 'pp_xoffset_max'); return;
    case 'pp_miy': setNullableInt(st, key, v, 'pp_yoffset_min'); return;
    case 'pp_may': setNullableInt(st, key, v, 'pp_yoffset_max'); return;
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
