// Runs the real `tailplow process` (bin/tailplow.js) as a child process with a config written for
// the test, and gives the test its pid, metrics, RSS and logs (test/support/tailplow-child.ts, as
// test/support/tail-agent.ts does for `tailplow tail`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTailplowSpawner, type TailplowChild } from '../support/tailplow-child';

export const CITY_TEST_DB = join(__dirname, '../../../test/fixtures/maxmind/GeoIP2-City-Test.mmdb');

/** ua, referer, campaign, geo (MaxMind test DB), bots, anon_ip: the enrich stage the brief's example uses. */
export const FULL_ENRICH_STAGE = {
  type: 'enrich',
  enrichments: [{ type: 'ua' }, { type: 'referer' }, { type: 'campaign' }, { type: 'geo', city: CITY_TEST_DB }, { type: 'bots' }, { type: 'anon_ip' }],
};

export interface ProcessorOptions {
  dir: string;
  /** File name of the config inside `dir` (several processors can share a dir). */
  name?: string;
  brokers: string[];
  topic: string;
  groupId: string;
  badTopic: string;
  stages?: unknown[];
  sinks: unknown[];
  source?: Record<string, unknown>;
  logLevel?: string;
  nodeArgs?: string[];
  /** Passed to the child, e.g. a temp dir for --cpu-prof output. */
  cwd?: string;
  /** The config's `workers` (default 1). With more, ready means every worker processes. */
  workers?: number;
}

export type Processor = TailplowChild;

const processors = createTailplowSpawner();

/** SIGKILLs every processor still running (for `after` hooks). */
export const killAllProcessors = (): void => processors.killAll();

/** Starts `tailplow process -c <config>` and resolves once it logged "processing" (consumer subscribed; with workers, all of them). */
export async function startProcessor(opts: ProcessorOptions): Promise<Processor> {
  const config = {
    dataDir: join(opts.dir, 'data'),
    ...(opts.workers ? { workers: opts.workers } : {}),
    logLevel: opts.logLevel ?? 'info',
    http: { listen: '127.0.0.1:0' },
    kafka: { brokers: opts.brokers },
    source: { topic: opts.topic, groupId: opts.groupId, sessionTimeoutMs: 10_000, ...opts.source },
    stages: opts.stages ?? [FULL_ENRICH_STAGE],
    sinks: opts.sinks,
    badRows: { topic: opts.badTopic },
  };
  const file = join(opts.dir, opts.name ?? 'process.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return processors.start({
    command: 'process',
    configFile: file,
    cwd: opts.cwd ?? opts.dir,
    logLevel: opts.logLevel,
    nodeArgs: opts.nodeArgs,
    readyLine: (opts.workers ?? 1) > 1 ? '"msg":"every worker is processing"' : '"msg":"processing"',
    readyMeans: 'processing',
    timeoutMs: 30_000,
  });
}
