// The input side of a soak run: an nginx stand-in appending at a steady rate (template-writer.ts),
// logrotate-style rename rotation (access.log -> .1 -> … -> .N, the oldest deleted, the writer
// reopening like nginx after USR1), and every event id written streamed to a file, flushed each
// second, so a 30-minute run never holds millions of ids in memory.
import { closeSync, existsSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { appendContinuously, type Appender, type LogWriter } from '../support/log-writer';
import { createTemplateLogWriter } from './template-writer';

export interface FeedOptions {
  rate: number;
  rotateEverySeconds: number;
  /** Rotated generations kept (access.log.1 … .N); the next rotation deletes the oldest. */
  keepRotated: number;
  log: (line: string) => void;
}

export interface Feed {
  /** <dir>/access.log; follow `${log}*`. */
  readonly log: string;
  readonly writer: LogWriter;
  /** One event id per line, every id written (complete after stop()). */
  readonly idsFile: string;
  readonly eventsWritten: number;
  readonly rotations: number;
  /** Starts appending and rotating. */
  start(): void;
  /** Stops appending and rotating and flushes the ids file. */
  stop(): Promise<void>;
  /** stop(), then closes the log and ids files. */
  close(): Promise<void>;
}

export function createFeed(dir: string, opts: FeedOptions): Feed {
  const log = join(dir, 'access.log');
  const idsFile = join(dir, 'written-ids.tsv');
  const idsFd = openSync(idsFile, 'a');
  let pending: string[] = [];
  let eventsWritten = 0;
  let rotations = 0;
  const flush = () => {
    if (pending.length === 0) return;
    writeSync(idsFd, `${pending.join('\n')}\n`);
    pending = [];
  };
  const writer = createTemplateLogWriter(log, {
    seed: 97,
    onWritten: (ids) => {
      eventsWritten += ids.length;
      for (const id of ids) pending.push(id);
    },
  });
  const rotate = () => {
    const oldest = `${log}.${opts.keepRotated}`;
    if (existsSync(oldest)) unlinkSync(oldest);
    for (let n = opts.keepRotated - 1; n >= 1; n--) if (existsSync(`${log}.${n}`)) renameSync(`${log}.${n}`, `${log}.${n + 1}`);
    renameSync(log, `${log}.1`);
    writer.reopen();
    rotations++;
  };
  let appender: Appender | undefined;
  let timers: NodeJS.Timeout[] = [];
  let t0 = 0;
  let closed = false;
  const stop = async () => {
    for (const t of timers) clearInterval(t);
    timers = [];
    await appender?.stop();
    appender = undefined;
    flush();
  };
  return {
    log,
    writer,
    idsFile,
    get eventsWritten() {
      return eventsWritten;
    },
    get rotations() {
      return rotations;
    },
    start() {
      t0 = performance.now();
      appender = appendContinuously(writer, opts.rate);
      timers.push(setInterval(flush, 1000));
      timers.push(
        setInterval(() => {
          try {
            rotate();
            opts.log(`${((performance.now() - t0) / 1000).toFixed(1)} s: rotated (#${rotations}, ${(statSync(`${log}.1`).size / 1e6).toFixed(0)} MB)`);
          } catch (err) {
            opts.log(`rotation failed: ${(err as Error).message}`);
          }
        }, opts.rotateEverySeconds * 1000),
      );
    },
    stop,
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      writer.close();
      closeSync(idsFd);
    },
  };
}
