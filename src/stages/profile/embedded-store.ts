/**
 * The profile store without servers: LMDB (npm `lmdb`) in `<dataDir>/profile`. One synchronous
 * write transaction per batch (all or nothing), acknowledged only once flushed to disk. The same
 * keys, links, de-duplication and rules as the Redis script (redis-store.ts), in JS.
 *
 * Records: a profile `{h: hash, exp}`, a link `{v: visitor, exp}`, and per counted event id two
 * small records under the visitor's seen key (Redis keeps a sorted set and a hash there): the id
 * `{ts, s: snapshot, exp}` to look it up, and a time-ordered index entry `{exp}` to forget ids that
 * fell out of the window with one range read. One record per id keeps a batch's cost independent
 * of how many ids a visitor has (a record holding them all was rewritten whole for every batch).
 * `exp` 0 never expires. Expired records read as absent and are swept out now and then.
 */
import { mkdirSync } from 'node:fs';
import type * as Lmdb from 'lmdb';
import type { Key, RootDatabase } from 'lmdb';
import { applyProfileRules } from './rules';
import { profileKeys, SNAPSHOT_FIELDS, type ProfileInput, type ProfileResult, type ProfileStatus, type ProfileStore, type ProfileStoreOptions } from './spec';

interface Expiring {
  exp: number;
}
interface ProfileRecord extends Expiring {
  h: Record<string, string>;
}
interface SeenIdRecord extends Expiring {
  ts: number;
  s: string;
}
interface LinkRecord extends Expiring {
  v: string;
}
/** Before the per-id records: all of a visitor's ids in one record at its seen key (migrated at open). */
interface LegacySeenRecord extends Expiring {
  ids: Record<string, [number, string]>;
}
type StoredRecord = ProfileRecord | SeenIdRecord | LinkRecord | Expiring;

// A visitor's seen records have array keys (lmdb orders them element by element): the id
// `[seenKey, 'i', eventId]` and the index entry `[seenKey, 't', ts, eventId]`. lmdb's key encoding
// joins array elements with NUL, and visitor ids are tracker text that may hold one, so the prune
// takes only index keys that decode to exactly the shape it writes.
type SeenKey = [string, 'i', string] | [string, 't', number, string];
const seenIdKey = (seenKey: string, eventId: string): SeenKey => [seenKey, 'i', eventId];
const seenAtKey = (seenKey: string, ts: number, eventId: string): SeenKey => [seenKey, 't', ts, eventId];
const migratedKey = (prefix: string) => `${prefix}meta:seen-ids-per-record`;

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
  /** The event ids remembered for a visitor (as the store sees them now, in time order): for tests and tools. */
  seenIds(visitor: string): string[];
  /** Deletes expired records; returns how many. */
  sweepExpired(): Promise<number>;
}

export function openEmbeddedProfileStore(opts: EmbeddedProfileStoreOptions): EmbeddedProfileStore {
  mkdirSync(opts.path, { recursive: true });
  // lmdb (a native module) is loaded when a store opens, not when the CLI starts: `tail` never needs it.
  const { open } = require('lmdb') as typeof Lmdb;
  const db: RootDatabase<StoredRecord, Key> = open({ path: opts.path, compression: false });
  const now = opts.now ?? Date.now;
  const windowMs = opts.dedupWindowSeconds * 1000;
  const sweepIntervalMs = opts.sweepIntervalMs ?? 600_000;
  let lastSweep = now();
  let closed = false;

  const live = <T extends StoredRecord>(r: StoredRecord | undefined) => (r && (r.exp === 0 || r.exp > now()) ? (r as T) : undefined);
  const expiry = () => (opts.ttlSeconds > 0 ? now() + opts.ttlSeconds * 1000 : 0);

  /** Index keys of a visitor's ids older than `cutoff` (collector ms), with their event ids. */
  function idsBefore(seenKey: string, cutoff: number): { key: SeenKey; eventId: string }[] {
    const out: { key: SeenKey; eventId: string }[] = [];
    for (const key of db.getKeys({ start: [seenKey, 't'], end: [seenKey, 't', cutoff] })) {
      if (Array.isArray(key) && key.length === 4 && key[0] === seenKey && key[1] === 't' && typeof key[2] === 'number' && typeof key[3] === 'string') {
        out.push({ key: key as SeenKey, eventId: key[3] });
      }
    }
    return out;
  }

  migrateLegacySeenRecords();

  function applyBatch(inputs: ProfileInput[]): ProfileResult[] {
    // Profiles touched by this batch; written back at the end of the transaction, as the Redis
    // script does. New ids are remembered per visitor and written at the end too.
    interface VisitorState {
      profileKey: string;
      seenKey: string;
      profile: ProfileRecord;
      changed: boolean;
      newIds: Map<string, [number, string]>;
    }
    const visitors = new Map<string, VisitorState>();
    const links = new Map<string, LinkRecord>();
    const stateOf = (visitor: string): VisitorState => {
      let st = visitors.get(visitor);
      if (!st) {
        const profileKey = profileKeys.profile(opts.prefix, visitor);
        st = { profileKey, seenKey: profileKeys.seenIds(opts.prefix, visitor), profile: live<ProfileRecord>(db.get(profileKey)) ?? { h: {}, exp: 0 }, changed: false, newIds: new Map() };
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
      if (!seen) {
        const r = live<SeenIdRecord>(db.get(seenIdKey(st.seenKey, e.event_id)));
        if (r) seen = [r.ts, r.s];
      }
      // An id older than the window behind the latest event is forgotten, whether or not the
      // clean-up at the end of a batch has removed it yet.
      if (seen && h.last_seen_ms !== undefined && seen[0] < Number(h.last_seen_ms) - windowMs) seen = undefined;
      let status: ProfileStatus;
      let snapshot: string;
      if (seen) {
        status = 'duplicate';
        snapshot = seen[1];
      } else if (h.last_seen_ms !== undefined && e.ts < Number(h.last_seen_ms) - windowMs) {
        status = 'stale';
        snapshot = '';
      } else {
        status = 'applied';
        applyProfileRules(h, e.values);
        snapshot = SNAPSHOT_FIELDS.map((f) => h[f] ?? '').join(',');
        st.newIds.set(e.event_id, [e.ts, snapshot]);
        st.changed = true;
      }
      return { status, visitor, profile: { ...h }, ...(snapshot ? { snapshot } : {}) };
    });

    for (const [key, record] of links) db.putSync(key, record);
    for (const st of visitors.values()) {
      if (!st.changed) continue;
      const exp = opts.ttlSeconds > 0 ? expiry() : st.profile.exp;
      db.putSync(st.profileKey, { h: st.profile.h, exp });
      const cutoff = Number(st.profile.h.last_seen_ms) - windowMs;
      for (const [eventId, [ts, s]] of st.newIds) {
        if (ts < cutoff) continue; // already out of the window: nothing would ever find it
        db.putSync(seenIdKey(st.seenKey, eventId), { ts, s, exp });
        db.putSync(seenAtKey(st.seenKey, ts, eventId), { exp });
      }
      // Every remembered id is at least first_seen_ms old: a visitor younger than the window has none to forget.
      if (Number(st.profile.h.first_seen_ms) < cutoff) {
        for (const { key, eventId } of idsBefore(st.seenKey, cutoff)) {
          db.removeSync(key);
          db.removeSync(seenIdKey(st.seenKey, eventId));
        }
      }
    }
    return results;
  }

  /** Stores written before per-id records kept a visitor's ids in one record: rewritten once, at the first open. */
  function migrateLegacySeenRecords(): void {
    if (db.get(migratedKey(opts.prefix)) !== undefined) return;
    const from = profileKeys.seenIds(opts.prefix, '');
    db.transactionSync(() => {
      for (const { key, value } of db.getRange({ start: from, end: `${from}\uffff` })) {
        if (typeof key !== 'string') continue;
        const legacy = value as Partial<LegacySeenRecord>;
        if (!legacy.ids || typeof legacy.ids !== 'object') continue;
        for (const [eventId, [ts, s]] of Object.entries(legacy.ids)) {
          db.putSync(seenIdKey(key, eventId), { ts, s, exp: legacy.exp ?? 0 });
          db.putSync(seenAtKey(key, ts, eventId), { exp: legacy.exp ?? 0 });
        }
        db.removeSync(key);
      }
      db.putSync(migratedKey(opts.prefix), { exp: 0 });
    });
  }

  async function sweepExpired(): Promise<number> {
    const t = now();
    const expired: Key[] = [];
    for (const { key, value } of db.getRange()) if (value.exp !== 0 && value.exp <= t) expired.push(key);
    if (expired.length) {
      db.transactionSync(() => {
        // Re-checked inside the transaction: a batch may have renewed the record meanwhile.
        for (const key of expired) if (db.get(key)?.exp !== 0 && (db.get(key)?.exp ?? 0) <= t) db.removeSync(key);
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
      // Nothing is written unless the whole batch went through.
      // The callback runs on this thread inside the write transaction; the commit runs on lmdb's
      // writer thread (a synchronous commit here took ~100 ms of this thread per batch).
      const results = await db.childTransaction(() => applyBatch(inputs));
      await db.flushed;
      if (opts.ttlSeconds > 0 && now() - lastSweep >= sweepIntervalMs) await sweepExpired();
      return results;
    },
    read: (key) => live(db.get(key)),
    seenIds(visitor) {
      const seenKey = profileKeys.seenIds(opts.prefix, visitor);
      return idsBefore(seenKey, Infinity)
        .filter(({ eventId }) => live(db.get(seenIdKey(seenKey, eventId))))
        .map(({ eventId }) => eventId);
    },
    sweepExpired,
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
