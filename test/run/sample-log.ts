/**
 * Makes examples/sample/access.log, the log `tailplow run` reads when nothing is configured:
 * 2,000 lines from bench/lib/generate (seeded, so always the same bytes) for 12 visitors over
 * about 6 days from 2026-11-20, followed by the real tracker capture
 * (test/fixtures/tracker/tailplow-json.log: browser and node trackers through real nginx), whose
 * times come after the generated ones. sample-log.test.ts checks the shipped file is exactly this.
 *
 *   npx tsc -p tsconfig.json && node dist/test/run/sample-log.js   # rewrites examples/sample/access.log
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLineGenerator } from '../../bench/lib/generate';

export const REPO_ROOT = join(__dirname, '../../..');
export const SAMPLE_LOG = join(REPO_ROOT, 'examples/sample/access.log');
const CAPTURE = join(REPO_ROOT, 'test/fixtures/tracker/tailplow-json.log');

export const SAMPLE_GENERATED_LINES = 2000;

export function sampleLogText(): string {
  const next = createLineGenerator({ seed: 20261120, visitors: 12, startMs: Date.UTC(2026, 10, 20), stepMs: 270_000 });
  let text = '';
  for (let i = 0; i < SAMPLE_GENERATED_LINES; i++) text += next() + '\n';
  return text + readFileSync(CAPTURE, 'utf8');
}

if (require.main === module) {
  writeFileSync(SAMPLE_LOG, sampleLogText());
  process.stdout.write(`wrote ${SAMPLE_LOG}\n`);
}
