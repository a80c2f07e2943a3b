// A cheap nginx stand-in for long runs at a high rate: bench/lib/generate's lines cost ~50 µs
// each on an idle core (240 µs at load 16), too much to write 2,000 lines/s for 30 minutes beside
// the servers on a shared 2-core machine. This writer generates a pool of template lines once and
// writes them round after round with every event id replaced by a fresh one (a run prefix and a
// counter, UUID-shaped), so each line written costs a string concatenation and one write(2).
// The collector time (`msec`, what nginx logs) is the time of the write, as it would be; the
// rest but the ids (visitors, pages, device timestamps) repeats with the pool. A fixed collector
// time would keep every event inside the profile's de-duplication window for the whole run,
// which no real log does.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createLineGenerator } from '../../bench/lib/generate';
import { eventIdsOf, type LogWriter } from '../support/log-writer';

interface Template {
  /** The line after its `msec` value, cut at its event ids: parts.length = ids + 1. */
  parts: string[];
}

const MSEC = /^\{"msec":"\d+\.\d{3}"/;

const ID = /([&"]eid=)[0-9a-f-]{36}|(\\"eid\\":\\")[0-9a-f-]{36}/g;

function cut(line: string): Template {
  const msec = MSEC.exec(line);
  if (!msec) throw new Error(`template does not start with {"msec":"…": ${line.slice(0, 40)}`);
  const parts: string[] = [];
  let from = msec[0].length;
  for (let m = ID.exec(line); m; m = ID.exec(line)) {
    const prefix = (m[1] ?? m[2])!;
    parts.push(line.slice(from, m.index + prefix.length));
    from = m.index + m[0].length;
  }
  ID.lastIndex = 0;
  parts.push(line.slice(from));
  return { parts };
}

export interface TemplateWriterOptions {
  seed?: number;
  /** Distinct lines generated once (default 10,000). */
  pool?: number;
  /** Called with each line's ids just after its write. */
  onWritten?: (eventIds: string[]) => void;
}

/** LogWriter (test/support/log-writer.ts) over a pool of templates; `eventIds` stays empty. */
export function createTemplateLogWriter(path: string, opts: TemplateWriterOptions = {}): LogWriter {
  const next = createLineGenerator({ seed: opts.seed ?? 1, startMs: Date.now() });
  const templates: Template[] = [];
  for (let i = 0; i < (opts.pool ?? 10_000); i++) {
    const line = next();
    const t = cut(line);
    if (t.parts.length - 1 !== eventIdsOf(line).length) throw new Error(`template ${i}: ids cut ${t.parts.length - 1}, found ${eventIdsOf(line).length}`);
    templates.push(t);
  }
  const prefix = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  let counter = 0;
  let fd: number | null = openSync(path, 'a');
  let lines = 0;
  let bytes = 0;
  return {
    path,
    eventIds: [],
    get lines() {
      return lines;
    },
    get bytes() {
      return bytes;
    },
    write(n) {
      if (fd === null) throw new Error('log writer is closed');
      for (let i = 0; i < n; i++) {
        const { parts } = templates[lines % templates.length]!;
        const ids: string[] = [];
        let line = `{"msec":"${(Date.now() / 1000).toFixed(3)}"${parts[0]!}`;
        for (let k = 1; k < parts.length; k++) {
          const id = `${prefix}-0000-4000-a000-${(counter++).toString(16).padStart(12, '0')}`;
          ids.push(id);
          line += id + parts[k]!;
        }
        const data = Buffer.from(`${line}\n`);
        writeSync(fd, data);
        lines++;
        bytes += data.length;
        opts.onWritten?.(ids);
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
