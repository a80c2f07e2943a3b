/**
 * The `opt_out` enrichment: drops (counts, never stores) events whose visitor asked not to be
 * tracked, with reason `opt_out`.
 *
 * The Snowplow tracker protocol has no do-not-track field: the JavaScript tracker's
 * `respectDoNotTrack` simply sends nothing, and Snowplow's collector honours an opt-out cookie
 * (`doNotTrackCookie`) before anything is stored. A request cookie or header is best honoured the
 * same way, by nginx not logging the request at all (docs/privacy.md shows the `access_log … if=`
 * map). What reaches the processor is the event, so this enrichment looks at what the event
 * carries:
 * - an entity (context) the site attaches when the visitor opted out, e.g. a global context
 *   `iglu:com.acme/privacy/jsonschema/1-0-0` with `{"doNotTrack": true}` filled from
 *   `navigator.doNotTrack` / `navigator.globalPrivacyControl` or the site's consent banner;
 * - a query parameter of the page URL (e.g. `?tracking=off` on links from an opt-out page).
 * Put it first in the enrichment list: no other enrichment needs to see an event that is dropped.
 */
import { z } from 'zod';
import { drop, type Enrichment, type EnrichableEvent, type EnrichResult, OK, stringField } from './types';

const DROP_OPT_OUT: EnrichResult = Object.freeze(drop('opt_out'));

const signalValue = z.union([z.string(), z.number(), z.boolean()]);

const entitySignalSchema = z
  .object({
    schema: z
      .string()
      .regex(/^iglu:[^/]+\/[^/]+/, 'an Iglu URI or its prefix: iglu:vendor/name[/jsonschema/1-0-0]')
      .describe('Iglu URI of the entity, or a prefix of it (e.g. iglu:com.acme/privacy/ for every version).'),
    field: z
      .string()
      .min(1)
      .optional()
      .describe('Dotted path in the entity data (e.g. doNotTrack, consent.analytics); without it, the entity being there is the opt-out.'),
    values: z
      .array(signalValue)
      .min(1)
      .default([true, 'true', '1', 'yes'])
      .describe('Values of `field` that mean "opted out" (compared by type and value).'),
  })
  .strict();

const urlParamSignalSchema = z
  .object({
    name: z.string().min(1).describe('Query parameter of page_url.'),
    values: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('Values that mean "opted out"; without it any value other than "", "0", "false" and "no" does.'),
  })
  .strict();

export const optOutConfigSchema = z
  .object({
    type: z.literal('opt_out').default('opt_out').describe('Enrichment type: drop events of visitors who opted out.'),
    enabled: z.boolean().default(true).describe('Drop events that carry one of the configured opt-out signals.'),
    entities: z.array(entitySignalSchema).default([]).describe('Entities (contexts) that signal an opt-out.'),
    pageUrlParams: z.array(urlParamSignalSchema).default([]).describe('Page URL query parameters that signal an opt-out.'),
  })
  .superRefine((c, ctx) => {
    if (c.enabled && c.entities.length === 0 && c.pageUrlParams.length === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['entities'], message: 'opt_out needs at least one signal: entities or pageUrlParams' });
    }
  })
  .describe('Opt-out: drops events whose visitor signalled do-not-track (an entity the site attaches or a page URL parameter), counted with reason opt_out.');

export type OptOutConfig = z.infer<typeof optOutConfigSchema>;

/** The value at a dotted path in an entity's data, or undefined. */
function valueAt(data: unknown, path: readonly string[]): unknown {
  let v = data;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const NOT_OPTED_OUT = new Set(['', '0', 'false', 'no']);

/** The [name, value] pairs of a raw query string (percent-decoded; bad escapes kept raw). */
function queryPairs(query: string): Array<[string, string]> {
  return query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    return eq === -1 ? [decodeLenient(pair), ''] : [decodeLenient(pair.slice(0, eq)), decodeLenient(pair.slice(eq + 1))];
  });
}

function decodeLenient(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** The query of the page URL: page_urlquery when the decoder split the URL, else from page_url. */
function pageQuery(event: EnrichableEvent): string | undefined {
  const query = stringField(event, 'page_urlquery');
  if (query !== undefined) return query;
  const url = stringField(event, 'page_url');
  if (url === undefined) return undefined;
  const hash = url.indexOf('#');
  const beforeFragment = hash === -1 ? url : url.slice(0, hash);
  const q = beforeFragment.indexOf('?');
  return q === -1 ? undefined : beforeFragment.slice(q + 1);
}

export function createOptOutEnrichment(config: OptOutConfig): Enrichment {
  if (!config.enabled) return () => OK;
  const entities = config.entities.map((e) => ({ schema: e.schema, path: e.field?.split('.'), values: e.values }));
  const params = config.pageUrlParams;

  const entityOptsOut = (contexts: unknown): boolean => {
    if (!Array.isArray(contexts)) return false;
    for (const entity of contexts as Array<{ schema?: unknown; data?: unknown }>) {
      if (typeof entity?.schema !== 'string') continue;
      for (const signal of entities) {
        if (!entity.schema.startsWith(signal.schema)) continue;
        if (signal.path === undefined) return true;
        const v = valueAt(entity.data, signal.path);
        if (signal.values.some((x) => x === v)) return true;
      }
    }
    return false;
  };

  return function dropOptedOut(event: EnrichableEvent) {
    if (entities.length > 0 && entityOptsOut(event.contexts)) return DROP_OPT_OUT;
    if (params.length > 0) {
      const query = pageQuery(event);
      if (query !== undefined) {
        // Decoded once per event, whatever the number of parameters configured.
        for (const [name, v] of queryPairs(query)) {
          for (const p of params) {
            if (name === p.name && (p.values === undefined ? !NOT_OPTED_OUT.has(v.toLowerCase()) : p.values.includes(v))) return DROP_OPT_OUT;
          }
        }
      }
    }
    return OK;
  };
}
