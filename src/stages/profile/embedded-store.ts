/**
 * The profile store without servers: LMDB (npm `lmdb`) in `<dataDir>/profile`. One write
 * transaction per batch (all or nothing), acknowledged only once flushed to disk. The same keys,
 * links, de-duplication and rules as the Redis script (redis-store.ts), in JS.
 *
 * Records: a profile `{h: hash, exp, n, r, p}`, a link `{v: visitor, exp}`; `exp` 0 never expires.
 * Each remembered event id is one small record `[ts, snapshot]` in a separate database, keyed by
 * the profile's number `n` (6 bytes) and the id (16 bytes for a lowercase UUID), so a visitor's
 * ids are one key range. One record per id keeps a batch's cost independent of how many ids a
 * visitor has (a record holding them all was rewritten whole for every batch), and ~80 bytes per
 * id on disk (a string-keyed record plus a time index took ~340). Ids that fell out of the window
 * are forgotten on lookup at once and deleted by a scan of the visitor's range once the events
 * applied since the last scan (`p`) reach half of those remembered (`r`): a constant cost per event.
 * A profile that expires takes its ids with it: a new profile gets a new number.
 * Expired records read as absent and are swept out now and then.
 */
import { mkdirSync } from 'node:fs';
import type * as Lmdb from 'lmdb';
import type { Database, Key, RootDatabase } from 'lmdb';
import { countEvent, windowCutoff } from './rules';
import { profileKeys, type ProfileInput, type ProfileResult, type ProfileStore, type ProfileStoreOptions } from './spec';

interface Expiring {
  exp: number;
}
interface ProfileRecord extends Expiring {
  h: Record<string, string>;
  /** Number of this profile's id range (absent in stores written before it: given when next written). */
  n?: number;
  /** Ids remembered after the last scan, plus those added since. */
  r?: number;
  /** Ids added since the last scan. */
  p?: number;
}
interface LinkRecord extends Expiring {
  v: string;
}
/** Before the per-id records: all of a visitor's ids in one record at its seen key (migrated at open). */
interface LegacySeenRecord extends Expiring {
  ids: Record<string, [number, string]>;
}
type StoredRecord = ProfileRecord | LinkRecord | Expiring;
/** Collector time and the profile's snapshot when the id was counted. */
type SeenId = [number, string];

const NUMBER_BYTES = 6;
const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The id's key: the profile's number, then 0 + 16 bytes for a lowercase UUID or 1 + the id's UTF-8. */
function seenIdKey(n: number, eventId: string): Buffer {
  const uuid = LOWER_UUID.test(eventId);
  const key = Buffer.allocUnsafe(NUMBER_BYTES + 1 + (uuid ? 16 : Buffer.byteLength(eventId)));
  key.writeUIntBE(n, 0, NUMBER_BYTES);
  key[NUMBER_BYTES] = uuid ? 0 : 1;
  if (uuid) key.write(eventId.replace(/-/g, ''), NUMBER_BYTES + 1, 'hex');
  else key.write(eventId, NUMBER_BYTES + 1, 'utf8');
  return key;
}

function eventIdOfKey(key: Buffer): string {
  const rest = key.subarray(NUMBER_BYTES + 1);
  if (key[NUMBER_BYTES] === 1) return rest.toString('utf8');
  const hex = rest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The key range of a profile's ids. */
function rangeOf(n: number): { start: Buffer; end: Buffer } {
  const start = Buffer.alloc(NUMBER_BYTES);
  start.writeUIntBE(n, 0, NUMBER_BYTES);
  const end = Buffer.alloc(NUMBER_BYTES);
  end.writeUIntBE(n + 1, 0, NUMBER_BYTES);
  return { start, end };
}

/** Ids scanned at the earliest after this many were added (then after half of those remembered). */
const MIN_SCAN_EVERY = 64;

const migratedKey = (prefix: string) => `${prefix}meta:seen-ids-by-number`;
const nextNumberKey = (prefix: string) => `${prefix}meta:next-profile-number`;

export interface EmbeddedProfileStoreOptions extends ProfileStoreOptions {
  /** Directory of the LMDB environment, e.g. `<dataDir>/profile`. */
  path: string;
  now?: () => number;
  /** Expired records are deleted at most this often (ms). */
  sweepIntervalMs?: number;
}

export interface EmbeddedProfileStore extends ProfileStore {
  /** A stored record as the store sees it now (undefined when absent or expired): for tests and tools. */
  read(key: string): StoredRecord | undefined;
  /** The event ids remembered for a visitor (those within the window, in time order): for tests and tools. */
  seenIds(visitor: string): string[];
  /** Id records on disk, forgotten ones not yet deleted included: for tests and tools. */
  seenIdRecords(): number;
  /** Deletes expired records; returns how many. */
  sweepExpired(): Promise<number>;
}

/**
 * Address space reserved for the store's memory map (not disk, not memory: the file grows as data
 * does). lmdb-js starts with a 128 KiB map and doubles it as the file grows, keeping every earlier
 * mapping of the file: in the 30-minute soak of `run` ten mappings of one 217 MB file were resident
 * at once, 571 MB of RSS for it. With the map reserved up front there is one. A store that outgrows
 * it is still remapped larger by lmdb-js.
 */
export const PROFILE_MAP_BYTES = 64 * 1024 ** 3;

/** How long close() waits for lmdb-js after a failed commit (see close). */
const CLOSE_AFTER_FAILURE_MS = 1000;

/**
 * lmdb-js refuses a batch it could not commit with "Commit failed (see commitError for details)"
 * and rejects a second promise, that error's `commitError`, with the cause (EIO, ENOSPC,
 * MDB_BAD_TXN ...). Its promise when `err` is such a failure.
 */
function commitErrorOf(err: unknown): PromiseLike<unknown> | undefined {
  const pending = (err as { commitError?: { then?: unknown } } | null)?.commitError;
  return pending && typeof pending.then === 'function' ? (pending as PromiseLike<unknown>) : undefined;
}

/**
 * The error a batch LMDB could not commit is refused with, naming the cause. Nobody else listens
 * to `commitError`: left alone it is an unhandled rejection, which ends the process. Nothing of
 * the batch is stored, so the caller (the profile stage, whose batches are retried) can try again.
 */
async function commitFailure(err: unknown, commitError: PromiseLike<unknown>, path: string): Promise<Error> {
  // lmdb-js rejects it in the same callback as the batch, so it has settled by now; the
  // setImmediate only keeps a commitError that never settles from holding the batch up.
  const cause = await Promise.race([
    Promise.resolve(commitError).then(
      () => undefined,
      (e: unknown) => e,
    ),
    new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined))),
  ]);
  const why = cause instanceof Error ? cause.message : (err as Error).message;
  return new Error(`profile store ${path}: the batch could not be committed, nothing of it was stored: ${why}`, { cause: cause ?? err });
}

export function openEmbeddedProfileStore(opts: EmbeddedProfileStoreOptions): EmbeddedProfileStore {
  mkdirSync(opts.path, { recursive: true });
  // lmdb (a native module) is loaded when a store opens, not when the CLI starts: `tail` never needs it.
  const { open } = require('lmdb') as typeof Lmdb;
  // eventTurnBatching off: with it, lmdb-js gathers each event turn's writes into a transaction
  // of its own whose promise nobody holds, so a commit that fails (disk full, an I/O error)
  // became an unhandled rejection that ended the process. The store commits one transaction per
  // batch itself (`childTransaction` below) and needs none of that batching.
  const db: RootDatabase<StoredRecord, Key> = open({ path: opts.path, compression: false, mapSize: PROFILE_MAP_BYTES, eventTurnBatching: false });
  // LMDB keeps a named database's name as a key of the main one: walks of the main one skip it.
  const seenDbName = `${opts.prefix}seen-ids`;
  const seenDb: Database<SeenId, Buffer> = db.openDB({ name: seenDbName, keyEncoding: 'binary' });
  const now = opts.now ?? Date.now;
  const windowMs = opts.dedupWindowSeconds * 1000;
  const sweepIntervalMs = opts.sweepIntervalMs ?? 600_000;
  let lastSweep = now();
  let closed = false;
  /** Whether the last commit failed: lmdb-js's close then waits for a flush that never comes. */
  let lastCommitFailed = false;

  const live = <T extends StoredRecord>(r: StoredRecord | undefined) => (r && (r.exp === 0 || r.exp > now()) ? (r as T) : undefined);
  const expiry = () => (opts.ttlSeconds > 0 ? now() + opts.ttlSeconds * 1000 : 0);
  /** Inside a write transaction: a number no profile has had. */
  const newNumber = () => {
    const n = (db.get(nextNumberKey(opts.prefix)) as { n?: number } | undefined)?.n ?? 1;
    db.putSync(nextNumberKey(opts.prefix), { n: n + 1, exp: 0 } as Expiring);
    return n;
  };
  /** Deletes a profile's ids older than `cutoff` (all of them with Infinity); returns how many are left. */
  const forgetBefore = (n: number, cutoff: number): number => {
    let left = 0;
    for (const { key, value } of seenDb.getRange(rangeOf(n))) {
      if (value[0] < cutoff) seenDb.removeSync(key);
      else left++;
    }
    return left;
  };

  migrateLegacySeenRecords();

  function applyBatch(inputs: ProfileInput[]): ProfileResult[] {
    // Profiles touched by this batch; written back at the end of the transaction, as the Redis
    // script does. New ids are remembered per visitor and written at the end too.
    interface VisitorState {
      profileKey: string;
      profile: ProfileRecord;
      /** The number of an expired profile under the same key, whose ids go when this one is written. */
      expiredNumber?: number;
      changed: boolean;
      newIds: Map<string, SeenId>;
    }
    const visitors = new Map<string, VisitorState>();
    const links = new Map<string, LinkRecord>();
    const stateOf = (visitor: string): VisitorState => {
      let st = visitors.get(visitor);
      if (!st) {
        const profileKey = profileKeys.profile(opts.prefix, visitor);
        const stored = db.get(profileKey) as ProfileRecord | undefined;
        const profile = live<ProfileRecord>(stored);
        st = { profileKey, profile: profile ?? { h: {}, exp: 0 }, expiredNumber: profile ? undefined : stored?.n, changed: false, newIds: new Map() };
        visitors.set(visitor, st);
      }
      return st;
    };
    const linkOf = (key: string) => (links.has(key) ? links.get(key) : live<LinkRecord>(db.get(key)))?.v;
    const link = (key: string, visitor: string) => links.set(key, { v: visitor, exp: expiry() });

    const results = inputs.map((e): ProfileResult => {
      let visitor: string | undefined;
      if (e.domain_userid) {
        visitor = `d:${e.domain_userid}`;
        if (e.user_id) link(profileKeys.userLink(opts.prefix, e.user_id), visitor);
        if (e.network_userid) link(profileKeys.networkLink(opts.prefix, e.network_userid), visitor);
      } else {
        if (e.user_id) visitor = linkOf(profileKeys.userLink(opts.prefix, e.user_id));
        if (!visitor && e.network_userid) visitor = linkOf(profileKeys.networkLink(opts.prefix, e.network_userid));
        if (!visitor) visitor = e.user_id ? `u:${e.user_id}` : e.network_userid ? `n:${e.network_userid}` : undefined;
      }
      if (!visitor) return { status: 'anonymous' };

      const st = stateOf(visitor);
      const h = st.profile.h;
      let seen = st.newIds.get(e.event_id);
      if (!seen && st.profile.n !== undefined) seen = seenDb.get(seenIdKey(st.profile.n, e.event_id));
      const { status, snapshot } = countEvent(h, e, seen, windowMs);
      if (status === 'applied') {
        st.newIds.set(e.event_id, [e.ts, snapshot]);
        st.changed = true;
      }
      return { status, visitor, profile: { ...h }, ...(snapshot ? { snapshot } : {}) };
    });

    for (const [key, record] of links) db.putSync(key, record);
    for (const st of visitors.values()) {
      if (!st.changed) continue;
      const { profile } = st;
      if (st.expiredNumber !== undefined) forgetBefore(st.expiredNumber, Infinity);
      const n = profile.n ?? newNumber();
      const cutoff = windowCutoff(profile.h, windowMs);
      let added = 0;
      for (const [eventId, seen] of st.newIds) {
        if (seen[0] < cutoff) continue; // already out of the window: nothing would ever find it
        seenDb.putSync(seenIdKey(n, eventId), seen);
        added++;
      }
      let remembered = (profile.r ?? 0) + added;
      let sinceScan = (profile.p ?? 0) + added;
      if (sinceScan >= Math.max(MIN_SCAN_EVERY, remembered / 2)) {
        remembered = forgetBefore(n, cutoff);
        sinceScan = 0;
      }
      db.putSync(st.profileKey, { h: profile.h, exp: opts.ttlSeconds > 0 ? expiry() : profile.exp, n, r: remembered, p: sinceScan });
    }
    return results;
  }

  /** Stores written before per-id records kept a visitor's ids in one record: rewritten once, at the first open. */
  function migrateLegacySeenRecords(): void {
    if (db.get(migratedKey(opts.prefix)) !== undefined) return;
    const from = profileKeys.seenIds(opts.prefix, '');
    db.transactionSync(() => {
      for (const key of db.getKeys({ start: from, end: `${from}\uffff` })) {
        if (typeof key !== 'string' || key === seenDbName) continue;
        const legacy = db.get(key) as Partial<LegacySeenRecord> | undefined;
        if (!legacy?.ids || typeof legacy.ids !== 'object') continue;
        const profileKey = profileKeys.profile(opts.prefix, key.slice(from.length));
        const profile = db.get(profileKey) as ProfileRecord | undefined;
        if (profile) {
          const n = profile.n ?? newNumber();
          const ids = Object.entries(legacy.ids);
          for (const [eventId, seen] of ids) seenDb.putSync(seenIdKey(n, eventId), seen);
          db.putSync(profileKey, { ...profile, n, r: ids.length, p: 0 });
        }
        db.removeSync(key);
      }
      db.putSync(migratedKey(opts.prefix), { exp: 0 });
    });
  }

  async function sweepExpired(): Promise<number> {
    const t = now();
    const expired: Key[] = [];
    for (const key of db.getKeys()) {
      if (key === seenDbName) continue;
      const value = db.get(key);
      if (value && value.exp !== 0 && value.exp <= t) expired.push(key);
    }
    if (expired.length) {
      db.transactionSync(() => {
        for (const key of expired) {
          // Re-checked inside the transaction: a batch may have renewed the record meanwhile.
          const record = db.get(key);
          if (!record || record.exp === 0 || record.exp > t) continue;
          db.removeSync(key);
          const n = (record as ProfileRecord).n;
          if (n !== undefined) forgetBefore(n, Infinity);
        }
      });
      await db.flushed;
    }
    lastSweep = t;
    return expired.length;
  }

  return {
    async apply(inputs) {
      if (closed) throw new Error('profile store is closed');
      if (inputs.length === 0) return [];
      // Nothing is written unless the whole batch went through. The callback runs on this thread
      // inside the write transaction; the commit runs on lmdb's writer thread (a synchronous
      // commit here took ~100 ms of this thread per batch of 3,000 events).
      let results: ProfileResult[];
      try {
        results = await db.childTransaction(() => applyBatch(inputs));
        await db.flushed;
        lastCommitFailed = false;
      } catch (err) {
        const commitError = commitErrorOf(err);
        if (!commitError) throw err;
        lastCommitFailed = true;
        throw await commitFailure(err, commitError, opts.path);
      }
      if (opts.ttlSeconds > 0 && now() - lastSweep >= sweepIntervalMs) await sweepExpired();
      return results;
    },
    read: (key) => live(db.get(key)),
    seenIds(visitor) {
      const profile = live<ProfileRecord>(db.get(profileKeys.profile(opts.prefix, visitor)));
      if (profile?.n === undefined) return [];
      const cutoff = windowCutoff(profile.h, windowMs);
      return [...seenDb.getRange(rangeOf(profile.n))]
        .filter(({ value }) => value[0] >= cutoff)
        .sort((a, b) => a.value[0] - b.value[0])
        .map(({ key }) => eventIdOfKey(key));
    },
    seenIdRecords: () => seenDb.getCount(),
    sweepExpired,
    async close() {
      if (closed) return;
      closed = true;
      // Everything committed is on disk (apply waits for the flush), so after a failed commit
      // there is nothing to wait for, and lmdb-js's close would wait forever.
      if (!lastCommitFailed) return db.close();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([db.close(), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_AFTER_FAILURE_MS)))]);
      clearTimeout(timer);
    },
  };
}
