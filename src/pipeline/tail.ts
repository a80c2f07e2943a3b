/**
 * The tailer's loop: batches of lines -> decode (worker threads) -> output -> ack back to the
 * input, so the registry only moves over lines whose events the output acknowledged.
 *
 * Order: batches are decoded in parallel but handed to the output strictly in read order, so one
 * visitor's events keep their order on their partition. Acks may come back in any order; the
 * input keeps the contiguous prefix.
 * Backpressure: a window of bytes in flight; when the output is slow or down, `acquire` waits,
 * the loop stops pulling batches and the input stops reading: the log file is the buffer.
 */
import type { LineBatch } from '../input/types';
import type { OutMessage } from '../kafka/producer';
import type { TailMetrics } from '../observe/tail-metrics';
import type { SnowplowEvent } from '../snowplow/event';
import type { Logger } from '../util/logger';
import { isRetriableDefault, withRetry, type IsRetriable, type RetryPolicy } from '../util/retry';
import { InFlightWindow } from '../util/window';
import type { DecodedBatch } from './batch-decode';
import type { DecodePool } from './decode-pool';

/** Where decoded events go: Kafka for `tail`, the embedded pipeline for `run`. */
export interface EventOutput {
  /** Resolves when both events and bad rows are durably accepted. */
  send(events: OutMessage[], bad: OutMessage[]): Promise<void>;
  /** Which errors are worth retrying (a broker that is down) rather than fatal (a rejected message). */
  isRetriable?: IsRetriable;
}

export interface TailSource {
  batches(): AsyncIterable<LineBatch>;
  /** The batch as handed out, but its lines' texts are '' by then (offsets and count stay). */
  ack(batch: LineBatch): void;
}

export interface TailLoopOptions {
  maxInFlightBytes: number;
  retry?: RetryPolicy;
  /** Aborting stops reading; what is in flight is still delivered by `drain`. */
  signal: AbortSignal;
  /** Told about every failed and every successful send, e.g. for /healthz. */
  onOutputState?: (ok: boolean) => void;
}

/** Kafka key: events of one visitor go to one partition, so per-visitor order holds. */
export function visitorKeyOf(e: SnowplowEvent): string | null {
  const v = e.domain_userid ?? e.network_userid ?? e.user_ipaddress;
  return typeof v === 'string' && v !== '' ? v : null;
}

export interface TailLoop {
  /** Resolves when reading stopped (signal aborted or the source ended). Rejects on a fatal output error. */
  done: Promise<void>;
  /**
   * Waits until everything read was acknowledged, at most `timeoutMs`; returns the bytes still in
   * flight. Sends still retrying after that are abandoned: their lines are read again next life.
   */
  drain(timeoutMs: number): Promise<number>;
}

export function startTailLoop(
  source: TailSource,
  pool: DecodePool,
  output: EventOutput,
  opts: TailLoopOptions,
  metrics: TailMetrics,
  logger: Logger,
): TailLoop {
  const window = new InFlightWindow(opts.maxInFlightBytes);
  let fatal: unknown;
  // The loop waits on one thing at a time (the next batch, room in the window); a stop signal or a
  // fatal error interrupts that wait. Racing each wait against long-lived pending promises instead
  // adds a reaction per batch to them that keeps the batch reachable: every line read, leaked.
  const STOPPED = Symbol('stopped');
  let interrupt: ((reason: 'abort' | 'fatal') => void) | undefined;
  const waitUnlessStopped = <T>(p: Promise<T>, stopOnAbort: boolean): Promise<T | typeof STOPPED> =>
    new Promise((resolve, reject) => {
      if (fatal !== undefined || (stopOnAbort && opts.signal.aborted)) return resolve(STOPPED);
      interrupt = (reason) => {
        if (reason === 'fatal' || stopOnAbort) resolve(STOPPED);
      };
      p.then(resolve, reject);
    });
  opts.signal.addEventListener('abort', () => interrupt?.('abort'), { once: true });
  // Ends this life's retries: after a fatal error or a drain, a send still retrying (on a producer
  // about to be closed) must neither go on forever nor report its failures to /healthz, where it
  // would mark the next life's healthy pipeline unhealthy.
  const ended = new AbortController();
  const report = (ok: boolean) => {
    if (!ended.signal.aborted) opts.onOutputState?.(ok);
  };
  const fail = (err: unknown) => {
    fatal ??= err;
    ended.abort();
    interrupt?.('fatal');
  };
  // Decoded batches wait here to be handed to the output in read order.
  let sendChain: Promise<void> = Promise.resolve();

  const toMessages = (d: DecodedBatch) => {
    const headers = (offset: number) => ({ 'tailplow-source': d.path, 'tailplow-offset': String(offset) });
    const events: OutMessage[] = d.events.map((e) => ({ key: e.key, value: e.value, headers: headers(e.offset) }));
    const bad: OutMessage[] = d.bad.map((b) => ({ key: null, value: b.value, headers: headers(b.offset) }));
    return { events, bad };
  };

  const count = (d: DecodedBatch) => {
    metrics.linesRead.inc(d.lines);
    for (const [reason, n] of Object.entries(d.badByKind)) metrics.badRows.inc({ reason }, n);
    for (const [reason, n] of Object.entries(d.skippedByReason)) metrics.skipped.inc({ reason }, n);
  };

  const deliver = async (batch: LineBatch, d: DecodedBatch, cost: number) => {
    const { events, bad } = toMessages(d);
    const started = performance.now();
    await withRetry(() => output.send(events, bad), {
      policy: opts.retry,
      isRetriable: output.isRetriable ?? isRetriableDefault,
      signal: ended.signal,
      onRetry: (err, attempt, delayMs) => {
        metrics.outputErrors.inc();
        report(false);
        logger.warn({ err: String(err), attempt, delayMs, path: batch.path }, 'output failed; retrying (reading pauses while the window is full)');
      },
    });
    metrics.outputLatency.observe((performance.now() - started) / 1000);
    report(true);
    metrics.eventsProduced.inc(events.length);
    source.ack(batch);
    window.release(cost);
    metrics.inFlightBytes.set(window.inFlight);
  };

  const done = (async () => {
    const iterator = source.batches()[Symbol.asyncIterator]();
    while (!opts.signal.aborted && fatal === undefined) {
      const next = await waitUnlessStopped(iterator.next(), true);
      if (next === STOPPED || next.done) break;
      const batch = next.value;
      const cost = batch.lines.reduce((n, l) => n + l.nextOffset - l.offset, 0);
      // A batch already read is still delivered when a stop (not a failure) comes while it waits for room.
      if ((await waitUnlessStopped(window.acquire(cost), false)) === STOPPED) break;
      metrics.inFlightBytes.set(window.inFlight);
      const decoded = pool.submit(batch);
      decoded.catch(() => {});
      // The pool has its copy of the texts, and the events made of them are what stays in flight;
      // keeping the texts too until the ack would hold a whole window of lines on this thread's heap.
      for (const line of batch.lines) line.text = '';
      // Hand batches to the output in read order; sending does not wait for the previous ack.
      sendChain = sendChain.then(async () => {
        if (fatal !== undefined) return;
        try {
          const d = await decoded;
          count(d);
          deliver(batch, d, cost).catch(fail);
        } catch (err) {
          fail(err);
        }
      });
    }
    await sendChain;
    if (fatal !== undefined) throw fatal;
  })();

  return {
    done,
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (window.inFlight > 0 && Date.now() < deadline && fatal === undefined) await new Promise((r) => setTimeout(r, 10));
      ended.abort();
      return window.inFlight;
    },
  };
}
