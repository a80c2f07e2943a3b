/**
 * Where a replay with `--state` starts in a file. Files are known by the fingerprint of their
 * first bytes; a file shorter than that by the hash of all of it, so a rotated or compressed copy
 * of a short file is the same file, and a new file on a reused inode is not. A short file that has
 * grown (new hash, or a fingerprint now) is found again by its path and the hash of its old bytes.
 */
import { stat } from 'node:fs/promises';
import { DEFAULT_FINGERPRINT_BYTES, fingerprintOfBytes, isGzipPath, readHead } from '../input/fingerprint';
import { gzipTrailerSize } from '../input/line-source';
import type { FileProgress, ReplayState } from './state';

export interface ResumePoint {
  /** The file's key in the state. */
  key: string;
  /** Delivered to its end before, and unchanged since. */
  done: boolean;
  /** Decompressed byte offset to read from. */
  startOffset: number;
  /** Size on disk now (compressed for .gz). */
  bytes: number;
  /** Last modification, epoch ms. */
  mtimeMs: number;
  /** A key of the state this file was known by before it grew; it is replaced by `key`. */
  replaces?: string;
}

export function isShortKey(key: string): boolean {
  return key.startsWith('short:');
}

/** `sourceKey` is the line source's: a fingerprint, or `short:<dev>:<ino>` for a short file. */
export async function resumePoint(path: string, sourceKey: string, state: ReplayState): Promise<ResumePoint> {
  const { size: bytes, mtimeMs } = await stat(path);
  const key = isShortKey(sourceKey) ? await shortKey(path, sourceKey) : sourceKey;
  let prev: FileProgress | undefined = state.files[key];
  let replaces: string | undefined;
  if (!prev) {
    for (const [k, e] of Object.entries(state.files)) {
      if (e.prefixHash !== undefined && e.path === path && (await prefixHashOf(path, e.offset)) === e.prefixHash) {
        prev = e;
        replaces = k;
        break;
      }
    }
  }
  if (!prev) return { key, done: false, startOffset: 0, bytes, mtimeMs };
  const gz = isGzipPath(path);
  // A .gz is done when its bytes did not change, or its trailer gives the delivered size (one
  // member); a multi-member archive that grew (nginx's `gzip` access_log) is read on.
  const done = prev.done && (gz ? (isGzipPath(prev.path) && prev.bytes === bytes) || (await gzipTrailerSize(path)) === prev.offset % 2 ** 32 : prev.offset >= bytes);
  // A plain file shorter than the offset was truncated: from 0. A .gz is skipped to the offset
  // while decompressing (its trailer does not give a multi-member archive's size).
  const startOffset = gz || prev.offset <= bytes ? prev.offset : 0;
  return replaces === undefined ? { key, done, startOffset, bytes, mtimeMs } : { key, done, startOffset, bytes, mtimeMs, replaces };
}

/** A hash of all of a short file; an empty file has no content to know it by, so it keeps its inode key. */
async function shortKey(path: string, inodeKey: string): Promise<string> {
  const content = await readHead(path, DEFAULT_FINGERPRINT_BYTES);
  return content.length === 0 ? inodeKey : `short:${fingerprintOfBytes(content)}`;
}

/** What a short file's entry keeps to be recognised after it grows. */
export async function prefixHashOf(path: string, offset: number): Promise<string> {
  return fingerprintOfBytes(await readHead(path, offset));
}
