/**
 * bench/replay: how fast does `tailplow replay` backfill gzipped logs, next to `zcat | wc -l`?
 *
 * Generates (once; reused) a set of rotated .gz logs of about --size-mb MB uncompressed in
 * bench/out/replay/ with bench/lib/generate.ts, then in ONE run times
 *   zcat:      `zcat FILES | wc -l` (the floor: decompression alone, in a C tool)
 *   replay wN: `tailplow replay -o null --progress none --workers N FILES` for each N in --workers
 * and prints lines/s and the ratio replay/zcat (targets: >= 150k lines/s on 2 cores, <= 3x zcat).
 * With --profile it also runs the default worker count under --cpu-prof and splits the MAIN
 * thread's time into gunzip, line splitting, messaging to workers, decoding, GC and idle.
 *
 *   node dist/bench/replay/run.js [--size-mb 1024] [--files 8] [--workers 0,1,2] [--rounds 1] [--profile]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { childrenCpuMs } from '../lib/cpu';
import { createLineGenerator } from '../lib/generate';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const SIZE_MB = Number(opt('size-mb', '1024'));
const FILES = Number(opt('files', '8'));
const WORKERS = opt('workers', '0,1,2').split(',').map(Number);
const ROUNDS = Number(opt('rounds', '1'));
const PROFILE = argv.includes('--profile');
const root = join(__dirname, '../../..');
const bin = join(root, 'bin/tailplow.js');
const dir = join(root, 'bench/out/replay', `${SIZE_MB}mb-${FILES}`);

/** access.log.N.gz, N = FILES..1 (the highest is the oldest, as logrotate leaves them). */
async function ensureData(): Promise<string[]> {
  const names = Array.from({ length: FILES }, (_, i) => join(dir, `access.log.${FILES - i}.gz`));
  if (names.every((n) => existsSync(n))) return names;
  mkdirSync(dir, { recursive: true });
  const perFile = (SIZE_MB * 1024 * 1024) / FILES;
  for (const [i, name] of names.entries()) {
    if (existsSync(name)) continue;
    const next = createLineGenerator({ seed: 1000 + i, startMs: Date.UTC(2026, 9, 1 + i), stepMs: 40 });
    const tmp = `${name}.tmp`;
    const gzip = createGzip({ level: 6 });
    const done = once(gzip.pipe(createWriteStream(tmp)), 'finish');
    let bytes = 0;
    while (bytes < perFile) {
      let chunk = '';
      for (let j = 0; j < 500; j++) chunk += next() + '\n';
      bytes += Buffer.byteLength(chunk);
      if (!gzip.write(chunk)) await once(gzip, 'drain');
    }
    gzip.end();
    await done;
    renameSync(tmp, name);
    process.stderr.write(`generated ${name} (${(bytes / 1048576).toFixed(0)} MB uncompressed)\n`);
  }
  return names;
}


/**
 * Wall time and CPU time (user+sys of the command and its children): on a shared machine wall
 * time also measures the neighbours, CPU time much less so.
 */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; cpuMs: number; stdout: string; stderr: string } {
  const cpu0 = childrenCpuMs();
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, cpuMs: childrenCpuMs() - cpu0, stdout: r.stdout, stderr: r.stderr };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

/** Buckets a sampled frame by what it is doing, for the main-thread breakdown. */
function bucketOf(node: ProfileNode): string {
  const { functionName: fn, url } = node.callFrame;
  if (fn === '(idle)') return 'idle (waiting for workers/IO)';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'other native (incl. message deserialisation)';
  if (url.includes('node:zlib') || fn === 'processCallback' || fn === 'zlibOnError') return 'gunzip (zlib)';
  if (url.includes('/input/line-splitter') || url.includes('/input/line-source')) return 'line splitting';
  if (url.includes('node:internal/worker') || url.includes('/pipeline/decode-worker') || fn === 'postMessage' || fn === 'emitMessage') return 'messages to/from workers (structured clone)';
  if (url.includes('/snowplow/') || url.includes('/nginx/') || url.includes('/pipeline/batch-decode') || url.includes('/pipeline/decode-lines')) return 'decode';
  if (url.includes('node:internal/fs') || url.includes('node:internal/streams') || url.includes('node:fs')) return 'file reading / streams';
  if (url.includes('/cli/commands/replay') || url.includes('/pipeline/decode-pool') || url.includes('/replay/') || url.includes('node:internal/process/task_queues')) return 'replay loop (batches, promises)';
  if (url.includes('node:internal/modules') || url.includes('node:internal/bootstrap')) return 'start-up (module loading)';
  if (url.startsWith('node:')) return 'other node internals';
  return url ? 'other js' : 'native code without a script';
}

/** Share of sampled time per bucket, over the profiles of the main thread (thread id 0) or of the workers. */
function breakdown(profDir: string, thread: 'main' | 'workers'): Array<[string, number]> {
  // Profile names end in .<pid>.<threadId>.<seq>.cpuprofile: the main thread is 0, workers 1, 2, …
  const files = readdirSync(profDir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f) === (thread === 'main'));
  if (files.length === 0) throw new Error(`no ${thread} profile in ${profDir}`);
  const totals = new Map<string, number>();
  let all = 0;
  for (const file of files) {
    const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    prof.samples.forEach((id, i) => {
      const dt = prof.timeDeltas[i] ?? 0;
      const b = bucketOf(byId.get(id)!);
      totals.set(b, (totals.get(b) ?? 0) + dt);
      all += dt;
    });
  }
  return [...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / all]);
}

async function main(): Promise<void> {
  const files = await ensureData();
  const zcatRuns: number[] = [];
  const zcatCpu: number[] = [];
  const replayRuns = new Map<number, number[]>();
  const replayCpu = new Map<number, number[]>();
  let lines = 0;
  let events = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const z = timed('bash', ['-c', `zcat ${files.join(' ')} | wc -l`]);
    lines = Number(z.stdout.trim());
    zcatRuns.push(z.ms);
    zcatCpu.push(z.cpuMs);
    for (const w of WORKERS) {
      const r = timed(process.execPath, [bin, 'replay', '-o', 'null', '--progress', 'none', '--workers', String(w), ...files]);
      const summary = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { lines: number; events: number };
      if (summary.lines !== lines) throw new Error(`replay read ${summary.lines} lines, zcat ${lines}`);
      events = summary.events;
      replayRuns.set(w, [...(replayRuns.get(w) ?? []), r.ms]);
      replayCpu.set(w, [...(replayCpu.get(w) ?? []), r.cpuMs]);
    }
  }
  const zcatMs = median(zcatRuns);
  const rows = [
    `data: ${files.length} .gz files, ${SIZE_MB} MB uncompressed, ${lines} lines, ${events} events (${dir})`,
    `| run | seconds | lines/s | × zcat | CPU seconds | lines per CPU second | × zcat (CPU) |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  const zcatCpuMs = median(zcatCpu);
  const row = (name: string, ms: number, cpuMs: number) =>
    `| ${name} | ${(ms / 1000).toFixed(2)} | ${Math.round(lines / (ms / 1000))} | ${(ms / zcatMs).toFixed(2)} | ` +
    `${(cpuMs / 1000).toFixed(2)} | ${Math.round(lines / (cpuMs / 1000))} | ${(cpuMs / zcatCpuMs).toFixed(2)} |`;
  rows.push(row('zcat FILES \\| wc -l', zcatMs, zcatCpuMs));
  const results: Record<string, unknown> = { lines, events, sizeMb: SIZE_MB, files: files.length, zcatMs, zcatCpuMs };
  for (const [w, runs] of replayRuns) {
    const ms = median(runs);
    const cpuMs = median(replayCpu.get(w)!);
    rows.push(row(`replay -o null --workers ${w}`, ms, cpuMs));
    results[`workers${w}Ms`] = ms;
    results[`workers${w}CpuMs`] = cpuMs;
  }
  if (PROFILE) {
    const profDir = join(root, 'bench/out/replay/prof');
    rmSync(profDir, { recursive: true, force: true });
    const w = WORKERS.at(-1)!;
    timed(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, bin, 'replay', '-o', 'null', '--progress', 'none', '--workers', String(w), ...files]);
    for (const thread of ['main', 'workers'] as const) {
      rows.push('', `${thread === 'main' ? 'main thread' : 'worker threads'} under --cpu-prof (--workers ${w}), share of samples:`);
      const shares = breakdown(profDir, thread);
      for (const [bucket, share] of shares) if (share >= 0.005) rows.push(`  ${(share * 100).toFixed(1).padStart(5)}%  ${bucket}`);
      results[thread] = Object.fromEntries(shares);
    }
  }
  writeFileSync(join(root, 'bench/out/replay/results.json'), JSON.stringify(results, null, 1));
  process.stdout.write(rows.join('\n') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
