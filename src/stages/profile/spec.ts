/**
 * The one definition of what a visitor profile holds and how an event updates it. Both stores
 * interpret the same `PROFILE_RULES` (the Redis store in Lua, the embedded store in JS) over the
 * same flat `ProfileInput`, and one contract test suite runs against both, so they cannot drift.
 *
 * Everything that needs judgement (which referrer counts, how a campaign is grouped) happens here,
 * in JS, before either store sees the event; the stores only apply simple per-field rules.
 */
import type { SelfDescribing, SnowplowEvent } from '../../snowplow/event';

/** What a store needs from one event. Values are strings so Lua and JS store identical text. */
export interface ProfileInput {
  event_id: string;
  /** Collector time in epoch ms: orders events and bounds the de-duplication window. */
  ts: number;
  domain_userid?: string;
  user_id?: string;
  network_userid?: string;
  /** Source values the rules read (`ts` is repeated here as a string). */
  values: Record<string, string>;
}

export type ProfileRule =
  /** Keep the smallest / largest number seen. */
  | { kind: 'min' | 'max'; field: string; from: string }
  /** Add one per event (that has `from`, when given). */
  | { kind: 'count'; field: string; from?: string }
  /** Add one to the field `field + value of from`. */
  | { kind: 'countBy'; field: string; from: string }
  /** The first / latest value seen. */
  | { kind: 'first' | 'last'; field: string; from: string }
  /** Add one when `from` differs from the value kept in `state` (then keep it there). */
  | { kind: 'countChange'; field: string; from: string; state: string };

/** Applied in this order to every event that is counted. */
export const PROFILE_RULES: readonly ProfileRule[] = [
  { kind: 'min', field: 'first_seen_ms', from: 'ts' },
  { kind: 'max', field: 'last_seen_ms', from: 'ts' },
  { kind: 'count', field: 'events' },
  { kind: 'count', field: 'page_views', from: 'page_view' },
  { kind: 'countBy', field: 'type:', from: 'type' },
  { kind: 'max', field: 'max_session_idx', from: 'session_idx' },
  { kind: 'countChange', field: 'session_count', from: 'session_id', state: 'last_session_id' },
  { kind: 'first', field: 'landing_page', from: 'page_url' },
  { kind: 'last', field: 'last_page', from: 'page_url' },
  { kind: 'first', field: 'first_referrer', from: 'referrer' },
  { kind: 'last', field: 'last_referrer', from: 'referrer' },
  { kind: 'first', field: 'first_campaign', from: 'campaign' },
  { kind: 'last', field: 'last_campaign', from: 'campaign' },
  { kind: 'last', field: 'dvce_type', from: 'dvce_type' },
  { kind: 'last', field: 'br_family', from: 'br_family' },
  { kind: 'last', field: 'os_family', from: 'os_family' },
  { kind: 'last', field: 'geo_country', from: 'geo_country' },
];

/**
 * Profile fields kept per counted event for its redeliveries, so a duplicate gets the counters it
 * got the first time (`is_new_visitor` included) without a copy of the whole profile per event.
 */
export const SNAPSHOT_FIELDS = ['events', 'page_views', 'max_session_idx', 'session_count'] as const;

/** How one event met the store. */
export type ProfileStatus =
  /** Counted now. */
  | 'applied'
  /** Its event_id was already counted for this visitor (redelivery or replay within the window). */
  | 'duplicate'
  /** More than the de-duplication window older than the visitor's latest event: taken as already counted. */
  | 'stale'
  /** No domain_userid, user_id or network_userid: no profile. */
  | 'anonymous';

export interface ProfileResult {
  status: ProfileStatus;
  /** `d:<domain_userid>`, `u:<user_id>` or `n:<network_userid>`; absent when anonymous. */
  visitor?: string;
  /** The profile hash right after this event (as stored); read-only: the store may share it with its cache. */
  profile?: Readonly<Record<string, string>>;
  /** SNAPSHOT_FIELDS at the time the event was counted, joined by ','. */
  snapshot?: string;
}

/** How both stores are told to behave. */
export interface ProfileStoreOptions {
  /** Key prefix, e.g. `tailplow:`. */
  prefix: string;
  /** Profiles (and their links and seen ids) expire this long after their last event; 0: never. */
  ttlSeconds: number;
  /** Event ids are remembered this long (in event time) behind the visitor's latest event. */
  dedupWindowSeconds: number;
}

/** The one interface both stores implement. */
export interface ProfileStore {
  /** Applies the events in order, atomically; throws on infrastructure trouble (then nothing or all of it counted). */
  apply(inputs: ProfileInput[]): Promise<ProfileResult[]>;
  close(): Promise<void>;
}

/** Store key names, shared so tests can look at either store the same way. */
export const profileKeys = {
  profile: (prefix: string, visitor: string) => `${prefix}profile:${visitor}`,
  seenIds: (prefix: string, visitor: string) => `${prefix}seen:${visitor}`,
  seenSnapshots: (prefix: string, visitor: string) => `${prefix}seenv:${visitor}`,
  userLink: (prefix: string, userId: string) => `${prefix}link:u:${userId}`,
  networkLink: (prefix: string, networkUserId: string) => `${prefix}link:n:${networkUserId}`,
};

/** The store's view of an event, or undefined when it cannot take part (no event_id or collector time). */
export function profileInputOf(event: SnowplowEvent): ProfileInput | undefined {
  const ts = Date.parse(event.collector_tstamp ?? '');
  if (!event.event_id || !Number.isFinite(ts)) return undefined;
  const values: Record<string, string> = { ts: String(ts) };
  const put = (key: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') values[key] = String(value);
  };
  put('type', event.event_name ?? event.event);
  if (event.event === 'page_view') values.page_view = '1';
  put('session_id', event.domain_sessionid);
  if (typeof event.domain_sessionidx === 'number' && Number.isInteger(event.domain_sessionidx)) put('session_idx', event.domain_sessionidx);
  put('page_url', event.page_url);
  put('referrer', referrerOf(event));
  put('campaign', campaignOf(event));
  put('dvce_type', event.dvce_type);
  put('br_family', event.br_family);
  put('os_family', event.os_family);
  put('geo_country', event.geo_country);
  const input: ProfileInput = { event_id: event.event_id, ts, values };
  if (event.domain_userid) input.domain_userid = event.domain_userid;
  if (event.user_id) input.user_id = event.user_id;
  if (event.network_userid) input.network_userid = event.network_userid;
  return input;
}

/** An external referrer as JSON text: not internal (by medium or by host), with a host. */
function referrerOf(e: SnowplowEvent): string | undefined {
  if (!e.refr_urlhost || e.refr_medium === 'internal' || e.refr_urlhost === e.page_urlhost) return undefined;
  return JSON.stringify({ urlhost: e.refr_urlhost, medium: e.refr_medium ?? null, source: e.refr_source ?? null });
}

/** The mkt_* fields as JSON text when any is set (written out: this runs for every event). */
function campaignOf(e: SnowplowEvent): string | undefined {
  const { mkt_medium: medium, mkt_source: source, mkt_term: term, mkt_content: content, mkt_campaign: campaign } = e;
  if (!medium && !source && !term && !content && !campaign) return undefined;
  return JSON.stringify({ medium: medium ?? null, source: source ?? null, term: term ?? null, content: content ?? null, campaign: campaign ?? null });
}

export const VISITOR_PROFILE_SCHEMA = 'iglu:io.tailplow/visitor_profile/jsonschema/1-0-0';

export interface Referrer {
  urlhost: string;
  medium: string | null;
  source: string | null;
}
export interface Campaign {
  medium: string | null;
  source: string | null;
  term: string | null;
  content: string | null;
  campaign: string | null;
}

/** The data of the visitor_profile context. */
export interface VisitorProfile {
  visitor_id: string;
  /** applied | duplicate | stale: whether this delivery was counted. */
  status: Exclude<ProfileStatus, 'anonymous'>;
  first_seen: string | null;
  last_seen: string | null;
  /** Counters as of this event (for a duplicate: as when it was first counted). */
  events: number;
  page_views: number;
  sessions: number;
  is_new_visitor: boolean;
  events_by_type: Record<string, number>;
  landing_page: string | null;
  last_page: string | null;
  first_referrer: Referrer | null;
  last_referrer: Referrer | null;
  first_campaign: Campaign | null;
  last_campaign: Campaign | null;
  dvce_type: string | null;
  br_family: string | null;
  os_family: string | null;
  geo_country: string | null;
}

const int = (s: string | undefined) => (s === undefined || s === '' ? 0 : Number.parseInt(s, 10));
const iso = (s: string | undefined) => (s === undefined ? null : new Date(Number(s)).toISOString());
/**
 * Referrers and campaigns as objects. A site has few distinct ones, and every event's context
 * carries four, so each text is parsed once and its object shared, frozen.
 */
const parsedJson = new Map<string, unknown>();
const PARSED_JSON_MAX = 4096;
function json<T>(s: string | undefined): T | null {
  if (s === undefined) return null;
  let value = parsedJson.get(s);
  if (value === undefined) {
    if (parsedJson.size >= PARSED_JSON_MAX) parsedJson.clear();
    value = Object.freeze(JSON.parse(s) as object);
    parsedJson.set(s, value);
  }
  return value as T;
}

/** Sessions: the tracker's session index where it has one, else the number of session id changes. */
function sessionsOf(maxSessionIdx: string | undefined, sessionCount: string | undefined): number {
  return Math.max(int(maxSessionIdx), int(sessionCount));
}

/** Builds the context data from what a store returned; undefined for anonymous events. */
export function visitorProfileOf(result: ProfileResult): VisitorProfile | undefined {
  if (result.status === 'anonymous' || !result.visitor || !result.profile) return undefined;
  const p = result.profile;
  const at = result.snapshot?.split(',');
  const [events, pageViews, maxSessionIdx, sessionCount] = at ?? SNAPSHOT_FIELDS.map((f) => p[f] ?? '');
  const byType: Record<string, number> = {};
  // for…in rather than Object.entries: this runs for every event, and entries allocates a pair per field.
  for (const k in p) if (k.startsWith('type:')) byType[k.slice(5)] = int(p[k]);
  return {
    visitor_id: result.visitor,
    status: result.status,
    first_seen: iso(p.first_seen_ms),
    last_seen: iso(p.last_seen_ms),
    events: int(events),
    page_views: int(pageViews),
    sessions: sessionsOf(maxSessionIdx, sessionCount),
    is_new_visitor: result.status !== 'stale' && int(events) === 1,
    events_by_type: byType,
    landing_page: p.landing_page ?? null,
    last_page: p.last_page ?? null,
    first_referrer: json<Referrer>(p.first_referrer),
    last_referrer: json<Referrer>(p.last_referrer),
    first_campaign: json<Campaign>(p.first_campaign),
    last_campaign: json<Campaign>(p.last_campaign),
    dvce_type: p.dvce_type ?? null,
    br_family: p.br_family ?? null,
    os_family: p.os_family ?? null,
    geo_country: p.geo_country ?? null,
  };
}

/** Appends the context to `derived_contexts` (creating the array). */
export function withVisitorProfile(event: SnowplowEvent, profile: VisitorProfile): void {
  const context: SelfDescribing = { schema: VISITOR_PROFILE_SCHEMA, data: profile };
  (event.derived_contexts ??= []).push(context);
}
