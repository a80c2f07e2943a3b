/** Where `tailplow replay` delivers: nowhere (null/dry run), JSON or TSV lines, or Kafka. */
import { closeSync, createWriteStream, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Producer } from '../kafka/producer';
import type { DecodedBatch } from '../pipeline/batch-decode';
import type { BatchGuard, StageSinkRunner } from '../pipeline/process';
import type { SnowplowEvent } from '../snowplow/event';

export interface ReplayOutput {
  /** Resolves when the batch is delivered (written to the OS, or acknowledged by Kafka). */
  write(batch: DecodedBatch): Promise<void>;
  close(): Promise<void>;
}

export const nullOutput: ReplayOutput = { write: async () => {}, close: async () => {} };

export function streamOutput(events: Writable, bad: Writable | undefined): ReplayOutput {
  // A failing stream (ENOSPC, EACCES on open, EPIPE) emits 'error' besides failing the write's
  // callback; without a listener that would crash the process instead of ending the replay with
  // "output failed". Once failed, every later write fails with the same error.
  const failures = new Map<Writable, Error>();
  for (const s of bad ? [events, bad] : [events]) s.on('error', (err: Error) => failures.has(s) || failures.set(s, err));
  const put = (stream: Writable, items: Array<{ value: string }>) =>
    new Promise<void>((resolve, reject) => {
      const failed = failures.get(stream);
      if (failed) return reject(failed);
      if (items.length === 0) return resolve();
      let text = '';
      for (const it of items) text += it.value + '\n';
      stream.write(text, (err) => {
        if (!err) return resolve();
        if (!failures.has(stream)) failures.set(stream, err);
        reject(failures.get(stream));
      });
    });
  const end = (s: Writable) =>
    new Promise<void>((resolve, reject) => {
      if (s === process.stdout || failures.has(s)) return resolve();
      s.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  return {
    async write(batch) {
      await Promise.all([put(events, batch.events), bad ? put(bad, batch.bad) : undefined]);
    },
    async close() {
      await Promise.all([end(events), bad ? end(bad) : undefined]);
    },
  };
}

/**
 * stdout for undefined or '-'; else the file, appended to when `append` (a resumable run adds to
 * what earlier runs delivered instead of truncating it).
 */
export function fileStream(path: string | undefined, append = false): Writable {
  if (path === undefined || path === '-') return process.stdout;
  if (append) dropTornLastLine(path);
  return createWriteStream(path, { flags: append ? 'a' : 'w' });
}

/**
 * A run that died mid-write (kill -9, disk full, file size limit) can leave a partial last line.
 * It belongs to a batch the state never counted as delivered, so it is cut off before appending;
 * otherwise the next event would be glued onto it. Regular files only (not /dev/*, FIFOs).
 */
export function dropTornLastLine(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size === 0) return;
    const size = st.size;
    const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - chunk.length);
      readSync(fd, chunk, 0, end - start, start);
      const newline = chunk.subarray(0, end - start).lastIndexOf(0x0a);
      if (newline !== -1) {
        if (start + newline + 1 < size) ftruncateSync(fd, start + newline + 1);
        return;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
}

export function kafkaOutput(producer: Producer, topics: { topic: string; badTopic: string }): ReplayOutput {
  return {
    async write(batch) {
      const headers = (offset: number) => ({ 'tailplow-source': batch.path, 'tailplow-offset': String(offset) });
      await Promise.all([
        producer.send(topics.topic, batch.events.map((e) => ({ key: e.key, value: e.value, headers: headers(e.offset) }))),
        producer.send(topics.badTopic, batch.bad.map((b) => ({ key: null, value: b.value, headers: headers(b.offset) }))),
      ]);
    },
    close: () => producer.close(),
  };
}

/**
 * `--output embedded`: the stages and sinks of a run config in this process (run/processing.ts),
 * the embedded store by default. A batch is delivered when every sink and the bad-row file stored it.
 */
export function stageSinkOutput(run: StageSinkRunner, close: () => Promise<void>): ReplayOutput {
  const guard: BatchGuard = { check: () => {}, isAbandon: () => false, waiting: '' };
  return {
    async write(batch) {
      const events = batch.events.map((e) => JSON.parse(e.value) as SnowplowEvent);
      await run(events, batch.bad.map((b) => ({ key: null, value: b.value })), guard);
    },
    close,
  };
}
