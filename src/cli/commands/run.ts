/**
 * `tailplow run`: tailer and processor in one process, no servers. Follows the logs, decodes,
 * runs the stages (enrich, profile in an embedded store) and writes to the sinks (the embedded
 * ClickHouse engine by default); offsets advance only after every sink acknowledged.
 * Without any config it reads the bundled sample logs into ./tailplow-data. `--once` stops when
 * everything was read and stored, and prints a summary of the store.
 * SIGTERM/SIGINT: stop reading, store what is in flight, save the registry. SIGHUP: reload the config.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { ConfigError, loadConfigFile, parseConfigText } from '../../config/load';
import { runConfigSchema, type RunConfig } from '../../config/run';
import { createProcessMetrics } from '../../observe/process-metrics';
import { startObservabilityServer, type ObservabilityServer } from '../../observe/server';
import { createTailMetrics, followerHealth } from '../../observe/tail-metrics';
import type { StageSinkMetrics } from '../../pipeline/process';
import { RegistryNotSaved, runPipelineOnce, StoreInUseError, type RunLifeResult, type RunLocations, type RunState } from '../../run/pipeline';
import { formatSummary, summariseStore, type RunTally } from '../../run/summary';
import { createChdbStore } from '../../storage/chdb-store';
import { createLogger, type Logger } from '../../util/logger';
import { CliError, ExitCode, outputError, usageError } from '../errors';
import { checkInputRegistry, parserFromOptions, registryNotSaved } from '../options';

interface RunOptions {
  config?: string;
  dataDir?: string;
  once?: boolean;
  fromBeginning?: boolean;
  format?: string;
}

export function loadRunConfig(paths: string[], opts: RunOptions): RunConfig {
  const overrides = (raw: Record<string, unknown>) => {
    const input = { ...((raw.input ?? {}) as Record<string, unknown>) };
    if (paths.length) input.paths = paths.map((p) => resolve(p));
    // The sample logs, and --once, mean "read what is there": from the beginning of unknown files.
    if (opts.fromBeginning || ((opts.once || input.paths === undefined) && input.startAt === undefined)) input.startAt = 'beginning';
    if (opts.format) input.format = opts.format;
    raw.input = input;
    if (opts.dataDir) raw.dataDir = opts.dataDir;
    // A one-shot run is for people at a terminal: the summary, not the JSON logs, unless asked for.
    if (opts.once && raw.logLevel === undefined) raw.logLevel = 'warn';
  };
  try {
    return opts.config ? loadConfigFile(opts.config, runConfigSchema, { overrides }) : parseConfigText('', '(defaults)', runConfigSchema, { overrides });
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message);
    throw err;
  }
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Tailer and processor in one process, no servers: follow logs -> enrich -> profile -> embedded ClickHouse store (default: the bundled sample logs into ./tailplow-data)')
    .argument('[paths...]', 'files or globs to follow (override input.paths; default: examples/sample/*.log)')
    .option('-c, --config <file>', 'YAML config (see config/run.yml)')
    .option('--data-dir <dir>', 'state and embedded stores (override dataDir; default ./tailplow-data)')
    .option('--once', 'read every file to its end, store it, print a summary of the store and exit (files unknown to the registry are read from the beginning)')
    .option('--from-beginning', 'read files found at startup from their beginning (input.startAt: beginning)')
    .option('-f, --format <format>', 'log format (override input.format)')
    .addHelpText(
      'after',
      `
Where things go (under the data directory): input-registry.json (offsets), clickhouse/ (events, table
"events"; look with \`tailplow query "SELECT ..."\`), profile/ (visitor profiles), bad-rows.ndjson.
Exit codes: 0 stopped (or --once done); 2 invalid options or config; 4 a sink failed for good;
5 another process holds the embedded store.`,
    )
    .action(async (paths: string[], opts: RunOptions) => {
      const load = () => loadRunConfig(paths, opts);
      let config = load();
      parserFromOptions({ logFormat: config.input.format, maxLineBytes: config.input.maxLineBytes });
      const logger = createLogger({ level: config.logLevel, name: 'tailplow-run' });
      const metrics = createTailMetrics();
      const stageSinkMetrics = stageSinkMetricsOn(metrics.registry, metrics.badRows);
      const state: RunState = { healthy: false, detail: 'starting' };
      // A one-shot run has nobody to scrape it; not binding the port also lets it run next to a live agent.
      const server: ObservabilityServer | undefined = config.http.enabled && !opts.once
        ? await startObservabilityServer({ listen: config.http.listen, registry: metrics.registry, logger, health: () => followerHealth(state) }).catch((err: unknown) => {
            throw usageError(`cannot listen on ${config.http.listen} for /metrics: ${String(err)}`, 'set http.listen in the config (port 0 picks a free one) or http.enabled: false');
          })
        : undefined;
      if (server) logger.info({ address: server.address }, 'metrics on /metrics, health on /healthz');

      let stop: AbortController = new AbortController();
      let signalled: 'stop' | 'reload' | undefined;
      const onStop = () => ((signalled = 'stop'), stop.abort());
      const onReload = () => ((signalled ??= 'reload'), stop.abort());
      process.on('SIGTERM', onStop).on('SIGINT', onStop).on('SIGHUP', onReload);
      const tally: RunTally = { lines: 0, events: 0, bad: 0 };
      let result: RunLifeResult | undefined;
      try {
        await checkInputRegistry(config.dataDir);
        for (;;) {
          try {
            result = await runPipelineOnce(config, {
              logger,
              metrics,
              stageSinkMetrics,
              state,
              signal: stop.signal,
              once: opts.once === true,
              tally,
              onReady: (where) => process.stderr.write(describeLocations(where, server?.address) + '\n'),
            });
          } catch (err) {
            if (err instanceof RegistryNotSaved) throw registryNotSaved(config.dataDir, err.reason);
            // Stopped or reloading while a sink was still being waited for: not a failure.
            if (!stop.signal.aborted) {
              if (err instanceof StoreInUseError) throw new CliError(err.message, ExitCode.busy);
              throw err instanceof CliError ? err : outputError(err instanceof Error ? err.message : String(err), 'the registry holds only what was stored: fix the cause and start again');
            }
          }
          if (signalled !== 'reload') break;
          signalled = undefined;
          stop = new AbortController();
          try {
            config = load();
            logger.info('config reloaded');
          } catch (err) {
            logger.error({ err: err instanceof Error ? err.message : String(err) }, 'config reload failed; keeping the running config');
          }
        }
      } finally {
        process.off('SIGTERM', onStop).off('SIGINT', onStop).off('SIGHUP', onReload);
        await server?.close();
        logger.flush();
      }
      if (opts.once && signalled !== 'stop') {
        process.stdout.write((await summaryText(result, tally, logger)) + '\n');
      }
      process.exitCode = ExitCode.ok;
    });
}

/** The processor's stage and sink metrics, registered next to the tailer's; bad rows share the tailer's counter. */
function stageSinkMetricsOn(registry: Registry, badRows: StageSinkMetrics['badRows']): StageSinkMetrics {
  const own = createProcessMetrics(new Registry());
  const picked = { processed: own.processed, dropped: own.dropped, stored: own.stored, sinkLatency: own.sinkLatency, sinkErrors: own.sinkErrors };
  for (const m of Object.values(picked)) registry.registerMetric(m as Parameters<Registry['registerMetric']>[0]);
  return { ...picked, badRows };
}

function describeLocations(where: RunLocations, metricsAddress: string | undefined): string {
  const rows = [
    `tailplow run: reading ${where.paths.join(', ')}`,
    `  data directory ${where.dataDir}:`,
    where.embedded ? `    events      ${where.embedded.path} (embedded ClickHouse, table ${where.embedded.table}; tailplow query "SELECT count() FROM ${where.embedded.table}")` : undefined,
    where.stages.includes('profile') ? `    profiles    ${resolve(where.dataDir, 'profile')} (unless the profile stage uses Redis)` : undefined,
    `    bad rows    ${where.badRows}`,
    `    offsets     ${where.registry}`,
    `  stages: ${where.stages.join(' -> ') || 'none'}; sinks: ${where.sinks.join(', ')}`,
    metricsAddress ? `  metrics http://${metricsAddress}/metrics, health http://${metricsAddress}/healthz` : undefined,
  ];
  return rows.filter((r) => r !== undefined).join('\n');
}

async function summaryText(result: RunLifeResult | undefined, tally: RunTally, logger: Logger): Promise<string> {
  if (!result?.embedded) return `this run: ${tally.lines} lines read, ${tally.events} events delivered, ${tally.bad} bad rows (no embedded sink to summarise)`;
  const store = await createChdbStore(result.embedded.path);
  try {
    const summary = await summariseStore(store, result.embedded.table);
    return formatSummary(summary, tally, { store: result.embedded.path, table: result.embedded.table, badRows: result.badRowsPath });
  } catch (err) {
    logger.warn({ err: String(err) }, 'summary query failed');
    throw outputError(`cannot summarise the embedded store: ${String(err)}`);
  } finally {
    await store.close();
  }
}
