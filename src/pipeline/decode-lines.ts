/**
 * The one place that turns a LineRecord into events or bad rows, shared by parse, tail, replay
 * and run, so every command reports the same reasons for the same line.
 */
import type { LineRecord } from '../input/types';
import type { DecodedBatch } from './batch-decode';
import type { LineParser } from '../nginx/record';
import { badRowKind, sizeViolation } from '../snowplow/badrow';
import { decodeLine, type DecodeOutcome } from '../snowplow/decode';
import { createDecoderFingerprint, fingerprintConfigSchema, type FingerprintConfig } from '../stages/enrich/fingerprint';

export interface LineDecoder {
  (line: LineRecord, source: string): DecodeOutcome;
}

/** Snowplow's default: MD5 over every parameter but cv, eid, nuid and stm. */
export const DEFAULT_FINGERPRINT: FingerprintConfig = fingerprintConfigSchema.parse({});

export function createLineDecoder(
  parser: LineParser,
  opts: { maxLineBytes: number; now?: () => number; fingerprint?: FingerprintConfig },
): LineDecoder {
  const now = opts.now ?? Date.now;
  const fingerprint = createDecoderFingerprint(opts.fingerprint ?? DEFAULT_FINGERPRINT);
  return (line, source) => {
    if (line.tooLong) {
      // The reader kept only the first maxLineBytes bytes: never parse a truncated line.
      const timestamp = new Date(now()).toISOString();
      return {
        events: [],
        bad: [sizeViolation(line.text, opts.maxLineBytes, timestamp, `line at byte ${line.offset} of ${source} is longer than max_line_bytes (${opts.maxLineBytes}); payload truncated`)],
      };
    }
    return decodeLine(line.text, parser, { offset: line.offset, source, now, maxLineBytes: opts.maxLineBytes, fingerprint });
  };
}

/** Counts per outcome, for summaries, dry runs and metrics. */
export class DecodeTally {
  lines = 0;
  events = 0;
  bad = 0;
  skipped = 0;
  readonly eventsByType = new Map<string, number>();
  readonly badByKind = new Map<string, number>();
  readonly skippedByReason = new Map<string, number>();

  add(outcome: DecodeOutcome): void {
    this.lines++;
    this.events += outcome.events.length;
    for (const e of outcome.events) bump(this.eventsByType, String(e.event ?? 'unknown'));
    this.bad += outcome.bad.length;
    for (const b of outcome.bad) bump(this.badByKind, badRowKind(b) ?? 'unknown');
    if (outcome.skipped) {
      this.skipped++;
      bump(this.skippedByReason, outcome.skipped);
    }
  }

  /** Counts of a batch decoded by createBatchDecoder (possibly on a worker thread); events are those it kept. */
  addBatch(batch: DecodedBatch): void {
    this.lines += batch.lines;
    this.events += batch.events.length;
    for (const type in batch.eventsByType) bump(this.eventsByType, type, batch.eventsByType[type] as number);
    this.bad += batch.bad.length;
    for (const kind in batch.badByKind) bump(this.badByKind, kind, batch.badByKind[kind] as number);
    for (const reason in batch.skippedByReason) {
      const n = batch.skippedByReason[reason] as number;
      this.skipped += n;
      bump(this.skippedByReason, reason, n);
    }
  }

  summary(): string {
    const reasons = [...this.skippedByReason].map(([k, v]) => `${k} ${v}`).join(', ');
    return `${this.lines} lines, ${this.events} events, ${this.bad} bad rows, ${this.skipped} skipped${reasons ? ` (${reasons})` : ''}`;
  }
}

function bump(m: Map<string, number>, k: string, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}
