/** Options several commands share, defined once so they read and validate the same everywhere. */
import { InvalidArgumentError, Option } from 'commander';
import { createLineParser, DEFAULT_MAX_LINE_BYTES, LogFormatError, type LineParser } from '../nginx';
import { usageError } from './errors';

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
