/**
 * The profile store without servers: LMDB (npm `lmdb`) in `<dataDir>/profile`. One synchronous
 * write transaction per batch (all or nothing), acknowledged only once flushed to disk. The same
 * keys, links, de-duplication and rules as the Redis script (redis-store.ts), in JS.
 *
 * Records: a profile `{h: hash, exp}`, its seen ids `{ids: {event_id: [ts, snapshot]}, exp}` (the
 * Redis sorted set and hash in one record), a link `{v: visitor, exp}`; `exp` 0 never expires.
 * Expired records read as absent and are swept out now and then.
 */
import { mkdirSync } from 'node:fs';
import type * as Lmdb from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { applyProfileRules } from './rules';
import { profileKeys, SNAPSHOT_FIELDS, type ProfileInput, type ProfileResult, type ProfileStatus, type ProfileStore, type ProfileStoreOptions } from './spec';

interface Expiring {
  exp: number;
}
interface ProfileRecord extends Expiring {
  h: Record<string, string>;
}
interface SeenRecord extends Expiring {
  ids: Record<string, [number, string]>;
}
interface LinkRecord extends Expiring {
  v: string;
}
type StoredRecord = ProfileRecord | SeenRecord | LinkRecord;

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
  /** Deletes expired records; returns how many. */
  sweepExpired(): Promise<number>;
}

export function openEmbeddedProfileStore(opts: EmbeddedProfileStoreOptions): EmbeddedProfileStore {
  mkdirSync(opts.path, { recursive: true });
  // lmdb (a native module) is loaded when a store opens, not when the CLI starts: `tail` never needs it.
  const { open } = require('lmdb') as typeof Lmdb;
  const db: RootDatabase<StoredRecord, string> = open({ path: opts.path, compression: false });
  const now = opts.now ?? Date.now;
  const windowMs = opts.dedupWindowSeconds * 1000;
  const sweepIntervalMs = opts.sweepIntervalMs ?? 600_000;
  let lastSweep = now();
  let closed = false;

  const live = (r: StoredRecord | undefined) => (r && (r.exp === 0 || r.exp > now()) ? r : undefined);
  const expiry = () => (opts.ttlSeconds > 0 ? now() + opts.ttlSeconds * 1000 : 0);

  function applyBatch(inputs: ProfileInput[]): ProfileResult[] {
    // Records touched by this batch; written back at the end of the transaction.
    const cache = new Map<string, StoredRecord | undefined>();
    const dirty = new Set<string>();
    const get = <T extends StoredRecord>(key: string) => {
      if (!cache.has(key)) cache.set(key, live(db.get(key)));
      return cache.get(key) as T | undefined;
    };
    const put = (key: string, record: StoredRecord) => {
      cache.set(key, record);
      dirty.add(key);
    };
    const link = (key: string, visitor: string) => put(key, { v: visitor, exp: expiry() });

    const results = inputs.map((e): ProfileResult => {
      let visitor: string | undefined;
      if (e.domain_userid) {
        visitor = `d:${e.domain_userid}`;
        if (e.user_id) link(profileKeys.userLink(opts.prefix, e.user_id), visitor);
        if (e.network_userid) link(profileKeys.networkLink(opts.prefix, e.network_userid), visitor);
      } else {
        if (e.user_id) visitor = get<LinkRecord>(profileKeys.userLink(opts.prefix, e.user_id))?.v;
        if (!visitor && e.network_userid) visitor = get<LinkRecord>(profileKeys.networkLink(opts.prefix, e.network_userid))?.v;
        if (!visitor) visitor = e.user_id ? `u:${e.user_id}` : e.network_userid ? `n:${e.network_userid}` : undefined;
      }
      if (!visitor) return { status: 'anonymous' };

      const profileKey = profileKeys.profile(opts.prefix, visitor);
      const seenKey = profileKeys.seenIds(opts.prefix, visitor);
      const profile = get<ProfileRecord>(profileKey) ?? { h: {}, exp: 0 };
      const seen = get<SeenRecord>(seenKey) ?? { ids: {}, exp: 0 };
      const h = profile.h;
      let status: ProfileStatus;
      let snapshot: string;
      const already = seen.ids[e.event_id];
      if (already) {
        status = 'duplicate';
        snapshot = already[1];
      } else if (h.last_seen_ms !== undefined && e.ts < Number(h.last_seen_ms) - windowMs) {
        status = 'stale';
        snapshot = '';
      } else {
        status = 'applied';
        applyProfileRules(h, e.values);
        snapshot = SNAPSHOT_FIELDS.map((f) => h[f] ?? '').join(',');
        const ids = { ...seen.ids, [e.event_id]: [e.ts, snapshot] as [number, string] };
        const cutoff = Number(h.last_seen_ms) - windowMs;
        for (const [id, [ts]] of Object.entries(ids)) if (ts < cutoff) delete ids[id];
        const exp = opts.ttlSeconds > 0 ? expiry() : profile.exp;
        put(profileKey, { h, exp });
        put(seenKey, { ids, exp });
      }
      return { status, visitor, profile: { ...h }, ...(snapshot ? { snapshot } : {}) };
    });

    for (const key of dirty) db.putSync(key, cache.get(key) as StoredRecord);
    return results;
  }

  async function sweepExpired(): Promise<number> {
    const t = now();
    const expired: string[] = [];
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
      const results = db.transactionSync(() => applyBatch(inputs));
      await db.flushed;
      if (opts.ttlSeconds > 0 && now() - lastSweep >= sweepIntervalMs) await sweepExpired();
      return results;
    },
    read: (key) => live(db.get(key)),
    sweepExpired,
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
