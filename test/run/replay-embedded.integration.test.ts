// No servers needed, but several CLI runs that load chDB: slow on a loaded machine, hence
// "integration". `replay --output embedded` twice over the same files (plain and gzipped, with
// lines that are not events): every event once in the store, bad rows in <dataDir>/bad-rows.ndjson.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLineGenerator } from '../../bench/lib/generate';
import { TAILPLOW_BIN } from '../support/tailplow-child';

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [TAILPLOW_BIN, ...args], { cwd, encoding: 'utf8', timeout: 240_000, maxBuffer: 1 << 30, env: { ...process.env, TAILPLOW_LOG_LEVEL: 'warn' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('replay --output embedded: twice over plain + gz files stores every event once; bad lines land in bad-rows.ndjson', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-replay-embedded-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const next = createLineGenerator({ seed: 5, visitors: 8, startMs: Date.UTC(2026, 9, 1), stepMs: 30_000 });
  const lines = (n: number) => Array.from({ length: n }, () => next() + '\n').join('');
  const older = lines(300);
  const newer = lines(300) + '{"msec":"1795813792.353","request_method":"GET","uri":"/i","args":"e=pv&ue_px=%%%"}\nnot json at all\n';
  writeFileSync(join(dir, 'tracker.log.1.gz'), gzipSync(older));
  writeFileSync(join(dir, 'tracker.log'), newer);
  writeFileSync(join(dir, 'all.log'), older + newer);

  const parsed = cli(['parse', join(dir, 'all.log')], dir);
  const ids = new Set(parsed.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { event_id: string }).event_id));
  const badLines = /(\d+) bad rows/.exec(parsed.stderr)?.[1];
  assert.ok(ids.size > 300 && Number(badLines) >= 1, parsed.stderr);

  const data = join(dir, 'data');
  for (let round = 1; round <= 2; round++) {
    const r = cli(['replay', '--output', 'embedded', '--data-dir', data, '--progress', 'none', join(dir, 'tracker.log*')], dir);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!) as { events: number; bad: number };
    assert.equal(summary.bad, Number(badLines));
    const q = cli(['query', '--data-dir', data, '--format', 'json', 'SELECT uniqExact(event_id) AS uniq, (SELECT count() FROM events FINAL) AS final FROM events'], dir);
    assert.equal(q.code, 0, q.stderr);
    assert.deepEqual(JSON.parse(q.stdout), { uniq: ids.size, final: ids.size }, `round ${round}`);
    const bad = readFileSync(join(data, 'bad-rows.ndjson'), 'utf8').trim().split('\n');
    assert.equal(bad.length, round * Number(badLines), 'bad rows are appended per delivery');
    for (const b of bad) assert.match((JSON.parse(b) as { schema: string }).schema, /^iglu:com\.snowplowanalytics\.snowplow\.badrows\//);
  }
});
