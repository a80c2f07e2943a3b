/**
 * The Redis profile store's fast path: profiles cached in the processor, the rules applied here,
 * and Redis asked only to check and write. Running PROFILE_SCRIPT costs Redis ~40 µs per event,
 * ~80 % of it in Lua (decoding the batch, the rules, encoding the whole profile back); this
 * path's script runs only plain commands.
 *
 * A cached profile is trusted only as far as Redis confirms it: the script first compares each
 * visitor's `events` counter with the one the batch was computed from (every change to a profile
 * comes with a counted event, which raises it, whichever process or version counted it; an
 * expired or deleted profile reads as none) and asks whether any of the batch's new ids is
 * already remembered (ZMSCORE). Only if everything holds does it write, and then exactly what
 * PROFILE_SCRIPT would have written. Otherwise it writes nothing and the batch goes through
 * PROFILE_SCRIPT, which decides every case (a redelivery, an id beyond the window, another
 * processor's update) as before. Batches with an event that has no domain_userid but a user_id
 * or network_userid take that path too: its visitor is found through links only Redis knows.
 *
 * So the cache changes the cost, never the result: the same statuses, profiles and stored state
 * as PROFILE_SCRIPT alone (test/profile/redis.integration.test.ts runs the contract both ways).
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { countEvent, windowCutoff } from './rules';
import { profileKeys, type ProfileInput, type ProfileResult, type ProfileStoreOptions } from './spec';

/**
 * ARGV: [1] JSON {v: [{k, e, f: [field, value, ...], i: [id, ts, snapshot, ...], c}], l: [key, visitor, ...]},
 * [2] prefix, [3] dedup window s (unused: kept so both scripts take the same arguments), [4] ttl s.
 * `e` is the `events` counter the batch started from ('' for no profile). `c` is the collector
 * time (epoch ms) below which the visitor's remembered ids are forgotten, or '' when none can be
 * that old: the client knows the profile the write leaves, so Redis need not read it back.
 * Returns 'ok', or 'conflict' having written nothing.
 */
export const CHECKED_WRITE_SCRIPT = `
local req = cjson.decode(ARGV[1])
local prefix = ARGV[2]
local ttl = tonumber(ARGV[4])

for _, v in ipairs(req.v) do
  if (redis.call('HGET', prefix .. 'profile:' .. v.k, 'events') or '') ~= v.e then return 'conflict' end
  local ids = {}
  for j = 1, #v.i, 3 do ids[#ids + 1] = v.i[j] end
  for j = 1, #ids, 500 do
    local scores = redis.call('ZMSCORE', prefix .. 'seen:' .. v.k, unpack(ids, j, math.min(j + 499, #ids)))
    for _, s in ipairs(scores) do if s then return 'conflict' end end
  end
end

for _, v in ipairs(req.v) do
  if #v.f > 0 then
    local profileKey, seenKey, seenvKey = prefix .. 'profile:' .. v.k, prefix .. 'seen:' .. v.k, prefix .. 'seenv:' .. v.k
    redis.call('HSET', profileKey, unpack(v.f))
    for j = 1, #v.i, 1500 do
      local zargs, hargs = {}, {}
      for k = j, math.min(j + 1497, #v.i), 3 do
        zargs[#zargs + 1] = v.i[k + 1]; zargs[#zargs + 1] = v.i[k]
        hargs[#hargs + 1] = v.i[k]; hargs[#hargs + 1] = v.i[k + 2]
      end
      redis.call('ZADD', seenKey, unpack(zargs))
      redis.call('HSET', seenvKey, unpack(hargs))
    end
    if v.c ~= '' then
      local old = redis.call('ZRANGEBYSCORE', seenKey, '-inf', '(' .. v.c)
      for j = 1, #old, 1000 do
        redis.call('HDEL', seenvKey, unpack(old, j, math.min(j + 999, #old)))
      end
      if #old > 0 then redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', '(' .. v.c) end
    end
    if ttl > 0 then
      redis.call('EXPIRE', profileKey, ttl)
      redis.call('EXPIRE', seenKey, ttl)
      redis.call('EXPIRE', seenvKey, ttl)
    end
  end
end
for j = 1, #req.l, 2 do
  if ttl > 0 then redis.call('SET', req.l[j], req.l[j + 1], 'EX', ttl) else redis.call('SET', req.l[j], req.l[j + 1]) end
end
return 'ok'
`;

/**
 * The checked write's `c`: the window cutoff as text, or '' when no remembered id can be below it
 * (every one is at least first_seen_ms old, so a visitor younger than the window has none to
 * forget). PROFILE_SCRIPT makes the same cut.
 */
function forgetCutoffArg(h: Readonly<Record<string, string>>, windowMs: number): string {
  const cutoff = windowCutoff(h, windowMs);
  return h.first_seen_ms !== undefined && Number(h.first_seen_ms) < cutoff ? String(cutoff) : '';
}

/** One visitor's part of a batch while it is computed. */
interface VisitorWork {
  /** Its profile as the batch started: `events` is what Redis must still hold. */
  start: Record<string, string>;
  /** Its profile now: held by the cache or by the last result, so copied before an event changes it. */
  h: Record<string, string>;
  /** Ids counted in this batch, with their collector time and snapshot. */
  counted: Map<string, [number, string]>;
}

interface CheckedWriteCommands {
  tailplowProfileCheckedWrite(request: string, prefix: string, windowSeconds: string, ttlSeconds: string): Promise<string>;
}

/**
 * `apply` for the Redis store with up to `capacity` profiles cached (least recently used out
 * first); `full` is PROFILE_SCRIPT's apply, used whenever the cache cannot be confirmed.
 */
export function createCachedApply(
  redis: Redis,
  opts: ProfileStoreOptions & {
    capacity: number;
    /** Told of each batch that went through the cache (`full` reports its own). */
    onBatch?: (path: 'cached') => void;
  },
  full: (inputs: ProfileInput[]) => Promise<ProfileResult[]>,
): (inputs: ProfileInput[]) => Promise<ProfileResult[]> {
  redis.defineCommand('tailplowProfileCheckedWrite', { numberOfKeys: 0, lua: CHECKED_WRITE_SCRIPT });
  const client = redis as Redis & CheckedWriteCommands;
  const windowMs = opts.dedupWindowSeconds * 1000;
  // With a TTL a profile may have expired in Redis meanwhile: one loaded or written longer ago
  // than that is read again (the check would catch it, but a reload is cheaper than a fallback).
  const cache = new LRUCache<string, Record<string, string>>({ max: opts.capacity, ...(opts.ttlSeconds > 0 ? { ttl: opts.ttlSeconds * 1000 } : {}) });

  /** Profiles of the visitors not cached, read in one round trip. */
  const load = async (visitors: string[]): Promise<void> => {
    const missing = visitors.filter((v) => cache.get(v) === undefined);
    if (missing.length === 0) return;
    const pipeline = redis.pipeline();
    for (const v of missing) pipeline.hgetall(profileKeys.profile(opts.prefix, v));
    const replies = (await pipeline.exec()) ?? [];
    missing.forEach((v, i) => {
      const [err, h] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      cache.set(v, h as Record<string, string>);
    });
  };

  return async (inputs) => {
    if (inputs.some((i) => !i.domain_userid && (i.user_id !== undefined || i.network_userid !== undefined))) return full(inputs);
    const visitors = [...new Set(inputs.filter((i) => i.domain_userid).map((i) => `d:${i.domain_userid}`))];
    try {
      await load(visitors);
    } catch {
      return full(inputs);
    }
    const work = new Map<string, VisitorWork>();
    for (const v of visitors) {
      const h = cache.get(v);
      if (!h) return full(inputs); // evicted by the load itself: a batch of more visitors than the cache holds
      work.set(v, { start: h, h, counted: new Map() });
    }

    const results: ProfileResult[] = inputs.map((input) => {
      if (!input.domain_userid) return { status: 'anonymous' };
      const visitor = `d:${input.domain_userid}`;
      const w = work.get(visitor)!;
      // One copy per event, none per result: each result keeps the state it was given (results
      // are read-only), and the last one is also what gets cached.
      w.h = { ...w.h };
      // Only the ids counted in this batch are known here: one that Redis already remembers fails the write's check.
      const { status, snapshot } = countEvent(w.h, input, w.counted.get(input.event_id), windowMs);
      if (status === 'applied') w.counted.set(input.event_id, [input.ts, snapshot]);
      return { status, visitor, profile: w.h, ...(snapshot ? { snapshot } : {}) };
    });

    const request = { v: [] as Array<{ k: string; e: string; f: string[]; i: Array<string | number>; c: string }>, l: [] as string[] };
    for (const [visitor, w] of work) {
      const f: string[] = [];
      if (w.counted.size > 0) for (const field in w.h) if (w.start[field] !== w.h[field]) f.push(field, w.h[field]!);
      const i: Array<string | number> = [];
      for (const [id, [ts, snapshot]] of w.counted) i.push(id, String(ts), snapshot);
      request.v.push({ k: visitor, e: w.start.events ?? '', f, i, c: forgetCutoffArg(w.h, windowMs) });
    }
    for (const input of inputs) {
      if (!input.domain_userid) continue;
      if (input.user_id !== undefined) request.l.push(profileKeys.userLink(opts.prefix, input.user_id), `d:${input.domain_userid}`);
      if (input.network_userid !== undefined) request.l.push(profileKeys.networkLink(opts.prefix, input.network_userid), `d:${input.domain_userid}`);
    }

    let outcome: string;
    try {
      outcome = await client.tailplowProfileCheckedWrite(JSON.stringify(request), opts.prefix, String(opts.dedupWindowSeconds), String(opts.ttlSeconds));
    } catch (err) {
      // Whether it ran or not is unknown: forget these profiles, the retry reads them again.
      for (const v of visitors) cache.delete(v);
      throw err;
    }
    if (outcome !== 'ok') {
      for (const v of visitors) cache.delete(v);
      return full(inputs);
    }
    for (const [visitor, w] of work) cache.set(visitor, w.h);
    opts.onBatch?.('cached');
    return results;
  };
}
