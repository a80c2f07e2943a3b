/**
 * The one small interface every processor stage implements (STYLE rules 1, 2, 5): a factory
 * that takes its config and dependencies and returns a named function over a batch. Bad data is
 * a result (`failed`, `dropped`), not an exception; an exception means infrastructure trouble
 * (the batch is retried, offsets are not committed).
 */
import type { Registry } from 'prom-client';
import type { SnowplowEvent } from '../snowplow/event';
import type { Logger } from '../util/logger';

export interface StageFailure {
  event: SnowplowEvent;
  /** Closed set per stage; used as the `reason` metric label and in bad rows. */
  reason: string;
  message: string;
}

export interface StageOutput {
  /** Events that go on, in input order. */
  events: SnowplowEvent[];
  /** Events that become bad rows. */
  failed: StageFailure[];
  /** Events dropped on purpose (e.g. bots with `action: drop`), counted by reason. */
  dropped: Record<string, number>;
}

export interface Stage {
  /** The config `type`, also the metric label. */
  readonly name: string;
  run(events: SnowplowEvent[]): Promise<StageOutput>;
  close?(): Promise<void>;
}

export interface StageDeps {
  logger: Logger;
  /** Where stages may keep state (embedded stores). */
  dataDir: string;
  /** Where a stage registers metrics of its own, on commands that serve /metrics. */
  registry?: Registry;
}
