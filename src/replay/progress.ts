/**
 * Progress a person can read: a bar on a terminal; off a terminal (cron) one JSON line every
 * interval on stderr, so logs stay greppable.
 */
import type * as CliProgress from 'cli-progress';

export interface ProgressSnapshot {
  bytes: number;
  totalBytes: number;
  lines: number;
  events: number;
  bad: number;
  file: string;
}

export interface Progress {
  update(s: ProgressSnapshot): void;
  stop(): void;
}

const mb = (n: number) => (n / 1048576).toFixed(1);

export function createProgress(opts: { tty: boolean; intervalMs: number; write: (line: string) => void }): Progress {
  const started = Date.now();
  let last: ProgressSnapshot | undefined;
  if (opts.tty) {
    // Loaded for a terminal bar only, not when the CLI starts.
    const { SingleBar } = require('cli-progress') as typeof CliProgress;
    const bar = new SingleBar({
      format: ' {bar} {percentage}% | {mb}/{totalMb} MB | {rate} lines/s | {events} events | {bad} bad | ETA {eta_formatted} | {file}',
      hideCursor: true,
      etaBuffer: 50,
    });
    let startedBar = false;
    return {
      update(s) {
        const payload = { mb: mb(s.bytes), totalMb: mb(s.totalBytes), rate: Math.round(s.lines / Math.max(0.001, (Date.now() - started) / 1000)), events: s.events, bad: s.bad, file: s.file };
        if (!startedBar) {
          bar.start(Math.max(1, s.totalBytes), s.bytes, payload);
          startedBar = true;
        } else bar.update(s.bytes, payload);
      },
      stop: () => startedBar && bar.stop(),
    };
  }
  const emit = () => {
    if (!last) return;
    const secs = (Date.now() - started) / 1000;
    const rate = last.bytes / Math.max(0.001, secs);
    opts.write(
      JSON.stringify({
        progress: Number((last.totalBytes ? last.bytes / last.totalBytes : 0).toFixed(4)),
        bytes: last.bytes,
        total_bytes: last.totalBytes,
        lines: last.lines,
        lines_per_s: Math.round(last.lines / Math.max(0.001, secs)),
        events: last.events,
        bad: last.bad,
        eta_s: rate > 0 ? Math.round((last.totalBytes - last.bytes) / rate) : null,
        file: last.file,
      }),
    );
  };
  const timer = setInterval(emit, opts.intervalMs);
  timer.unref();
  return {
    update(s) {
      last = s;
    },
    stop: () => clearInterval(timer),
  };
}
