import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommitQueue } from './commit-queue';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

function recordingQueue() {
  const commits: Array<[number, string]> = [];
  const failures: Array<[number, string, string]> = [];
  const queue = new CommitQueue({
    commit: async (partition, offset) => void commits.push([partition, offset]),
    onFailure: (partition, first, err) => void failures.push([partition, first, String(err)]),
  });
  const add = (partition: number, first: number, last: number) => {
    const d = deferred();
    const live = queue.add({ partition, firstOffset: String(first), nextOffset: String(last + 1), events: last - first + 1, stored: d.promise });
    return { ...d, live };
  };
  return { queue, commits, failures, add };
}

test('a partition commits only over a contiguous prefix of stored batches, whatever order they are stored in', async () => {
  const { queue, commits, add } = recordingQueue();
  const a = add(0, 0, 9);
  const b = add(0, 10, 19);
  const c = add(0, 20, 29);
  const other = add(1, 0, 4);
  assert.equal(queue.pendingEvents, 35);
  c.resolve();
  b.resolve();
  await tick();
  assert.deepEqual(commits, [], 'nothing while the first batch is pending');
  other.resolve();
  await tick();
  assert.deepEqual(commits, [[1, '5']], 'partitions are independent');
  a.resolve();
  await tick();
  assert.deepEqual(commits, [[1, '5'], [0, '30']], 'one commit covers the whole stored prefix');
  assert.equal(queue.pendingEvents, 0);
  await queue.drained();
});

test('a failed batch drops itself and the later batches of its partition; the earlier ones still commit', async () => {
  const { queue, commits, failures, add } = recordingQueue();
  const a = add(0, 0, 9);
  const b = add(0, 10, 19);
  const c = add(0, 20, 29);
  b.reject(new Error('sink refused'));
  await tick();
  assert.deepEqual(failures, [[0, '10', 'Error: sink refused']]);
  assert.equal(b.live(), false);
  assert.equal(c.live(), false, 'a later batch is redone from the failed one');
  assert.equal(a.live(), true);
  c.resolve();
  a.resolve();
  await tick();
  assert.deepEqual(commits, [[0, '10']], 'only the batch before the failure');
  assert.equal(queue.pendingEvents, 0);
});

test('reset forgets every pending batch: none commits, none reports a failure, the count drops to zero', async () => {
  const { queue, commits, failures, add } = recordingQueue();
  const a = add(0, 0, 9);
  const b = add(1, 0, 9);
  queue.reset();
  assert.equal(queue.pendingEvents, 0);
  assert.equal(a.live(), false);
  a.resolve();
  b.reject(new Error('late'));
  await tick();
  assert.deepEqual(commits, []);
  assert.deepEqual(failures, []);
  const c = add(0, 0, 9);
  c.resolve();
  await tick();
  assert.deepEqual(commits, [[0, '10']], 'batches added after the reset commit as usual');
});

test('below(limit) waits until enough pending events were stored', async () => {
  const { queue, add } = recordingQueue();
  const a = add(0, 0, 99);
  add(1, 0, 49);
  let passed = false;
  const waiting = queue.below(60).then(() => (passed = true));
  await tick();
  assert.equal(passed, false);
  a.resolve();
  await waiting;
  assert.equal(queue.pendingEvents, 50);
});

test('a failed commit does not stop later ones (commits are cumulative)', async () => {
  const commits: string[] = [];
  let calls = 0;
  const queue = new CommitQueue({
    commit: async (_p, offset) => {
      if (++calls === 1) throw new Error('rebalancing');
      commits.push(offset);
    },
    onFailure: () => {},
  });
  const first = deferred();
  const second = deferred();
  queue.add({ partition: 0, firstOffset: '0', nextOffset: '10', events: 10, stored: first.promise });
  queue.add({ partition: 0, firstOffset: '10', nextOffset: '20', events: 10, stored: second.promise });
  first.resolve();
  await tick();
  second.resolve();
  await queue.drained();
  assert.deepEqual(commits, ['20']);
});
