/** Worker-thread side of decode-pool.ts: decodes batches with createBatchDecoder. */
import { parentPort, workerData } from 'node:worker_threads';
import type { LineBatch } from '../input/types';
import { createBatchDecoder, type BatchDecodeSettings } from './batch-decode';

const decode = createBatchDecoder(workerData as BatchDecodeSettings);
parentPort!.on('message', (msg: { seq: number; batch: LineBatch }) => {
  parentPort!.postMessage({ seq: msg.seq, result: decode(msg.batch) });
});
