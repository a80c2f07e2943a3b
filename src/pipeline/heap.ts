/**
 * How far V8 lets the old generation grow past what is live. On a machine with gigabytes of
 * memory V8 allows a heap of several GiB and grows it up to 4x the live set after each full GC
 * when allocation is fast: a tailer catching up a backlog with ~35 MB live sat at ~110 MB of old
 * space. A fixed growth of 30% keeps it near what is live, at the price of many more full GCs
 * (75 instead of 6 in 30 s of following 2,000 lines/s: ~1 s of main-thread time, and latency).
 * So the limit is on only while the agent is catching up, when the window is full and the heap
 * would balloon; following a live log, V8's own sizing is cheap and the live set small.
 *
 * Unlike the heap size flags, V8 reads --heap-growing-percent at every GC, so setting it at run
 * time works (heap.test.ts checks that it still does). The young generation's maximum
 * (`--max-semi-space-size`) is fixed when the process starts, but the factor it grows by
 * (`--semi-space-growth-factor`) is read at every growth: `capYoungGeneration` stops the growth at
 * a size by setting that factor to 1 once the young generation has reached it.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 30;

export interface HeapGrowthLimiter {
  /** False when the process was started with its own --heap-growing-percent: then `set` does nothing. */
  readonly owned: boolean;
  /** Limits growth to `percent` (true) or gives V8 its own growth factor back (false). */
  set(limited: boolean): void;
}

const givenNodeOptions = () => [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];

/** Semi-space size the tailer's main thread stops growing at (V8's default maximum is 16 MiB). */
export const TAIL_SEMI_SPACE_MB = 4;

/**
 * Stops the main thread's young generation from growing past `semiSpaceMb` semi-spaces, as
 * `--max-semi-space-size` would at start-up, for a process started without it (a shell, npx). The
 * check runs after each minor GC, which is when V8 grows the young generation, so it can end up
 * one growth step (2x) above the size when several GCs pass before the check. Does nothing when
 * the process was given a size or a growth factor of its own. Returns a function that stops watching.
 */
export function capYoungGeneration(semiSpaceMb = TAIL_SEMI_SPACE_MB): () => void {
  if (givenNodeOptions().some((arg) => /^--(max[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)\b/.test(arg))) return () => {};
  // V8 reports the young generation's new space as two semi-spaces.
  const limit = 2 * semiSpaceMb * 1024 * 1024;
  const reached = () => (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) >= limit;
  const cap = () => {
    setFlagsFromString('--semi-space-growth-factor=1');
    observer?.disconnect();
    observer = undefined;
  };
  let observer: PerformanceObserver | undefined;
  if (reached()) {
    cap();
    return () => {};
  }
  observer = new PerformanceObserver(() => {
    if (reached()) cap();
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer?.disconnect();
    observer = undefined;
  };
}

export function createHeapGrowthLimiter(percent = HEAP_GROWING_PERCENT): HeapGrowthLimiter {
  const owned = !givenNodeOptions().some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg));
  let current = false;
  return {
    owned,
    set(limited) {
      if (!owned || limited === current) return;
      current = limited;
      // 0 is V8's "not set": its dynamic factor again.
      setFlagsFromString(`--heap-growing-percent=${limited ? percent : 0}`);
    },
  };
}

/** Catching up: more is waiting in the files than the window holds, so the window stays full. */
export function isCatchingUp(bytesBehind: number, maxInFlightBytes: number): boolean {
  return bytesBehind > maxInFlightBytes;
}
