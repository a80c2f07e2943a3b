/**
 * Nginx variables -> AccessRecord fields, shared by the JSON parser and the log_format compiler
 * so that a `$request_uri` means the same thing whichever format carried it.
 *
 * Precedence when a line carries several sources for one field (documented for users):
 * - time: `$msec` (has milliseconds) > `$time_iso8601` > `$time_local`;
 * - path and query: the client's own request (`$request_uri`, then `$request`) > nginx's view
 *   after rewrites (`$uri`/`$document_uri`, `$args`/`$query_string`);
 * - method: `$request_method` > the method of `$request`; host: `$host` > `$server_name`.
 * Values `-` (nginx's "not set" in text formats) and '' (the same in escape=json) mean absent.
 */
import type { AccessRecord, LineParseResult } from './record';
import { parseRequestLine, parseRequestTarget } from './request';
import { parseAnyTime, parseMsec, parseTimeIso8601, parseTimeLocal } from './time';

/** Identifies how a variable's value is used; EXTRA means "kept in record.extra". */
export const VarId = {
  EXTRA: 0,
  REMOTE_ADDR: 1,
  TIME_LOCAL: 2,
  TIME_ISO8601: 3,
  MSEC: 4,
  TIME_ANY: 5,
  REQUEST: 6,
  REQUEST_METHOD: 7,
  REQUEST_URI: 8,
  URI: 9,
  ARGS: 10,
  STATUS: 11,
  BODY_BYTES_SENT: 12,
  REFERER: 13,
  USER_AGENT: 14,
  X_FORWARDED_FOR: 15,
  COOKIE: 16,
  COOKIE_SP: 17,
  REQUEST_BODY: 18,
  HOST: 19,
  SERVER_NAME: 20,
  SCHEME: 21,
} as const;
export type VarId = (typeof VarId)[keyof typeof VarId];

/** Nginx variable names (without '$') the parsers interpret. */
const NGINX_VARIABLES: ReadonlyArray<readonly [string, VarId]> = [
  ['remote_addr', VarId.REMOTE_ADDR],
  ['time_local', VarId.TIME_LOCAL],
  ['time_iso8601', VarId.TIME_ISO8601],
  ['msec', VarId.MSEC],
  ['request', VarId.REQUEST],
  ['request_method', VarId.REQUEST_METHOD],
  ['request_uri', VarId.REQUEST_URI],
  ['uri', VarId.URI],
  ['document_uri', VarId.URI],
  ['args', VarId.ARGS],
  ['query_string', VarId.ARGS],
  ['status', VarId.STATUS],
  ['body_bytes_sent', VarId.BODY_BYTES_SENT],
  ['http_referer', VarId.REFERER],
  ['http_user_agent', VarId.USER_AGENT],
  ['http_x_forwarded_for', VarId.X_FORWARDED_FOR],
  ['http_cookie', VarId.COOKIE],
  ['cookie_sp', VarId.COOKIE_SP],
  ['request_body', VarId.REQUEST_BODY],
  ['host', VarId.HOST],
  ['server_name', VarId.SERVER_NAME],
  ['scheme', VarId.SCHEME],
];

/**
 * Variables that are understood but have no AccessRecord field; they go to `extra` like
 * unknown ones. Listed so that tools can tell "known" from "unknown" variables.
 */
export const EXTRA_VARIABLES: readonly string[] = ['remote_user', 'bytes_sent', 'request_time'];

const BY_VARIABLE = new Map<string, VarId>(NGINX_VARIABLES);

/**
 * Keys of JSON formats: every variable name with and without '$', plus the keys of the
 * `tracking` format of the blog series this project grew from (`time` = $time_iso8601,
 * `size` = $body_bytes_sent) and common ELK names.
 */
const BY_JSON_KEY = new Map<string, VarId>();
for (const [name, id] of NGINX_VARIABLES) {
  BY_JSON_KEY.set(name, id);
  BY_JSON_KEY.set('$' + name, id);
}
BY_JSON_KEY.set('time', VarId.TIME_ANY);
BY_JSON_KEY.set('@timestamp', VarId.TIME_ANY);
BY_JSON_KEY.set('size', VarId.BODY_BYTES_SENT);
BY_JSON_KEY.set('http_referrer', VarId.REFERER);

/** The VarId of an nginx variable name (without '$'); EXTRA when it has no record field. */
export function variableId(name: string): VarId {
  return BY_VARIABLE.get(name) ?? VarId.EXTRA;
}

/** The VarId of a JSON key; EXTRA when it has no record field. */
export function jsonKeyId(key: string): VarId {
  return BY_JSON_KEY.get(key) ?? VarId.EXTRA;
}

/** Whether a variable carries (part of) the request, so a format without any cannot feed tracking. */
export function isRequestVariable(id: VarId): boolean {
  return (
    id === VarId.REQUEST ||
    id === VarId.REQUEST_METHOD ||
    id === VarId.REQUEST_URI ||
    id === VarId.URI ||
    id === VarId.ARGS ||
    id === VarId.REQUEST_BODY
  );
}

/** A non-negative decimal integer written only with digits, or -1. */
function parseCount(s: string): number {
  if (s.length === 0 || s.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Message for formats that never log the request (`line_missing_request`). */
export const MISSING_REQUEST_HINT =
  'add $request_uri (or $request, or $uri and $args) and, for POST, $request_body to the log_format';

/**
 * Collects the variables of one line, then builds its AccessRecord. One instance per parser,
 * reused for every line (parsers are synchronous), so a line costs only the record itself.
 */
export class RecordAssembler {
  private remoteAddr: string | undefined = undefined;
  private timeLocal: string | undefined = undefined;
  private timeIso: string | undefined = undefined;
  private msec: string | undefined = undefined;
  private timeAny: string | undefined = undefined;
  private request: string | undefined = undefined;
  private method: string | undefined = undefined;
  private requestUri: string | undefined = undefined;
  private uri: string | undefined = undefined;
  private args: string | undefined = undefined;
  private status: string | undefined = undefined;
  private bodyBytesSent: string | undefined = undefined;
  private referer: string | undefined = undefined;
  private userAgent: string | undefined = undefined;
  private xForwardedFor: string | undefined = undefined;
  private cookie: string | undefined = undefined;
  private cookieSp: string | undefined = undefined;
  private requestBody: string | undefined = undefined;
  private host: string | undefined = undefined;
  private serverName: string | undefined = undefined;
  private scheme: string | undefined = undefined;
  private extra: Record<string, string> | undefined = undefined;
  /** Whether any request variable was present at all (even empty). */
  private sawRequest = false;

  /** Records one variable's (already unescaped) value; `name` is used for `extra`. */
  set(id: VarId, name: string, value: string): void {
    if (id !== VarId.EXTRA && isRequestVariable(id)) this.sawRequest = true;
    if (value === '' || value === '-') return;
    switch (id) {
      case VarId.REMOTE_ADDR: this.remoteAddr = value; break;
      case VarId.TIME_LOCAL: this.timeLocal = value; break;
      case VarId.TIME_ISO8601: this.timeIso = value; break;
      case VarId.MSEC: this.msec = value; break;
      case VarId.TIME_ANY: this.timeAny = value; break;
      case VarId.REQUEST: this.request = value; break;
      case VarId.REQUEST_METHOD: this.method = value; break;
      case VarId.REQUEST_URI: this.requestUri = value; break;
      case VarId.URI: this.uri = value; break;
      case VarId.ARGS: this.args = value; break;
      case VarId.STATUS: this.status = value; break;
      case VarId.BODY_BYTES_SENT: this.bodyBytesSent = value; break;
      case VarId.REFERER: this.referer = value; break;
      case VarId.USER_AGENT: this.userAgent = value; break;
      case VarId.X_FORWARDED_FOR: this.xForwardedFor = value; break;
      case VarId.COOKIE: this.cookie = value; break;
      case VarId.COOKIE_SP: this.cookieSp = value; break;
      case VarId.REQUEST_BODY: this.requestBody = value; break;
      case VarId.HOST: this.host = value; break;
      case VarId.SERVER_NAME: this.serverName = value; break;
      case VarId.SCHEME: this.scheme = value; break;
      default: this.addExtra(name, value);
    }
  }

  private addExtra(name: string, value: string): void {
    (this.extra ??= {})[name] = value;
  }

  /** Forgets the current line (after a failure part-way through it). */
  reset(): void {
    this.remoteAddr = this.timeLocal = this.timeIso = this.msec = this.timeAny = undefined;
    this.request = this.method = this.requestUri = this.uri = this.args = undefined;
    this.status = this.bodyBytesSent = this.referer = this.userAgent = this.xForwardedFor = undefined;
    this.cookie = this.cookieSp = this.requestBody = this.host = this.serverName = this.scheme = undefined;
    this.extra = undefined;
    this.sawRequest = false;
  }

  /**
   * Builds the record of the collected line and resets. `requireRequest`: fail with
   * `line_missing_request` when no request variable was present at all (the format cannot
   * carry tracker events); `formatName` names the format in that message.
   */
  finish(requireRequest: boolean, formatName: string): LineParseResult {
    if (requireRequest && !this.sawRequest) {
      this.reset();
      return {
        ok: false,
        reason: 'line_missing_request',
        message: `line of format ${formatName} carries no request variable: ${MISSING_REQUEST_HINT}`,
      };
    }
    const record: AccessRecord = {};
    if (this.remoteAddr !== undefined) record.remoteAddr = this.remoteAddr;
    if (this.xForwardedFor !== undefined) record.xForwardedFor = this.xForwardedFor;
    this.assignTime(record);
    this.assignRequest(record);
    if (this.requestBody !== undefined) record.requestBody = this.requestBody;
    if (this.status !== undefined) {
      const status = parseCount(this.status);
      if (status >= 0) record.status = status;
      else this.addExtra('status', this.status);
    }
    if (this.bodyBytesSent !== undefined) {
      const bytes = parseCount(this.bodyBytesSent);
      if (bytes >= 0) record.bodyBytesSent = bytes;
      else this.addExtra('body_bytes_sent', this.bodyBytesSent);
    }
    if (this.referer !== undefined) record.referer = this.referer;
    if (this.userAgent !== undefined) record.userAgent = this.userAgent;
    const host = this.host ?? this.serverName;
    if (host !== undefined) record.host = host;
    if (this.scheme !== undefined) record.scheme = this.scheme;
    if (this.cookieSp !== undefined) record.cookieSp = this.cookieSp;
    if (this.cookie !== undefined) record.cookieHeader = this.cookie;
    if (this.extra !== undefined) record.extra = this.extra;
    this.reset();
    return { ok: true, record };
  }

  /** Unparseable time values are kept in `extra` under their variable name rather than lost. */
  private assignTime(record: AccessRecord): void {
    let ms: number | undefined;
    if (this.msec !== undefined) {
      ms = parseMsec(this.msec);
      if (ms === undefined) this.addExtra('msec', this.msec);
    }
    if (ms === undefined && this.timeIso !== undefined) {
      ms = parseTimeIso8601(this.timeIso);
      if (ms === undefined) this.addExtra('time_iso8601', this.timeIso);
    }
    if (ms === undefined && this.timeLocal !== undefined) {
      ms = parseTimeLocal(this.timeLocal);
      if (ms === undefined) this.addExtra('time_local', this.timeLocal);
    }
    if (ms === undefined && this.timeAny !== undefined) {
      ms = parseAnyTime(this.timeAny);
      if (ms === undefined) this.addExtra('time', this.timeAny);
    }
    if (ms !== undefined) record.timestampMs = ms;
  }

  /**
   * A `$request` that is not a request line (TLS bytes on a plain port, scanners' junk) leaves
   * method and path unset and is kept as `extra.request`: such lines are noise the Snowplow side
   * skips like any non-tracker path, not failures.
   */
  private assignRequest(record: AccessRecord): void {
    let method = this.method;
    let path: string | undefined;
    let query: string | undefined;
    if (this.requestUri !== undefined) {
      const target = parseRequestTarget(this.requestUri);
      if (target !== undefined) {
        path = target.path;
        query = target.queryString;
      } else {
        this.addExtra('request_uri', this.requestUri);
      }
    }
    if (this.request !== undefined) {
      const line = parseRequestLine(this.request);
      if (line !== undefined) {
        method ??= line.method;
        if (path === undefined) {
          path = line.path;
          query = line.queryString;
        }
      } else {
        this.addExtra('request', this.request);
      }
    }
    path ??= this.uri;
    query ??= this.args;
    if (method !== undefined) record.method = method;
    if (path !== undefined) record.path = path;
    if (query !== undefined) record.queryString = query;
  }
}
