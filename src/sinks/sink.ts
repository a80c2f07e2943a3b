/**
 * The one small interface every sink implements. A sink acknowledges (resolves `write`) only
 * what it stored; the processor commits Kafka offsets only after every sink acknowledged.
 * Per-event rejections (a document the store refuses) come back in `failed` and become bad
 * rows; a store that is down throws, and the batch is retried with backoff.
 */
import type { SnowplowEvent } from '../snowplow/event';
import type { Logger } from '../util/logger';
import type { StageFailure } from '../stages/stage';

export interface SinkResult {
  failed: StageFailure[];
}

export interface Sink {
  readonly name: string;
  write(events: SnowplowEvent[]): Promise<SinkResult>;
  /** Which errors mean "try again later" (the store is down) rather than a bug. Default: all. */
  isRetriable?(err: unknown): boolean;
  close(): Promise<void>;
}

export interface SinkDeps {
  logger: Logger;
  dataDir: string;
}
