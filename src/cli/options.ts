/** Options several commands share, defined once so they read and validate the same everywhere. */
import { InvalidArgumentError, Option } from 'commander';
import { createLineParser, DEFAULT_MAX_LINE_BYTES, LogFormatError, type LineParser } from '../nginx';
import { loadRegistryState, RegistryCorruptError } from '../input/registry';
import { outputError, usageError, type CliError } from './errors';

export function logFormatOption(): Option {
  return new Option(
    '-f, --log-format <format>',
    "json (tailplow's recommended format and any JSON keyed by nginx variable names), combined, main, or an nginx log_format string",
  ).default('json');
}

export function maxLineBytesOption(): Option {
  return new Option('--max-line-bytes <n>', 'longer lines become size_violation bad rows').default(DEFAULT_MAX_LINE_BYTES).argParser(positiveInt);
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

export function parserFromOptions(opts: { logFormat: string; maxLineBytes: number }): LineParser {
  try {
    return createLineParser(opts.logFormat, { maxLineBytes: opts.maxLineBytes });
  } catch (err) {
    if (err instanceof LogFormatError) throw usageError(`invalid --log-format: ${err.message}`);
    throw err;
  }
}

/**
 * Reads the input registry before anything starts: a corrupt one stops the command with its path
 * and what to do, instead of a follower that starts over (losing or resending lines).
 */
export async function checkInputRegistry(dataDir: string): Promise<void> {
  await loadRegistryState(dataDir).catch((err: unknown) => {
    throw err instanceof RegistryCorruptError ? usageError(err.message) : err;
  });
}

/** The input's last save at shutdown failed (disk full, read-only): say what that costs. */
export function registryNotSaved(dataDir: string, err: unknown): CliError {
  return outputError(
    `cannot save the input registry in ${dataDir}: ${String(err)}`,
    'lines read since its last save are read and sent again at the next start; free space or fix permissions on the data directory',
  );
}
