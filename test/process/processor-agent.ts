// Runs the real `tailplow process` (bin/tailplow.js) as a child process with a config written for
// the test, and gives the test its pid, metrics, RSS and logs (like test/support/tail-agent.ts
// does for `tailplow tail`).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { sumMetric, TAILPLOW_BIN, type AgentExit } from '../support/tail-agent';

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
}

export interface Processor {
  readonly pid: number;
  readonly address: string;
  readonly exited: Promise<AgentExit>;
  metric(name: string): Promise<number>;
  rssKb(): number | undefined;
  logs(): string[];
  kill(signal?: NodeJS.Signals): void;
  stop(timeoutMs?: number): Promise<AgentExit>;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every processor still running (for `after` hooks). */
export function killAllProcessors(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

function httpGet(url: string): Promise<string> {
  return new Promise((done, fail) => {
    const req = get(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done(body));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', fail);
  });
}

function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `tailplow process -c <config>` and resolves once it logged "processing" (consumer subscribed). */
export async function startProcessor(opts: ProcessorOptions): Promise<Processor> {
  const config = {
    dataDir: join(opts.dir, 'data'),
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
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), TAILPLOW_BIN, 'process', '-c', file], {
    cwd: opts.cwd ?? opts.dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TAILPLOW_LOG_LEVEL: opts.logLevel ?? 'info' },
  });
  running.add(child);
  const lines: string[] = [];
  let partial = '';
  let address = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (line.includes('metrics on /metrics')) address = (JSON.parse(line) as { address: string }).address;
      if (line.includes('"msg":"processing"')) onReady();
    }
  });
  const exited = new Promise<AgentExit>((done) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal });
    }),
  );
  await Promise.race([
    ready,
    exited.then((e) => Promise.reject(new Error(`tailplow process exited before processing (${JSON.stringify(e)}):\n${lines.join('\n')}`))),
    new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`tailplow process not ready within 30 s:\n${lines.join('\n')}`)), 30_000).unref()),
  ]).catch((err: unknown) => {
    // Never leave a half-started processor behind.
    child.kill('SIGKILL');
    throw err;
  });
  const pid = child.pid!;
  return {
    pid,
    address,
    exited,
    async metric(name) {
      return sumMetric(await httpGet(`http://${address}/metrics`), name);
    },
    rssKb: () => rssOf(pid),
    logs: () => lines,
    kill(signal = 'SIGKILL') {
      child.kill(signal);
    },
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
}
