/**
 * Retention for the events table (`ttlDays` of the clickhouse and embedded sinks): a ClickHouse
 * TTL on derived_tstamp, the column the table is partitioned by (toYYYYMM), so expired rows go at
 * merges and a month whose rows have all expired goes as a whole part. Applied with
 * ALTER TABLE … MODIFY TTL only when the table's TTL differs, because on an existing table the
 * server rewrites every part to apply a new TTL.
 */
import { z } from 'zod';
import { versionAtLeast } from './clickhouse-schema';
import type { EventStore } from './event-store';

/** The `ttlDays` option of the sinks that write the event table (clickhouse, embedded). */
export const ttlDaysSchema = z
  .number()
  .int()
  .positive()
  .optional()
  .describe('Retention: delete events older than this many days (by derived_tstamp) with a table TTL (ClickHouse 19.6+; 18.16 refuses it at start). Default: keep everything.');

/** Table TTL exists since ClickHouse 19.6. */
const TTL_SINCE: readonly [number, number] = [19, 6];

/** A server too old for TTL: a configuration problem, not worth retrying. */
export class RetentionUnsupportedError extends Error {
  override readonly name = 'RetentionUnsupportedError';
}

/** The TTL expression: the legacy layout's derived_tstamp is a DateTime already. */
export function ttlExpression(variant: EventStore['variant'], days: number): string {
  return `${variant === 'modern' ? 'toDateTime(derived_tstamp)' : 'derived_tstamp'} + INTERVAL ${days} DAY`;
}

/** Days of the table's current TTL, as SHOW CREATE TABLE prints it (`+ toIntervalDay(N)`), if any. */
export function ttlDaysOf(createStatement: string): number | undefined {
  const m = /\bTTL\s[^\n]*?toIntervalDay\((\d+)\)/.exec(createStatement);
  return m ? Number(m[1]) : undefined;
}

/** Throws RetentionUnsupportedError for a server without table TTL (before any table is created). */
export function assertRetentionSupported(store: EventStore, qualifiedTable: string): void {
  if (!versionAtLeast(store.version, TTL_SINCE)) {
    throw new RetentionUnsupportedError(
      `ttlDays needs ClickHouse ${TTL_SINCE.join('.')} or newer (this server is ${store.version}): remove ttlDays and drop old months ` +
        `yourself, e.g. ALTER TABLE ${qualifiedTable} DROP PARTITION 202401 (partitions are toYYYYMM(derived_tstamp); see docs/privacy.md)`,
    );
  }
}

/** Makes the table's TTL `days` days; says whether it had to change it. */
export async function applyRetention(store: EventStore, qualifiedTable: string, days: number): Promise<boolean> {
  assertRetentionSupported(store, qualifiedTable);
  const [row] = await store.query<{ statement: string }>(`SHOW CREATE TABLE ${qualifiedTable}`);
  if (row !== undefined && ttlDaysOf(row.statement) === days) return false;
  await store.command(`ALTER TABLE ${qualifiedTable} MODIFY TTL ${ttlExpression(store.variant, days)}`);
  return true;
}
