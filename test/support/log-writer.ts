// An nginx stand-in for tailer tests: appends generated tracker lines (bench/lib/generate.ts) to
// an access log through an O_APPEND descriptor it keeps open, like nginx does, and remembers the
// event id of every hit it wrote. Rotations are plain file operations done between two writes,
// so the test knows exactly which lines were written before and after.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createLineGenerator } from '../../bench/lib/generate';

/** The eids (Snowplow `eid` = canonical `event_id`) of every hit in one generated line. */
export function eventIdsOf(line: string): string[] {
  const ids: string[] = [];
  // GET hits carry `&eid=` in $args; tp2 POSTs carry `\"eid\":\"` in the escaped $request_body.
  const re = /[&"]eid=([0-9a-f-]{36})|\\"eid\\":\\"([0-9a-f-]{36})\\"/g;
  for (let m = re.exec(line); m; m = re.exec(line)) ids.push((m[1] ?? m[2])!);
  return ids;
}

export interface LogWriter {
  readonly path: string;
  /** Every event id written so far, in write order. */
  readonly eventIds: string[];
  readonly lines: number;
  readonly bytes: number;
  /** Appends `n` lines, one write(2) each; `onWritten` gets each line's ids and the time just after its write. */
  write(n: number): void;
  /** Closes the descriptor and opens `path` again (creating it): nginx after `kill -USR1`. */
  reopen(): void;
  close(): void;
}

export function createLogWriter(
  path: string,
  opts: { seed?: number; onWritten?: (eventIds: string[], writtenAtMs: number) => void } = {},
): LogWriter {
  const next = createLineGenerator({ seed: opts.seed ?? 1, startMs: Date.now() });
  const eventIds: string[] = [];
  let fd: number | null = openSync(path, 'a');
  let lines = 0;
  let bytes = 0;
  return {
    path,
    eventIds,
    get lines() {
      return lines;
    },
    get bytes() {
      return bytes;
    },
    write(n) {
      if (fd === null) throw new Error('log writer is closed');
      for (let i = 0; i < n; i++) {
        const line = next();
        const ids = eventIdsOf(line);
        const data = Buffer.from(`${line}\n`);
        writeSync(fd, data);
        const at = performance.timeOrigin + performance.now();
        lines++;
        bytes += data.length;
        for (const id of ids) eventIds.push(id);
        opts.onWritten?.(ids, at);
      }
    },
    reopen() {
      if (fd !== null) closeSync(fd);
      fd = openSync(path, 'a');
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

export interface Appender {
  /** Stops writing until `resume`; lines not written meanwhile are not made up for. */
  pause(): void;
  resume(): void;
  /** Stops appending for good. */
  stop(): Promise<void>;
}

/** Calls `writer.write` every `tickMs` so that, on average, `linesPerSecond` lines are written. */
export function appendContinuously(writer: LogWriter, linesPerSecond: number, tickMs = 10): Appender {
  let started = performance.now();
  let written = 0;
  let paused = false;
  const timer = setInterval(() => {
    if (paused) return;
    const due = Math.floor(((performance.now() - started) / 1000) * linesPerSecond) - written;
    if (due <= 0) return;
    writer.write(due);
    written += due;
  }, tickMs);
  return {
    pause() {
      paused = true;
    },
    resume() {
      started = performance.now();
      written = 0;
      paused = false;
    },
    async stop() {
      clearInterval(timer);
    },
  };
}
