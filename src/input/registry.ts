/**
 * The registry of read positions: one JSON file in the data directory, keyed by file identity.
 * Written atomically (temp file, fsync, rename, fsync of the directory) so a crash leaves either
 * the old or the new version, never a torn one.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export const REGISTRY_FILE = 'input-registry.json';
const VERSION = 1;

export interface RegistryEntry {
  /** Last known path of the file. */
  path: string;
  /** Byte offset up to which every line was acknowledged: reading resumes here. */
  offset: number;
  /** Device and inode numbers (decimal strings): a hint only, identity is the key. */
  dev: string;
  ino: string;
  /** File size when last seen. */
  size: number;
  /** Epoch ms of the last change of this entry. */
  updatedAt: number;
  /** Epoch ms when the file was found gone; the entry is dropped `cleanRemovedAfterMs` later. */
  removedAt?: number;
  /** For files shorter than the fingerprint: sha256 of bytes [0, offset), checked before resuming. */
  prefixHash?: string;
}

export type RegistryEntries = Record<string, RegistryEntry>;

export interface RegistryState {
  entries: RegistryEntries;
  /**
   * Epoch ms of the save. A file created after it (less the time a scan may take to notice one)
   * and unknown to the registry appeared while nobody followed it: it is new, not old news.
   */
  savedAt?: number;
}

export function registryPath(dataDir: string): string {
  return join(dataDir, REGISTRY_FILE);
}

/** A registry that exists but cannot be read as one: never replaced, never taken for an empty one. */
export class RegistryCorruptError extends Error {}

/** Loads the registry; a missing file is an empty registry, a corrupt one is an error (never silently reread everything). */
export async function loadRegistryState(dataDir: string): Promise<RegistryState> {
  let text: string;
  try {
    text = await readFile(registryPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: {} };
    throw err;
  }
  const corrupt = (why: string) =>
    new RegistryCorruptError(
      `${registryPath(dataDir)}: ${why}. It holds the read offsets of every file: restore it from a backup, or move it away to start over (files are then read as input.startAt says)`,
    );
  let parsed: { version?: number; entries?: RegistryEntries; savedAt?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (err) {
    throw corrupt(`not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.version !== VERSION || typeof parsed.entries !== 'object' || parsed.entries === null) {
    throw corrupt(`not a version ${VERSION} tailplow input registry`);
  }
  const savedAt = typeof parsed.savedAt === 'number' && Number.isFinite(parsed.savedAt) ? parsed.savedAt : undefined;
  return savedAt === undefined ? { entries: parsed.entries } : { entries: parsed.entries, savedAt };
}

export async function loadRegistry(dataDir: string): Promise<RegistryEntries> {
  return (await loadRegistryState(dataDir)).entries;
}

export async function saveRegistry(dataDir: string, entries: RegistryEntries, savedAt?: number): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const target = registryPath(dataDir);
  const temp = `${target}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(JSON.stringify({ version: VERSION, savedAt, entries }, null, 1));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, target);
  const dir = await open(dataDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
