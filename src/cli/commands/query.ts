/**
 * `tailplow query "<SQL>"`: look at the embedded store without installing anything. The store is
 * `<dataDir>/clickhouse` (or the embedded sink's `path` in a run config); the table is `events`.
 */
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { ConfigError, loadConfigFile } from '../../config/load';
import { runConfigSchema } from '../../config/run';
import { DEFAULT_RUN_DATA_DIR, runPidFileOf } from '../../run/defaults';
import { NoStoreError, QUERY_FORMATS, QueryError, queryStore, type QueryFormat } from '../../run/store-query';
import { embeddedStorePath } from '../../sinks/embedded';
import { usageError } from '../errors';

interface QueryOptions {
  dataDir?: string;
  config?: string;
  format: QueryFormat;
}

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('Run SQL (ClickHouse dialect) on the embedded store that `tailplow run` writes; the table is "events"')
    .argument('<sql>', 'e.g. "SELECT event, uniqExact(event_id) FROM events GROUP BY event"')
    .option('--data-dir <dir>', `data directory of tailplow run (default ./${DEFAULT_RUN_DATA_DIR}, or dataDir of -c)`)
    .option('-c, --config <file>', 'the run config, for its dataDir and embedded sink path')
    .addOption(new Option('--format <format>', 'table, json (one object per line), csv or tsv (with a header)').choices(Object.keys(QUERY_FORMATS)).default('table'))
    .addHelpText(
      'after',
      `
While \`tailplow run\` holds the store (chDB locks its directory for one process), the query runs
read-only on a copy taken at that moment; stderr says so. Copies of an event that was delivered
twice may both be there until a merge: count with uniqExact(event_id), or use FROM events FINAL.`,
    )
    .action((sql: string, opts: QueryOptions) => {
      let dataDir = opts.dataDir ?? DEFAULT_RUN_DATA_DIR;
      let storePath: string | undefined;
      if (opts.config) {
        try {
          const config = loadConfigFile(opts.config, runConfigSchema);
          dataDir = opts.dataDir ?? config.dataDir;
          const embedded = config.sinks.find((s) => s.type === 'embedded');
          if (embedded?.type === 'embedded' && embedded.path) storePath = embedded.path;
        } catch (err) {
          if (err instanceof ConfigError) throw usageError(err.message);
          throw err;
        }
      }
      dataDir = resolve(dataDir);
      storePath = resolve(storePath ?? embeddedStorePath({ type: 'embedded', table: 'events' }, dataDir));
      try {
        const result = queryStore(storePath, sql, opts.format, { pidFile: runPidFileOf(dataDir) });
        if (result.snapshot) {
          const who = result.snapshot.heldBy ? `tailplow run (pid ${result.snapshot.heldBy})` : 'another process';
          process.stderr.write(`tailplow query: ${storePath} is in use by ${who}; queried a read-only copy taken now\n`);
        }
        process.stdout.write(result.text.endsWith('\n') || result.text === '' ? result.text : result.text + '\n');
      } catch (err) {
        if (err instanceof NoStoreError) throw usageError(err.message, `run \`tailplow run\` first (it writes ${dataDir}), or give --data-dir`);
        if (err instanceof QueryError) throw usageError(`query failed: ${err.message}`);
        throw err;
      }
    });
}
