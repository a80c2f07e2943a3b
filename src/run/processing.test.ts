import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutMessage } from '../kafka/producer';
import type { BatchGuard, StageSinkPhases, StageSinkRunner } from '../pipeline/process';
import type { SnowplowEvent } from '../snowplow/event';
import { pipelinedGroupCommit } from './processing';

const guard: BatchGuard = { check: () => {}, isAbandon: () => false, waiting: '' };
const evs = (...ids: string[]) => ids.map((id) => ({ event_id: id }) as SnowplowEvent);
const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));
/** Stages that pass everything through; the whole runner as the sinks. */
const sinksOnly = (runner: StageSinkRunner): StageSinkPhases => ({
  stages: async (events, bad, g) => ({ events, bad, guard: g }),
  sinks: (b) => runner(b.events, b.bad, b.guard),
});

test('group commit: one call at a time, in order; batches queued meanwhile are combined into the next call', async () => {
  const calls: string[][] = [];
  let release: () => void = () => {};
  const runner: StageSinkRunner = async (events) => {
    calls.push(events.map((e) => e.event_id!));
    if (calls.length === 1) await new Promise<void>((r) => (release = r));
  };
  const run = pipelinedGroupCommit(sinksOnly(runner));
  const done: string[] = [];
  const p1 = run(evs('a'), [], guard).then(() => done.push('1'));
  const p2 = run(evs('b', 'c'), [], guard).then(() => done.push('2'));
  const p3 = run(evs('d'), [], guard).then(() => done.push('3'));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(calls, [['a']], 'the second call waits for the first');
  assert.deepEqual(done, []);
  release();
  await Promise.all([p1, p2, p3]);
  // b, c and d queued while a was staged: one group.
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
  const run = pipelinedGroupCommit(sinksOnly(runner), 2);
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

test('group commit: the next group goes through the stages while the sinks write the previous one; one group per half, settled in order', async () => {
  const log: string[] = [];
  const releases = new Map<string, () => void>();
  const phases: StageSinkPhases = {
    async stages(events, bad, g) {
      log.push(`stages ${events.map((e) => e.event_id).join('')}`);
      return { events, bad, guard: g };
    },
    async sinks(b) {
      const ids = b.events.map((e) => e.event_id).join('');
      log.push(`sinks ${ids}`);
      await new Promise<void>((r) => releases.set(ids, r));
      log.push(`stored ${ids}`);
    },
  };
  const run = pipelinedGroupCommit(phases, 1);
  const done: string[] = [];
  const all = ['a', 'b', 'c'].map((id) => run(evs(id), [], guard).then(() => done.push(id)));
  await tick();
  assert.deepEqual(log, ['stages a', 'sinks a', 'stages b'], 'b staged while a is written; c waits (b holds the stage half)');
  releases.get('a')!();
  await tick();
  assert.deepEqual(log.slice(3), ['stored a', 'sinks b', 'stages c']);
  assert.deepEqual(done, ['a']);
  releases.get('b')!();
  await tick();
  releases.get('c')!();
  await Promise.all(all);
  assert.deepEqual(log.slice(6), ['stored b', 'sinks c', 'stored c']);
  assert.deepEqual(done, ['a', 'b', 'c']);
  // A batch queued after everything settled starts a new round.
  const pd = run(evs('d'), [], guard).then(() => done.push('d'));
  await tick();
  releases.get('d')!();
  await pd;
  assert.deepEqual(done, ['a', 'b', 'c', 'd']);
});

test('group commit: a stage failure rejects its group only, while the group before is still being written', async () => {
  let release: () => void = () => {};
  const phases: StageSinkPhases = {
    async stages(events, bad, g) {
      if (events.some((e) => e.event_id === 'boom')) throw new Error('stage broke');
      return { events, bad, guard: g };
    },
    async sinks(b) {
      if (b.events[0]?.event_id === 'a') await new Promise<void>((r) => (release = r));
    },
  };
  const run = pipelinedGroupCommit(phases, 1);
  const pa = run(evs('a'), [], guard);
  const pBoom = run(evs('boom'), [], guard);
  const pc = run(evs('c'), [], guard);
  await assert.rejects(pBoom, /stage broke/);
  release();
  await pa;
  await pc;
});

test('group commit: batches that arrive while the sinks write are staged at once and written together by the next sinks call', async () => {
  const log: string[] = [];
  const releases: Array<() => void> = [];
  const phases: StageSinkPhases = {
    async stages(events, bad, g) {
      log.push(`stages ${events.map((e) => e.event_id).join('')}`);
      return { events, bad, guard: g };
    },
    async sinks(b) {
      log.push(`sinks ${b.events.map((e) => e.event_id).join('')}`);
      await new Promise<void>((r) => releases.push(r));
    },
  };
  const run = pipelinedGroupCommit(phases);
  const pa = run(evs('a'), [], guard);
  await tick();
  assert.deepEqual(log, ['stages a', 'sinks a']);
  // Arriving one by one while a is being written: each is staged right away, none waits for a.
  const pb = run(evs('b'), [], guard);
  await tick();
  const pc = run(evs('c'), [], guard);
  await tick();
  assert.deepEqual(log, ['stages a', 'sinks a', 'stages b', 'stages c']);
  releases.shift()!();
  await pa;
  await tick();
  assert.deepEqual(log.slice(4), ['sinks bc'], 'b and c in one sinks call');
  releases.shift()!();
  await Promise.all([pb, pc]);
});
