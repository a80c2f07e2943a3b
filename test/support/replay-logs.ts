// Helpers for the `tailplow replay` tests: generated access logs with their ground truth (how many
// events, which eids, which collector times), written plain or gzipped, and the CLI run as a child
// process the way cron would run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLineGenerator } from '../../bench/lib/generate';

/** Compiled to dist/test/support/: three levels below the repository root. */
export const REPO_ROOT = join(__dirname, '../../..');
export const TAILPLOW_BIN = join(REPO_ROOT, 'bin/tailplow.js');

export interface GeneratedLog {
  lines: string[];
  /** Events the lines hold: one per GET, one per element of a tp2 POST's data array. */
  events: number;
  /** The eids carried by the lines (empty when generated without eids). */
  eids: string[];
  /** Collector time (ms) of each line, from its msec field. */
  times: number[];
  /** Collector time of each event, in line order. */
  eventTimes: number[];
}

const EID_IN_ARGS = /eid=([0-9a-f-]{36})&/g;
const EID_IN_BODY = /\\"eid\\":\\"([0-9a-f-]{36})\\",/g;
const EVENT_IN_BODY = /\\"e\\":\\"/g;

/**
 * `count` lines from the benchmark generator (realistic GET /i and tp2 POSTs), starting at
 * `startMs`. `withoutEid` removes every eid, so tailplow must derive deterministic ids.
 */
export function generateLog(opts: { seed: number; count: number; startMs: number; stepMs?: number; withoutEid?: boolean }): GeneratedLog {
  const next = createLineGenerator({ seed: opts.seed, startMs: opts.startMs, stepMs: opts.stepMs ?? 5, visitors: 200 });
  const lines: string[] = [];
  const eids: string[] = [];
  const times: number[] = [];
  const eventTimes: number[] = [];
  let events = 0;
  for (let i = 0; i < opts.count; i++) {
    let line = next();
    if (opts.withoutEid) line = line.replace(EID_IN_ARGS, '').replace(EID_IN_BODY, '');
    for (const m of line.matchAll(EID_IN_ARGS)) eids.push(m[1]!);
    for (const m of line.matchAll(EID_IN_BODY)) eids.push(m[1]!);
    const inLine = line.includes('"request_method":"POST"') ? (line.match(EVENT_IN_BODY) ?? []).length : 1;
    const time = Math.round(Number(/"msec":"([0-9.]+)"/.exec(line)![1]) * 1000);
    lines.push(line);
    times.push(time);
    for (let e = 0; e < inLine; e++) eventTimes.push(time);
    events += inLine;
  }
  return { lines, events, eids, times, eventTimes };
}

/** Writes lines (each with its newline) to `dir/name`, gzipped when the name ends in .gz. */
export function writeLog(dir: string, name: string, lines: string[]): string {
  const path = join(dir, name);
  const text = lines.map((l) => l + '\n').join('');
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `tailplow <args>`; stdout/stderr are collected as text. */
export function startTailplow(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [TAILPLOW_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

export function runTailplow(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startTailplow(args, env).done;
}

/** The JSON summary `replay` writes as its last stderr line. */
export interface ReplaySummary {
  summary: string;
  output: string;
  files: number;
  lines: number;
  events: number;
  bad: number;
  skipped: number;
  out_of_range: number;
  events_by_type: Record<string, number>;
  bad_by_reason: Record<string, number>;
  time_range: { from: string; to: string } | null;
  per_file: Array<{ file: string; status: string; lines?: number; events?: number; bad?: number; time_range?: { from: string; to: string } | null }>;
  errors: string[];
}

export function summaryOf(stderr: string): ReplaySummary {
  const line = stderr.split('\n').find((l) => l.startsWith('{"summary"'));
  if (!line) throw new Error(`no summary line in stderr:\n${stderr}`);
  return JSON.parse(line) as ReplaySummary;
}

/** One event per non-empty line of JSON output. */
export function parseEvents(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** event_id -> how often it occurs. */
export function countIds(ids: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** Resolves once `probe` is truthy, polling every 20 ms; rejects after timeoutMs. */
export async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
