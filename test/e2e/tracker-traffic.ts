// Real tracker traffic for end-to-end tests: the browser tracker in Chromium and the node tracker
// (scripts/capture) against a private nginx with the shipped config, with the log rotated twice
// while it flows, and what a stored event must look like for each event the clients sent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { captureBrowser } from '../../scripts/capture/browser';
import { captureNode } from '../../scripts/capture/node';
import type { SentRequest } from '../../scripts/capture/sent';
import { VISITOR_PROFILE_SCHEMA } from '../../src/stages/profile/spec';
import type { TestNginx } from '../support/nginx-service';

export const NETWORK_USER_ID = 'e2e00000-a5b6-4c7d-8e9f-0a1b2c3d4e5f';

/** Snowplow's `e` codes and the canonical `event` names they become. */
export const EVENT_NAMES: Record<string, string> = {
  pv: 'page_view',
  pp: 'page_ping',
  se: 'struct',
  ue: 'unstruct',
  tr: 'transaction',
  ti: 'transaction_item',
};

export interface SentEvent {
  eventId: string;
  request: SentRequest;
  /** The tracker's parameters of this event (query for GET, one payload_data item for POST). */
  params: Record<string, string>;
}

export interface Traffic {
  requests: SentRequest[];
  events: SentEvent[];
  /** Rotations done while the traffic flowed, e.g. 'after structEvents'. */
  rotations: string[];
}

/** Debian's chromium, which playwright-core drives (installed with apt-get on a fresh machine). */
export function ensureChromium(): void {
  if (existsSync('/usr/bin/chromium')) return;
  const r = spawnSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'], { stdio: 'inherit' });
  if (r.status !== 0 || !existsSync('/usr/bin/chromium')) throw new Error('apt-get install chromium failed');
}

/**
 * Page views, activity pings, struct events, self-describing events and link clicks from four
 * browser trackers (GET/POST x base64 on/off), then the node tracker (GET, POST, transactions);
 * the log is rotated after the struct events and again while the node tracker sends.
 */
export async function driveTrackers(nginx: TestNginx): Promise<Traffic> {
  ensureChromium();
  const rotations: string[] = [];
  const browser = await captureBrowser({
    collector: nginx.collector,
    pageOrigin: nginx.pageOrigin,
    networkUserId: NETWORK_USER_ID,
    between: async (step) => {
      if (step !== 'structEvents') return;
      await nginx.rotate('1');
      rotations.push(`after ${step}`);
    },
  });
  const [node] = await Promise.all([
    captureNode({ host: '127.0.0.1', port: nginx.port, networkUserId: NETWORK_USER_ID }),
    new Promise((r) => setTimeout(r, 150)).then(async () => {
      await nginx.rotate('2');
      rotations.push('during the node tracker');
    }),
  ]);
  const requests = [...browser, ...node];
  const events = requests.flatMap((request) =>
    request.events.map((params) => {
      const merged = { ...request.query, ...params };
      if (!merged.eid) throw new Error(`a ${request.source} event without eid: ${JSON.stringify(merged)}`);
      return { eventId: merged.eid, request, params: merged };
    }),
  );
  return { requests, events, rotations };
}

/** event name -> how many were sent. */
export function countByEvent(events: SentEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    const name = EVENT_NAMES[e.params.e ?? ''] ?? `unknown:${e.params.e}`;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

/** The Iglu schema of a self-describing event's payload (ue_pr plain, ue_px base64url). */
export function unstructSchemaOf(params: Record<string, string>): string | undefined {
  const raw = params.ue_pr ?? (params.ue_px !== undefined ? Buffer.from(params.ue_px, 'base64url').toString('utf8') : undefined);
  if (raw === undefined) return undefined;
  return (JSON.parse(raw) as { data: { schema: string } }).data.schema;
}

const asJson = (v: unknown): unknown => {
  if (v === null || v === undefined || v === '') return undefined;
  return typeof v === 'string' ? JSON.parse(v) : v;
};

type SelfDescribing = { schema: string; data: Record<string, unknown> };
const CONTEXTS_SCHEMA = /^iglu:com\.snowplowanalytics\.snowplow\/contexts\//;
const UNSTRUCT_SCHEMA = /^iglu:com\.snowplowanalytics\.snowplow\/unstruct_event\//;

/**
 * The contexts of a stored contexts/derived_contexts value: tailplow stores the bare array; the
 * tracker's envelope ({schema: contexts, data: [...]}) is accepted too.
 */
export function contextsOf(v: unknown): SelfDescribing[] {
  const o = asJson(v);
  if (o === undefined) return [];
  if (Array.isArray(o)) return o as SelfDescribing[];
  const envelope = o as { schema?: string; data?: SelfDescribing[] };
  if (envelope.schema && CONTEXTS_SCHEMA.test(envelope.schema) && Array.isArray(envelope.data)) return envelope.data;
  throw new Error(`not a list of contexts: ${JSON.stringify(v).slice(0, 200)}`);
}

/** The schema of a stored unstruct_event value: the event itself, or wrapped in the unstruct_event envelope. */
export function storedUnstructSchema(v: unknown): string | undefined {
  const o = asJson(v) as SelfDescribing | undefined;
  if (o === undefined) return undefined;
  return UNSTRUCT_SCHEMA.test(o.schema) ? (o.data as { schema?: string }).schema : o.schema;
}

const num = (v: unknown) => (v === null || v === undefined || v === '' ? undefined : Number(v));
const str = (v: unknown) => (v === null || v === undefined || v === '' ? undefined : String(v));
/** What Snowplow enrich makes of a sent string field (tabs to four spaces, CR/LF removed). */
const tsvSafe = (v: string | undefined) => (v === undefined ? undefined : v.replace(/[\r\n]/g, '').replace(/\t/g, '    ') || undefined);

/**
 * What is wrong with one stored event (a ClickHouse row or an Elasticsearch document) compared
 * with what the tracker sent: an empty list when it is right.
 */
export function mismatches(stored: Record<string, unknown>, sent: SentEvent): string[] {
  const p = sent.params;
  const out: string[] = [];
  const expect = (field: string, actual: unknown, expected: unknown) => {
    if (actual !== expected) out.push(`${field}: ${JSON.stringify(actual)}, sent ${JSON.stringify(expected)}`);
  };
  expect('event_id', str(stored.event_id), sent.eventId);
  expect('event', str(stored.event), EVENT_NAMES[p.e ?? '']);
  expect('app_id', str(stored.app_id), p.aid);
  expect('platform', str(stored.platform), p.p);
  expect('name_tracker', str(stored.name_tracker), p.tna);
  expect('domain_userid', str(stored.domain_userid), p.duid);
  expect('user_id', str(stored.user_id), tsvSafe(p.uid));
  expect('network_userid', str(stored.network_userid), p.tnuid ?? NETWORK_USER_ID);
  expect('page_url', str(stored.page_url), tsvSafe(p.url));
  expect('page_title', str(stored.page_title), tsvSafe(p.page));
  expect('useragent', str(stored.useragent), p.ua ?? sent.request.headers['user-agent']);
  if (p.e === 'se') {
    expect('se_category', str(stored.se_category), tsvSafe(p.se_ca));
    expect('se_action', str(stored.se_action), tsvSafe(p.se_ac));
    expect('se_label', str(stored.se_label), tsvSafe(p.se_la));
    expect('se_property', str(stored.se_property), tsvSafe(p.se_pr));
    expect('se_value', num(stored.se_value), num(p.se_va));
  }
  if (p.e === 'ue') expect('unstruct schema', storedUnstructSchema(stored.unstruct_event), unstructSchemaOf(p));
  if (p.e === 'tr') {
    expect('tr_orderid', str(stored.tr_orderid), p.tr_id);
    expect('tr_total', num(stored.tr_total), num(p.tr_tt));
  }
  if (p.e === 'ti') {
    expect('ti_sku', str(stored.ti_sku), p.ti_sk);
    expect('ti_quantity', num(stored.ti_quantity), num(p.ti_qu));
  }
  const sentContexts = p.co ?? (p.cx !== undefined ? Buffer.from(p.cx, 'base64url').toString('utf8') : undefined);
  const sentSchemas = contextsOf(sentContexts).map((c) => c.schema);
  expect('context schemas', JSON.stringify(contextsOf(stored.contexts).map((c) => c.schema)), JSON.stringify(sentSchemas));
  // Enrichments: ua (Chromium is Chrome), campaign and referer of the browser's landing page,
  // anon_ip, and the profile stage's derived context.
  if (sent.request.source === 'browser') {
    expect('br_family', str(stored.br_family), 'Chrome');
    expect('os_family', str(stored.os_family), 'Linux');
    expect('dvce_type', str(stored.dvce_type), 'Computer');
  }
  if (sent.request.source === 'browser' && p.e === 'pv') {
    expect('mkt_source', str(stored.mkt_source), 'capture');
    expect('mkt_medium', str(stored.mkt_medium), 'test');
    expect('mkt_campaign', str(stored.mkt_campaign), 'grüße');
    expect('refr_medium', str(stored.refr_medium), 'search');
    expect('refr_source', str(stored.refr_source), 'Google');
  }
  if (!/\.x$/.test(String(stored.user_ipaddress))) out.push(`user_ipaddress ${String(stored.user_ipaddress)} not anonymised`);
  const profile = contextsOf(stored.derived_contexts).find((c) => c.schema === VISITOR_PROFILE_SCHEMA);
  if (!profile) out.push('no visitor_profile derived context');
  else expect('visitor_profile.status', profile.data.status, 'applied');
  return out;
}

/** Stored events compared with the sent ones: missing, extra, and field mismatches by event id. */
export function compareStored(where: string, stored: Array<Record<string, unknown>>, sent: SentEvent[]): void {
  const byId = new Map(sent.map((e) => [e.eventId, e]));
  const storedIds = stored.map((r) => String(r.event_id));
  const missing = sent.filter((e) => !storedIds.includes(e.eventId)).map((e) => `${e.eventId} (${e.params.e} from ${e.request.source})`);
  const extra = storedIds.filter((id) => !byId.has(id));
  assert.deepEqual(missing, [], `${where}: events sent but not stored`);
  assert.deepEqual(extra, [], `${where}: events stored but never sent`);
  assert.equal(new Set(storedIds).size, storedIds.length, `${where}: one row per event id`);
  const wrong = stored.flatMap((r) => mismatches(r, byId.get(String(r.event_id))!).map((m) => `${String(r.event_id)} ${String(r.event)}: ${m}`));
  assert.deepEqual(wrong.slice(0, 20), [], `${where}: stored fields differ from what was sent (${wrong.length} differences, first 20)`);
  const counts: Record<string, number> = {};
  for (const r of stored) counts[String(r.event)] = (counts[String(r.event)] ?? 0) + 1;
  assert.deepEqual(counts, countByEvent(sent), `${where}: events per type`);
}

/**
 * Every event counted once by the profile stage: per visitor, the highest `events` counter its
 * events carry in the visitor_profile context equals the number of its stored events.
 */
export function expectProfilesCounted(rows: Array<Record<string, unknown>>): Map<string, { events: number; max: number }> {
  const profiles = new Map<string, { events: number; max: number }>();
  for (const r of rows) {
    const p = contextsOf(r.derived_contexts).find((c) => c.schema === VISITOR_PROFILE_SCHEMA);
    assert.ok(p, `${String(r.event_id)}: visitor_profile context`);
    const v = profiles.get(String(p.data.visitor_id)) ?? { events: 0, max: 0 };
    v.events += 1;
    v.max = Math.max(v.max, Number(p.data.events));
    profiles.set(String(p.data.visitor_id), v);
  }
  for (const [visitor, v] of profiles) assert.equal(v.max, v.events, `profile of ${visitor}: highest counter vs events stored`);
  return profiles;
}
