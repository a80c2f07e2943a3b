/** What every edge-case fixture line becomes; see test/fixtures/edge/README.md. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openLineSource } from '../src/input/line-source';
import { createLineParser } from '../src/nginx';
import { createLineDecoder } from '../src/pipeline/decode-lines';
import { badRowKind } from '../src/snowplow/badrow';
import type { SnowplowEvent } from '../src/snowplow/event';

const dir = join(__dirname, '../../test/fixtures/edge');

interface LineResult {
  events: SnowplowEvent[];
  bad: string[];
  skipped?: string;
}

async function decodeFile(file: string, format: string): Promise<LineResult[]> {
  const decode = createLineDecoder(createLineParser(format), { maxLineBytes: 1024 * 1024 });
  const out: LineResult[] = [];
  for await (const batch of await openLineSource(join(dir, file))) {
    for (const line of batch.lines) {
      const r = decode(line, batch.path);
      out.push({ events: r.events, bad: r.bad.map((b) => badRowKind(b) ?? 'unknown'), skipped: r.skipped });
    }
  }
  return out;
}

const shape = (r: LineResult) => (r.skipped ? `skip:${r.skipped}` : [...r.events.map((e) => `event:${e.event}`), ...r.bad.map((b) => `bad:${b}`)].join(','));

test('combined-format edge cases', async () => {
  const r = await decodeFile('combined-edge.log', 'combined');
  assert.deepEqual(r.map(shape), [
    'event:page_view',
    'skip:head_request',
    'skip:not_tracker_path',
    'bad:collector_payload_format_violation',
    'bad:schema_violations',
    'bad:schema_violations',
    'bad:collector_payload_format_violation',
    'skip:not_tracker_path',
    'event:struct',
    'bad:collector_payload_format_violation',
    'bad:enrichment_failures',
  ]);
  assert.equal(r[0]!.events[0]!.user_ipaddress, '2001:db8::7');
  assert.equal(r[0]!.events[0]!.collector_tstamp, '2026-11-27T21:09:52.000Z');
  const se = r[8]!.events[0]!;
  assert.equal(se.se_category, 'café');
  assert.equal(se.useragent, 'Mozilla/5.0 (café "quoted")');
});

test('JSON-format edge cases', async () => {
  const r = await decodeFile('json-edge.log', 'json');
  assert.deepEqual(r.map(shape), [
    'event:page_view',
    'event:page_view',
    'event:page_view,bad:enrichment_failures,bad:tracker_protocol_violations',
    'bad:tracker_protocol_violations',
    'skip:preflight',
    'event:page_view',
    'event:page_view',
    'bad:schema_violations',
    'bad:collector_payload_format_violation',
    'bad:size_violation',
  ]);
  assert.equal(r[0]!.events[0]!.user_ipaddress, '203.0.113.7', 'first address of the X-Forwarded-For chain');
  assert.equal(r[1]!.events[0]!.user_ipaddress, '2001:db8:85a3::8a2e:370:7334');
  assert.equal(r[2]!.events[0]!.event_id, '8c1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b', 'the good event of a POST survives its bad neighbours');
  const [a, b] = [r[5]!.events[0]!.event_id, r[6]!.events[0]!.event_id];
  assert.match(a!, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, b, 'identical lines at different offsets are different hits');
  const again = await decodeFile('json-edge.log', 'json');
  assert.equal(again[5]!.events[0]!.event_id, a, 'ids are deterministic across runs');
});
