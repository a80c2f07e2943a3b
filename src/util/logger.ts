/**
 * Structured JSON logs (one object per line on stderr), so journald, Docker and log shippers
 * can index them. Level from TAILPLOW_LOG_LEVEL or the config (`log_level`).
 */
import pino from 'pino';
import { maskSecrets, maskUrlCredentials } from './secrets';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(opts: { level?: LogLevel; name?: string; destination?: number } = {}): Logger {
  const level = (process.env.TAILPLOW_LOG_LEVEL as LogLevel | undefined) ?? opts.level ?? 'info';
  return pino(
    {
      level,
      base: { name: opts.name ?? 'tailplow', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secrets must never reach a log line, whatever a caller passes in: values under secret
      // keys at any depth, URL passwords in any string, error messages and stacks included. One
      // masker for logs and printed configs alike (util/secrets), so the two cannot drift apart.
      formatters: { level: (label) => ({ level: label }), log: (object) => maskSecrets(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? maskUrlCredentials(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    pino.destination({ fd: opts.destination ?? 2, sync: false }),
  );
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
