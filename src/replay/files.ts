/** Finding replay inputs and putting them in time order. */
import { open, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { isGzipPath } from '../input/fingerprint';
import { createPathMatcher, expandPaths, hasGlob } from '../input/glob';
import { openLineSource } from '../input/line-source';
import type { LineParser } from '../nginx/record';

/** Files named or matched, in the order given; a named file that does not exist is reported by the caller. */
export async function resolveInputs(args: string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  for (const arg of args) {
    const abs = isAbsolute(arg) ? arg : resolve(arg);
    if (hasGlob(arg)) {
      const found = await expandPaths(createPathMatcher([abs]));
      if (found.length === 0) missing.push(arg);
      files.push(...found);
    } else {
      files.push(abs);
    }
  }
  return { files: [...new Set(files)], missing };
}

/** Uncompressed size: the file size, or for gzip the ISIZE trailer (exact below 4 GiB). */
export async function uncompressedSize(path: string): Promise<number> {
  const st = await stat(path);
  if (!isGzipPath(path) || st.size < 18) return st.size;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    await fh.read(buf, 0, 4, st.size - 4);
    return buf.readUInt32LE(0);
  } finally {
    await fh.close();
  }
}

/** The request time of the first line that has one, or undefined (unreadable, empty, no times). */
export async function firstTimestamp(path: string, parser: LineParser): Promise<number | undefined> {
  try {
    for await (const batch of await openLineSource(path, { maxBatchLines: 100 })) {
      for (const line of batch.lines) {
        const r = parser(line.text);
        if (r.ok && r.record.timestampMs !== undefined) return r.record.timestampMs;
      }
      return undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Rotated logs (access.log.3.gz, .2.gz, .1, access.log) are replayed oldest first: by the time of
 * their first line; files without one keep their place at the end, in name order.
 */
export async function inTimeOrder(files: string[], parser: LineParser): Promise<string[]> {
  const keyed = await Promise.all(files.map(async (f, i) => ({ f, i, t: await firstTimestamp(f, parser) })));
  keyed.sort((a, b) => (a.t ?? Infinity) - (b.t ?? Infinity) || a.i - b.i);
  return keyed.map((k) => k.f);
}
