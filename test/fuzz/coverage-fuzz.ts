/**
 * A small coverage-guided fuzzer for the targets in targets.ts (jazzer.js, the usual choice,
 * does not load here: its prebuilt libFuzzer addon needs glibc 2.38; see docs/privacy.md).
 *
 * Coverage comes from V8 itself through node:inspector: precise block coverage (the data behind
 * NODE_V8_COVERAGE / c8), taken after every batch of inputs and again per input when the batch
 * reached something new, says which blocks (start/end offsets per function) ran. An input that reaches a block no earlier input reached joins the
 * corpus; new inputs are corpus entries with stacked mutations (byte/char edits, dictionary
 * tokens, range copies, crossover). Only code under dist/src counts, so the fuzzer steers
 * toward parser branches rather than test helpers.
 *
 *   npm run fuzz -- [--seconds N] [--out DIR] [--hang-ms MS] [target …]
 *   (seconds per target: --seconds, else TAILPLOW_FUZZ_SECONDS, else 10; DIR: $TMPDIR/tailplow-fuzz)
 *
 * Each target runs in its own child process with a watchdog: an input that uses more than
 * --hang-ms of CPU time (default 10 s) is reported as a hang (the child writes each input to DIR/<target>.current first,
 * so the input survives the kill). An invariant violation writes DIR/crash-<target>-<sha1>.txt
 * and exits 1. The corpus is kept in DIR/corpus/<target>/ and reloaded by the next run.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procCpuMs } from '../../bench/lib/cpu';
import { prng } from '../../bench/lib/generate';

/** One input's coverage: "scriptId:start:end" of every block that ran. */
type Features = string[];

export interface FuzzOptions {
  /** Wall-clock budget in ms. */
  timeMs: number;
  /** Inputs to start from (a corpus may also be loaded from dir). */
  seeds: string[];
  /** Scripts whose blocks count as coverage. */
  include: (url: string) => boolean;
  /** Pseudo-random source in [0, 1); seedable for reproducible runs. */
  random?: () => number;
  maxLength?: number;
  /** Called with each input that adds coverage. */
  onNewCoverage?: (input: string) => void;
  /** Called before each input runs (the hang watchdog's record of it). */
  beforeRun?: (input: string) => void;
}

export interface FuzzResult {
  execs: number;
  corpus: string[];
  features: number;
  /** Blocks the seeds alone reached. */
  seedFeatures: number;
  /** The first input whose target threw, with the error. */
  crash?: { input: string; error: unknown };
}

/** Tokens that steer mutations toward the syntax of log lines, query strings, JSON and YAML. */
const DICTIONARY = [
  '"', '\\', '\\x', '\\x22', '\\x5C', '\\u00', '\\"', '%', '%25', '%2', '%C3%A9', '&', '=', '?', ' ', '\t', '[', ']', '{', '}', ',', ':', '-',
  '/i', '/com.snowplowanalytics.snowplow/tp2', 'GET ', 'POST ', 'HTTP/1.1', 'e=ue', 'ue_px=', 'cx=', 'co=', 'ue_pr=', 'eyJ', '==',
  '{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[', '"data":', '"schema":', 'iglu:', '/jsonschema/1-0-0',
  '$request', '$msec', '$time_local', '${', 'escape=json ', "'", '\n', ': ', '- ', '${SECRET}', '${file:', '&a', '*a', '<<: ', '!!', '---',
  'type: ', 'sinks:', 'stages:', '\u00e9', '\ud83d\ude00', '\ud800', '\u0000', '\r',
];


function mutate(input: string, corpus: readonly string[], rnd: () => number, maxLength: number): string {
  const int = (n: number) => Math.floor(rnd() * n);
  let s = input;
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = int(s.length + 1);
    switch (int(7)) {
      case 0: // insert a random byte-range character
        s = s.slice(0, at) + String.fromCharCode(int(256)) + s.slice(at);
        break;
      case 1: // insert a dictionary token
        s = s.slice(0, at) + DICTIONARY[int(DICTIONARY.length)]! + s.slice(at);
        break;
      case 2: // delete a range
        s = s.slice(0, at) + s.slice(at + 1 + int(16));
        break;
      case 3: // replace one character with a printable one
        s = s.slice(0, at) + String.fromCharCode(32 + int(95)) + s.slice(at + 1);
        break;
      case 4: {
        // copy a range of the input elsewhere
        const from = int(s.length + 1);
        const piece = s.slice(from, from + 1 + int(32));
        s = s.slice(0, at) + piece + s.slice(at);
        break;
      }
      case 5: {
        // crossover: our head, another entry's tail
        const other = corpus[int(corpus.length)] ?? '';
        s = s.slice(0, at) + other.slice(int(other.length + 1));
        break;
      }
      default: // truncate
        s = s.slice(0, at);
    }
  }
  return s.length > maxLength ? s.slice(0, maxLength) : s;
}

/**
 * One inspector session for the process, started when this module loads: V8 instruments only
 * functions compiled after precise coverage starts, so the code under test must load later (the
 * CLI child requires the targets lazily; a test imports this module before the targets).
 */
const session = new Session();
session.connect();
function post(method: string, params?: object): unknown {
  let result: unknown;
  let error: Error | null = null;
  // The in-thread session answers synchronously.
  session.post(method, params ?? {}, (err, res) => {
    error = err;
    result = res;
  });
  if (error) throw error;
  return result;
}
post('Profiler.enable');
// With call counts, a take resets the counters; V8 reports a nested range only where its count
// differs from the enclosing one, so a block that ran as often as its parent is implicit.
post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: Array<{ ranges: Range[] }>;
}

/**
 * Turns V8's compressed block ranges into the set of blocks that ran. Every nested range ever
 * reported for a function joins its list of blocks; in one take, a block of a function that ran
 * counts as covered unless it lies inside a range reported with count 0.
 */
class BlockCoverage {
  private readonly wanted = new Map<string, boolean>();
  private readonly blocks = new Map<string, Array<[number, number]>>();
  private readonly known = new Set<string>();

  constructor(private readonly include: (url: string) => boolean) {}

  /** Blocks that ran since the previous take. */
  take(): Features {
    const { result } = post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const out: Features = [];
    for (const script of result) {
      let ok = this.wanted.get(script.url);
      if (ok === undefined) this.wanted.set(script.url, (ok = this.include(script.url)));
      if (!ok) continue;
      for (const fn of script.functions) {
        const [whole, ...nested] = fn.ranges;
        if (whole === undefined || whole.count === 0) continue;
        const fnKey = `${script.scriptId}:${whole.startOffset}`;
        let list = this.blocks.get(fnKey);
        if (list === undefined) this.blocks.set(fnKey, (list = []));
        for (const r of nested) {
          const key = `${fnKey}:${r.startOffset}:${r.endOffset}`;
          if (!this.known.has(key)) {
            this.known.add(key);
            list.push([r.startOffset, r.endOffset]);
          }
        }
        out.push(fnKey);
        const zeros = nested.filter((r) => r.count === 0);
        for (const [start, end] of list) {
          if (!zeros.some((z) => z.startOffset <= start && end <= z.endOffset)) out.push(`${fnKey}:${start}:${end}`);
        }
      }
    }
    return out;
  }
}

/** Inputs run between two coverage takes: a take walks the heap (~10-20 ms), a line parse is far cheaper. */
const BATCH = 32;

/** Fuzzes `target` in this process until the budget is spent or it throws. */
export function fuzz(target: (input: string) => void, opts: FuzzOptions): FuzzResult {
  const rnd = opts.random ?? Math.random;
  const maxLength = opts.maxLength ?? 4096;
  const seen = new Set<string>();
  const corpus: string[] = [];
  const coverage = new BlockCoverage(opts.include);
  const take = () => coverage.take();
  let execs = 0;
  const exec = (input: string): { error: unknown } | undefined => {
    opts.beforeRun?.(input);
    execs++;
    try {
      target(input);
      return undefined;
    } catch (error) {
      return { error };
    }
  };
  const isNew = (features: Features) => features.some((f) => !seen.has(f));
  const keep = (input: string, features: Features) => {
    for (const f of features) seen.add(f);
    corpus.push(input);
    opts.onNewCoverage?.(input);
  };
  /** Runs a batch; when together they reach new blocks, runs each alone to find which did. */
  const runBatch = (inputs: string[]): FuzzResult['crash'] => {
    take();
    for (const input of inputs) {
      const failed = exec(input);
      if (failed) return { input, error: failed.error };
    }
    if (!isNew(take())) return undefined;
    for (const input of inputs) {
      take();
      exec(input);
      const features = take();
      if (isNew(features)) keep(input, features);
    }
    return undefined;
  };
  let seedFeatures = 0;
  const result = (crash?: FuzzResult['crash']): FuzzResult => ({ execs, corpus, features: seen.size, seedFeatures, ...(crash ? { crash } : {}) });
  for (let k = 0; k < opts.seeds.length; k += BATCH) {
    const crash = runBatch(opts.seeds.slice(k, k + BATCH));
    if (crash) return result(crash);
  }
  seedFeatures = seen.size;
  if (corpus.length === 0) corpus.push(opts.seeds[0] ?? '');
  const deadline = Date.now() + opts.timeMs;
  while (Date.now() < deadline) {
    const batch: string[] = [];
    for (let k = 0; k < BATCH; k++) batch.push(mutate(corpus[Math.floor(rnd() * corpus.length)]!, corpus, rnd, maxLength));
    const crash = runBatch(batch);
    if (crash) return result(crash);
  }
  return result();
}

// ---------------------------------------------------------------------------------------------
// Command line: one child process per target, with a hang watchdog.

interface ChildReport {
  target: string;
  execs: number;
  corpus: number;
  features: number;
  crash?: string;
}

function seedsFor(target: string, out: string): string[] {
  // Loaded lazily: the parent process must not pay for (or be coverage-steered by) the targets.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { fixtureLines, CUSTOM_FORMAT, FIXTURES } = require('./targets') as typeof import('./targets');
  const f = fixtureLines();
  const all = [...f.json, ...f.combined, ...f.custom];
  const queries = all.map((l) => /\?([^ "]*)/.exec(l)?.[1]).filter((q): q is string => q !== undefined);
  const configs = ['tail.yml', 'process.yml'].map((n) => readFileSync(join(FIXTURES, '../../config', n), 'utf8'));
  const byTarget: Record<string, string[]> = {
    'line-json': f.json,
    'line-combined': f.combined,
    'line-main': f.combined.map((l) => `${l} "203.0.113.7"`),
    'line-custom': f.custom,
    'line-custom-json': ['{"msec":"1795813792.353","remote_addr":"10.0.0.1","request":"GET /i?e=pv&p=web&tv=js-4 HTTP/1.1","status":"200","request_body":"","http_user_agent":"Mozilla/5.0"}'],
    logformat: [`${CUSTOM_FORMAT}\n${f.custom[0] ?? ''}`, `combined\n${f.combined[0] ?? ''}`],
    querystring: queries,
    escape: all.slice(0, 20),
    sdj: ['{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{"a":1}}]}', '{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/e/jsonschema/1-0-0","data":{}}}'],
    'config-tail': [configs[0]!],
    'config-process': [configs[1]!],
  };
  const saved: string[] = [];
  const dir = join(out, 'corpus', target);
  try {
    for (const name of readdirSync(dir)) saved.push(readFileSync(join(dir, name), 'utf8'));
  } catch {
    // no corpus from an earlier run
  }
  return [...(byTarget[target] ?? []), ...saved];
}

function childMain(target: string, seconds: number, out: string): void {
  const { TARGETS } = require('./targets') as typeof import('./targets');
  const fn = TARGETS[target];
  if (fn === undefined) throw new Error(`unknown target ${target}`);
  const corpusDir = join(out, 'corpus', target);
  mkdirSync(corpusDir, { recursive: true });
  const current = join(out, `${target}.current`);
  let lastBeat = 0;
  const result = fuzz(fn, {
    timeMs: seconds * 1000,
    seeds: seedsFor(target, out),
    include: (url) => url.includes('/dist/src/'),
    onNewCoverage: (input) => writeFileSync(join(corpusDir, createHash('sha1').update(input).digest('hex')), input),
    beforeRun: (input) => {
      writeFileSync(current, input);
      const now = Date.now();
      if (now - lastBeat > 200) {
        lastBeat = now;
        process.send?.({ beat: true });
      }
    },
  });
  const report: ChildReport = { target, execs: result.execs, corpus: result.corpus.length, features: result.features };
  if (result.crash) {
    const file = join(out, `crash-${target}-${createHash('sha1').update(result.crash.input).digest('hex')}.txt`);
    writeFileSync(file, result.crash.input);
    const e = result.crash.error;
    report.crash = `${file}\n${e instanceof Error ? e.message : String(e)}`;
  }
  process.send?.({ report }, () => process.exit(0));
}

async function parentMain(argv: string[]): Promise<number> {
  let seconds = Number(process.env.TAILPLOW_FUZZ_SECONDS ?? 10);
  let out = join(tmpdir(), 'tailplow-fuzz');
  let hangMs = 10_000;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else if (argv[i] === '--out') out = argv[++i]!;
    else if (argv[i] === '--hang-ms') hangMs = Number(argv[++i]);
    else targets.push(argv[i]!);
  }
  const { TARGETS } = require('./targets') as typeof import('./targets');
  const chosen = targets.length ? targets : Object.keys(TARGETS);
  mkdirSync(out, { recursive: true });
  let failed = false;
  for (const target of chosen) {
    const child = fork(__filename, ['--child', target, String(seconds), out], { stdio: 'inherit' });
    const report = await new Promise<ChildReport | string>((resolve) => {
      // A hang burns CPU without a heartbeat; a child that is merely starved on a loaded machine
      // burns none, so the watchdog counts the child's CPU time (wall time where /proc is missing).
      const clock = () => (child.pid === undefined ? undefined : procCpuMs(child.pid)) ?? Date.now();
      let last = clock();
      const watchdog = setInterval(() => {
        if (clock() - last > hangMs) {
          child.kill('SIGKILL');
          resolve(`hang: an input ran over ${hangMs} ms of CPU; it is in ${join(out, `${target}.current`)}`);
        }
      }, 500);
      child.on('message', (m: { beat?: boolean; report?: ChildReport }) => {
        last = clock();
        if (m.report) resolve(m.report);
      });
      child.on('exit', (code) => resolve(`child exited with code ${code} before reporting`));
      child.on('exit', () => clearInterval(watchdog));
    });
    if (typeof report === 'string') {
      failed = true;
      console.log(`${target}: FAILED ${report}`);
    } else {
      console.log(`${target}: ${report.execs} inputs in ${seconds} s (${Math.round(report.execs / seconds)}/s), corpus ${report.corpus}, ${report.features} blocks covered${report.crash ? `\n  INVARIANT BROKEN: ${report.crash}` : ''}`);
      if (report.crash) failed = true;
    }
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') childMain(argv[1]!, Number(argv[2]), argv[3]!);
  else parentMain(argv).then((code) => process.exit(code));
}

export { mutate };
