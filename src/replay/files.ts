/** Finding replay inputs and putting them in time order. */
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { isGzipPath } from '../input/fingerprint';
import { createPathMatcher, expandPaths, hasGlob } from '../input/glob';
import { gzipTrailerSize, openLineSource } from '../input/line-source';
import type { LineParser } from '../nginx/record';

/**
 * Files named or matched, in the order given. What cannot be replayed is named in `unusable`
 * (missing, a directory, a FIFO or device that would block the run) and left out.
 */
export async function resolveInputs(args: string[]): Promise<{ files: string[]; unusable: string[] }> {
  const files: string[] = [];
  const unusable: string[] = [];
  for (const arg of args) {
    const abs = isAbsolute(arg) ? arg : resolve(arg);
    if (hasGlob(arg)) {
      const found = await expandPaths(createPathMatcher([abs]));
      if (found.length === 0) unusable.push(`${arg}: no such file`);
      files.push(...found);
    } else {
      files.push(abs);
    }
  }
  const usable: string[] = [];
  for (const file of new Set(files)) {
    const why = await whyNotReplayable(file);
    if (why) unusable.push(`${file}: ${why}`);
    else usable.push(file);
  }
  return { files: usable, unusable };
}

async function whyNotReplayable(file: string): Promise<string | undefined> {
  try {
    const st = await stat(file);
    if (st.isDirectory()) return 'is a directory (give its files, e.g. a quoted glob like dir/*.log*)';
    if (!st.isFile()) return 'not a regular file (a FIFO or device would block the replay)';
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((err as NodeJS.ErrnoException).code ?? err);
  }
}

/** Uncompressed size: the file size, or for gzip the ISIZE trailer (exact below 4 GiB, for a single member). */
export async function uncompressedSize(path: string): Promise<number> {
  if (!isGzipPath(path)) return (await stat(path)).size;
  return (await gzipTrailerSize(path)) ?? (await stat(path)).size;
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
