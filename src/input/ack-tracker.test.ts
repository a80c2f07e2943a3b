import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAckTracker } from './ack-tracker';

test('the committed offset moves only over the contiguous acknowledged prefix', () => {
  const acks = createAckTracker(10);
  const a = acks.issued(20);
  const b = acks.issued(30);
  const c = acks.issued(40);
  assert.equal(acks.acknowledge(c), false);
  assert.equal(acks.committed(), 10);
  assert.equal(acks.acknowledge(a), true);
  assert.equal(acks.committed(), 20);
  assert.equal(acks.inFlight(), 2);
  assert.equal(acks.acknowledge(b), true);
  assert.equal(acks.committed(), 40);
  assert.equal(acks.inFlight(), 0);
  assert.equal(acks.acknowledge(b), false, 'a repeated ack changes nothing');
});
