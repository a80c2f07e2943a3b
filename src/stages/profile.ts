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
import { z } from 'zod';
import type { SnowplowEvent } from '../snowplow/event';
import type { Stage, StageDeps, StageOutput } from './stage';
import { openEmbeddedProfileStore } from './profile/embedded-store';
import { createRedisClient, createRedisProfileStore } from './profile/redis-store';
import { profileInputOf, visitorProfileOf, VISITOR_PROFILE_SCHEMA, withVisitorProfile, type ProfileInput, type ProfileStore, type ProfileStoreOptions } from './profile/spec';

const redisSchema = z
  .object({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .describe('redis://[user:password@]host:port[/db]; keep secrets out of the file with ${ENV} substitution, e.g. redis://:${REDIS_PASSWORD}@redis:6379.'),
    password: z.string().optional().describe('Password (ACL: with the user in the URL); overrides one in the URL. Use ${ENV}.'),
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

function openStore(config: ProfileStageConfig, deps: StageDeps): ProfileStore {
  const opts: ProfileStoreOptions = { prefix: config.keyPrefix, ttlSeconds: config.ttlSeconds, dedupWindowSeconds: config.dedupWindowSeconds };
  if (!config.redis) return openEmbeddedProfileStore({ ...opts, path: join(deps.dataDir, 'profile') });
  const redis = createRedisClient(config.redis.url, config.redis);
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
  return createRedisProfileStore(redis, { ...opts, readyTimeoutMs: config.redis.connectTimeoutMs }, true);
}

export async function createProfileStage(config: ProfileStageConfig, deps: ProfileStageDeps): Promise<Stage> {
  const store = deps.store ?? openStore(config, deps);
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
