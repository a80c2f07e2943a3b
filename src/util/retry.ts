/**
 * The one retry policy (STYLE 3): exponential backoff with full jitter, capped. Errors say
 * whether they are retriable; anything not known to be retriable is thrown at once.
 */
export interface RetryPolicy {
  /** First delay in ms. */
  initialMs: number;
  /** Upper bound for one delay in ms. */
  maxMs: number;
  /** Give up after this many attempts (Infinity: until aborted). */
  maxAttempts: number;
}

export const defaultRetryPolicy: RetryPolicy = { initialMs: 100, maxMs: 30_000, maxAttempts: Infinity };

export class RetriableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetriableError';
  }
}

export type IsRetriable = (err: unknown) => boolean;

export const isRetriableDefault: IsRetriable = (err) =>
  err instanceof RetriableError || (err as { retriable?: boolean } | null)?.retriable === true;

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: {
    policy?: RetryPolicy;
    isRetriable?: IsRetriable;
    signal?: AbortSignal;
    onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  } = {},
): Promise<T> {
  const policy = opts.policy ?? defaultRetryPolicy;
  const isRetriable = opts.isRetriable ?? isRetriableDefault;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetriable(err) || attempt + 1 >= policy.maxAttempts || opts.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, policy);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}
