/**
 * The `enrich` stage: Snowplow-style enrichments applied in the order configured, each
 * switchable. Geo must run before anon_ip (it needs the full address), bots after ua.
 */
import { z } from 'zod';
import type { SnowplowEvent } from '../../snowplow/event';
import type { Stage, StageDeps, StageOutput } from '../stage';
import { createIpAnonymisationEnrichment, createPseudonymisationEnrichment, ipAnonymisationConfigSchema, pseudonymisationConfigSchema } from './anonymise';
import { botsConfigSchema, createBotsEnrichment } from './bots';
import { campaignConfigSchema, createCampaignEnrichment } from './campaign';
import { createGeoEnrichment, geoConfigSchema, openGeoDatabases } from './geo';
import { createOptOutEnrichment, optOutConfigSchema } from './opt-out';
import { createRefererEnrichment, loadRefererDatabase, refererConfigSchema } from './referer';
import type { EnrichableEvent, Enrichment } from './types';
import { createUaEnrichment, uaConfigSchema } from './ua';

const enrichmentSchema = z.discriminatedUnion('type', [
  uaConfigSchema.extend({ type: z.literal('ua') }).strict(),
  refererConfigSchema.extend({ type: z.literal('referer') }).strict(),
  campaignConfigSchema.extend({ type: z.literal('campaign') }).strict(),
  geoConfigSchema.extend({ type: z.literal('geo') }).strict(),
  botsConfigSchema.innerType().extend({ type: z.literal('bots') }).strict(),
  ipAnonymisationConfigSchema.extend({ type: z.literal('anon_ip') }).strict(),
  pseudonymisationConfigSchema.innerType().extend({ type: z.literal('pii') }).strict(),
  optOutConfigSchema.innerType().extend({ type: z.literal('opt_out') }).strict(),
]);
type EnrichmentConfig = z.infer<typeof enrichmentSchema>;

export const DEFAULT_ENRICHMENTS: Array<z.input<typeof enrichmentSchema>> = [{ type: 'ua' }, { type: 'referer' }, { type: 'campaign' }, { type: 'bots' }];

/** The enrich stage's fields; `enrichStageSchema` adds the checks across enrichments. */
export const enrichStageObjectSchema = z
  .object({
    type: z.literal('enrich'),
    enrichments: z
      .array(enrichmentSchema)
      .default(DEFAULT_ENRICHMENTS)
      .describe('Enrichments in the order they run: opt_out (first), ua, referer, campaign, geo, bots, anon_ip, pii (each once). Default: ua, referer, campaign, bots.'),
  })
  .strict()
  .describe('Snowplow-style enrichments.');

/** Checks across the list: each enrichment once, geo before anon_ip, ua before bots, refinements of bots and pii. */
export function refineEnrichStage(cfg: z.output<typeof enrichStageObjectSchema>, ctx: z.RefinementCtx): void {
  // The discriminated union needs plain objects; run the refinements of those that have some.
  const refined: Record<string, z.ZodTypeAny> = { bots: botsConfigSchema, pii: pseudonymisationConfigSchema, opt_out: optOutConfigSchema };
  cfg.enrichments.forEach((e, i) => {
    const r = refined[e.type]?.safeParse(e);
    if (r && !r.success) for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: ['enrichments', i, ...issue.path] });
  });
  const at = (t: string) => cfg.enrichments.findIndex((e) => e.type === t);
  const seen = new Set<string>();
  cfg.enrichments.forEach((e, i) => {
    if (seen.has(e.type)) ctx.addIssue({ code: 'custom', path: ['enrichments', i, 'type'], message: `enrichment "${e.type}" is listed twice` });
    seen.add(e.type);
  });
  if (at('geo') >= 0 && at('anon_ip') >= 0 && at('anon_ip') < at('geo')) {
    ctx.addIssue({ code: 'custom', path: ['enrichments', at('anon_ip'), 'type'], message: 'anon_ip must come after geo: the geo lookup needs the full IP address' });
  }
  if (at('bots') >= 0 && at('ua') > at('bots')) {
    ctx.addIssue({ code: 'custom', path: ['enrichments', at('bots'), 'type'], message: 'bots must come after ua: it tags br_type, which ua would overwrite' });
  }
}

export const enrichStageSchema = enrichStageObjectSchema.superRefine(refineEnrichStage);
export type EnrichStageConfig = z.infer<typeof enrichStageSchema>;

async function build(e: EnrichmentConfig): Promise<Enrichment | undefined> {
  if (!e.enabled) return undefined;
  switch (e.type) {
    case 'ua':
      return createUaEnrichment(e);
    case 'referer':
      return createRefererEnrichment(e, { database: loadRefererDatabase(e.database) });
    case 'campaign':
      return createCampaignEnrichment(e);
    case 'geo':
      return createGeoEnrichment(e, { databases: await openGeoDatabases(e) });
    case 'bots':
      return createBotsEnrichment(e);
    case 'anon_ip':
      return createIpAnonymisationEnrichment(e);
    case 'pii':
      return createPseudonymisationEnrichment(e);
    case 'opt_out':
      return createOptOutEnrichment(e);
  }
}

export async function createEnrichStage(config: EnrichStageConfig, _deps: StageDeps): Promise<Stage> {
  const enrichments = (await Promise.all(config.enrichments.map(build))).filter((e): e is Enrichment => e !== undefined);
  return {
    name: 'enrich',
    async run(events: SnowplowEvent[]): Promise<StageOutput> {
      const out: StageOutput = { events: [], failed: [], dropped: {} };
      next: for (const event of events) {
        for (const enrich of enrichments) {
          const r = enrich(event as EnrichableEvent);
          if (r.kind === 'ok') continue;
          if (r.kind === 'drop') out.dropped[r.reason] = (out.dropped[r.reason] ?? 0) + 1;
          else out.failed.push({ event, reason: r.reason, message: r.message });
          continue next;
        }
        out.events.push(event);
      }
      return out;
    },
  };
}
