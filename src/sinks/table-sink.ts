/**
 * What the `clickhouse` and `embedded` sinks do once their store is open: open (or create) the
 * events table, say the sink is ready, and return a Sink writing batches into that table. The
 * store is closed when the table cannot be opened, so a failed start leaves no connection behind.
 */
import type { EventStore } from '../storage/event-store';
import { openEventTable, qualifiedTableName } from '../storage/event-table';
import { applyRetention, assertRetentionSupported } from '../storage/retention';
import type { Logger } from '../util/logger';
import { isRetriableDefault } from '../util/retry';
import type { Sink } from './sink';

export interface EventTableSinkOptions {
  /** The sink's type, as its name and in the log line. */
  name: string;
  table: string;
  database?: string;
  logger: Logger;
  /** More fields for the "sink ready" log line (engine version, layout, path). */
  readyFields: Record<string, unknown>;
  /** Retention: rows older than this many days (by derived_tstamp) are deleted by a table TTL. */
  ttlDays?: number;
}

export async function openEventTableSink(store: EventStore, options: EventTableSinkOptions): Promise<Sink> {
  try {
    if (options.ttlDays !== undefined) assertRetentionSupported(store, qualifiedTableName(options.table, options.database));
    const table = await openEventTable(store, { table: options.table, database: options.database });
    if (options.ttlDays !== undefined && (await applyRetention(store, table.qualifiedTable, options.ttlDays))) {
      options.logger.info({ sink: options.name, table: table.qualifiedTable, ttlDays: options.ttlDays }, 'table TTL set: older rows are deleted at merges');
    }
    options.logger.info({ sink: options.name, ...options.readyFields, table: table.qualifiedTable }, `${options.name} sink ready`);
    return {
      name: options.name,
      write: (events) => table.write(events),
      isRetriable: isRetriableDefault,
      close: () => store.close(),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
