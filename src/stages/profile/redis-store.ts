/**
 * The profile store on Redis: one Lua script (EVALSHA; ioredis falls back to EVAL after a
 * restart flushed the script cache) applies a whole batch in one round trip, atomically, in order.
 * The script interprets PROFILE_RULES like rules.ts does in JS; the keys it touches are computed
 * inside it (links decide which profile an event belongs to), so it needs a standalone Redis or a
 * single-shard deployment, not Redis Cluster.
 */
import { Redis } from 'ioredis';
import { RetriableError } from '../../util/retry';
import { PROFILE_RULES, SNAPSHOT_FIELDS, type ProfileInput, type ProfileResult, type ProfileStatus, type ProfileStore, type ProfileStoreOptions } from './spec';

/**
 * ARGV: [1] batch JSON [{id, d?, u?, n?, v}], [2] key prefix, [3] dedup window s, [4] ttl s (0: none).
 * Returns per event {status, visitor, snapshot, field1, value1, ...} or {'anonymous'}.
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
    local profileKey = prefix .. 'profile:' .. visitor
    local seenKey = prefix .. 'seen:' .. visitor
    local seenvKey = prefix .. 'seenv:' .. visitor
    local h = loadProfile(profileKey)
    local ts = tonumber(e.v.ts)
    local status, snapshot
    if redis.call('ZSCORE', seenKey, e.id) then
      status = 'duplicate'
      snapshot = redis.call('HGET', seenvKey, e.id) or ''
    elseif h.last_seen_ms ~= nil and ts < tonumber(h.last_seen_ms) - window then
      status = 'stale'
      snapshot = ''
    else
      status = 'applied'
      local changed = {}
      applyRules(h, e.v, changed)
      local args = {}
      for f in pairs(changed) do args[#args + 1] = f; args[#args + 1] = h[f] end
      redis.call('HSET', profileKey, unpack(args))
      local parts = {}
      for j, f in ipairs(snapshotFields) do parts[j] = h[f] or '' end
      snapshot = table.concat(parts, ',')
      redis.call('ZADD', seenKey, e.v.ts, e.id)
      redis.call('HSET', seenvKey, e.id, snapshot)
      local cutoff = string.format('%.0f', tonumber(h.last_seen_ms) - window)
      local old = redis.call('ZRANGEBYSCORE', seenKey, '-inf', '(' .. cutoff)
      for j = 1, #old, 1000 do
        redis.call('HDEL', seenvKey, unpack(old, j, math.min(j + 999, #old)))
      end
      if #old > 0 then redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', '(' .. cutoff) end
      if ttl > 0 then
        redis.call('EXPIRE', profileKey, ttl)
        redis.call('EXPIRE', seenKey, ttl)
        redis.call('EXPIRE', seenvKey, ttl)
      end
    end
    local reply = { status, visitor, snapshot }
    for f, value in pairs(h) do reply[#reply + 1] = f; reply[#reply + 1] = value end
    out[i] = reply
  end
end
return out
`;

export interface RedisProfileStoreOptions extends ProfileStoreOptions {
  /** How long `apply` waits for a (re)connection before it fails as retriable. */
  readyTimeoutMs?: number;
}

type Reply = [ProfileStatus, ...string[]];

interface ProfileCommands {
  tailplowProfileApply(batch: string, prefix: string, windowSeconds: string, ttlSeconds: string): Promise<Reply[]>;
}

/**
 * A client set up for a stage: commands fail at once while disconnected (no offline queue, no
 * re-sending after a reconnect) so the processor's retry policy is the only one; the client
 * keeps reconnecting in the background.
 */
export function createRedisClient(url: string, opts: { password?: string; connectTimeoutMs?: number; commandTimeoutMs?: number } = {}): Redis {
  return new Redis(url, {
    ...(opts.password !== undefined ? { password: opts.password } : {}),
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
  return {
    async apply(inputs: ProfileInput[]): Promise<ProfileResult[]> {
      if (inputs.length === 0) return [];
      const batch = inputs.map((i) => ({ id: i.event_id, d: i.domain_userid, u: i.user_id, n: i.network_userid, v: i.values }));
      let replies: Reply[];
      try {
        await waitReady(redis, opts.readyTimeoutMs ?? 5000);
        replies = await client.tailplowProfileApply(JSON.stringify(batch), opts.prefix, String(opts.dedupWindowSeconds), String(opts.ttlSeconds));
      } catch (err) {
        // Whether the script ran or not, re-applying the batch is safe: it is idempotent per event_id.
        if (err instanceof RetriableError) throw err;
        throw new RetriableError(`Redis profile update failed: ${(err as Error).message}`, { cause: err });
      }
      return replies.map(toResult);
    },
    async close() {
      if (ownsClient) redis.disconnect();
    },
  };
}

function toResult(reply: Reply): ProfileResult {
  const [status, visitor, snapshot, ...flat] = reply;
  if (status === 'anonymous') return { status };
  const profile: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) profile[flat[i] as string] = flat[i + 1] as string;
  return { status, visitor: visitor as string, profile, ...(snapshot ? { snapshot } : {}) };
}
