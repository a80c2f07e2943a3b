/**
 * Structured JSON logs (one object per line on stderr), so journald, Docker and log shippers
 * can index them. Level from TAILPLOW_LOG_LEVEL or the config (`log_level`).
 */
import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(opts: { level?: LogLevel; name?: string; destination?: number } = {}): Logger {
  const level = (process.env.TAILPLOW_LOG_LEVEL as LogLevel | undefined) ?? opts.level ?? 'info';
  return pino(
    {
      level,
      base: { name: opts.name ?? 'tailplow', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Secrets must never reach a log line, whatever a caller passes in.
      redact: { paths: ['password', '*.password', 'sasl.*', '*.sasl.*', 'apiKey', '*.apiKey', 'token', '*.token', 'salt', '*.salt'], censor: '***' },
    },
    pino.destination({ fd: opts.destination ?? 2, sync: false }),
  );
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
