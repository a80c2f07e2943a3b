/**
 * The profile store on Redis: one Lua script (EVALSHA; ioredis falls back to EVAL after a
 * restart flushed the script cache) applies a whole batch in one round trip, atomically, in order.
 * The script interprets PROFILE_RULES like rules.ts does in JS; the keys it touches are computed
 * inside it (links decide which profile an event belongs to), so it needs a standalone Redis or a
 * single-shard deployment, not Redis Cluster.
 */
import type { ConnectionOptions } from 'node:tls';
import type * as IoRedis from 'ioredis';
import type { Redis, RedisOptions } from 'ioredis';
import { RetriableError } from '../../util/retry';
import { createCachedApply } from './redis-cache';
import { PROFILE_RULES, SNAPSHOT_FIELDS, type ProfileInput, type ProfileResult, type ProfileStatus, type ProfileStore, type ProfileStoreOptions } from './spec';

/**
 * ARGV: [1] batch JSON [{id, d?, u?, n?, v}], [2] key prefix, [3] dedup window s, [4] ttl s (0: none).
 * Returns, as one JSON array, per event [status, visitor, snapshot, field1, value1, ...] or ['anonymous']: all fields of
 * the profile on a visitor's first event in the batch, then only those changed since its previous one.
 * Mirrors rules.ts (the rules) and embedded-store.ts (links, de-duplication, TTL) line by line.
 */
export const PROFILE_SCRIPT = `
local rules = cjson.decode([==[${JSON.stringify(PROFILE_RULES)}]==])
local snapshotFields = cjson.decode([==[${JSON.stringify(SNAPSHOT_FIELDS)}]==])
local batch = cjson.decode(ARGV[1])
local prefix = ARGV[2]
local window = tonumber(ARGV[3]) * 1000
local ttl = tonumber(ARGV[4])

local function num(s) return tonumber(s) or 0 end

local function applyRules(h, v, changed)
  for _, rule in ipairs(rules) do
    local value
    if rule.kind == 'count' and rule.from == nil then value = '' else value = v[rule.from] end
    if value ~= nil then
      local f = rule.field
      local current = h[f]
      if rule.kind == 'min' then
        if current == nil or tonumber(value) < tonumber(current) then h[f] = value; changed[f] = true end
      elseif rule.kind == 'max' then
        if current == nil or tonumber(value) > tonumber(current) then h[f] = value; changed[f] = true end
      elseif rule.kind == 'count' then
        h[f] = tostring(num(current) + 1); changed[f] = true
      elseif rule.kind == 'countBy' then
        local g = f .. value
        h[g] = tostring(num(h[g]) + 1); changed[g] = true
      elseif rule.kind == 'first' then
        if current == nil then h[f] = value; changed[f] = true end
      elseif rule.kind == 'last' then
        h[f] = value; changed[f] = true
      elseif rule.kind == 'countChange' then
        if h[rule.state] ~= value then
          h[f] = tostring(num(current) + 1); changed[f] = true
          h[rule.state] = value; changed[rule.state] = true
        end
      end
    end
  end
end

local function setLink(key, visitor)
  if ttl > 0 then redis.call('SET', key, visitor, 'EX', ttl) else redis.call('SET', key, visitor) end
end

local profiles = {}
local function loadProfile(key)
  local h = profiles[key]
  if h == nil then
    h = {}
    local flat = redis.call('HGETALL', key)
    for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
    profiles[key] = h
  end
  return h
end

-- Writes are collected per visitor and made once at the end of the batch (one HSET of the
-- changed fields, one ZADD and one HSET of the new ids, one window clean-up, one EXPIRE each):
-- the end state equals writing after every event, at a fraction of the commands. Until then an
-- id counts as seen if it is in the set (or added in this batch) and not older than the window
-- behind the visitor's latest event, which is exactly what the per-event clean-up would have kept.
local visitors = {}
local order = {}
local function visitorState(visitor)
  local st = visitors[visitor]
  if st == nil then
    st = { profileKey = prefix .. 'profile:' .. visitor, seenKey = prefix .. 'seen:' .. visitor, seenvKey = prefix .. 'seenv:' .. visitor,
           dirty = {}, newIds = {}, newList = {}, unsent = nil }
    st.h = loadProfile(st.profileKey)
    visitors[visitor] = st
    order[#order + 1] = visitor
  end
  return st
end

local out = {}
for i, e in ipairs(batch) do
  local visitor = nil
  if e.d then
    visitor = 'd:' .. e.d
    if e.u then setLink(prefix .. 'link:u:' .. e.u, visitor) end
    if e.n then setLink(prefix .. 'link:n:' .. e.n, visitor) end
  else
    if e.u then visitor = redis.call('GET', prefix .. 'link:u:' .. e.u) end
    if not visitor and e.n then visitor = redis.call('GET', prefix .. 'link:n:' .. e.n) end
    if not visitor then
      if e.u then visitor = 'u:' .. e.u elseif e.n then visitor = 'n:' .. e.n else visitor = nil end
    end
  end
  if not visitor then
    out[i] = { 'anonymous' }
  else
    local st = visitorState(visitor)
    local h = st.h
    local ts = tonumber(e.v.ts)
    local status, snapshot
    local seenAt, seenSnapshot
    local added = st.newIds[e.id]
    if added then
      seenAt = added[1]; seenSnapshot = added[2]
    else
      seenAt = tonumber(redis.call('ZSCORE', st.seenKey, e.id))
    end
    if seenAt and h.last_seen_ms ~= nil and seenAt < tonumber(string.format('%.0f', tonumber(h.last_seen_ms) - window)) then seenAt = nil end
    if seenAt then
      status = 'duplicate'
      snapshot = seenSnapshot or redis.call('HGET', st.seenvKey, e.id) or ''
    elseif h.last_seen_ms ~= nil and ts < tonumber(h.last_seen_ms) - window then
      status = 'stale'
      snapshot = ''
    else
      status = 'applied'
      local changed = {}
      applyRules(h, e.v, changed)
      for f in pairs(changed) do
        st.dirty[f] = true
        if st.unsent then st.unsent[f] = true end
      end
      local parts = {}
      for j, f in ipairs(snapshotFields) do parts[j] = h[f] or '' end
      snapshot = table.concat(parts, ',')
      st.newIds[e.id] = { ts, snapshot }
      st.newList[#st.newList + 1] = e.id
    end
    -- The reply carries the whole profile the first time a visitor appears in the batch, then
    -- only the fields that changed since its previous reply (the client rebuilds each state).
    local reply = { status, visitor, snapshot }
    if st.unsent == nil then
      for f, value in pairs(h) do reply[#reply + 1] = f; reply[#reply + 1] = value end
    else
      for f in pairs(st.unsent) do reply[#reply + 1] = f; reply[#reply + 1] = h[f] end
    end
    st.unsent = {}
    out[i] = reply
  end
end

for _, visitor in ipairs(order) do
  local st = visitors[visitor]
  local h = st.h
  local args = {}
  for f in pairs(st.dirty) do args[#args + 1] = f; args[#args + 1] = h[f] end
  if #args > 0 then
    redis.call('HSET', st.profileKey, unpack(args))
    for j = 1, #st.newList, 500 do
      local zargs, hargs = {}, {}
      for k = j, math.min(j + 499, #st.newList) do
        local id = st.newList[k]
        local added = st.newIds[id]
        zargs[#zargs + 1] = string.format('%.0f', added[1]); zargs[#zargs + 1] = id
        hargs[#hargs + 1] = id; hargs[#hargs + 1] = added[2]
      end
      redis.call('ZADD', st.seenKey, unpack(zargs))
      redis.call('HSET', st.seenvKey, unpack(hargs))
    end
    local cutoff = string.format('%.0f', tonumber(h.last_seen_ms) - window)
    -- Every remembered id is at least first_seen_ms old: a visitor younger than the window has none to forget.
    if tonumber(h.first_seen_ms) < tonumber(cutoff) then
      local old = redis.call('ZRANGEBYSCORE', st.seenKey, '-inf', '(' .. cutoff)
      for j = 1, #old, 1000 do
        redis.call('HDEL', st.seenvKey, unpack(old, j, math.min(j + 999, #old)))
      end
      if #old > 0 then redis.call('ZREMRANGEBYSCORE', st.seenKey, '-inf', '(' .. cutoff) end
    end
    if ttl > 0 then
      redis.call('EXPIRE', st.profileKey, ttl)
      redis.call('EXPIRE', st.seenKey, ttl)
      redis.call('EXPIRE', st.seenvKey, ttl)
    end
  end
end
-- One JSON string: a nested RESP reply of the same content costs the client several times more to parse.
return cjson.encode(out)
`;

export interface RedisProfileStoreOptions extends ProfileStoreOptions {
  /** How long `apply` waits for a (re)connection before it fails as retriable. */
  readyTimeoutMs?: number;
  /** Profiles cached in this process (redis-cache.ts); 0 or absent: every batch runs PROFILE_SCRIPT. */
  cacheVisitors?: number;
  /** Told whether each batch went through the cache or through PROFILE_SCRIPT. */
  onBatch?: (path: 'cached' | 'script') => void;
}

type Reply = [ProfileStatus, ...string[]];

interface ProfileCommands {
  /** The replies as one JSON array of Reply. */
  tailplowProfileApply(batch: string, prefix: string, windowSeconds: string, ttlSeconds: string): Promise<string>;
}

/**
 * A client set up for a stage: commands fail at once while disconnected (no offline queue, no
 * re-sending after a reconnect) so the processor's retry policy is the only one; the client
 * keeps reconnecting in the background.
 */
export interface RedisClientOptions {
  /** Override the URL's user and password. */
  username?: string;
  password?: string;
  /** TLS options (CA, client certificate, servername); TLS is also on for a rediss:// URL. */
  tls?: ConnectionOptions;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** host, port, db and credentials of a redis:// or rediss:// URL, percent-decoded. */
function redisUrlOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(db ? { db: Number(db) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export function createRedisClient(url: string, opts: RedisClientOptions = {}): Redis {
  // Options win over the URL (ioredis would let the URL win over an options object).
  // ioredis is loaded when a client is made, not when the CLI starts (~19 MB that `tail` never needs).
  const { Redis: RedisClient } = require('ioredis') as typeof IoRedis;
  return new RedisClient({
    ...redisUrlOptions(url),
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: opts.connectTimeoutMs ?? 5000,
    commandTimeout: opts.commandTimeoutMs ?? 10_000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
}

function waitReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      fail(new RetriableError(`Redis not connected after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      done();
    };
    redis.once('ready', onReady);
  });
}

/** The store over a client the caller made (and owns unless `ownsClient`). */
export function createRedisProfileStore(redis: Redis, opts: RedisProfileStoreOptions, ownsClient = false): ProfileStore {
  redis.defineCommand('tailplowProfileApply', { numberOfKeys: 0, lua: PROFILE_SCRIPT });
  const client = redis as Redis & ProfileCommands;
  const script = async (inputs: ProfileInput[]): Promise<ProfileResult[]> => {
    opts.onBatch?.('script');
    const batch = inputs.map((i) => ({ id: i.event_id, d: i.domain_userid, u: i.user_id, n: i.network_userid, v: i.values }));
    return resultsOf(JSON.parse(await client.tailplowProfileApply(JSON.stringify(batch), opts.prefix, String(opts.dedupWindowSeconds), String(opts.ttlSeconds))) as Reply[]);
  };
  const apply = opts.cacheVisitors ? createCachedApply(redis, { ...opts, capacity: opts.cacheVisitors }, script) : script;
  return {
    async apply(inputs: ProfileInput[]): Promise<ProfileResult[]> {
      if (inputs.length === 0) return [];
      try {
        await waitReady(redis, opts.readyTimeoutMs ?? 5000);
        return await apply(inputs);
      } catch (err) {
        // Whether a script ran or not, re-applying the batch is safe: it is idempotent per event_id.
        if (err instanceof RetriableError) throw err;
        throw new RetriableError(`Redis profile update failed: ${(err as Error).message}`, { cause: err });
      }
    },
    async close() {
      if (ownsClient) redis.disconnect();
    },
  };
}

/** Rebuilds each event's profile from the replies: the whole hash on a visitor's first reply in the batch, then what changed. */
function resultsOf(replies: Reply[]): ProfileResult[] {
  const current = new Map<string, Record<string, string>>();
  return replies.map((reply) => {
    const [status, visitor, snapshot, ...flat] = reply;
    if (status === 'anonymous') return { status };
    const profile: Record<string, string> = { ...current.get(visitor as string) };
    for (let i = 0; i + 1 < flat.length; i += 2) profile[flat[i] as string] = flat[i + 1] as string;
    current.set(visitor as string, profile);
    return { status, visitor: visitor as string, profile, ...(snapshot ? { snapshot } : {}) };
  });
}
