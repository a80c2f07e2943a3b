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
import { maskSecrets } from '../../util/secrets';
import { usageError } from '../errors';

const SCHEMAS: Record<string, ZodTypeAny> = { tail: tailConfigSchema, process: processConfigSchema, run: runConfigSchema };

/** Secrets (by key, and URL passwords) are never printed: src/util/secrets.ts. */
export { maskSecrets };

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
