// Runs the real tailplow command (the launcher bin/tailplow, which execs node on bin/tailplow.js)
// as a child process with a config file written by the test, waits until it is ready, and gives
// the test its pid, metrics, health, RSS and logs.
// tail-agent.ts (`tailplow tail`) and test/process/processor-agent.ts (`tailplow process`) are
// this with their own config and readiness line.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { resolve } from 'node:path';

/** Compiled to dist/test/support/, three levels below the repository root. */
export const TAILPLOW_BIN = resolve(__dirname, '../../../bin/tailplow.js');
/** What a user runs: `tailplow` as npm installs it (a shell script that execs node, same pid). */
export const TAILPLOW_LAUNCHER = resolve(__dirname, '../../../bin/tailplow');

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TailplowChild {
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

export interface TailplowChildOptions {
  /** The subcommand, run as `tailplow <command> -c <configFile>`. */
  command: string;
  configFile: string;
  cwd: string;
  /** Log level; below info the start-up lines waited for are not logged, so keep info or more verbose. */
  logLevel?: string;
  /** Extra node options, e.g. ['--cpu-prof'] (TAILPLOW_NODE_OPTIONS of the launcher: no spaces inside one). */
  nodeArgs?: string[];
  /** `node bin/tailplow.js` instead of the launcher: without the node options it picks per command. */
  bypassLauncher?: boolean;
  /** Called with every stderr line (JSON log) as it arrives. */
  onLog?: (line: string) => void;
  /** Text of the log line that says the child is ready (after the metrics line, which gives the address). */
  readyLine: string;
  /** What being ready means, for the error when it does not happen. */
  readyMeans: string;
  /** How long getting ready, and a stop before SIGKILL, may take. */
  timeoutMs: number;
}

/** Starts and tracks tailplow children; killAll() SIGKILLs those still running (for `after` hooks). */
export interface TailplowSpawner {
  start(opts: TailplowChildOptions): Promise<TailplowChild>;
  killAll(): void;
}

const METRICS_LINE = 'metrics on /metrics';

export function createTailplowSpawner(): TailplowSpawner {
  const running = new Set<ChildProcess>();
  return {
    start: (opts) => startChild(opts, running),
    killAll() {
      for (const child of running) child.kill('SIGKILL');
      running.clear();
    },
  };
}

async function startChild(opts: TailplowChildOptions, running: Set<ChildProcess>): Promise<TailplowChild> {
  const name = `tailplow ${opts.command}`;
  const args = [opts.command, '-c', opts.configFile];
  const child = spawn(opts.bypassLauncher ? process.execPath : TAILPLOW_LAUNCHER, opts.bypassLauncher ? [...(opts.nodeArgs ?? []), TAILPLOW_BIN, ...args] : args, {
    cwd: opts.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      TAILPLOW_LOG_LEVEL: opts.logLevel ?? 'info',
      TAILPLOW_NODE: process.execPath,
      TAILPLOW_NODE_OPTIONS: [process.env.TAILPLOW_NODE_OPTIONS ?? '', ...(opts.nodeArgs ?? [])].join(' ').trim(),
    },
  });
  running.add(child);
  const pid = child.pid!;
  const lines: string[] = [];
  let partial = '';
  let address: string | undefined;
  let onReady: (address: string) => void = () => {};
  const ready = new Promise<string>((r) => (onReady = r));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      opts.onLog?.(line);
      if (line.includes(METRICS_LINE)) address = (JSON.parse(line) as { address?: string }).address || address;
      if (address && line.includes(opts.readyLine)) onReady(address);
    }
  });
  const exited = new Promise<AgentExit>((done) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal });
    }),
  );
  const boundAddress = await Promise.race([
    ready,
    exited.then((e) => Promise.reject(new Error(`${name} exited before ${opts.readyMeans} (${JSON.stringify(e)}):\n${lines.join('\n')}`))),
    new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`${name} not ${opts.readyMeans} within ${opts.timeoutMs / 1000} s:\n${lines.join('\n')}`)), opts.timeoutMs).unref()),
  ]).catch((err: unknown) => {
    // Never leave a half-started child behind.
    child.kill('SIGKILL');
    throw err;
  });
  return {
    pid,
    address: boundAddress,
    exited,
    async metric(metricName) {
      return sumMetric((await httpGet(`http://${boundAddress}/metrics`)).body, metricName);
    },
    async health() {
      const r = await httpGet(`http://${boundAddress}/healthz`);
      return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
    },
    rssKb: () => procStatusKb(pid, 'VmRSS'),
    peakRssKb: () => procStatusKb(pid, 'VmHWM'),
    logs: () => lines,
    kill(signal = 'SIGKILL') {
      child.kill(signal);
    },
    async stop(timeoutMs = opts.timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
}

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  return procStatusFieldsKb(pid, [field])?.[field];
}

/** Fields of /proc/<pid>/status given in kB (VmRSS, RssAnon, …), from one read; undefined once exited. */
export function procStatusFieldsKb<F extends string>(pid: number, fields: readonly F[]): Partial<Record<F, number>> | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const out: Partial<Record<F, number>> = {};
  for (const field of fields) {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (m) out[field] = Number(m[1]);
  }
  return out;
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
