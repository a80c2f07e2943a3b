import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutMessage } from '../kafka/producer';
import type { BatchGuard, StageSinkRunner } from '../pipeline/process';
import type { SnowplowEvent } from '../snowplow/event';
import { serialisedGroupCommit } from './processing';

const guard: BatchGuard = { check: () => {}, isAbandon: () => false, waiting: '' };
const evs = (...ids: string[]) => ids.map((id) => ({ event_id: id }) as SnowplowEvent);

test('group commit: one call at a time, in order; batches queued meanwhile are combined into the next call', async () => {
  const calls: string[][] = [];
  let release: () => void = () => {};
  const runner: StageSinkRunner = async (events) => {
    calls.push(events.map((e) => e.event_id!));
    if (calls.length === 1) await new Promise<void>((r) => (release = r));
  };
  const run = serialisedGroupCommit(runner);
  const done: string[] = [];
  const p1 = run(evs('a'), [], guard).then(() => done.push('1'));
  const p2 = run(evs('b', 'c'), [], guard).then(() => done.push('2'));
  const p3 = run(evs('d'), [], guard).then(() => done.push('3'));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(calls, [['a']], 'the second call waits for the first');
  assert.deepEqual(done, []);
  release();
  await Promise.all([p1, p2, p3]);
  assert.deepEqual(calls, [['a'], ['b', 'c', 'd']]);
  assert.deepEqual(done, ['1', '2', '3']);
});

test('group commit: bad rows travel with their batch; a failed call rejects exactly its batches, later ones go on', async () => {
  const seen: Array<{ ids: string[]; bad: string[] }> = [];
  let fail = true;
  let release: () => void = () => {};
  let first = true;
  const runner: StageSinkRunner = async (events, bad: OutMessage[]) => {
    seen.push({ ids: events.map((e) => e.event_id!), bad: bad.map((b) => String(b.value)) });
    if (first) {
      first = false;
      await new Promise<void>((r) => (release = r));
      return;
    }
    if (fail) {
      fail = false;
      throw new Error('sink down for good');
    }
  };
  const run = serialisedGroupCommit(runner, 2);
  const p0 = run(evs('x'), [], guard);
  const p1 = run(evs('a'), [{ key: null, value: 'bad-a' }], guard);
  const p2 = run(evs('b'), [], guard);
  const p3 = run(evs('c'), [], guard);
  await new Promise((r) => setTimeout(r, 10));
  release();
  await p0;
  await assert.rejects(p1, /sink down/);
  await assert.rejects(p2, /sink down/);
  await p3;
  assert.deepEqual(seen, [
    { ids: ['x'], bad: [] },
    { ids: ['a', 'b'], bad: ['bad-a'] },
    { ids: ['c'], bad: [] },
  ]);
});
