import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LineBatch } from '../input/types';
import { createTailMetrics } from '../observe/tail-metrics';
import { silentLogger } from '../util/logger';
import type { DecodedBatch } from './batch-decode';
import type { DecodePool } from './decode-pool';
import { startTailLoop, type EventOutput, type TailSource } from './tail';

class FatalError extends Error {}

function batchOf(n: number): LineBatch {
  return { fileKey: 'k', path: '/var/log/nginx/access.log', lines: [{ text: `line ${n}`, offset: n * 10, nextOffset: n * 10 + 10 }] };
}

const sourceOf = (batches: LineBatch[], acked: number[]): TailSource => ({
  // Like a followed file: after the batches there is nothing more to read, yet.
  async *batches() {
    yield* batches;
    await new Promise(() => {});
  },
  ack: (b) => acked.push(b.lines[0]!.offset),
});

const pool: DecodePool = {
  submit: async (b): Promise<DecodedBatch> => ({
    path: b.path,
    fileKey: b.fileKey,
    lines: b.lines.length,
    endOffset: b.lines.at(-1)!.nextOffset,
    events: b.lines.map((l) => ({ key: null, value: '{}', offset: l.offset })),
    bad: [],
    outOfRange: 0,
    eventsByType: {},
    badByKind: {},
    skippedByReason: {},
  }),
  close: async () => {},
};

/** A loop over two one-line batches, retrying every 5 ms; what it reports and acknowledges is recorded. */
function startTwoBatchLoop(output: EventOutput, signal: AbortSignal) {
  const states: boolean[] = [];
  const acked: number[] = [];
  const retry = { initialMs: 5, maxMs: 5, maxAttempts: Infinity };
  const loop = startTailLoop(sourceOf([batchOf(0), batchOf(1)], acked), pool, output, { maxInFlightBytes: 1000, signal, retry, onOutputState: (ok) => states.push(ok) }, createTailMetrics(), silentLogger);
  return { loop, states, acked };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('after a fatal send, a send still retrying stops and no longer reports to /healthz', async () => {
  // Send 1 is rejected for good; send 2 fails retriably forever (a producer that is about to be
  // closed). Before the fix the second kept retrying after the loop had ended and flipped the
  // shared health state to unhealthy under the next, healthy, life of the pipeline.
  let sends = 0;
  const output: EventOutput = {
    send: async () => {
      sends++;
      if (sends === 1) {
        await sleep(20);
        throw new FatalError('rejected');
      }
      throw new Error('broker unavailable');
    },
    isRetriable: (err) => !(err instanceof FatalError),
  };
  const { loop, states, acked } = startTwoBatchLoop(output, new AbortController().signal);
  await assert.rejects(loop.done, FatalError);
  const statesAtEnd = states.length;
  const sendsAtEnd = sends;
  await sleep(100);
  assert.equal(states.length, statesAtEnd, 'no health reports after the loop failed');
  assert.ok(sends <= sendsAtEnd + 1, `retries stopped (${sends - sendsAtEnd} sends after the failure)`);
  assert.deepEqual(acked, []);
});

test('drain: a send that does not succeed within the timeout is abandoned, not retried forever', async () => {
  let sends = 0;
  const output: EventOutput = {
    send: async () => {
      sends++;
      if (sends === 1) return;
      throw new Error('broker unavailable');
    },
    isRetriable: () => true,
  };
  const stop = new AbortController();
  const { loop, states, acked } = startTwoBatchLoop(output, stop.signal);
  await sleep(50);
  stop.abort();
  await loop.done;
  const left = await loop.drain(50);
  assert.equal(left, 10, 'the second batch is still in flight');
  assert.deepEqual(acked, [0], 'only the delivered batch is acknowledged');
  const sendsAtDrain = sends;
  const statesAtDrain = states.length;
  await sleep(100);
  assert.ok(sends <= sendsAtDrain + 1, `retries stopped (${sends - sendsAtDrain} sends after the drain)`);
  assert.equal(states.length, statesAtDrain);
  assert.equal(states.at(-1), false, 'the last report was the failing send');
});
