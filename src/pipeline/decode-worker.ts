/** Worker-thread side of decode-pool.ts: decodes batches with createBatchDecoder. */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { LineBatch } from '../input/types';
import { createBatchDecoder } from './batch-decode';
import type { DecodeWorkerData } from './decode-pool';

const { settings, nice } = workerData as DecodeWorkerData;
if (nice) lowerOwnPriority(nice);
const decode = createBatchDecoder(settings);
parentPort!.on('message', (msg: { seq: number; batch: LineBatch }) => {
  parentPort!.postMessage({ seq: msg.seq, result: decode(msg.batch) });
});

/**
 * Raises this thread's niceness by `by` (Linux: setpriority on a thread id affects that thread
 * only; /proc/thread-self names it). Elsewhere, or where refused, the thread keeps the process's.
 */
function lowerOwnPriority(by: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    // getPriority() is this thread's niceness, inherited from the thread that created it.
    setPriority(tid, Math.min(19, getPriority() + by));
  } catch {
    // Not Linux, or not allowed: decoding at the process's priority is still correct.
  }
}

