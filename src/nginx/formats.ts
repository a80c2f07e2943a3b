/**
 * Log formats known by name. `combined` is nginx's predefined format (what `access_log` uses
 * when no format is given); `main` is the format of the nginx.conf that distributions ship
 * (combined plus X-Forwarded-For); `json` is any JSON object per line, including the
 * recommended `tailplow` log_format in nginx/tailplow.conf.
 */

/** nginx's predefined `combined` format. */
export const COMBINED_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

/** The `main` format of the stock nginx.conf. */
export const MAIN_FORMAT = `${COMBINED_FORMAT} "$http_x_forwarded_for"`;

export const BUILTIN_FORMATS = ['json', 'combined', 'main'] as const;
export type BuiltinFormat = (typeof BUILTIN_FORMATS)[number];

/** Whether `format` names a builtin format rather than being a log_format string. */
export function isBuiltinFormat(format: string): format is BuiltinFormat {
  return (BUILTIN_FORMATS as readonly string[]).includes(format);
}
