/**
 * bench/parse: how much slower is full decoding than merely reading the JSON log?
 *
 * Generates a realistic log (bench/lib/generate.ts), then in ONE run times
 *   baseline: read + split into lines + JSON.parse of every line (the floor any JSON-log reader pays)
 *   decode:   read + split + parse + Snowplow decode + JSON serialisation of every event, in-process
 *   cli:      `tailplow parse FILE --workers 0 > /dev/null`, the real command on one thread
 *   cli_workers: the same with --workers N (default: one per core), decoding on worker threads
 * and prints lines/s, events/s and the ratio decode/baseline (target <= 1.8x) and events/s
 * (target >= 60k on one core). Runs alternate and the median is taken: machines are noisy.
 * Each figure comes as wall time and as CPU time (process.cpuUsage in-process; for the CLI the
 * child's user+sys from /proc/self/stat), since on a shared machine wall time also measures the
 * neighbours.
 *
 *   node dist/bench/parse/run.js [--lines 300000] [--rounds 5] [--workers 2]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { openLineSource } from '../../src/input/line-source';
import { createLineParser } from '../../src/nginx';
import { createLineDecoder } from '../../src/pipeline/decode-lines';
import { eventToJson } from '../../src/snowplow/format';
import { childrenCpuMs } from '../lib/cpu';
import { createLineGenerator } from '../lib/generate';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const LINES = arg('lines', 300_000);
const ROUNDS = arg('rounds', 5);
const WORKERS = arg('workers', availableParallelism());
const root = join(__dirname, '../../..');
const dir = join(root, 'bench/out');
const file = join(dir, `parse-${LINES}.log`);

function ensureData(): void {
  if (existsSync(file)) return;
  mkdirSync(dir, { recursive: true });
  const next = createLineGenerator({ seed: 7 });
  const parts: string[] = [];
  for (let i = 0; i < LINES; i++) parts.push(next());
  writeFileSync(file, parts.join('\n') + '\n');
}

async function baseline(): Promise<number> {
  let n = 0;
  for await (const batch of await openLineSource(file)) {
    for (const line of batch.lines) if (JSON.parse(line.text)) n++;
  }
  return n;
}

async function decodeAll(): Promise<{ lines: number; events: number; bytes: number }> {
  const decode = createLineDecoder(createLineParser('json'), { maxLineBytes: 1 << 20 });
  let lines = 0;
  let events = 0;
  let bytes = 0;
  for await (const batch of await openLineSource(file)) {
    for (const line of batch.lines) {
      const out = decode(line, batch.path);
      lines++;
      for (const e of out.events) {
        bytes += eventToJson(e).length;
        events++;
      }
    }
  }
  return { lines, events, bytes };
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function time<T>(fn: () => Promise<T>): Promise<[Timing, T]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fn();
  const c = process.cpuUsage(c0);
  return [{ wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 }, r];
}


function cli(workers: number): Timing {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const p = spawnSync(process.execPath, [join(root, 'bin/tailplow.js'), 'parse', file, '--workers', String(workers)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (p.status !== 0) throw new Error(`tailplow parse failed: ${p.stderr}`);
  return { wallMs: performance.now() - t0, cpuMs: childrenCpuMs() - cpu0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  ensureData();
  const runs: Record<'baseline' | 'decode' | 'cli' | 'cli_workers', Timing[]> = { baseline: [], decode: [], cli: [], cli_workers: [] };
  let counts = { lines: 0, events: 0, bytes: 0 };
  await decodeAll(); // warm-up: JIT and page cache
  for (let r = 0; r < ROUNDS; r++) {
    runs.baseline.push((await time(baseline))[0]);
    const [t, c] = await time(decodeAll);
    runs.decode.push(t);
    counts = c;
    runs.cli.push(cli(0));
    runs.cli_workers.push(cli(WORKERS));
  }
  const wall = (k: keyof typeof runs) => median(runs[k].map((t) => t.wallMs));
  const cpu = (k: keyof typeof runs) => median(runs[k].map((t) => t.cpuMs));
  const perSec = (n: number, ms: number) => Math.round((n / ms) * 1000);
  const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
  const result = {
    lines: counts.lines,
    events: counts.events,
    workers: WORKERS,
    wall_ms: { baseline: Math.round(wall('baseline')), decode: Math.round(wall('decode')), cli: Math.round(wall('cli')), cli_workers: Math.round(wall('cli_workers')) },
    cpu_ms: { baseline: Math.round(cpu('baseline')), decode: Math.round(cpu('decode')), cli: Math.round(cpu('cli')), cli_workers: Math.round(cpu('cli_workers')) },
    baseline_lines_per_s: perSec(counts.lines, wall('baseline')),
    decode_events_per_s: perSec(counts.events, wall('decode')),
    decode_events_per_cpu_s: perSec(counts.events, cpu('decode')),
    cli_events_per_s: perSec(counts.events, wall('cli')),
    cli_workers_events_per_s: perSec(counts.events, wall('cli_workers')),
    ratio_decode_vs_baseline: ratio(wall('decode'), wall('baseline')),
    ratio_decode_vs_baseline_cpu: ratio(cpu('decode'), cpu('baseline')),
    ratio_cli_vs_baseline: ratio(wall('cli'), wall('baseline')),
    ratio_cli_workers_vs_baseline: ratio(wall('cli_workers'), wall('baseline')),
  };
  console.log(JSON.stringify(result));
  console.log(
    `parse: ${result.decode_events_per_s} events/s in-process (${result.decode_events_per_cpu_s} per CPU second), ` +
      `${result.cli_events_per_s} via CLI, ${result.cli_workers_events_per_s} via CLI with ${WORKERS} workers; ` +
      `ratio to read+split+JSON.parse: ${result.ratio_decode_vs_baseline}x in-process (${result.ratio_decode_vs_baseline_cpu}x in CPU time), ` +
      `${result.ratio_cli_vs_baseline}x CLI, ${result.ratio_cli_workers_vs_baseline}x CLI with workers (target <= 1.8x, >= 60k events/s)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
