/** Shared pieces of the tailer benchmarks: data files, a running agent, waiting on its metrics. */
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaBrokers } from '../../test/support/services';
import { eventIdsOf } from '../../test/support/log-writer';
import type { TailAgent } from '../../test/support/tail-agent';
import { createLineGenerator } from '../lib/generate';

export const repoRoot = join(__dirname, '../../..');
export const outDir = join(repoRoot, 'bench/out');
export const brokers = kafkaBrokers();

export const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

export interface LogFile {
  path: string;
  lines: number;
  events: number;
  bytes: number;
}

/**
 * A seeded log of `lines` lines (or of at least `bytes` bytes), written once and reused: the
 * event count is cached in the file name's companion so reruns skip the generation.
 */
export async function ensureLog(name: string, opts: { lines?: number; bytes?: number; seed: number }): Promise<LogFile> {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `${name}.log`);
  const meta = `${path}.events`;
  if (existsSync(path) && existsSync(meta)) {
    const [lines, events] = require('node:fs').readFileSync(meta, 'utf8').trim().split(' ').map(Number) as [number, number];
    return { path, lines, events, bytes: statSync(path).size };
  }
  const next = createLineGenerator({ seed: opts.seed });
  const out = createWriteStream(`${path}.tmp`);
  let lines = 0;
  let events = 0;
  let bytes = 0;
  const enough = () => (opts.lines !== undefined ? lines >= opts.lines : bytes >= (opts.bytes ?? 0));
  while (!enough()) {
    const chunk: string[] = [];
    for (let i = 0; i < 1000 && !enough(); i++) {
      const line = next();
      chunk.push(line);
      lines++;
      events += eventIdsOf(line).length;
      bytes += Buffer.byteLength(line) + 1;
    }
    if (!out.write(chunk.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, fail) => {
    out.once('error', fail);
    out.end(() => r());
  });
  renameSync(`${path}.tmp`, path);
  require('node:fs').writeFileSync(meta, `${lines} ${events}\n`);
  return { path, lines, events, bytes };
}

/** Polls `tailplow_events_produced_total` until it reaches `expected`; resolves to the time it did (performance.now()). */
export async function waitForProduced(agent: TailAgent, expected: number, timeoutMs: number, onTick?: () => void): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    onTick?.();
    const produced = await agent.metric('tailplow_events_produced_total');
    if (produced >= expected) return performance.now();
    if (performance.now() > deadline) throw new Error(`only ${produced} of ${expected} events produced after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
