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
 * time works (heap.test.ts checks that it still does). The young generation can only be bounded
 * when the process starts (`--max-semi-space-size`, docs/operating.md).
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 30;

export interface HeapGrowthLimiter {
  /** False when the process was started with its own --heap-growing-percent: then `set` does nothing. */
  readonly owned: boolean;
  /** Limits growth to `percent` (true) or gives V8 its own growth factor back (false). */
  set(limited: boolean): void;
}

export function createHeapGrowthLimiter(percent = HEAP_GROWING_PERCENT): HeapGrowthLimiter {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const owned = !given.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg));
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
