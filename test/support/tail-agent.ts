// Runs the real `tailplow tail` (bin/tailplow.js) as a child process with a config file written
// for the test, and gives the test its pid, metrics, health, RSS and logs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join, resolve } from 'node:path';

/** Compiled to dist/test/support/, three levels below the repository root. */
export const TAILPLOW_BIN = resolve(__dirname, '../../../bin/tailplow.js');

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
  /** Called with every stderr line (JSON log) as it arrives. */
  onLog?: (line: string) => void;
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TailAgent {
  readonly pid: number;
  /** host:port of /metrics and /healthz. */
  readonly address: string;
  readonly exited: Promise<AgentExit>;
  /** Sum over all label sets of the Prometheus sample `name` (0 when absent). */
  metric(name: string): Promise<number>;
  health(): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Resident set size in KiB from /proc/<pid>/status (VmRSS), undefined once exited. */
  rssKb(): number | undefined;
  /** Peak resident set size in KiB so far (VmHWM). */
  peakRssKb(): number | undefined;
  /** stderr lines so far. */
  logs(): string[];
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<AgentExit>;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every agent still running: for `after` hooks, so a failed test leaves nothing behind. */
export function killAllAgents(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

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

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = get(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', fail);
  });
}

/** Parses Prometheus text and sums the samples of `name` over its label sets. */
export function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Starts `tailplow tail -c <config>` and resolves once its metrics endpoint is bound. */
export async function startTailAgent(opts: TailAgentOptions): Promise<TailAgent> {
  const configFile = writeAgentConfig(opts);
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), TAILPLOW_BIN, 'tail', '-c', configFile], {
    cwd: opts.dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TAILPLOW_LOG_LEVEL: opts.logLevel ?? 'info' },
  });
  running.add(child);
  const pid = child.pid!;
  const lines: string[] = [];
  let partial = '';
  let onAddress: (address: string) => void = () => {};
  const addressSeen = new Promise<string>((r) => (onAddress = r));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      opts.onLog?.(line);
      if (line.includes('metrics on /metrics')) {
        const address = (JSON.parse(line) as { address?: string }).address;
        if (address) onAddress(address);
      }
    }
  });
  const exited = new Promise<AgentExit>((done) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal });
    }),
  );
  const address = await Promise.race([
    addressSeen,
    exited.then((e) => Promise.reject(new Error(`tailplow tail exited before serving metrics (${JSON.stringify(e)}):\n${lines.join('\n')}`))),
    new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`tailplow tail did not serve metrics within 20 s:\n${lines.join('\n')}`)), 20_000).unref()),
  ]).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    pid,
    address,
    exited,
    async metric(name) {
      return sumMetric((await httpGet(`http://${address}/metrics`)).body, name);
    },
    async health() {
      const r = await httpGet(`http://${address}/healthz`);
      return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
    },
    rssKb: () => procStatusKb(pid, 'VmRSS'),
    peakRssKb: () => procStatusKb(pid, 'VmHWM'),
    logs: () => lines,
    kill(signal = 'SIGKILL') {
      child.kill(signal);
    },
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
}
