import { maskUrlCredentials } from '../util/secrets';

/**
 * Exit codes every command shares, so cron jobs and systemd can tell failures apart.
 * Documented in README ("Exit codes").
 */
export const ExitCode = {
  ok: 0,
  /** Something unexpected: a bug. The message includes a stack. */
  internal: 1,
  /** Invalid options or configuration: fix the command line or config file. */
  usage: 2,
  /** An input file could not be read (missing, unreadable, corrupt gzip). */
  input: 3,
  /** An output (Kafka, store, file) failed; nothing undelivered was marked done. */
  output: 4,
  /** Another run holds the lock on the same state file. */
  busy: 5,
  /** Stopped by SIGINT/SIGTERM after flushing and saving state. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the user can act on: printed without a stack, with the exit code it carries. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string, hint?: string) => new CliError(message, ExitCode.usage, hint);
export const inputError = (message: string, hint?: string) => new CliError(message, ExitCode.input, hint);
export const outputError = (message: string, hint?: string) => new CliError(message, ExitCode.output, hint);

/** The single place that turns an error into what the user reads and the process exit code. */
export function reportAndExitCode(err: unknown, writeRaw: (s: string) => void): ExitCode {
  // A message may quote a URL with its password (a store's connection string).
  const write = (s: string) => writeRaw(maskUrlCredentials(s));
  if (err instanceof CliError) {
    write(`tailplow: ${err.message}\n`);
    if (err.hint) write(`  ${err.hint}\n`);
    return err.exitCode;
  }
  const commanderCode = (err as { code?: string } | null)?.code;
  if (typeof commanderCode === 'string' && commanderCode.startsWith('commander.')) {
    // commander already printed its message (unknown option, missing argument, --help).
    return commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.version'
      ? ExitCode.ok
      : ExitCode.usage;
  }
  write(`tailplow: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.internal;
}
