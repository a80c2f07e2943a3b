// The embedded profile store (the default of `tailplow run`) when its file system fills up: a
// batch LMDB cannot commit is refused with an error that says so, the process goes on (lmdb-js
// used to leave an unhandled rejection behind that ended it: that is how a `run` soak in CI died
// after a kill -9), closing the store right after does not hang, and once there is room again
// batches are applied and the counters are exact.
// A real full file system: a 4 MB tmpfs mounted for the test (root only; skipped otherwise).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mountPoint = mkdtempSync(join(tmpdir(), 'tailplow-full-fs-'));
const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]).status === 0;

after(() => {
  if (mounted) spawnSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

test('embedded profile store on a full file system: batches refused with the reason, the process goes on, close does not hang, exact counters once there is room', { skip: mounted ? false : 'needs root to mount a 4 MB tmpfs' }, () => {
  const child = spawnSync(process.execPath, [join(__dirname, 'disk-full-child.js'), join(mountPoint, 'profile'), join(mountPoint, 'filler')], { encoding: 'utf8', timeout: 60_000 });
  const steps = child.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { step: string; ok?: boolean; message?: string; events?: number; totalEvents?: number; expected?: number; freeBytes?: number; ms?: number });
  const context = `exit ${child.status} ${child.signal ?? ''}\nstdout:\n${child.stdout}\nstderr:\n${child.stderr}`;
  assert.equal(child.status, 0, context);
  assert.deepEqual(
    steps.map((s) => s.step),
    ['applied', 'filled', 'refused', 'refused', 'refused', 'closed', 'applied', 'reopened'],
    context,
  );
  assert.ok(steps[1]!.freeBytes! < 64 * 1024, `the filler left ${steps[1]!.freeBytes} bytes`);
  for (const refused of steps.filter((s) => s.step === 'refused')) {
    assert.equal(refused.ok, true, refused.message);
    assert.match(refused.message!, /the batch could not be committed, nothing of it was stored: /);
  }
  assert.ok(steps[5]!.ms! < 5000, `close after the failures took ${steps[5]!.ms} ms`);
  const reopened = steps.at(-1)!;
  assert.equal(reopened.totalEvents, reopened.expected, 'the refused batches left nothing behind and the later one counted once');
  assert.equal(reopened.expected, 200);
});
