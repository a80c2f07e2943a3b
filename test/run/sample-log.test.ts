import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SAMPLE_LOG, sampleLogText } from './sample-log';

test('examples/sample/access.log is exactly what its README says made it (seeded generator + the real capture)', () => {
  const shipped = readFileSync(SAMPLE_LOG, 'utf8');
  const made = sampleLogText();
  assert.equal(shipped.length, made.length, 'regenerate with: node dist/test/run/sample-log.js');
  assert.ok(shipped === made, 'examples/sample/access.log differs from sampleLogText(): regenerate it');
});
