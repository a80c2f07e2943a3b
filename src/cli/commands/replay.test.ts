import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  countIds,
  generateLog,
  parseEvents,
  runTailplow,
  startTailplow,
  summaryOf,
  TAILPLOW_BIN,
  until,
  writeLog,
  type GeneratedLog,
} from '../../../test/support/replay-logs';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 1);
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const tempDir = () => mkdtempSync(join(tmpdir(), 'tailplow-replay-cli-'));
const replay = (args: string[]) => runTailplow(['replay', '--progress', 'none', ...args]);
const idsOf = (stdout: string) => parseEvents(stdout).map((e) => e.event_id as string);
const isoMs = (iso: unknown) => Date.parse(iso as string);

interface StateFile {
  files: Record<string, { path: string; offset: number; done: boolean }>;
}
const readState = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as StateFile;
const stateOf = (path: string, logPath: string) => (existsSync(path) ? Object.values(readState(path).files).find((f) => f.path === logPath) : undefined);

test('gz and plain files given in any order are replayed oldest first, every event once', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const logs = [0, 1, 2, 3].map((i) => generateLog({ seed: 10 + i, count: 150, startMs: T0 + i * DAY }));
  const paths = [writeLog(dir, 'access.log.3.gz', logs[0]!.lines), writeLog(dir, 'access.log.2', logs[1]!.lines), writeLog(dir, 'access.log.1.gz', logs[2]!.lines), writeLog(dir, 'access.log', logs[3]!.lines)];
  const expectedIds = logs.flatMap((l) => l.eids);
  for (const order of [[3, 1, 0, 2], [0, 1, 2, 3], [2, 3, 1, 0]]) {
    const r = await replay(['-o', 'json', '--workers', '0', ...order.map((i) => paths[i]!)]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(idsOf(r.stdout), expectedIds, `given in order ${order.join(',')}`);
    assert.deepEqual(summaryOf(r.stderr).per_file.map((f) => f.file), paths);
  }
  // A glob gives the same order as the names.
  const r = await replay(['-o', 'json', '--workers', '0', join(dir, 'access.log*')]);
  assert.deepEqual(idsOf(r.stdout), expectedIds);
});

test('files with overlapping time ranges are each replayed whole, the one that starts first first', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const early = generateLog({ seed: 20, count: 200, startMs: T0, stepMs: 100 });
  const late = generateLog({ seed: 21, count: 200, startMs: T0 + 5_000, stepMs: 100 });
  assert.ok(early.times.at(-1)! > late.times[0]!, 'ranges overlap');
  const r = await replay(['-o', 'json', '--workers', '0', writeLog(dir, 'late.log', late.lines), writeLog(dir, 'early.log.gz', early.lines)]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(idsOf(r.stdout), [...early.eids, ...late.eids]);
  const s = summaryOf(r.stderr);
  assert.equal(s.time_range!.from, new Date(early.times[0]!).toISOString());
  assert.equal(s.time_range!.to, new Date(Math.max(early.times.at(-1)!, late.times.at(-1)!)).toISOString());
});

test('--since/--until (ISO) keep events whose collector time is in [since, until)', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  // About 6 days of traffic, a line every ~20 minutes.
  const log = generateLog({ seed: 30, count: 400, startMs: T0, stepMs: 20 * 60_000 });
  const path = writeLog(dir, 'week.log.gz', log.lines);
  const cases: Array<{ args: string[]; from: number; to: number }> = [
    { args: ['--since', '2026-10-02T12:00:00Z', '--until', '2026-10-04T06:30:00+02:00'], from: Date.UTC(2026, 9, 2, 12), to: Date.UTC(2026, 9, 4, 4, 30) },
    { args: ['--since', '2026-10-03'], from: Date.UTC(2026, 9, 3), to: Infinity },
    { args: ['--until', '2026-10-02'], from: -Infinity, to: Date.UTC(2026, 9, 2) },
  ];
  for (const c of cases) {
    const r = await replay(['-o', 'json', '--workers', '0', ...c.args, path]);
    assert.equal(r.code, 0, r.stderr);
    const times = parseEvents(r.stdout).map((e) => isoMs(e.collector_tstamp));
    const expected = log.eventTimes.filter((t) => t >= c.from && t < c.to);
    assert.ok(expected.length > 20 && expected.length < log.events - 20, `case ${c.args.join(' ')} filters something`);
    assert.deepEqual(times, expected, c.args.join(' '));
    assert.equal(summaryOf(r.stderr).out_of_range, log.events - expected.length);
  }
  const invalid = await replay(['-o', 'json', '--since', 'yesterday', path]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /invalid --since "yesterday"/);
});

test('--since/--until with relative durations count back from now', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const now = Date.now();
  const old = generateLog({ seed: 31, count: 100, startMs: now - 5 * DAY });
  const recent = generateLog({ seed: 32, count: 100, startMs: now - 3_600_000 });
  const paths = [writeLog(dir, 'old.log.gz', old.lines), writeLog(dir, 'recent.log', recent.lines)];
  const since = await replay(['-o', 'json', '--workers', '0', '--since', '2d', ...paths]);
  assert.equal(since.code, 0, since.stderr);
  assert.deepEqual(idsOf(since.stdout), recent.eids);
  const until = await replay(['-o', 'json', '--workers', '0', '--until', '48h', ...paths]);
  assert.deepEqual(idsOf(until.stdout), old.eids);
  const window = await replay(['-o', 'json', '--workers', '0', '--since', '1w', '--until', '30m', ...paths]);
  assert.equal(idsOf(window.stdout).length, old.events + recent.events);
});

test('--dry-run reports per file, per event type, bad rows by reason and the time range, and sends nothing', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const a = generateLog({ seed: 40, count: 120, startMs: T0 });
  const b = generateLog({ seed: 41, count: 80, startMs: T0 + DAY });
  const bad = ['{"msec":"1790000000.000","uri":"/i","args":"e=pv&p=web&tv=js-1"', '\u0016\u0003\u0001garbage', '{"msec":"1790000001.000","uri":"/i","args":"' + 'x'.repeat(6000) + '"}'];
  const pa = writeLog(dir, 'a.log.gz', a.lines);
  const pb = writeLog(dir, 'b.log', [...b.lines.slice(0, 40), ...bad, ...b.lines.slice(40)]);
  const out = join(dir, 'events.ndjson');
  // Kafka (the default output) at an address where nothing listens: a dry run never connects.
  const r = await replay(['--dry-run', '--brokers', '127.0.0.1:1', '--max-line-bytes', '5000', '--workers', '0', pb, pa]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const s = summaryOf(r.stderr);
  assert.equal(s.summary, 'dry run');
  assert.deepEqual(
    s.per_file.map((f) => [f.file, f.status, f.lines, f.events, f.bad]),
    [[pa, 'done', 120, a.events, 0], [pb, 'done', 83, b.events, 3]],
  );
  assert.deepEqual(s.bad_by_reason, { collector_payload_format_violation: 2, size_violation: 1 });
  assert.equal(Object.values(s.events_by_type).reduce((x, y) => x + y, 0), a.events + b.events);
  assert.deepEqual(Object.keys(s.events_by_type).sort(), ['page_ping', 'page_view', 'struct', 'unstruct']);
  assert.deepEqual(s.time_range, { from: new Date(a.times[0]!).toISOString(), to: new Date(b.times.at(-1)!).toISOString() });
  // The human-readable report says the same.
  assert.match(r.stderr, /^dry run: 203 lines, \d+ events, 3 bad rows, 0 skipped; nothing was sent$/m);
  assert.match(r.stderr, new RegExp(`^  ${pb}: done, 83 lines, ${b.events} events, 3 bad$`, 'm'));
  assert.match(r.stderr, /^bad rows by reason: collector_payload_format_violation 2, size_violation 1$/m);
  assert.match(r.stderr, /^time range: 2026-10-01T00:00:00\.\d{3}Z \.\. 2026-10-02T00:00:\d\d\.\d{3}Z$/m);
  // With a file output named, the file is not even created, and no state is written.
  const state = join(dir, 'replay.state');
  const j = await replay(['--dry-run', '-o', 'json', '--out', out, '--state', state, '--workers', '0', pa]);
  assert.equal(j.code, 0, j.stderr);
  assert.equal(existsSync(out), false);
  assert.equal(existsSync(state), false);
});

test('empty files, plain and gzipped, are replayed as done with nothing in them', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const log = generateLog({ seed: 50, count: 30, startMs: T0 });
  const empty = join(dir, 'empty.log');
  const emptyGz = join(dir, 'empty.log.gz');
  writeFileSync(empty, '');
  writeFileSync(emptyGz, gzipSync(''));
  const r = await replay(['-o', 'json', '--workers', '0', '--state', join(dir, 'state'), empty, emptyGz, writeLog(dir, 'a.log', log.lines)]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(idsOf(r.stdout), log.eids);
  const s = summaryOf(r.stderr);
  assert.deepEqual(s.per_file.slice(1).map((f) => [f.file, f.status, f.lines]), [[empty, 'done', 0], [emptyGz, 'done', 0]]);
});

test('a corrupt .gz (truncated, or garbage in the middle) is named, the other files are replayed, exit 3', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const good = generateLog({ seed: 60, count: 200, startMs: T0 + DAY });
  const broken = generateLog({ seed: 61, count: 3000, startMs: T0 });
  const whole = gzipSync(broken.lines.map((l) => l + '\n').join(''));
  const truncated = join(dir, 'truncated.log.gz');
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  const garbled = join(dir, 'garbled.log.gz');
  const g = Buffer.from(whole);
  g.fill(0x5a, Math.floor(g.length / 2), Math.floor(g.length / 2) + 300);
  writeFileSync(garbled, g);
  const goodPath = writeLog(dir, 'good.log', good.lines);
  for (const corrupt of [truncated, garbled]) {
    const state = join(dir, `${corrupt.endsWith('truncated.log.gz') ? 't' : 'g'}.state`);
    const r = await replay(['-o', 'json', '--workers', '0', '--state', state, goodPath, corrupt]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`tailplow: cannot read ${corrupt}: \\S`));
    const ids = new Set(idsOf(r.stdout));
    assert.deepEqual(good.eids.filter((id) => !ids.has(id)), [], 'every event of the good file');
    const s = summaryOf(r.stderr);
    assert.deepEqual(s.per_file.map((f) => f.file), [corrupt, goodPath]);
    assert.match(s.per_file[0]!.status, /^unreadable from byte \d+$/);
    assert.equal(s.per_file[1]!.status, 'done');
    // What came before the damage was delivered; the file is not marked done.
    assert.ok(s.per_file[0]!.lines! > 500, `${s.per_file[0]!.lines} lines before the damage`);
    assert.equal(stateOf(state, corrupt)?.done, false);
    assert.equal(stateOf(state, goodPath)?.done, true);
  }
});

test('replaying twice gives the same event ids, with and without eid, as JSON and as TSV', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const withEid = generateLog({ seed: 70, count: 150, startMs: T0 });
  const withoutEid = generateLog({ seed: 71, count: 150, startMs: T0 + DAY, withoutEid: true });
  assert.equal(withoutEid.eids.length, 0);
  assert.equal(withoutEid.lines.some((l) => l.includes('eid')), false);
  const paths = [writeLog(dir, 'a.log.gz', withEid.lines), writeLog(dir, 'b.log', withoutEid.lines)];
  const first = idsOf((await replay(['-o', 'json', '--workers', '0', ...paths])).stdout);
  const second = idsOf((await replay(['-o', 'json', '--workers', '0', ...paths])).stdout);
  assert.equal(first.length, withEid.events + withoutEid.events);
  assert.deepEqual(second, first);
  assert.deepEqual(first.slice(0, withEid.events), withEid.eids);
  const derived = first.slice(withEid.events);
  assert.ok(derived.every((id) => UUID_V5.test(id)), 'ids without eid are name-based UUIDs');
  assert.equal(new Set(derived).size, derived.length, 'and distinct');
  // The same content gzipped (a rotated file) has the same offsets, hence the same ids.
  const gz = writeLog(dir, 'b.log.1.gz', withoutEid.lines);
  assert.deepEqual(idsOf((await replay(['-o', 'json', '--workers', '0', gz])).stdout), derived);
  // TSV: event_id is the 7th of 131 columns.
  const tsvIds = async () => {
    const r = await replay(['-o', 'tsv', '--workers', '0', ...paths]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.replace(/\n$/, '').split('\n').map((row) => row.split('\t'));
    assert.ok(rows.every((cols) => cols.length === 131));
    return rows.map((cols) => cols[6]);
  };
  const tsv = await tsvIds();
  assert.deepEqual(tsv, first);
  assert.deepEqual(await tsvIds(), tsv);
});

test('--state: a re-run skips finished files and continues a file that grew', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const state = join(dir, 'replay.state');
  const out = join(dir, 'events.ndjson');
  const old = generateLog({ seed: 80, count: 100, startMs: T0 });
  const current = generateLog({ seed: 81, count: 300, startMs: T0 + DAY, withoutEid: true });
  const oldPath = writeLog(dir, 'access.log.1.gz', old.lines);
  const currentPath = writeLog(dir, 'access.log', current.lines.slice(0, 200));
  const args = ['-o', 'json', '--out', out, '--state', state, '--workers', '0', oldPath, currentPath];
  const first = await replay(args);
  assert.equal(first.code, 0, first.stderr);
  const afterFirst = readFileSync(out, 'utf8');
  assert.equal(stateOf(state, currentPath)!.offset, statSync(currentPath).size);

  const again = await replay(args);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(summaryOf(again.stderr).per_file.map((f) => f.status), ['already done', 'already done']);
  assert.equal(summaryOf(again.stderr).lines, 0);
  assert.equal(readFileSync(out, 'utf8'), afterFirst, 'nothing written twice');

  appendFileSync(currentPath, current.lines.slice(200).map((l) => l + '\n').join(''));
  const grown = await replay(args);
  assert.equal(grown.code, 0, grown.stderr);
  assert.equal(summaryOf(grown.stderr).lines, 100);
  const ids = idsOf(readFileSync(out, 'utf8'));
  // The complete file replayed in one go gives the same ids: offsets are absolute.
  const reference = idsOf((await replay(['-o', 'json', '--workers', '0', oldPath, currentPath])).stdout);
  assert.deepEqual(ids, reference);
  assert.equal(ids.length, old.events + current.events);
});

test('two runs on the same --state: the second is refused with exit 5; a lock left by a dead process is taken over', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const state = join(dir, 'replay.state');
  const log = generateLog({ seed: 90, count: 2000, startMs: T0 });
  const path = writeLog(dir, 'a.log', log.lines);
  // The first run writes to a pipe nobody reads yet: it blocks holding the lock.
  const holder = spawn(process.execPath, [TAILPLOW_BIN, 'replay', '--progress', 'none', '-o', 'json', '--workers', '0', '--state', state, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const holderExit = new Promise<number | null>((resolve) => holder.on('close', resolve));
  await until(() => existsSync(`${state}.lock`), 20_000, 'the first run to take the lock');
  const refused = await replay(['-o', 'json', '--state', state, path]);
  assert.equal(refused.code, 5);
  assert.match(refused.stderr, new RegExp(`another replay \\(pid ${holder.pid}\\) is using ${state}`));
  holder.stdout!.resume();
  assert.equal(await holderExit, 0);
  assert.equal(existsSync(`${state}.lock`), false, 'released at exit');

  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(`${state}.lock`, String(dead));
  appendFileSync(path, generateLog({ seed: 91, count: 10, startMs: T0 + DAY }).lines.map((l) => l + '\n').join(''));
  const after = await replay(['-o', 'json', '--workers', '0', '--state', state, path]);
  assert.equal(after.code, 0, after.stderr);
  assert.equal(summaryOf(after.stderr).lines, 10);
  assert.equal(existsSync(`${state}.lock`), false);
});

/** Starts a replay to a file with --state and waits until it has saved progress in the middle of `path`. */
async function startAndWaitForSavedProgress(args: string[], state: string, path: string) {
  const run = startTailplow(['replay', '--progress', 'none', ...args]);
  let exited = false;
  void run.done.then(() => (exited = true));
  await until(() => {
    if (exited) throw new Error('the replay finished before it could be interrupted: use a bigger file');
    try {
      const f = stateOf(state, path);
      return f !== undefined && f.offset > 0 && !f.done;
    } catch {
      return false; // being replaced right now
    }
  }, 30_000, 'progress saved in the middle of the file');
  return run;
}

/** Starts a replay with --state to `out` and waits until `first` is done and 1 MB more was written. */
async function startAndWaitPast(args: string[], state: string, first: string, out: string) {
  const run = startTailplow(['replay', '--progress', 'none', ...args]);
  let exited = false;
  void run.done.then(() => (exited = true));
  let mark = -1;
  await until(() => {
    if (exited) throw new Error('the replay finished before it could be interrupted: use a bigger file');
    if (mark < 0) {
      try {
        if (stateOf(state, first)?.done) mark = statSync(out).size;
      } catch {
        // being replaced right now
      }
      return false;
    }
    return statSync(out).size > mark + 1_000_000;
  }, 30_000, 'the first file done and 1 MB of the second written');
  return run;
}

function bigFiles(dir: string, secondLines = 8000): { paths: string[]; logs: GeneratedLog[] } {
  const a = generateLog({ seed: 100, count: 4000, startMs: T0 });
  const b = generateLog({ seed: 101, count: secondLines, startMs: T0 + DAY, withoutEid: true });
  return { paths: [writeLog(dir, 'a.log.gz', a.lines), writeLog(dir, 'b.log', b.lines)], logs: [a, b] };
}

test('kill -9 mid-file, then the same command: nothing missing, no ids that a full run would not give', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  // Big enough that the second file takes well over the 1 s between state saves.
  const { paths, logs } = bigFiles(dir, 40_000);
  const reference = new Set(idsOf((await replay(['-o', 'json', '--workers', '0', ...paths])).stdout));
  assert.equal(reference.size, new Set(logs[0]!.eids).size + logs[1]!.events);
  const state = join(dir, 'replay.state');
  const out = join(dir, 'events.ndjson');
  const args = ['-o', 'json', '--out', out, '--state', state, '--workers', '0', ...paths];
  const run = await startAndWaitForSavedProgress(args, state, paths[1]!);
  run.child.kill('SIGKILL');
  assert.equal((await run.done).signal, 'SIGKILL');
  const before = readFileSync(out, 'utf8').split('\n').length - 1;
  assert.ok(before > 0 && before < reference.size, `${before} events written before the kill`);

  const resumed = await replay(args);
  assert.equal(resumed.code, 0, resumed.stderr);
  const s = summaryOf(resumed.stderr);
  assert.equal(s.per_file[0]!.status, 'already done');
  assert.ok(s.lines < logs[1]!.lines.length, `resumed within the file (${s.lines} lines read again)`);
  const counts = countIds(idsOf(readFileSync(out, 'utf8')));
  assert.deepEqual([...reference].filter((id) => !counts.has(id)), [], 'missing');
  assert.deepEqual([...counts.keys()].filter((id) => !reference.has(id)), [], 'unexpected ids');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal}: delivered work is flushed and saved, exit 130; the re-run completes without a single duplicate`, { timeout: 120_000 }, async () => {
    const dir = tempDir();
    // The second file must outlast a state save (1 s) plus 1 MB of output on a fast machine.
    const { paths, logs } = bigFiles(dir, 40_000);
    const state = join(dir, 'replay.state');
    const out = join(dir, 'events.ndjson');
    const args = ['-o', 'json', '--out', out, '--state', state, '--workers', '1', ...paths];
    const run = await startAndWaitPast(args, state, paths[0]!, out);
    run.child.kill(signal);
    const stopped = await run.done;
    assert.equal(stopped.code, 130, stopped.stderr);
    const s = summaryOf(stopped.stderr);
    assert.equal(s.per_file.at(-1)!.status, 'interrupted');
    const saved = stateOf(state, paths[1]!)!;
    assert.equal(saved.done, false);
    const written = idsOf(readFileSync(out, 'utf8'));
    const resumed = await replay(args);
    assert.equal(resumed.code, 0, resumed.stderr);
    const all = idsOf(readFileSync(out, 'utf8'));
    const counts = countIds(all);
    assert.ok(written.length > logs[0]!.events, `stopped mid second file (${written.length} events written)`);
    assert.equal(all.length, logs[0]!.events + logs[1]!.events, 'no event twice');
    assert.equal(counts.size, new Set(logs[0]!.eids).size + logs[1]!.events, 'every id');
    assert.deepEqual(all.slice(0, logs[0]!.events), logs[0]!.eids);
  });
}

test('an output that fails (full device) exits 4 and marks nothing done; fixed, the re-run delivers everything', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const log = generateLog({ seed: 110, count: 500, startMs: T0 });
  const path = writeLog(dir, 'a.log.gz', log.lines);
  const state = join(dir, 'replay.state');
  const failed = await replay(['-o', 'json', '--out', '/dev/full', '--state', state, '--workers', '0', path]);
  assert.equal(failed.code, 4, failed.stderr);
  assert.match(failed.stderr, /tailplow: output failed: .*ENOSPC/);
  assert.match(failed.stderr, /holds only what was delivered; re-run the same command to continue/);
  assert.equal(stateOf(state, path)?.done ?? false, false);
  assert.equal(stateOf(state, path)?.offset ?? 0, 0);
  const out = join(dir, 'events.ndjson');
  const fixed = await replay(['-o', 'json', '--out', out, '--state', state, '--workers', '0', path]);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.deepEqual(idsOf(readFileSync(out, 'utf8')), log.eids);
});

test('an output that fails midway (file size limit) exits 4 with the state short of the failure; the re-run fills the gap', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const log = generateLog({ seed: 111, count: 3000, startMs: T0 });
  const path = writeLog(dir, 'a.log', log.lines);
  const state = join(dir, 'replay.state');
  const out = join(dir, 'events.ndjson');
  const cmd = `${process.execPath} ${TAILPLOW_BIN} replay --progress none -o json --out ${out} --state ${state} --workers 0 ${path}`;
  // ulimit -f 2048: writes past 2 MiB fail with EFBIG (SIGXFSZ ignored, as the shell passes it on).
  const limited = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 2048; exec ${cmd}`], { encoding: 'utf8' });
  assert.equal(limited.status, 4, limited.stderr);
  assert.match(limited.stderr, /output failed: .*EFBIG/);
  const saved = stateOf(state, path);
  assert.equal(saved?.done ?? false, false);
  // Every event of a line below the saved offset is complete in the output.
  const written = readFileSync(out, 'utf8');
  assert.equal(statSync(out).size, 2048 * 1024);
  const complete = new Set(written.split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { event_id: string }).event_id));
  let offset = 0;
  let covered = 0;
  let eidIndex = 0;
  for (const line of log.lines) {
    const inLine = (line.match(/eid=|\\"eid\\"/g) ?? []).length;
    if (offset < (saved?.offset ?? 0)) {
      for (const id of log.eids.slice(eidIndex, eidIndex + inLine)) assert.ok(complete.has(id), `event ${id} of a delivered line is in the output`);
      covered += inLine;
    }
    eidIndex += inLine;
    offset += Buffer.byteLength(line) + 1;
  }
  assert.ok(covered > 0 && covered < log.events, `${covered} events counted delivered`);

  const fixed = spawnSync('bash', ['-c', `exec ${cmd}`], { encoding: 'utf8' });
  assert.equal(fixed.status, 0, fixed.stderr);
  const counts = countIds(idsOf(readFileSync(out, 'utf8')));
  assert.deepEqual(log.eids.filter((id) => !counts.has(id)), [], 'missing');
  assert.equal(counts.size, new Set(log.eids).size);
});

test('off a terminal: JSON progress lines at the interval, then the summary as the last line', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const { paths, logs } = bigFiles(dir);
  const r = await runTailplow(['replay', '-o', 'null', '--workers', '0', '--progress-interval', '100', ...paths]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  const progress = lines.slice(0, -1);
  const summary = lines.at(-1)!;
  assert.equal(summary.summary, 'replay');
  assert.equal(summary.lines, logs[0]!.lines.length + logs[1]!.lines.length);
  assert.ok(progress.length >= 2, `${progress.length} progress lines`);
  const totalBytes = statSync(paths[1]!).size + logs[0]!.lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  let previous = 0;
  for (const p of progress) {
    assert.deepEqual(Object.keys(p).sort(), ['bad', 'bytes', 'eta_s', 'events', 'file', 'lines', 'lines_per_s', 'progress', 'total_bytes']);
    assert.equal(p.total_bytes, totalBytes);
    assert.ok((p.lines as number) >= previous && (p.lines as number) <= (summary.lines as number));
    assert.ok((p.progress as number) > 0 && (p.progress as number) <= 1);
    assert.ok(paths.includes(p.file as string));
    previous = p.lines as number;
  }
  const none = await runTailplow(['replay', '-o', 'null', '--workers', '0', '--progress', 'none', '--progress-interval', '100', ...paths]);
  assert.equal(none.stderr.trim().split('\n').length, 1, 'only the summary');
});

test('--progress bar under a pseudo-terminal draws a bar', { timeout: 60_000 }, async (t) => {
  if (spawnSync('script', ['--version']).status !== 0) return t.skip('script(1) not installed');
  const dir = tempDir();
  const { paths } = bigFiles(dir);
  const r = spawnSync('script', ['-qec', `${process.execPath} ${TAILPLOW_BIN} replay -o null --workers 0 ${paths.join(' ')}`, '/dev/null'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /100% \| [\d.]+\/[\d.]+ MB \| \d+ lines\/s/);
});

test('decoding on 2 worker threads gives the same bytes, in the same order, as decoding in the main thread', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const { paths } = bigFiles(dir);
  const withoutEtl = (s: string) => s.replace(/"etl_tstamp":"[^"]*",/g, '');
  for (const output of ['json', 'tsv']) {
    const main = await replay(['-o', output, '--workers', '0', ...paths]);
    const two = await replay(['-o', output, '--workers', '2', ...paths]);
    assert.equal(main.code, 0, main.stderr);
    assert.equal(two.code, 0, two.stderr);
    const normalise = output === 'json' ? withoutEtl : (s: string) => s.split('\n').map((row) => row.split('\t').filter((_, i) => i !== 2).join('\t')).join('\n');
    assert.ok(main.stdout.length > 10_000_000, `${main.stdout.length} bytes`);
    assert.ok(normalise(two.stdout) === normalise(main.stdout), `${output}: --workers 2 differs from --workers 0`);
  }
});

/** Runs `args` with --state into one output file; what it holds at the end, sorted. */
function stateRun(dir: string) {
  const state = join(dir, 'replay.state');
  const out = join(dir, 'events.ndjson');
  return {
    state,
    run: (paths: string[], extra: string[] = []) => replay(['-o', 'json', '--out', out, '--state', state, '--workers', '0', ...extra, ...paths]),
    ids: () => idsOf(readFileSync(out, 'utf8')).sort(),
  };
}
const referenceIds = async (paths: string[]) => idsOf((await replay(['-o', 'json', '--workers', '0', ...paths])).stdout).sort();

test('--state: a file that grew after a run and was then rotated and gzipped is finished from the archive', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const log = generateLog({ seed: 90, count: 60, startMs: T0 });
  const s = stateRun(dir);
  const current = writeLog(dir, 'access.log', log.lines.slice(0, 30));
  assert.equal((await s.run([current])).code, 0);
  appendFileSync(current, log.lines.slice(30, 45).map((l) => l + '\n').join(''));
  writeFileSync(join(dir, 'access.log.1.gz'), gzipSync(readFileSync(current)));
  writeLog(dir, 'access.log', log.lines.slice(45));
  const paths = [join(dir, 'access.log.1.gz'), current];
  const second = await s.run(paths);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(s.ids(), await referenceIds(paths));
  const third = await s.run(paths);
  assert.deepEqual(summaryOf(third.stderr).per_file.map((f) => f.status), ['already done', 'already done']);
});

test('--state: a gzip archive that grows by members (nginx access_log ... gzip) is read on, not taken as done', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const log = generateLog({ seed: 91, count: 40, startMs: T0 });
  const s = stateRun(dir);
  const path = join(dir, 'access.log.gz');
  const member = (from: number, to: number) => gzipSync(log.lines.slice(from, to).map((l) => l + '\n').join(''));
  writeFileSync(path, Buffer.concat([member(0, 10), member(10, 20)]));
  assert.equal((await s.run([path])).code, 0);
  appendFileSync(path, Buffer.concat([member(20, 30), member(30, 40)]));
  const second = await s.run([path]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(summaryOf(second.stderr).lines, 20, 'only the new members');
  assert.deepEqual(s.ids(), await referenceIds([path]));
});

test('--state: a file shorter than a fingerprint is known by its content: grown, copied to .gz, or replaced on its inode', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  // Real tracker lines: a page view GET is shorter than the 1024-byte fingerprint.
  const log = { lines: readFileSync(join(__dirname, '../../../../test/fixtures/tracker/tailplow-json.log'), 'utf8').split('\n').filter((l) => l.length > 0) };
  const short = log.lines.findIndex((l) => Buffer.byteLength(l) < 1000 && l.includes('"request_method":"GET"'));
  assert.ok(short >= 0, 'a line shorter than the 1024-byte fingerprint');
  const s = stateRun(dir);
  const current = writeLog(dir, 'access.log', [log.lines[short]!]);
  assert.equal((await s.run([current])).code, 0);
  // Rotated and compressed, then a new file at the same path (ext4 hands it the freed inode).
  writeFileSync(join(dir, 'access.log.1.gz'), gzipSync(readFileSync(current)));
  const others = log.lines.filter((_, i) => i !== short);
  writeLog(dir, 'access.log', [others[0]!]);
  const paths = [join(dir, 'access.log.1.gz'), current];
  assert.equal((await s.run(paths)).code, 0);
  // The new file grows past the fingerprint.
  appendFileSync(current, others.slice(1).map((l) => l + '\n').join(''));
  const third = await s.run(paths);
  assert.equal(third.code, 0, third.stderr);
  assert.equal(summaryOf(third.stderr).lines, others.length - 1, 'the grown file continues after its first line');
  assert.deepEqual(s.ids(), await referenceIds(paths));
});

test('--state: a last line without its newline is left for the run that sees it whole', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const log = generateLog({ seed: 93, count: 20, startMs: T0 });
  const s = stateRun(dir);
  const path = join(dir, 'access.log');
  const text = log.lines.map((l) => l + '\n').join('');
  writeFileSync(path, text.slice(0, text.length - 200));
  const first = await s.run([path]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(summaryOf(first.stderr).bad, 0, 'the partial line is not a bad row');
  assert.match(summaryOf(first.stderr).per_file[0]!.status, /last line \(no newline yet/);
  appendFileSync(path, text.slice(text.length - 200));
  assert.equal((await s.run([path])).code, 0);
  assert.deepEqual(s.ids(), await referenceIds([path]));
  // A file at rest for more than a minute is final: its last line counts without a newline.
  const rest = join(dir, 'old.log');
  const restLog = generateLog({ seed: 95, count: 5, startMs: T0 });
  writeFileSync(rest, restLog.lines.join('\n'));
  utimesSync(rest, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
  const atRest = await s.run([rest]);
  assert.equal(summaryOf(atRest.stderr).per_file[0]!.status, 'done');
  assert.equal(summaryOf(atRest.stderr).lines, 5);
});

test('--state with --until: what the bound left out is delivered by a later run with a later bound', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const log = generateLog({ seed: 94, count: 100, startMs: T0, stepMs: 60_000 });
  const s = stateRun(dir);
  const path = writeLog(dir, 'access.log', log.lines);
  const first = await s.run([path], ['--until', new Date(T0 + 50 * 60_000).toISOString()]);
  assert.equal(first.code, 0, first.stderr);
  assert.ok(summaryOf(first.stderr).out_of_range > 0);
  assert.match(summaryOf(first.stderr).per_file[0]!.status, /done up to --until/);
  const second = await s.run([path], ['--until', new Date(T0 + 200 * 60_000).toISOString()]);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(s.ids(), await referenceIds([path]));
});
