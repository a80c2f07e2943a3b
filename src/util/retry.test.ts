import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, RetriableError, withRetry } from './retry';

test('retries retriable errors until success', async () => {
  let calls = 0;
  const v = await withRetry(
    async () => {
      calls++;
      if (calls < 3) throw new RetriableError('busy');
      return 'done';
    },
    { policy: { initialMs: 1, maxMs: 2, maxAttempts: 10 } },
  );
  assert.equal(v, 'done');
  assert.equal(calls, 3);
});

test('non-retriable errors are thrown at once', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw new Error('bad request');
    }),
    /bad request/,
  );
  assert.equal(calls, 1);
});

test('gives up after maxAttempts', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new RetriableError('down');
      },
      { policy: { initialMs: 1, maxMs: 1, maxAttempts: 4 } },
    ),
    /down/,
  );
  assert.equal(calls, 4);
});

test('backoff grows exponentially and is capped', () => {
  const policy = { initialMs: 100, maxMs: 1000, maxAttempts: Infinity };
  assert.equal(backoffDelay(0, policy, () => 0.999), 99);
  assert.equal(backoffDelay(2, policy, () => 0.999), 399);
  assert.equal(backoffDelay(20, policy, () => 0.999), 999);
});
