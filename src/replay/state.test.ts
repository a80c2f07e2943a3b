import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, loadState, LockedError, saveState, type ReplayState } from './state';

const tempDir = () => mkdtempSync(join(tmpdir(), 'tailplow-replay-state-'));

test('a missing state file is an empty state; saved state loads back unchanged, with no temp file left', async () => {
  const file = join(tempDir(), 'replay.state');
  assert.deepEqual(await loadState(file), { version: 1, files: {} });
  const state: ReplayState = {
    version: 1,
    files: { abc: { path: '/var/log/nginx/a.log.1.gz', offset: 12345, done: true, updatedAt: '2026-11-01T00:00:00.000Z' } },
  };
  await saveState(file, state);
  assert.deepEqual(await loadState(file), state);
  state.files.abc!.offset = 99;
  await saveState(file, state);
  assert.equal((await loadState(file)).files.abc!.offset, 99);
  assert.deepEqual(readdirSync(join(file, '..')), ['replay.state']);
});

test('a file that is not a replay state is refused, not overwritten', async () => {
  const file = join(tempDir(), 'other.json');
  writeFileSync(file, JSON.stringify({ hello: 'world' }));
  await assert.rejects(loadState(file), /is not a tailplow replay state file/);
  writeFileSync(file, 'not json');
  await assert.rejects(loadState(file), SyntaxError);
});

test('the lock holds our pid, refuses a second holder while we live, and is gone after release', () => {
  const file = join(tempDir(), 'replay.state');
  const release = acquireLock(file);
  assert.equal(readFileSync(`${file}.lock`, 'utf8'), String(process.pid));
  assert.throws(() => acquireLock(file), (err: unknown) => err instanceof LockedError && err.message.includes(`pid ${process.pid}`));
  release();
  assert.equal(existsSync(`${file}.lock`), false);
  acquireLock(file)();
});

test('a lock left by a dead process (kill -9) is taken over', () => {
  const file = join(tempDir(), 'replay.state');
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(`${file}.lock`, String(dead));
  const release = acquireLock(file);
  assert.equal(readFileSync(`${file}.lock`, 'utf8'), String(process.pid));
  release();
});

test('an empty or garbled lock file (crash while writing it) counts as stale', () => {
  const file = join(tempDir(), 'replay.state');
  writeFileSync(`${file}.lock`, '');
  acquireLock(file)();
  writeFileSync(`${file}.lock`, 'garbage');
  acquireLock(file)();
});
