/** Helpers for the input tests: temp dirs and a collector that pulls batches with a deadline. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TailInput } from './tail-input';
import type { LineBatch, LineRecord } from './types';

export function makeTempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-input-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `count` lines `${prefix}-<i>` padded to `width` characters (without the newline). */
export function numberedLines(prefix: string, from: number, count: number, width = 40): string {
  let out = '';
  for (let i = from; i < from + count; i++) out += `${prefix}-${i}`.padEnd(width, '.') + '\n';
  return out;
}

export interface Delivered extends LineRecord {
  path: string;
  fileKey: string;
}

export interface Collector {
  /** Pulls batches until `done(all delivered so far)` is true or `timeoutMs` passes. */
  until(done: (lines: Delivered[]) => boolean, timeoutMs?: number): Promise<Delivered[]>;
  /** Pulls for `ms` and returns whatever arrived (to show that nothing does). */
  during(ms: number): Promise<Delivered[]>;
  batches: LineBatch[];
  lines: Delivered[];
}

export function createCollector(input: TailInput, opts: { ack?: (batch: LineBatch) => boolean; onBatch?: (batch: LineBatch) => void } = {}): Collector {
  const iterator = input.batches()[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<LineBatch>> | null = null;
  const batches: LineBatch[] = [];
  const lines: Delivered[] = [];
  const pull = async (deadline: number, done: () => boolean): Promise<void> => {
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      pending ??= iterator.next();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left)));
      const result = await Promise.race([pending, timeout]);
      clearTimeout(timer);
      if (result === 'timeout') return;
      pending = null;
      if (result.done) return;
      const batch = result.value;
      batches.push(batch);
      for (const line of batch.lines) lines.push({ ...line, path: batch.path, fileKey: batch.fileKey });
      opts.onBatch?.(batch);
      if (opts.ack ? opts.ack(batch) : true) input.ack(batch);
    }
  };
  return {
    batches,
    lines,
    async until(done, timeoutMs = 3000) {
      await pull(Date.now() + timeoutMs, () => done(lines));
      return lines;
    },
    async during(ms) {
      const before = lines.length;
      await pull(Date.now() + ms, () => false);
      return lines.slice(before);
    },
  };
}
