/**
 * Decoding a whole LineBatch into what an output needs, as a pure function of plain data, so
 * it runs the same in the main thread and in worker threads (decode-pool.ts).
 */
import type { LineBatch } from '../input/types';
import { createLineParser } from '../nginx';
import { badRowKind } from '../snowplow/badrow';
import { eventToJson, eventToTsv } from '../snowplow/format';
import type { FingerprintConfig } from '../stages/enrich/fingerprint';
import { createLineDecoder, type LineDecoder } from './decode-lines';
import { visitorKeyOf } from './tail';

export type Serialisation = 'json' | 'tsv' | 'none';

export interface BatchDecodeSettings {
  format: string;
  maxLineBytes: number;
  serialise: Serialisation;
  /** Keep events whose collector_tstamp (ISO string) is >= since and < until. */
  sinceIso?: string;
  untilIso?: string;
  /** event_fingerprint settings; default Snowplow's (MD5, without cv/eid/nuid/stm). */
  fingerprint?: FingerprintConfig;
}

export interface DecodedEvent {
  key: string | null;
  /** Serialised event ('' when serialise is none). */
  value: string;
  /** Byte offset of the line the event came from. */
  offset: number;
}

export interface DecodedBatch {
  path: string;
  fileKey: string;
  lines: number;
  /** Offset after the batch's last line: where a resumed run continues. */
  endOffset: number;
  events: DecodedEvent[];
  bad: Array<{ value: string; offset: number }>;
  /** Events dropped by the time filter. */
  outOfRange: number;
  /** Offset of the first line with an event at or after `until`: a later run with a later bound starts there. */
  firstLateOffset?: number;
  eventsByType: Record<string, number>;
  badByKind: Record<string, number>;
  skippedByReason: Record<string, number>;
  minTs?: string;
  maxTs?: string;
}

export function createBatchDecoder(settings: BatchDecodeSettings): (batch: LineBatch) => DecodedBatch {
  const decode: LineDecoder = createLineDecoder(createLineParser(settings.format, { maxLineBytes: settings.maxLineBytes }), {
    maxLineBytes: settings.maxLineBytes,
    fingerprint: settings.fingerprint,
  });
  const serialise = settings.serialise === 'json' ? eventToJson : settings.serialise === 'tsv' ? eventToTsv : () => '';
  const { sinceIso, untilIso } = settings;
  return (batch) => {
    const out: DecodedBatch = {
      path: batch.path,
      fileKey: batch.fileKey,
      lines: batch.lines.length,
      endOffset: batch.lines.length ? batch.lines[batch.lines.length - 1]!.nextOffset : 0,
      events: [],
      bad: [],
      outOfRange: 0,
      eventsByType: {},
      badByKind: {},
      skippedByReason: {},
    };
    for (const line of batch.lines) {
      const outcome = decode(line, batch.path);
      for (const e of outcome.events) {
        const ts = e.collector_tstamp;
        if (ts !== undefined && ((sinceIso !== undefined && ts < sinceIso) || (untilIso !== undefined && ts >= untilIso))) {
          out.outOfRange++;
          if (untilIso !== undefined && ts >= untilIso) out.firstLateOffset ??= line.offset;
          continue;
        }
        if (ts !== undefined) {
          if (out.minTs === undefined || ts < out.minTs) out.minTs = ts;
          if (out.maxTs === undefined || ts > out.maxTs) out.maxTs = ts;
        }
        const type = e.event ?? 'unknown';
        out.eventsByType[type] = (out.eventsByType[type] ?? 0) + 1;
        out.events.push({ key: visitorKeyOf(e), value: serialise(e), offset: line.offset });
      }
      for (const b of outcome.bad) {
        const kind = badRowKind(b) ?? 'unknown';
        out.badByKind[kind] = (out.badByKind[kind] ?? 0) + 1;
        out.bad.push({ value: JSON.stringify(b), offset: line.offset });
      }
      if (outcome.skipped) out.skippedByReason[outcome.skipped] = (out.skippedByReason[outcome.skipped] ?? 0) + 1;
    }
    return out;
  };
}
