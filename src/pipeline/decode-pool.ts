/**
 * Decodes batches on worker threads and hands the results back IN INPUT ORDER, so outputs see
 * lines in file order (per-visitor order holds) while decoding uses every core.
 * With 0 workers it decodes in the calling thread: same results, no threads.
 */
import { join } from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { LineBatch } from '../input/types';
import { createBatchDecoder, type BatchDecodeSettings, type DecodedBatch } from './batch-decode';

export interface DecodePool {
  /**
   * Decodes in parallel; resolves in the order of submission when awaited in that order.
   * The batch's lines are copied (to a worker) or decoded before `submit` returns, so the caller
   * may drop them then.
   */
  submit(batch: LineBatch): Promise<DecodedBatch>;
  close(): Promise<void>;
}

/**
 * V8 sizes a thread's heap for throughput: each young generation grows to three 16 MiB
 * semi-spaces and the old generation may grow to several times what is live. A decode worker
 * keeps almost nothing between batches (the parser, a batch at a time), so its young generation
 * is kept small (4 MiB semi-spaces: with 2 MiB, scavenges copying the batch being built took
 * ~18% of the worker's time) and its old generation gets the growth rules of a small heap; the
 * limit is far above what one batch needs (at most ~1.25 MiB of lines: one read turn plus a long
 * line). A process-wide --max-semi-space-size (NODE_OPTIONS) takes precedence.
 */
export const DECODE_WORKER_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 12, maxOldGenerationSizeMb: 96 };

export interface DecodeThreadOptions {
  /** Heap limits of each worker, e.g. DECODE_WORKER_LIMITS for a long-running agent; without, V8's defaults (batch commands, where throughput is all that counts). */
  limits?: ResourceLimits;
  /** Niceness each worker gives its own thread (Linux), above the process's; without, the process's. */
  nice?: number;
}

/** What a decode worker receives as workerData. */
export interface DecodeWorkerData extends Pick<DecodeThreadOptions, 'nice'> {
  settings: BatchDecodeSettings;
}

export function createDecodePool(settings: BatchDecodeSettings, workers: number, threads: DecodeThreadOptions = {}): DecodePool {
  if (workers <= 0) {
    const decode = createBatchDecoder(settings);
    return { submit: async (batch) => decode(batch), close: async () => {} };
  }
  const pending = new Map<number, { resolve: (r: DecodedBatch) => void; reject: (e: unknown) => void }>();
  let seq = 0;
  const workerData: DecodeWorkerData = { settings, nice: threads.nice };
  const pool = Array.from({ length: workers }, () => {
    const w = new Worker(join(__dirname, 'decode-worker.js'), { workerData, resourceLimits: threads.limits });
    w.on('message', (msg: { seq: number; result: DecodedBatch }) => {
      pending.get(msg.seq)?.resolve(msg.result);
      pending.delete(msg.seq);
    });
    w.on('error', (err) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
    return w;
  });
  const load = new Array<number>(workers).fill(0);
  return {
    submit(batch) {
      const id = seq++;
      // Least-loaded worker: batches differ in size (tp2 POSTs carry several events).
      let best = 0;
      for (let i = 1; i < workers; i++) if (load[i]! < load[best]!) best = i;
      load[best]!++;
      const chosen = best;
      return new Promise<DecodedBatch>((resolve, reject) => {
        pending.set(id, {
          resolve: (r) => {
            load[chosen]!--;
            resolve(r);
          },
          reject,
        });
        pool[chosen]!.postMessage({ seq: id, batch });
      });
    },
    async close() {
      await Promise.all(pool.map((t) => t.terminate()));
    },
  };
}
