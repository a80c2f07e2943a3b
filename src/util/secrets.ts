/**
 * Secrets never leave the process in clear: `check-config` output, log lines and error messages
 * go through these. A value is secret by its key (password, apiKey, salt, token, …, at any depth)
 * or by its place in a URL (`scheme://user:password@host`).
 */

/** Keys whose values are secrets. */
const SECRET_KEY = /pass(word)?|secret|token|api_?key|salt|private|credentials/i;

const MASK = '***';

/** `scheme://user:password@` with the password (whatever it holds up to the '@') masked. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;

/** Masks the password of every URL in `text` (`redis://:pw@h` → `redis://:***@h`). */
export function maskUrlCredentials(text: string): string {
  return text.indexOf('://') === -1 ? text : text.replace(URL_CREDENTIALS, `$1${MASK}@`);
}

/**
 * A copy of `value` with secrets masked: values under secret keys, URL passwords in any string,
 * and the message and stack of errors (copies of the same class).
 */
export function maskSecrets(value: unknown, key = '', seen = new WeakSet<object>()): unknown {
  if (key !== '' && SECRET_KEY.test(key) && value !== undefined && value !== null && value !== '') return MASK;
  if (typeof value === 'string') return maskUrlCredentials(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, '', seen));
  if (value instanceof Error) {
    // A copy of the same class, so loggers still see (and name) an error.
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error & Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) copy[k] = maskSecrets(v, k, seen);
    copy.message = maskUrlCredentials(value.message);
    if (value.stack !== undefined) copy.stack = maskUrlCredentials(value.stack);
    if (value.cause !== undefined) copy.cause = maskSecrets(value.cause, 'cause', seen);
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  // Plain objects only: Buffers, Dates, Maps and class instances are logged as their owners chose.
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = maskSecrets(v, k, seen);
  return out;
}
