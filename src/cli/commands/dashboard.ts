/**
 * `tailplow dashboard`: the analytics dashboard over the embedded store or a ClickHouse server
 * (src/dashboard). Serves until SIGINT/SIGTERM; bound to 127.0.0.1 unless --listen says
 * otherwise, and then only with a token.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { openSource, type SourceOptions } from '../../dashboard/open';
import { checkDashboardAccess, DashboardConfigError, startDashboardServer } from '../../dashboard/server';
import { parseListen } from '../../observe/server';
import { createLogger } from '../../util/logger';
import { positiveInt } from '../options';
import { usageError } from '../errors';

interface DashboardOptions extends SourceOptions {
  listen: string;
  token?: string;
  refresh: number;
  title: string;
}

/** The store options `dashboard` and `report` share. */
export function addSourceOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'a run or process config: read the store of its clickhouse sink, else of its embedded sink')
    .option('--data-dir <dir>', 'the embedded store in <dir>/clickhouse (default ./tailplow-data, as tailplow run)')
    .option('--clickhouse-url <url>', 'a ClickHouse server instead (user and password from TAILPLOW_CLICKHOUSE_USER / TAILPLOW_CLICKHOUSE_PASSWORD)')
    .option('--database <name>', 'database of the events table (server only; default: the sink\'s, else default)')
    .option('--table <name>', 'events table (default: the sink\'s, else events)');
}

export function registerDashboard(program: Command): void {
  const command = program
    .command('dashboard')
    .description('Serve the analytics dashboard (visitors, pages, referrers, campaigns, devices, engagement) from the embedded store or ClickHouse');
  addSourceOptions(command)
    .option('--listen <host:port>', 'address to serve on; anything but loopback needs --token', '127.0.0.1:8080')
    .addOption(new Option('--token <token>', 'required off loopback: basic-auth password (any user) or Bearer token; at least 16 characters').env('TAILPLOW_DASHBOARD_TOKEN'))
    .option('--refresh <seconds>', 'seconds between refreshes while the page is live', positiveInt, 10)
    .option('--title <text>', 'page title', 'tailplow')
    .action(async (opts: DashboardOptions) => {
      let listen: { host: string; port: number };
      try {
        listen = parseListen(opts.listen);
      } catch (err) {
        throw usageError(`--listen: ${(err as Error).message}`);
      }
      // Checked before the store is opened: an unsafe address or a short token is refused without touching anything.
      try {
        checkDashboardAccess(listen.host, opts.token);
      } catch (err) {
        throw usageError(`--listen ${opts.listen}: ${(err as Error).message}`);
      }
      const logger = createLogger({ level: 'info', name: 'tailplow-dashboard' });
      const source = await openSource(opts);
      let server;
      try {
        server = await startDashboardServer({ source, host: listen.host, port: listen.port, token: opts.token, refreshSeconds: opts.refresh, title: opts.title, logger });
      } catch (err) {
        await source.close();
        if (err instanceof DashboardConfigError) throw usageError(err.message);
        throw usageError(`cannot listen on ${opts.listen}: ${(err as Error).message}`);
      }
      logger.info({ url: server.url, engine: source.engine, version: source.version, store: source.location, table: source.table, auth: opts.token ? 'token' : 'none (loopback)' }, 'dashboard ready');
      if (!(await source.tableExists())) logger.warn({ table: source.table }, 'no events table yet: the page shows data once a sink has written some');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve).once('SIGTERM', resolve);
      });
      await server.close();
      await source.close();
      logger.info('stopped');
      logger.flush();
    });
}
