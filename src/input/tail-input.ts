/**
 * Follows log files like Filebeat: finds them by glob, identifies them by fingerprint, reads new
 * lines with exact byte offsets and hands them out as batches on demand. The saved offset of a
 * file only moves over batches the consumer acknowledged, so a crash re-delivers, never loses.
 *
 * Everything that touches files runs under one lock (`exclusive`): the consumer's reads and scans,
 * and the periodic housekeeping. `ack` only updates counters and never waits.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../util/logger';
import { createAckTracker, type AckTracker } from './ack-tracker';
import { resolveTailInputConfig, type TailInputConfig, type TailInputOptions } from './config';
import { fingerprintOfBytes, isGzipPath, readHead } from './fingerprint';
import { createPathMatcher, expandPaths } from './glob';
import { fileChunks, gzipTrailerSize } from './line-source';
import { createLineSplitter, type LineSplitter } from './line-splitter';
import { loadRegistryState, saveRegistry as writeRegistry, type RegistryEntries } from './registry';
import { systemClock, type Clock, type LineBatch } from './types';

export interface TailInputDeps {
  clock?: Clock;
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
}

export type FileState = 'reading' | 'idle' | 'finished' | 'compressed';

export interface FileStats {
  fileKey: string;
  path: string;
  /** Acknowledged offset: what the registry saves. */
  offset: number;
  /** Offset read up to (handed out or buffered). */
  readOffset: number;
  size: number;
  /** size - offset: bytes not yet acknowledged. */
  bytesBehind: number;
  open: boolean;
  state: FileState;
}

export interface TailInputStats {
  files: FileStats[];
  openFiles: number;
  inFlightBatches: number;
  /** savedAt: when the registry on disk last held the current offsets (epoch ms; null: not yet); error: why the last save failed. */
  registry: { savedAt: number | null; error: string | null };
}

export interface TailInput {
  /** The batches, in file order per file, round robin across files. Waits while nothing is new. */
  batches(): AsyncIterable<LineBatch>;
  /** Acknowledges a batch handed out by `batches()`; any order; unknown batches are ignored. */
  ack(batch: LineBatch): void;
  /** Writes the registry now (it is also written every `registryFlushMs` when changed, and on close). */
  saveRegistry(): Promise<void>;
  stats(): TailInputStats;
  /** Ends `batches()`, closes files and watchers, saves the registry. */
  close(): Promise<void>;
}

const MIN_SCAN_GAP_MS = 20;

interface PathStat {
  path: string;
  dev: string;
  ino: string;
  size: number;
  /** Birth time (epoch ms), or the change time where the filesystem does not record births. */
  bornMs: number;
}

interface Tracked {
  key: string;
  path: string;
  dev: string;
  ino: string;
  size: number;
  updatedAt: number;
  removedAt: number | null;
  /** Seen at `path` in the last scan. */
  present: boolean;
  /** Matched to a file since startup (entries loaded from the registry start unverified). */
  verified: boolean;
  /** Now only exists as a .gz archive: never read again. */
  compressed: boolean;
  /** Gone and read to its end. */
  finished: boolean;
  /** Identity dropped (truncated in place); late acks of its batches change nothing. */
  retired: boolean;
  splitter: LineSplitter;
  acks: AckTracker;
  /** Bytes read from the file so far (split or waiting in `leftover`). */
  readPos: number;
  /** Read but not yet split because the batch was full. */
  leftover: Buffer | null;
  /** While the key is `short:`: the first min(readPos, fingerprintBytes) bytes, to fix the fingerprint without rereading. */
  head: Buffer | null;
  /** For short entries loaded from the registry: sha256 of bytes [0, offset). */
  prefixHash: string | undefined;
  handle: FileHandle | null;
  /**
   * The decompressed rest of a file that was compressed before its end was read, with no
   * descriptor of the plain file left to finish it from (rotated while stopped, or while closed).
   */
  archive: AsyncGenerator<Buffer> | null;
  atEof: boolean;
  /**
   * Set when reading caught up with the file: before reading on, its first bytes are checked, so a
   * truncation followed by more writes than before is not mistaken for an append.
   */
  checkHead: boolean;
  /** Set when the first bytes no longer match: the next scan treats the file as truncated. */
  suspect: boolean;
  /** Bumped by change events, so a read racing an event does not mark the file idle. */
  changeSeq: number;
  lastReadAt: number;
  savedOffset: number;
}

interface BatchTicket {
  tracked: Tracked;
  acks: AckTracker;
  id: number;
  acked: boolean;
}

interface SkippedPath {
  /** dev:ino:size when it was looked at; a change means look again. */
  signature: string;
  /** Fingerprint of a copy of a tracked file, or null (unknown .gz, or unreadable). */
  key: string | null;
  stat: PathStat;
}

export function createTailInput(options: TailInputOptions, deps: TailInputDeps = {}): TailInput {
  const config: TailInputConfig = resolveTailInputConfig(options);
  const clock = deps.clock ?? systemClock;
  const log = deps.logger ?? silentLogger;
  const matcher = createPathMatcher(config.paths, config.exclude);
  const fpBytes = config.fingerprintBytes;

  const tracked = new Map<string, Tracked>();
  /** Paths of the registry's entries at startup. */
  const pathsInRegistry = new Set<string>();
  /**
   * Files created after this (wall-clock ms, compared with file times, so not the injectable
   * clock) were not there for the last run to see: its last registry save, less a margin for
   * files created just before it that no scan had looked at yet. Undefined on a first start.
   */
  let unseenSince: number | undefined;
  let byPath = new Map<string, Tracked>();
  const skipped = new Map<string, SkippedPath>();
  const tickets = new WeakMap<LineBatch, BatchTicket>();
  const watchers = new Map<string, FSWatcher>();
  const readBuffer = Buffer.allocUnsafe(config.readBufferBytes);
  let inFlight = 0;
  let openFiles = 0;
  let roundRobin = 0;
  let scanNeeded = false;
  let lastScanAt = 0;
  let closed = false;
  let lastSavedJson = '';

  // --- one lock for everything that touches files ---
  let lockTail: Promise<unknown> = Promise.resolve();
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = lockTail.then(fn, fn);
    lockTail = run.catch(() => undefined);
    return run;
  }

  // --- waking the consumer ---
  let wakeUp: (() => void) | null = null;
  function wake(): void {
    const w = wakeUp;
    wakeUp = null;
    w?.();
  }
  function waitForWake(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, config.pollIntervalMs);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  // --- tracked files ---
  function newTracked(key: string, s: Omit<PathStat, 'bornMs'>, start: number, head: Buffer | null): Tracked {
    const t: Tracked = {
      key,
      path: s.path,
      dev: s.dev,
      ino: s.ino,
      size: s.size,
      updatedAt: clock.now(),
      removedAt: null,
      present: true,
      verified: true,
      compressed: false,
      finished: false,
      retired: false,
      splitter: createLineSplitter(start, config.maxLineBytes),
      acks: createAckTracker(start),
      readPos: start,
      leftover: null,
      head,
      prefixHash: undefined,
      handle: null,
      archive: null,
      atEof: s.size <= start,
      checkHead: false,
      suspect: false,
      changeSeq: 0,
      lastReadAt: clock.now(),
      savedOffset: -1,
    };
    tracked.set(key, t);
    return t;
  }

  function resetPosition(t: Tracked, offset: number): void {
    t.splitter = createLineSplitter(offset, config.maxLineBytes);
    t.acks = createAckTracker(offset);
    t.readPos = offset;
    t.leftover = null;
  }

  async function closeHandle(t: Tracked): Promise<void> {
    if (t.archive) {
      await t.archive.return(undefined).catch(() => undefined);
      t.archive = null;
    }
    const handle = t.handle;
    if (!handle) return;
    t.handle = null;
    openFiles--;
    await handle.close().catch(() => undefined);
  }

  async function retire(t: Tracked): Promise<void> {
    t.retired = true;
    await closeHandle(t);
    if (tracked.get(t.key) === t) tracked.delete(t.key);
  }

  function markFinished(t: Tracked): void {
    t.finished = true;
    t.removedAt ??= clock.now();
  }

  function isReadable(t: Tracked): boolean {
    return !t.retired && !t.finished && (!t.compressed || t.handle !== null || t.archive !== null);
  }

  // --- startup ---
  async function loadEntries(): Promise<void> {
    const { entries, savedAt } = await loadRegistryState(config.dataDir);
    if (savedAt !== undefined) unseenSince = savedAt - Math.max(5_000, 2 * config.pollIntervalMs);
    for (const [key, e] of Object.entries(entries)) {
      pathsInRegistry.add(e.path);
      const t = newTracked(key, { path: e.path, dev: e.dev, ino: e.ino, size: e.size }, e.offset, null);
      t.verified = false;
      t.present = false;
      t.updatedAt = e.updatedAt;
      t.removedAt = e.removedAt ?? null;
      t.prefixHash = e.prefixHash;
      t.compressed = isGzipPath(e.path);
      t.savedOffset = e.offset;
    }
  }

  /** Where to start in a file found at startup that the registry does not know. */
  async function startOfPresentFile(s: PathStat): Promise<number> {
    for (const t of tracked.values()) {
      if (!t.verified && !t.retired && (t.path === s.path || (t.dev === s.dev && t.ino === s.ino))) {
        log.warn({ path: s.path, savedOffset: t.readPos, size: s.size }, 'file content changed while stopped (truncated or replaced): reading it from the beginning');
        return 0;
      }
    }
    // The registry followed a file at this path, and this is another one: it was written while we
    // were stopped (the old one rotated away), whether or not its entry was matched to the rotated
    // file already in this scan (a name like app.2026-12-06.log lists before app.log).
    if (pathsInRegistry.has(s.path)) {
      log.info({ path: s.path }, 'new file at a path followed before the restart (rotated while stopped): reading it from the beginning');
      return 0;
    }
    // Created since the last run stopped, yet unknown: written while nobody followed it (a second
    // rotation while stopped, the next day's dated file). startAt is for what predates us.
    if (unseenSince !== undefined && s.bornMs >= unseenSince) {
      log.info({ path: s.path }, 'file created since the last registry save (rotated or new while stopped): reading it from the beginning');
      return 0;
    }
    return config.startAt === 'beginning' ? 0 : lineStartBefore(s.path, s.size);
  }

  /** The start of the line after the last newline before `end`, so following starts on a line boundary. */
  async function lineStartBefore(path: string, end: number): Promise<number> {
    if (end === 0) return 0;
    const handle = await open(path, 'r');
    try {
      for (const window of [Math.min(end, 64 * 1024), Math.min(end, config.maxLineBytes + 1)]) {
        const buf = Buffer.alloc(window);
        const { bytesRead } = await handle.read(buf, 0, window, end - window);
        const newline = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
        if (newline >= 0) return end - window + newline + 1;
        if (window === end) return 0;
      }
      return end;
    } finally {
      await handle.close();
    }
  }

  // --- scanning: which file is where ---
  async function statPaths(): Promise<PathStat[]> {
    const out: PathStat[] = [];
    for (const path of await expandPaths(matcher)) {
      try {
        const st = await stat(path, { bigint: true });
        if (st.isFile()) out.push({ path, dev: String(st.dev), ino: String(st.ino), size: Number(st.size), bornMs: Number(st.birthtimeMs > 0n ? st.birthtimeMs : st.ctimeMs) });
      } catch {
        // Vanished between listing and stat: the next scan settles it.
      }
    }
    return out;
  }

  /** Whether the file behind the open descriptor no longer starts with the bytes it had. */
  async function headChanged(t: Tracked): Promise<boolean> {
    if (!t.handle) return false;
    const expected = t.head ?? (t.key.startsWith('short:') ? null : fpBytes);
    if (expected === null) return false;
    const length = typeof expected === 'number' ? expected : expected.length;
    if (length === 0) return false;
    const buf = Buffer.alloc(length);
    const { bytesRead } = await t.handle.read(buf, 0, length, 0);
    if (bytesRead < length) return true;
    return typeof expected === 'number' ? fingerprintOfBytes(buf) !== t.key : !buf.equals(expected);
  }

  async function contentReplaced(t: Tracked, s: PathStat): Promise<boolean> {
    if (!t.suspect && s.size === t.size) return false;
    t.suspect = false;
    return headChanged(t);
  }

  /** A short file that has grown: do its first fingerprintBytes now match another tracked file? */
  async function growsIntoKnownFile(t: Tracked, s: PathStat): Promise<boolean> {
    const head = await readHead(s.path, fpBytes).catch(() => null);
    if (!head || head.length < fpBytes) return false;
    const other = tracked.get(fingerprintOfBytes(head));
    return other !== undefined && other !== t;
  }

  async function prefixMatches(t: Tracked, s: PathStat): Promise<boolean> {
    if (t.head) {
      if (s.size < t.head.length) return false;
      return (await readHead(s.path, t.head.length)).equals(t.head);
    }
    if (t.prefixHash === undefined || s.size < t.readPos) return false;
    const head = await readHead(s.path, t.readPos);
    if (fingerprintOfBytes(head) !== t.prefixHash) return false;
    t.head = head;
    return true;
  }

  /**
   * A known file found compressed with nothing open to finish it from: what was not read yet is
   * read from the archive (decompressed offsets are the plain file's), unless gzip's trailer says
   * there is nothing left (ISIZE is the decompressed size mod 2^32; a mismatch just decompresses).
   */
  async function readRestOfArchive(t: Tracked, s: PathStat): Promise<void> {
    const size = await gzipTrailerSize(s.path).catch(() => null);
    if (size === t.readPos % 2 ** 32) {
      log.info({ path: s.path, fileKey: t.key }, 'known file was compressed after it was read to its end: not reading it again');
      return;
    }
    log.info({ path: s.path, fileKey: t.key, offset: t.readPos }, 'known file was compressed before its end was read: reading the rest from the archive');
    t.archive = fileChunks(s.path, t.readPos, config.readBufferBytes);
    t.atEof = false;
  }

  function adopt(t: Tracked, s: PathStat, seen: Set<Tracked>): Promise<void> | void {
    seen.add(t);
    t.removedAt = null;
    t.finished = false;
    t.updatedAt = clock.now();
    if (isGzipPath(s.path) && (t.compressed || !(t.dev === s.dev && t.ino === s.ino))) {
      // Rotated and compressed: a still-open descriptor of the plain file is read to its end.
      // An archive renamed again (logrotate shifting .1.gz to .2.gz) keeps its inode; it stays
      // compressed and is never taken for a truncated plain file.
      const unread = !t.compressed && !t.handle && !t.retired;
      if (!t.compressed && !unread) log.info({ path: s.path, from: t.path, fileKey: t.key }, 'known file was compressed: not reading it again');
      t.compressed = true;
      t.path = s.path;
      t.dev = s.dev;
      t.ino = s.ino;
      t.verified = true;
      return unread ? readRestOfArchive(t, s) : undefined;
    }
    const sameInode = t.dev === s.dev && t.ino === s.ino;
    if (t.path !== s.path && t.verified) log.info({ from: t.path, to: s.path, fileKey: t.key }, 'file renamed');
    t.path = s.path;
    t.dev = s.dev;
    t.ino = s.ino;
    t.size = s.size;
    t.verified = true;
    if (t.readPos > s.size) {
      log.warn({ path: s.path, savedOffset: t.readPos, size: s.size }, 'file is shorter than the saved offset (truncated): reading it from the beginning');
      resetPosition(t, 0);
      if (t.head) t.head = Buffer.alloc(0);
    }
    if (s.size > t.readPos) t.atEof = false;
    if (!sameInode) return closeHandle(t);
  }

  async function resolve(s: PathStat, initial: boolean, seen: Set<Tracked>): Promise<void> {
    const gz = isGzipPath(s.path);
    const signature = `${s.dev}:${s.ino}:${s.size}`;
    let head: Buffer;
    try {
      head = await readHead(s.path, fpBytes);
    } catch (err) {
      skipped.set(s.path, { signature, key: null, stat: s });
      log.warn({ path: s.path, err: String(err) }, 'cannot read file: skipping it');
      return;
    }
    if (head.length >= fpBytes) {
      const key = fingerprintOfBytes(head);
      const t = tracked.get(key);
      if (t && seen.has(t) && !(t.dev === s.dev && t.ino === s.ino)) {
        // A copy of a file that is still in place (copytruncate's first step): never read twice.
        skipped.set(s.path, { signature, key, stat: s });
        return;
      }
      if (t) return adopt(t, s, seen);
      // A file tracked while short that has grown: same inode and the same first bytes.
      const short = gz ? undefined : tracked.get(`short:${s.dev}:${s.ino}`);
      if (short && !seen.has(short) && (await prefixMatches(short, s))) return adopt(short, s, seen);
      if (gz) {
        if (!skipped.has(s.path)) log.info({ path: s.path }, 'compressed file with no saved offset: not followed (use replay for historic files)');
        skipped.set(s.path, { signature, key: null, stat: s });
        return;
      }
      const start = initial ? await startOfPresentFile(s) : 0;
      seen.add(newTracked(key, s, start, null));
      log.info({ path: s.path, fileKey: key, offset: start }, 'following file');
      return;
    }
    if (gz) {
      skipped.set(s.path, { signature, key: null, stat: s });
      return;
    }
    const key = `short:${s.dev}:${s.ino}`;
    const previous = tracked.get(key);
    if (previous && !seen.has(previous) && (await prefixMatches(previous, s))) return adopt(previous, s, seen);
    // Before the stale entry is retired: while it is there, a file replaced while we were stopped
    // is read from 0 even under startAt 'end' (its content is new to us, not old news).
    const start = initial ? await startOfPresentFile(s) : 0;
    if (previous && !seen.has(previous)) {
      log.info({ path: s.path, stalePath: previous.path }, 'inode reused by a different file: treating it as new');
      await retire(previous);
    }
    seen.add(newTracked(key, s, start, start > 0 ? await readHead(s.path, start) : Buffer.alloc(0)));
    log.info({ path: s.path, fileKey: key, offset: start }, 'following file');
  }

  /**
   * copytruncate's copy, when an earlier scan caught it while `cp` had written less than the
   * fingerprint: it is tracked as a short file of its own. If it now holds the truncated file's
   * fingerprint and reaches its offset, it is the copy: stop following it on its own (that would
   * read the copied lines again) and return it like a skipped copy.
   */
  async function copyStillShort(t: Tracked, stats: PathStat[]): Promise<[string, SkippedPath] | undefined> {
    for (const u of tracked.values()) {
      if (u === t || u.retired || !u.key.startsWith('short:')) continue;
      const s = stats.find((x) => x.path === u.path && x.dev === u.dev && x.ino === u.ino);
      if (!s || s.size < t.readPos || s.size < fpBytes) continue;
      const head = await readHead(s.path, fpBytes).catch(() => null);
      if (!head || fingerprintOfBytes(head) !== t.key) continue;
      log.info({ path: s.path, fileKey: t.key }, 'a file followed while shorter than the fingerprint is a copy of a truncated file');
      await retire(u);
      return [s.path, { signature: `${s.dev}:${s.ino}:${s.size}`, key: t.key, stat: s }];
    }
    return undefined;
  }

  async function scan(initial: boolean): Promise<void> {
    const stats = await statPaths();
    const seen = new Set<Tracked>();
    const unresolved: PathStat[] = [];
    const truncated: { t: Tracked; s: PathStat }[] = [];
    const byInode = new Map<string, Tracked>();
    // A finished file is gone: a file now at its path and inode is a reused inode until its content says otherwise.
    for (const t of tracked.values()) if (t.verified && !t.finished) byInode.set(`${t.path}\0${t.dev}\0${t.ino}`, t);
    for (const s of stats) {
      const t = byInode.get(`${s.path}\0${s.dev}\0${s.ino}`);
      if (!t) {
        unresolved.push(s);
        continue;
      }
      seen.add(t);
      if (t.compressed) {
        // The plain file's descriptor, if still open: read its rest, then it closes once deleted.
        if (t.handle) t.atEof = false;
        continue;
      }
      if (s.size < t.readPos || (await contentReplaced(t, s))) {
        truncated.push({ t, s });
        continue;
      }
      if (s.size !== t.size) t.updatedAt = clock.now();
      t.size = s.size;
      if (s.size > t.readPos) t.atEof = false;
      if (t.head && s.size >= fpBytes && (await growsIntoKnownFile(t, s))) {
        // A copy caught while `cp` was still writing it (copytruncate): resolve it as a whole,
        // before the truncation of its original is looked at, so the copy is not read again.
        seen.delete(t);
        await retire(t);
        unresolved.push(s);
      }
    }
    // A saved entry goes to the file on its own inode before any copy of it (a backup that lists
    // first, app.bak.log): the copy is then skipped, not the file that keeps growing.
    const savedInodes = new Set<string>();
    for (const t of tracked.values()) if (!t.verified && !t.retired) savedInodes.add(`${t.dev}:${t.ino}`);
    if (savedInodes.size > 0) unresolved.sort((a, b) => Number(savedInodes.has(`${b.dev}:${b.ino}`)) - Number(savedInodes.has(`${a.dev}:${a.ino}`)));
    for (const s of unresolved) {
      const known = skipped.get(s.path);
      if (known && known.signature === `${s.dev}:${s.ino}:${s.size}`) continue;
      await resolve(s, initial, seen);
    }
    for (const { t, s } of truncated) {
      const copy = [...skipped.entries()].find(([, v]) => v.key === t.key && v.stat.size >= t.readPos) ?? (await copyStillShort(t, stats));
      if (copy) {
        // copytruncate: the rest of the old content is in the copy; finish reading it there.
        const [copyPath, { stat: c }] = copy;
        log.info({ path: t.path, copy: copyPath, fileKey: t.key }, 'file copied and truncated: finishing the copy');
        await closeHandle(t);
        skipped.delete(copyPath);
        t.path = copyPath;
        t.dev = c.dev;
        t.ino = c.ino;
        t.size = c.size;
        t.atEof = false;
      } else {
        log.warn({ path: t.path, offset: t.readPos, size: s.size }, 'file truncated: reading it from the beginning');
        // Kept (finished, offset intact) rather than forgotten: a copytruncate copy this scan could
        // not list yet (readdir before the copy, stat after the truncation) is adopted at its offset
        // when it shows up, instead of being read again from 0. It is cleaned like a removed file.
        await closeHandle(t);
        seen.delete(t);
        markFinished(t);
      }
      await resolve(s, false, seen);
    }
    const listed = new Set(stats.map((s) => s.path));
    for (const path of skipped.keys()) if (!listed.has(path)) skipped.delete(path);
    for (const t of tracked.values()) {
      t.present = seen.has(t);
      if (t.present || t.finished) continue;
      if (t.handle) t.atEof = false; // read what is left, then finish
      else markFinished(t);
    }
    byPath = new Map();
    for (const t of tracked.values()) if (!t.finished) byPath.set(t.path, t);
    if (config.usePolling !== 'always') ensureWatchers();
  }

  // --- change events ---
  function ensureWatchers(): void {
    for (const root of matcher.roots) {
      if (watchers.has(root.dir)) continue;
      try {
        const w = watch(root.dir, { recursive: root.maxDepth > 1, persistent: false }, (event, name) => onChange(root.dir, event, name));
        w.on('error', () => {
          w.close();
          watchers.delete(root.dir);
          scanNeeded = true;
        });
        watchers.set(root.dir, w);
      } catch {
        // The directory does not exist yet; a later scan retries.
      }
    }
  }

  function onChange(dir: string, event: string, name: string | Buffer | null): void {
    const t = name ? byPath.get(join(dir, name.toString())) : undefined;
    if (t) {
      t.changeSeq++;
      t.atEof = false;
    }
    if (!t || event === 'rename') scanNeeded = true;
    wake();
  }

  // --- reading ---
  async function ensureOpen(t: Tracked): Promise<boolean> {
    if (t.handle) return true;
    if (t.compressed) return false;
    while (openFiles >= config.maxOpenFiles) {
      const victim = pickEvictee(t);
      if (!victim) break;
      await closeHandle(victim);
    }
    try {
      const handle = await open(t.path, 'r');
      const st = await handle.stat({ bigint: true });
      if (String(st.dev) !== t.dev || String(st.ino) !== t.ino) {
        await handle.close();
        scanNeeded = true;
        return false;
      }
      t.handle = handle;
      openFiles++;
      // It may have been truncated and rewritten while it was closed.
      t.checkHead = true;
      return true;
    } catch {
      scanNeeded = true;
      return false;
    }
  }

  /** The descriptor to close for the cap: idle files in place first, least recently read first. */
  function pickEvictee(except: Tracked): Tracked | null {
    let best: Tracked | null = null;
    let bestRank = Infinity;
    for (const t of tracked.values()) {
      if (!t.handle || t === except) continue;
      // Closing a gone file would lose its unread rest, so those are closed last.
      const rank = (t.present ? 0 : 2) + (t.atEof && !t.leftover ? 0 : 1);
      if (rank < bestRank || (rank === bestRank && best && t.lastReadAt < best.lastReadAt)) {
        best = t;
        bestRank = rank;
      }
    }
    return best;
  }

  /**
   * Completes the fingerprint of a short file. Returns false when the file turns out to be a
   * known file under another inode: a copy seen while it was still being written (copytruncate's
   * `cp` caught after its first bytes). Reading it on would hand out the copied lines again.
   */
  function absorbHead(t: Tracked, chunk: Buffer): boolean {
    if (!t.head) return true;
    const need = fpBytes - t.head.length;
    t.head = Buffer.concat([t.head, chunk.subarray(0, need)]);
    if (t.head.length < fpBytes) return true;
    const key = fingerprintOfBytes(t.head);
    t.head = null;
    if (tracked.has(key)) {
      log.info({ path: t.path, fileKey: key }, 'file grew into the fingerprint of a known file (a copy being written): looking at it again as a whole');
      return false;
    }
    log.debug({ path: t.path, from: t.key, fileKey: key }, 'short file reached the fingerprint size');
    tracked.delete(t.key);
    t.key = key;
    tracked.set(key, t);
    return true;
  }

  async function readTurn(t: Tracked): Promise<LineBatch | null> {
    let chunk: Buffer;
    let fromReadBuffer = false;
    if (t.leftover) {
      chunk = t.leftover;
      t.leftover = null;
    } else if (t.archive) {
      const next = await t.archive.next().catch((err: unknown) => {
        log.warn({ path: t.path, offset: t.readPos, err: String(err) }, 'cannot read the rest of a compressed file: its unread lines are lost');
        return { done: true as const, value: undefined };
      });
      if (next.done) {
        t.archive = null;
        t.atEof = true;
        return null;
      }
      chunk = next.value;
      t.readPos += chunk.length;
      if (t.readPos > t.size) t.size = t.readPos;
      t.lastReadAt = clock.now();
    } else {
      if (!(await ensureOpen(t))) {
        t.atEof = true;
        if (!t.present && !t.compressed) markFinished(t);
        return null;
      }
      const handle = t.handle!;
      if (t.checkHead) {
        t.checkHead = false;
        if (await headChanged(t)) {
          t.suspect = true;
          t.atEof = true;
          scanNeeded = true;
          return null;
        }
      }
      const seq = t.changeSeq;
      const { bytesRead } = await handle.read(readBuffer, 0, readBuffer.length, t.readPos);
      if (bytesRead === 0) {
        t.checkHead = true;
        if (seq === t.changeSeq) t.atEof = true;
        const st = await handle.stat();
        if (st.size < t.readPos) scanNeeded = true;
        else if (st.nlink === 0 && (t.compressed || !t.present)) {
          // Deleted and read to its end.
          await closeHandle(t);
          if (!t.compressed) markFinished(t);
        }
        return null;
      }
      if (bytesRead < readBuffer.length) {
        t.checkHead = true;
        if (seq === t.changeSeq) t.atEof = true;
      }
      t.readPos += bytesRead;
      if (t.readPos > t.size) t.size = t.readPos;
      t.lastReadAt = clock.now();
      chunk = readBuffer.subarray(0, bytesRead);
      fromReadBuffer = true;
      if (!absorbHead(t, chunk)) {
        // Forget the inode-keyed entry; the next scan resolves the path by its full fingerprint
        // (a copy of a file in place is skipped, and found again if the original is truncated).
        await retire(t);
        scanNeeded = true;
        return null;
      }
    }
    const { lines, consumed } = t.splitter.feed(chunk, config.maxBatchLines);
    if (consumed < chunk.length) t.leftover = fromReadBuffer ? Buffer.from(chunk.subarray(consumed)) : chunk.subarray(consumed);
    if (lines.length === 0) return null;
    const batch: LineBatch = { fileKey: t.key, path: t.path, lines };
    tickets.set(batch, { tracked: t, acks: t.acks, id: t.acks.issued(lines[lines.length - 1]!.nextOffset), acked: false });
    inFlight++;
    return batch;
  }

  /** Round robin: each file gets one turn (one read of at most readBufferBytes) before the next. */
  async function readSomething(): Promise<LineBatch | null> {
    for (;;) {
      const files = [...tracked.values()];
      let anyReady = false;
      for (let i = 0; i < files.length; i++) {
        const index = (roundRobin + i) % files.length;
        const t = files[index]!;
        if (!isReadable(t) || (t.atEof && !t.leftover)) continue;
        anyReady = true;
        const batch = await readTurn(t);
        if (batch) {
          roundRobin = index + 1;
          return batch;
        }
        if (closed || inFlight >= config.maxInFlightBatches) return null;
      }
      if (!anyReady) return null;
    }
  }

  async function nextBatch(): Promise<LineBatch | null> {
    await ready;
    for (;;) {
      if (closed) return null;
      if (inFlight >= config.maxInFlightBatches) {
        await waitForWake();
        continue;
      }
      const batch = await exclusive(async () => {
        if (closed) return null;
        if (scanNeeded) {
          scanNeeded = false;
          lastScanAt = performance.now();
          await scan(false);
        }
        return readSomething();
      });
      if (batch) return batch;
      if (closed) return null;
      // A scan asked for right after one (a file that vanished while opening, say) waits a little: no busy loop.
      const sinceScan = performance.now() - lastScanAt;
      if (!scanNeeded) await waitForWake();
      else if (sinceScan < MIN_SCAN_GAP_MS) await new Promise((r) => setTimeout(r, MIN_SCAN_GAP_MS - sinceScan));
    }
  }

  // --- registry ---
  function snapshot(): RegistryEntries {
    const entries: RegistryEntries = {};
    const now = clock.now();
    for (const t of tracked.values()) {
      if (t.retired) continue;
      const offset = t.acks.committed();
      if (offset !== t.savedOffset) {
        t.savedOffset = offset;
        t.updatedAt = now;
      }
      entries[t.key] = { path: t.path, offset, dev: t.dev, ino: t.ino, size: t.size, updatedAt: t.updatedAt };
      if (t.removedAt !== null) entries[t.key]!.removedAt = t.removedAt;
      if (t.key.startsWith('short:')) {
        const prefix = t.head ? t.head.subarray(0, offset) : null;
        const hash = prefix && prefix.length === offset ? fingerprintOfBytes(prefix) : t.prefixHash;
        if (hash !== undefined) entries[t.key]!.prefixHash = hash;
      }
    }
    return entries;
  }

  let saving: Promise<void> = Promise.resolve();
  /** When the registry on disk was last known to hold the current offsets (epoch ms), and why the last save failed. */
  let registrySavedAt: number | null = null;
  let registryError: string | null = null;
  function save(): Promise<void> {
    // After a failed save (disk full) the next one still runs: the chain must not stay rejected.
    saving = saving
      .catch(() => undefined)
      .then(async () => {
        const entries = snapshot();
        const json = JSON.stringify(entries);
        if (json !== lastSavedJson) {
          await writeRegistry(config.dataDir, entries, Date.now());
          lastSavedJson = json;
        }
        if (registryError !== null) log.info('input registry saved again');
        registrySavedAt = Date.now();
        registryError = null;
      })
      .catch((err: unknown) => {
        if (registryError === null) log.warn({ err: String(err), dataDir: config.dataDir }, 'cannot save the input registry');
        registryError = String(err);
        throw err;
      });
    return saving;
  }

  async function housekeeping(): Promise<void> {
    const now = clock.now();
    for (const t of tracked.values()) {
      if (!t.handle || !t.atEof || t.leftover || now - t.lastReadAt < config.closeInactiveMs) continue;
      await closeHandle(t);
      if (!t.present && !t.compressed) markFinished(t);
    }
    for (const t of [...tracked.values()]) {
      if (t.removedAt !== null && now - t.removedAt >= config.cleanRemovedAfterMs && t.acks.inFlight() === 0) {
        log.info({ path: t.path, fileKey: t.key }, 'forgetting removed file');
        await retire(t);
      }
    }
  }

  const timers: NodeJS.Timeout[] = [];
  const ready = (async () => {
    await loadEntries();
    await exclusive(() => scan(true));
    timers.push(
      setInterval(() => {
        if (config.usePolling !== 'never') scanNeeded = true;
        void exclusive(housekeeping).then(wake, (err) => log.warn({ err: String(err) }, 'housekeeping failed'));
      }, config.pollIntervalMs),
      setInterval(() => void save().catch(() => undefined), config.registryFlushMs),
    );
    for (const timer of timers) timer.unref();
  })();
  // Startup errors surface from batches()/saveRegistry(); this only keeps them from being unhandled.
  ready.catch(() => undefined);

  return {
    batches() {
      return {
        [Symbol.asyncIterator]() {
          return {
            async next(): Promise<IteratorResult<LineBatch>> {
              const batch = await nextBatch();
              return batch ? { value: batch, done: false } : { value: undefined, done: true };
            },
          };
        },
      };
    },
    ack(batch) {
      const ticket = tickets.get(batch);
      if (!ticket || ticket.acked) return;
      ticket.acked = true;
      inFlight--;
      ticket.acks.acknowledge(ticket.id);
      wake();
    },
    async saveRegistry() {
      await ready;
      await save();
    },
    stats() {
      const files: FileStats[] = [];
      for (const t of tracked.values()) {
        const offset = t.acks.committed();
        const state: FileState = t.compressed && !t.handle && !t.archive ? 'compressed' : t.finished ? 'finished' : t.handle || t.archive ? 'reading' : 'idle';
        files.push({ fileKey: t.key, path: t.path, offset, readOffset: t.readPos, size: t.size, bytesBehind: Math.max(0, t.size - offset), open: t.handle !== null, state });
      }
      return { files, openFiles, inFlightBatches: inFlight, registry: { savedAt: registrySavedAt, error: registryError } };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearInterval(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
      wake();
      const loaded = await ready.then(
        () => true,
        () => false,
      );
      await exclusive(async () => {
        for (const t of tracked.values()) await closeHandle(t);
      });
      // A registry that could not be loaded stays as it is: saving would replace it with nothing.
      if (loaded) await save();
    },
  };
}
