import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightWindow } from './window';

test('acquire waits while the window is full and wakes in order', async () => {
  const w = new InFlightWindow(10);
  await w.acquire(6);
  const order: string[] = [];
  const a = w.acquire(6).then(() => order.push('a'));
  const b = w.acquire(1).then(() => order.push('b'));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(order, [], 'nothing admitted past capacity, and b queues behind a (FIFO)');
  w.release(6);
  await Promise.all([a, b]);
  assert.deepEqual(order, ['a', 'b']);
  assert.equal(w.inFlight, 7);
});

test('an oversized cost is admitted alone instead of deadlocking', async () => {
  const w = new InFlightWindow(4);
  await w.acquire(100);
  assert.equal(w.inFlight, 100);
  let admitted = false;
  const p = w.acquire(1).then(() => (admitted = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(admitted, false);
  w.release(100);
  await p;
  assert.equal(w.inFlight, 1);
  w.release(1);
});
