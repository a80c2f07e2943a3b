import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = join(__dirname, '../../../..');
const bin = join(root, 'bin/tailplow.js');
const fixture = join(root, 'test/fixtures/tracker/tailplow-json.log');

function run(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('parse writes one JSON event per line and a summary on stderr', () => {
  const r = run(['parse', fixture]);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(events.length, 58);
  assert.ok(events.every((e) => typeof e.event_id === 'string' && typeof e.collector_tstamp === 'string'));
  assert.match(r.stderr, /^tailplow parse: 46 lines, 58 events, 0 bad rows, 1 skipped \(preflight 1\)\n$/);
});

test('parse reads gzip from stdin and writes 131-column TSV', () => {
  const r = run(['parse', '-', '--output', 'tsv'], gzipSync(readFileSync(fixture)));
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.replace(/\n$/, '').split('\n');
  assert.equal(rows.length, 58);
  for (const row of rows) assert.equal(row.split('\t').length, 131);
});

test('bad lines go to --bad as Snowplow bad rows, exit stays 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-parse-'));
  const input = join(dir, 'mixed.log');
  const good = readFileSync(fixture, 'utf8').split('\n')[0]!;
  writeFileSync(input, `${good}\n{"msec":"1700000000.000","uri":"/i","args":"e=zz&p=web&tv=js-1"\n\u0016\u0003\u0001garbage\n${'x'.repeat(6000)}\n`);
  const badFile = join(dir, 'bad.ndjson');
  const r = run(['parse', input, '--bad', badFile, '--max-line-bytes', '5000']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  const bad = readFileSync(badFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { schema: string });
  assert.deepEqual(
    bad.map((b) => b.schema.split('/')[1]),
    ['collector_payload_format_violation', 'collector_payload_format_violation', 'size_violation'],
  );
  assert.match(r.stderr, /4 lines, 1 events, 3 bad rows, 0 skipped/);
});

test('unreadable input and invalid options exit non-zero with a message', () => {
  const missing = run(['parse', '/nonexistent/access.log']);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /cannot read \/nonexistent\/access\.log: ENOENT/);
  const badOutput = run(['parse', fixture, '--output', 'xml']);
  assert.equal(badOutput.code, 2);
  assert.match(badOutput.stderr, /unknown --output "xml"/);
  const badLimit = run(['parse', fixture, '--max-line-bytes', '-5']);
  assert.equal(badLimit.code, 2);
  const corrupt = join(mkdtempSync(join(tmpdir(), 'tailplow-parse-')), 'broken.log.gz');
  writeFileSync(corrupt, Buffer.concat([gzipSync(readFileSync(fixture)).subarray(0, 200)]));
  const r = run(['parse', corrupt]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /cannot read .*broken\.log\.gz/);
});

test('--workers decodes on threads with the same output, in input order, as the main thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-parse-'));
  const input = join(dir, 'many.log');
  const fixtureLines = readFileSync(fixture, 'utf8').trim().split('\n');
  const lines: string[] = [];
  // Several 1000-line batches, so results from different workers must be put back in order.
  for (let k = 0; k < 3500; k++) {
    const line = fixtureLines[k % fixtureLines.length]!;
    lines.push(k % 997 === 5 ? '{"msec":"1700000000.000","uri":"/i","args":"e=zz&p=web&tv=js-1"' : line.replace('"msec":"17', `"msec":"${k % 9}7`));
  }
  writeFileSync(input, lines.join('\n') + '\n');
  // etl_tstamp and bad-row timestamps are the clock at decoding time.
  const timeless = (text: string) => text.replace(/"(etl_tstamp|timestamp)":"[^"]*"/g, '"$1":""');
  const outputs = [0, 2].map((workers) => {
    const badFile = join(dir, `bad-${workers}.ndjson`);
    const r = run(['parse', input, '--workers', String(workers), '--bad', badFile]);
    assert.equal(r.code, 0, r.stderr);
    return { stdout: timeless(r.stdout), bad: timeless(readFileSync(badFile, 'utf8')), stderr: r.stderr };
  });
  const [here, threads] = outputs as [(typeof outputs)[0], (typeof outputs)[0]];
  assert.equal(threads.stderr, here.stderr);
  assert.match(here.stderr, /3500 lines, \d+ events, 4 bad rows, \d+ skipped/);
  assert.ok(here.stdout.split('\n').length > 3500);
  assert.equal(threads.stdout, here.stdout);
  assert.equal(threads.bad, here.bad);
  assert.equal(threads.bad.trim().split('\n').length, 4);
});
