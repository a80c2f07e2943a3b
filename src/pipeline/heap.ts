/**
 * How far V8 lets the old generation grow past what is live. On a machine with gigabytes of
 * memory V8 allows a heap of several GiB and then grows it up to 4x the live set after each full
 * GC when allocation is fast: a tailer catching up a backlog with ~35 MB live sat at ~110 MB of
 * old space. A fixed growth of 30% keeps it near what is live, at the cost of more (concurrent)
 * full GCs. Unlike the heap size flags, V8 reads this one at every GC, so setting it at run time
 * works (heap.test.ts checks that it still does); the young generation can only be bounded when
 * the process starts (`--max-semi-space-size`, see docs/operating.md).
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 30;

/** Applies HEAP_GROWING_PERCENT unless the process was started with its own --heap-growing-percent. */
export function limitHeapGrowth(percent = HEAP_GROWING_PERCENT): boolean {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
