import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../util/logger';
import { createStage, stageConfigSchema } from './registry';

const deps = { logger: silentLogger, dataDir: '/nonexistent' };

test('createStage builds the stage its `type` names', async () => {
  const stage = await createStage(stageConfigSchema.parse({ type: 'enrich', enrichments: [{ type: 'campaign' }] }), deps);
  assert.equal(stage.name, 'enrich');
  const out = await stage.run([{ event_id: 'e', page_urlquery: 'utm_source=x' }]);
  assert.equal(out.events[0]!.mkt_source, 'x');
});

test('an unknown type is refused at `type`, naming the known ones', () => {
  const r = stageConfigSchema.safeParse({ type: 'enrichment' });
  assert.equal(r.success, false);
  assert.deepEqual(r.error!.issues.map((i) => i.path.join('.')), ['type']);
  assert.match(r.error!.issues[0]!.message, /^Invalid discriminator value\. Expected 'enrich'/);
});

test('errors of a known type keep their own path (nested enrichment, cross-field checks)', () => {
  const nested = stageConfigSchema.safeParse({ type: 'enrich', enrichments: [{ type: 'ua' }, { type: 'campaign', bogus: 1 }] });
  assert.equal(nested.success, false);
  assert.deepEqual(nested.error!.issues.map((i) => i.path.join('.')), ['enrichments.1']);
  const order = stageConfigSchema.safeParse({ type: 'enrich', enrichments: [{ type: 'anon_ip' }, { type: 'geo' }] });
  assert.equal(order.success, false);
  assert.deepEqual(order.error!.issues.map((i) => i.path.join('.')), ['enrichments.0.type']);
});
