/**
 * `tailplow check-config FILE`: validate a config file the way the command using it will, and
 * print the effective config (defaults filled in, secrets masked), or every problem with its
 * file:line:col and field.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ZodTypeAny } from 'zod';
import { ConfigError, loadConfigFile } from '../../config/load';
import { processConfigSchema } from '../../config/process';
import { runConfigSchema } from '../../config/run';
import { tailConfigSchema } from '../../config/tail';
import { usageError } from '../errors';

const SCHEMAS: Record<string, ZodTypeAny> = { tail: tailConfigSchema, process: processConfigSchema, run: runConfigSchema };

/** Keys whose values are secrets: never printed, whatever the command. */
const SECRET_KEY = /pass(word)?|secret|token|api_?key|salt|private|credentials/i;

export function maskSecrets(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && value !== undefined && value !== null && value !== '') return '***';
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('Validate a config file; print the effective config (secrets masked) or every problem with file:line:col and field')
    .argument('<file>', 'YAML config file')
    .addOption(new Option('--for <command>', 'which command the file is for').choices(Object.keys(SCHEMAS)).default('tail'))
    .action((file: string, opts: { for: string }) => {
      try {
        const config = loadConfigFile(file, SCHEMAS[opts.for]!);
        process.stdout.write(`${file}: valid config for \`tailplow ${opts.for}\`\n${JSON.stringify(maskSecrets(config), null, 2)}\n`);
      } catch (err) {
        if (err instanceof ConfigError) throw usageError(`${err.problems.length} problem${err.problems.length > 1 ? 's' : ''} in ${file}:\n${err.message}`);
        throw err;
      }
    });
}
