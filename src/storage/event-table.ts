/**
 * Writing events into the events table of an EventStore: the part the `clickhouse` and
 * `embedded` sinks share. One INSERT per batch; a batch the engine refuses because of its data is
 * split in halves until the refused events are found (an insert fails as a whole for one bad
 * row), so good events are stored and each bad one becomes a `failed` entry with the engine's
 * message. Infrastructure errors are thrown: RetriableError when trying again later can help.
 */
import type { SnowplowEvent } from '../snowplow/event';
import type { StageFailure } from '../stages/stage';
import { createTableSql, eventRowOf, IDENTIFIER, insertColumns, tsvRows, type RowOutcome, type RowProblem, type TsvRows } from './clickhouse-schema';
import { asThrownStoreError, storeErrorKind, storeErrorMessage, type EventStore } from './event-store';

/** Why a sink did not store an event (metric label, bad-row reason). */
export type EventTableFailure = RowProblem | 'rejected_by_store';

export interface EventTableWriter {
  /** `database.table` as used in SQL. */
  readonly qualifiedTable: string;
  write(events: SnowplowEvent[]): Promise<{ failed: StageFailure[] }>;
}

export function qualifiedTableName(table: string, database?: string): string {
  for (const name of database ? [database, table] : [table]) {
    if (!IDENTIFIER.test(name)) throw new Error(`invalid ClickHouse identifier ${JSON.stringify(name)}: use letters, digits and _ (not starting with a digit)`);
  }
  return database ? `${database}.${table}` : table;
}

/** Creates the table if absent (in the variant the store's version takes) and returns its writer. */
export async function openEventTable(store: EventStore, opts: { table: string; database?: string }): Promise<EventTableWriter> {
  const qualifiedTable = qualifiedTableName(opts.table, opts.database);
  await rethrowClassified(store.command(createTableSql(qualifiedTable, store.variant)));
  const columns = insertColumns(store.variant);

  /** The rows of events eventRowOf accepted (a bisection builds them again for each half). */
  const rowsOf = (events: readonly SnowplowEvent[]) => tsvRows(events.map((event) => (eventRowOf(event, store.variant) as Extract<RowOutcome, { ok: true }>).line));

  /** Inserts rows; on a data error bisects to the events the engine refuses and returns them. */
  const insertFindingRejected = async (events: SnowplowEvent[], rows: TsvRows): Promise<StageFailure[]> => {
    try {
      await store.insert(qualifiedTable, columns, rows);
      return [];
    } catch (err) {
      if (storeErrorKind(err) !== 'rejected_rows') throw asThrownStoreError(err);
      if (events.length === 1) return [{ event: events[0]!, reason: 'rejected_by_store' satisfies EventTableFailure, message: storeErrorMessage(err) }];
      const half = Math.ceil(events.length / 2);
      const [first, second] = [events.slice(0, half), events.slice(half)];
      // In order, so a store that goes down half-way throws before later halves are tried.
      const refused = await insertFindingRejected(first, rowsOf(first));
      return [...refused, ...(await insertFindingRejected(second, rowsOf(second)))];
    }
  };

  return {
    qualifiedTable,
    async write(events) {
      const failed: StageFailure[] = [];
      const stored: SnowplowEvent[] = [];
      const lines: string[] = [];
      for (const event of events) {
        const outcome = eventRowOf(event, store.variant);
        if (outcome.ok) {
          stored.push(event);
          lines.push(outcome.line);
        } else failed.push({ event, reason: outcome.reason, message: outcome.message });
      }
      // The lines become one buffer now, before the insert waits (see TsvRows).
      if (stored.length) failed.push(...(await insertFindingRejected(stored, tsvRows(lines))));
      return { failed };
    },
  };
}

async function rethrowClassified<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw asThrownStoreError(err);
  }
}
