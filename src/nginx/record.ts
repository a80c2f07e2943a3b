/**
 * One Nginx access-log line, decoded into the request facts the Snowplow side needs.
 * Every line parser (json, combined, custom log_format) produces this shape, so the
 * tracker-protocol decoder never knows which log format a line came from.
 *
 * All strings are already un-escaped from Nginx's log escaping (`\xHH` or escape=json),
 * but NOT percent-decoded: `queryString` and `requestBody` are exactly what the client sent.
 */
export interface AccessRecord {
  /** $remote_addr */
  remoteAddr?: string;
  /** $http_x_forwarded_for, the raw header (may be a comma-separated chain) */
  xForwardedFor?: string;
  /** Request time in epoch milliseconds ($msec, else $time_iso8601 / $time_local). */
  timestampMs?: number;
  /** Request method (GET, POST, HEAD …) */
  method?: string;
  /** Path without the query string ($uri, or the path part of $request / $request_uri). */
  path?: string;
  /** Raw query string without the leading '?' ($args / $query_string / part of $request_uri). */
  queryString?: string;
  /** $request_body: the POST body as received. */
  requestBody?: string;
  /** $status */
  status?: number;
  /** $body_bytes_sent */
  bodyBytesSent?: number;
  /** $http_referer */
  referer?: string;
  /** $http_user_agent */
  userAgent?: string;
  /** $host or $server_name */
  host?: string;
  /** $scheme */
  scheme?: string;
  /** $cookie_sp: the Snowplow network user id cookie, if the log has it. */
  cookieSp?: string;
  /** $http_cookie: the raw Cookie header, if logged. */
  cookieHeader?: string;
  /** Variables the parser does not interpret, by nginx variable name without '$'. */
  extra?: Record<string, string>;
}

/** Why a line could not be turned into an AccessRecord. Closed union: reused as metric labels. */
export type LineFailure =
  | 'line_too_long'
  | 'line_malformed'
  | 'line_json_invalid'
  | 'line_missing_request';

export type LineParseResult =
  | { ok: true; record: AccessRecord }
  | { ok: false; reason: LineFailure; message: string };

/** A compiled parser for one log format. Must never throw on any input. */
export type LineParser = (line: string) => LineParseResult;
