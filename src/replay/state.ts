/**
 * `--state FILE`: which files (by fingerprint) a replay has delivered, and up to where, so a
 * cron job can re-run the same command: finished files are skipped, a grown file continues,
 * an interrupted one resumes. Written atomically; offsets only cover delivered lines.
 * A lock file next to it stops two runs from sharing one state.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileProgress {
  path: string;
  /** Decompressed bytes delivered: the next run starts here. */
  offset: number;
  /** The file was read to its end and everything in it delivered. */
  done: boolean;
  updatedAt: string;
  /** Size on disk (compressed for .gz) when this was recorded: an archive that changed since is read on. */
  bytes?: number;
  /** Files shorter than a fingerprint: sha256 of their first `offset` bytes, to know them once they grow. */
  prefixHash?: string;
}

export interface ReplayState {
  version: 1;
  files: Record<string, FileProgress>;
}

export async function loadState(file: string): Promise<ReplayState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, files: {} };
    throw err;
  }
  const parsed = JSON.parse(text) as ReplayState;
  if (parsed.version !== 1 || typeof parsed.files !== 'object') throw new Error(`${file} is not a tailplow replay state file`);
  return parsed;
}

export async function saveState(file: string, state: ReplayState): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(state, null, 1));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class LockedError extends Error {}

/**
 * Takes `${file}.lock` (O_EXCL, holding our pid). A lock whose process is gone is stale and taken
 * over, so a run killed with -9 does not block the next cron run forever.
 */
export function acquireLock(file: string): () => void {
  const lock = `${file}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lock);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSafe(lock));
      if (holder > 0 && isAlive(holder)) {
        throw new LockedError(`another replay (pid ${holder}) is using ${file}; lock file ${lock}`);
      }
      unlinkSync(lock);
    }
  }
  throw new LockedError(`could not take the lock ${lock}`);
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
