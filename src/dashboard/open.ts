/**
 * Which store `tailplow dashboard` and `tailplow report` read, from their options:
 *   --clickhouse-url URL        a ClickHouse server (user/password from TAILPLOW_CLICKHOUSE_USER /
 *                               TAILPLOW_CLICKHOUSE_PASSWORD, never on the command line)
 *   -c FILE                     a `run` or `process` config: its first clickhouse sink, else its
 *                               embedded sink (path or <dataDir>/clickhouse)
 *   --data-dir DIR              the embedded store in DIR/clickhouse (default: run's ./tailplow-data)
 * --table and --database override the table the sink or the default names.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfigFile } from '../config/load';
import { processConfigSchema } from '../config/process';
import { runConfigSchema } from '../config/run';
import { DEFAULT_RUN_DATA_DIR, runPidFileOf } from '../run/defaults';
import { embeddedStorePath } from '../sinks/embedded';
import type { SinkConfig } from '../sinks/registry';
import { CliError, ExitCode, outputError, usageError } from '../cli/errors';
import { BusyStoreError, openChdbSource, openClickHouseSource, type AnalyticsSource } from './source';

export interface SourceOptions {
  config?: string;
  dataDir?: string;
  clickhouseUrl?: string;
  database?: string;
  table?: string;
}

type Target =
  | { kind: 'embedded'; path: string; table: string; dataDir: string }
  | { kind: 'clickhouse'; url: string; username: string; password: string; database: string; table: string };

/** The store the options name (without opening it). */
export function targetOf(opts: SourceOptions, env: NodeJS.ProcessEnv = process.env): Target {
  if (opts.clickhouseUrl) {
    return {
      kind: 'clickhouse',
      url: opts.clickhouseUrl,
      username: env.TAILPLOW_CLICKHOUSE_USER ?? 'default',
      password: env.TAILPLOW_CLICKHOUSE_PASSWORD ?? '',
      database: opts.database ?? 'default',
      table: opts.table ?? 'events',
    };
  }
  if (opts.config) {
    const { dataDir, sinks } = loadEitherConfig(opts.config, opts.dataDir);
    const server = sinks.find((s): s is Extract<SinkConfig, { type: 'clickhouse' }> => s.type === 'clickhouse');
    if (server) return { kind: 'clickhouse', url: server.url, username: server.username, password: server.password, database: opts.database ?? server.database, table: opts.table ?? server.table };
    const embedded = sinks.find((s): s is Extract<SinkConfig, { type: 'embedded' }> => s.type === 'embedded');
    if (embedded) return { kind: 'embedded', path: embeddedStorePath(embedded, dataDir), table: opts.table ?? embedded.table, dataDir };
    throw usageError(`${opts.config} has no clickhouse or embedded sink: nothing to show`, 'give --clickhouse-url or --data-dir instead');
  }
  const dataDir = opts.dataDir ?? DEFAULT_RUN_DATA_DIR;
  return { kind: 'embedded', path: join(dataDir, 'clickhouse'), table: opts.table ?? 'events', dataDir };
}

/** A run config (input/pipeline) or a process config (source/badRows.topic): whichever validates. */
function loadEitherConfig(file: string, dataDirOverride?: string): { dataDir: string; sinks: SinkConfig[] } {
  const overrides = (raw: Record<string, unknown>) => {
    if (dataDirOverride) raw.dataDir = dataDirOverride;
  };
  try {
    return loadConfigFile(file, runConfigSchema, { overrides });
  } catch (asRun) {
    if (!(asRun instanceof ConfigError)) throw asRun;
    try {
      return loadConfigFile(file, processConfigSchema, { overrides });
    } catch (asProcess) {
      if (asProcess instanceof ConfigError) throw usageError(`${file} is neither a valid run nor process config:\n${asRun.message}\n${asProcess.message}`);
      throw asProcess;
    }
  }
}

/** Opens the store the options name; errors the user can act on become CliErrors. */
export async function openSource(opts: SourceOptions): Promise<AnalyticsSource> {
  const target = targetOf(opts);
  if (target.kind === 'clickhouse') {
    try {
      return await openClickHouseSource(target);
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw outputError(`cannot reach ClickHouse at ${target.url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!existsSync(target.path)) {
    throw usageError(`no embedded store at ${target.path}`, 'run `tailplow run` first, or point --data-dir / -c at the data directory it writes (or use --clickhouse-url)');
  }
  try {
    return await openChdbSource({ path: target.path, table: target.table });
  } catch (err) {
    if (!(err instanceof BusyStoreError)) throw err;
    const holder = pidHolding(target.dataDir);
    throw new CliError(
      `the embedded store at ${target.path} is in use${holder ? ` by process ${holder} (tailplow run)` : ''}: chDB lets only one process open a data directory`,
      ExitCode.busy,
      'stop that process and try again (its data stays), or store events in a ClickHouse server (sink type clickhouse) to watch them live; see docs/dashboard.md',
    );
  }
}

function pidHolding(dataDir: string): string | undefined {
  try {
    const pid = readFileSync(runPidFileOf(dataDir), 'utf8').trim();
    return /^\d+$/.test(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
