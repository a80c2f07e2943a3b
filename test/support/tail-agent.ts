// Runs the real `tailplow tail` (bin/tailplow.js) as a child process with a config file written
// for the test, and gives the test its pid, metrics, health, RSS and logs (tailplow-child.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTailplowSpawner, type TailplowChild } from './tailplow-child';

export interface TailAgentOptions {
  /** Directory for the config file (the agent's dataDir defaults to `<dir>/data`). */
  dir: string;
  paths: string[];
  brokers: string[];
  topic: string;
  badTopic: string;
  dataDir?: string;
  /** Extra input settings (startAt defaults to beginning here). */
  input?: Record<string, unknown>;
  /** Extra output settings. */
  output?: Record<string, unknown>;
  /** Log level; below info the start-up line the helper waits for is not logged, so keep info or more verbose. */
  logLevel?: string;
  /** Extra node options, e.g. ['--cpu-prof']. */
  nodeArgs?: string[];
  /** `node bin/tailplow.js` instead of the launcher (tailplow-child.ts). */
  bypassLauncher?: boolean;
  /** Called with every stderr line (JSON log) as it arrives. */
  onLog?: (line: string) => void;
}

export type TailAgent = TailplowChild;

const agents = createTailplowSpawner();

/** SIGKILLs every agent still running: for `after` hooks, so a failed test leaves nothing behind. */
export const killAllAgents = (): void => agents.killAll();

export function writeAgentConfig(opts: TailAgentOptions): string {
  const config = {
    dataDir: opts.dataDir ?? join(opts.dir, 'data'),
    logLevel: opts.logLevel ?? 'info',
    http: { listen: '127.0.0.1:0' },
    input: { paths: opts.paths, startAt: 'beginning', pollIntervalMs: 250, registryFlushMs: 200, ...opts.input },
    kafka: { brokers: opts.brokers },
    output: { topic: opts.topic, badTopic: opts.badTopic, ...opts.output },
  };
  const file = join(opts.dir, 'tailplow.yaml');
  // JSON is YAML.
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Starts `tailplow tail -c <config>` and resolves once its metrics endpoint is bound. */
export async function startTailAgent(opts: TailAgentOptions): Promise<TailAgent> {
  return agents.start({
    command: 'tail',
    configFile: writeAgentConfig(opts),
    cwd: opts.dir,
    logLevel: opts.logLevel,
    nodeArgs: opts.nodeArgs,
    bypassLauncher: opts.bypassLauncher,
    onLog: opts.onLog,
    readyLine: 'metrics on /metrics',
    readyMeans: 'serving metrics',
    timeoutMs: 20_000,
  });
}
