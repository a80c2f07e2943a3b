/**
 * The `profile` stage: per-visitor state (first/last seen, sessions, events, page views, first and
 * last referrer and campaign, landing page, device) kept in Redis, or without `redis` in an
 * embedded store under `<dataDir>/profile`, and merged into every event as the derived context
 * `iglu:io.tailplow/visitor_profile/jsonschema/1-0-0`.
 *
 * A visitor is its domain_userid; a user_id or network_userid seen together with one is linked to
 * it, so a later event with only that id finds the same profile. Each batch is applied in one
 * atomic step, events of a visitor in order, and counted once per event_id (see spec.ts).
 * A store that is down throws a retriable error: the processor retries and consumption waits.
 */
import { join } from 'node:path';
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { ConnectionOptions } from 'node:tls';
import type { Redis } from 'ioredis';
import { isTlsVerificationError, readPem } from '../util/tls';
import type { SnowplowEvent } from '../snowplow/event';
import type { Stage, StageDeps, StageOutput } from './stage';
import { openEmbeddedProfileStore } from './profile/embedded-store';
import { createRedisClient, createRedisProfileStore } from './profile/redis-store';
import { profileInputOf, visitorProfileOf, VISITOR_PROFILE_SCHEMA, withVisitorProfile, type ProfileInput, type ProfileStore, type ProfileStoreOptions } from './profile/spec';

const redisTlsSchema = z
  .object({
    caFile: z.string().min(1).optional().describe('PEM file with the CA that signed the server certificate (default: the system CAs).'),
    certFile: z.string().min(1).optional().describe('Client certificate (PEM), for a server with tls-auth-clients yes; needs keyFile.'),
    keyFile: z.string().min(1).optional().describe('Client private key (PEM, unencrypted); needs certFile.'),
    servername: z.string().min(1).optional().describe('Name the server certificate must carry, when it differs from the host in the URL.'),
    rejectUnauthorized: z.boolean().default(true).describe('Verify the server certificate. Only for tests: false accepts any certificate.'),
  })
  .strict()
  .refine((tls) => !tls.certFile === !tls.keyFile, { message: 'certFile and keyFile go together (mutual TLS needs both)' });

const redisSchema = z
  .object({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .describe('redis://host:port[/db], or rediss:// for TLS. Credentials may be in the URL (redis://user:password@host) but are better in username/password.'),
    username: z.string().min(1).optional().describe('ACL user (Redis 6+); overrides one in the URL. Without it, the password is that of the default user (requirepass).'),
    password: z.string().optional().describe('Password; overrides one in the URL. Use ${ENV_VAR} or ${file:/path}: never write it here in clear.'),
    tls: redisTlsSchema.optional().describe('TLS settings; TLS is on for a rediss:// URL or when this is given (then with the system CAs unless caFile is set).'),
    connectTimeoutMs: z.number().int().positive().default(5000).describe('How long one connection attempt may take.'),
    commandTimeoutMs: z.number().int().positive().default(10_000).describe('How long one batch update may take before it is retried.'),
  })
  .strict()
  .describe('A standalone Redis (7+; not Cluster: links decide inside the script which keys a batch touches). Without it, the profile is kept in an embedded store in <dataDir>/profile.');

/** The profile stage's fields; `refineProfileStage` adds the checks across them. */
export const profileStageObjectSchema = z
  .object({
    type: z.literal('profile'),
    redis: redisSchema.optional(),
    keyPrefix: z.string().default('tailplow:').describe('Prefix of every key the stage writes (profile:, seen:, seenv:, link:u:, link:n:).'),
    ttlSeconds: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('A profile (with its links and remembered event ids) expires this long after its last counted event; 0 keeps profiles forever.'),
    dedupWindowSeconds: z
      .number()
      .int()
      .positive()
      .default(86_400)
      .describe(
        'Event ids are remembered per visitor for this long in event time behind its latest event, so a redelivered or replayed event counts once; an event older than that behind the latest is taken as already counted (status stale). Memory on Redis 7: about 100 bytes per remembered id (250 once a visitor has more than 128 ids in the window).',
      ),
    cacheVisitors: z
      .number()
      .int()
      .min(0)
      .default(20_000)
      .describe(
        'Redis only: profiles kept in this process (least recently used out first), so a batch needs Redis only to confirm and write them instead of running the rules there (Redis then spends ~2.5x less CPU per event). Results never depend on it: Redis confirms every cached profile before a write. About 1 KB per profile; 0: no cache.',
      ),
  })
  .strict()
  .describe('Per-visitor profile, merged into each event as the visitor_profile derived context.');

export function refineProfileStage(cfg: z.output<typeof profileStageObjectSchema>, ctx: z.RefinementCtx): void {
  if (cfg.ttlSeconds > 0 && cfg.ttlSeconds < cfg.dedupWindowSeconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['ttlSeconds'],
      message: `ttlSeconds (${cfg.ttlSeconds}) is shorter than dedupWindowSeconds (${cfg.dedupWindowSeconds}): a profile would expire with the ids that protect it from counting a replay twice`,
    });
  }
}

export const profileStageSchema = profileStageObjectSchema.superRefine(refineProfileStage);
export type ProfileStageConfig = z.infer<typeof profileStageSchema>;

export interface ProfileStageDeps extends StageDeps {
  /** A store to use instead of the one the config names (tests, `tailplow run`). */
  store?: ProfileStore;
}

/** Node TLS options from the stage's `redis.tls` (files read now, so a missing one fails at start-up). */
function redisTlsOptions(tls: NonNullable<NonNullable<ProfileStageConfig['redis']>['tls']>): ConnectionOptions {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.caFile ? { ca: readPem('redis.tls.caFile', tls.caFile) } : {}),
    ...(tls.certFile ? { cert: readPem('redis.tls.certFile', tls.certFile) } : {}),
    ...(tls.keyFile ? { key: readPem('redis.tls.keyFile', tls.keyFile) } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}

/** Errors that retrying cannot fix: the credentials or the certificates must change. */
function isRedisConfigError(err: unknown): boolean {
  const message = (err as Error | undefined)?.message ?? '';
  return /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(message) || isTlsVerificationError(err);
}

/**
 * Waits for the first connection: refused credentials or certificates stop the processor at
 * start-up with a clear error instead of batches retrying forever; a server that is merely down
 * or slow is left to the batches' retries, like Kafka being down at start-up.
 */
function firstConnection(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((done, fail) => {
    const finish = (err?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady).off('error', onError);
      if (err) fail(err);
      else done();
    };
    const onReady = () => finish();
    const onError = (err: Error) => {
      if (!isRedisConfigError(err)) return;
      redis.disconnect();
      finish(new Error(`profile: Redis refused the connection: ${err.message} (check redis.username, redis.password and redis.tls)`));
    };
    const timer = setTimeout(() => finish(), timeoutMs);
    redis.on('ready', onReady).on('error', onError);
  });
}

async function openStore(config: ProfileStageConfig, deps: StageDeps): Promise<ProfileStore> {
  const opts: ProfileStoreOptions = { prefix: config.keyPrefix, ttlSeconds: config.ttlSeconds, dedupWindowSeconds: config.dedupWindowSeconds };
  if (!config.redis) return openEmbeddedProfileStore({ ...opts, path: join(deps.dataDir, 'profile') });
  const { url, username, password, tls, connectTimeoutMs, commandTimeoutMs } = config.redis;
  const redis = createRedisClient(url, { username, password, connectTimeoutMs, commandTimeoutMs, ...(tls ? { tls: redisTlsOptions(tls) } : {}) });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis reports every failed reconnect; one line per distinct error is enough.
    if (err.message !== lastError) deps.logger.warn({ err: err.message }, 'profile: Redis connection error (batches wait and retry)');
    lastError = err.message;
  });
  redis.on('ready', () => {
    if (lastError) deps.logger.info('profile: Redis connection back');
    lastError = '';
  });
  await firstConnection(redis, connectTimeoutMs);
  const batches = deps.registry
    ? new Counter({
        name: 'tailplow_profile_batches_total',
        help: 'Profile batches on Redis by path: cached (the processor\'s cached profiles, confirmed by Redis) or script (the full Lua script: cache off or not confirmed, a redelivery, events found through links)',
        labelNames: ['path'],
        registers: [deps.registry],
      })
    : undefined;
  return createRedisProfileStore(
    redis,
    { ...opts, readyTimeoutMs: connectTimeoutMs, cacheVisitors: config.cacheVisitors, onBatch: (path) => batches?.inc({ path }) },
    true,
  );
}

export async function createProfileStage(config: ProfileStageConfig, deps: ProfileStageDeps): Promise<Stage> {
  const store = deps.store ?? (await openStore(config, deps));
  return {
    name: 'profile',
    async run(events: SnowplowEvent[]): Promise<StageOutput> {
      const inputs: ProfileInput[] = [];
      const owners: SnowplowEvent[] = [];
      for (const event of events) {
        const input = profileInputOf(event);
        if (!input) continue;
        inputs.push(input);
        owners.push(event);
      }
      const results = await store.apply(inputs);
      results.forEach((result, i) => {
        const event = owners[i] as SnowplowEvent;
        // A batch run again (after a later failure) replaces its context instead of adding a second one.
        if (event.derived_contexts) event.derived_contexts = event.derived_contexts.filter((c) => c.schema !== VISITOR_PROFILE_SCHEMA);
        const profile = visitorProfileOf(result);
        if (profile) withVisitorProfile(event, profile);
      });
      return { events, failed: [], dropped: {} };
    },
    close: () => store.close(),
  };
}
