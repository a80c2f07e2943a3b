/**
 * The small interface (STYLE 9) both ClickHouse engines hide behind: a server over HTTP
 * (clickhouse-store.ts) and chDB in-process (chdb-store.ts). The sinks and the queries are
 * written once against it, so they run unchanged on either.
 */
import { RetriableError } from '../util/retry';
import type { SchemaVariant, TsvRows } from './clickhouse-schema';

export interface EventStore {
  /** `clickhouse` (a server) or `chdb` (in-process). */
  readonly engine: 'clickhouse' | 'chdb';
  /** The engine's `SELECT version()`. */
  readonly version: string;
  /** The table layout this engine gets (schemaVariantFor(version)). */
  readonly variant: SchemaVariant;
  /** A statement without a result (DDL, OPTIMIZE). */
  command(sql: string): Promise<void>;
  /** A SELECT; rows as JSON objects, 64-bit integers as numbers on both engines. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** One `INSERT INTO table (columns) FORMAT TabSeparated` of the rows; resolves once the engine has stored them. */
  insert(qualifiedTable: string, columns: readonly string[], rows: TsvRows): Promise<void>;
  close(): Promise<void>;
}

/**
 * What an error from an engine means for the batch:
 * - `rejected_rows`: the data was refused (a row did not parse); retrying the same rows fails again.
 * - `retriable`: the store is unreachable or temporarily unable (network, timeout, overload, full disk).
 * - `fatal`: anything else (wrong password, missing table or database, a bug): not retried.
 */
export type StoreErrorKind = 'rejected_rows' | 'retriable' | 'fatal';

/** ClickHouse error codes (src/Common/ErrorCodes.cpp) that mean "this input is bad". */
const REJECTED_ROW_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  407, // DECIMAL_OVERFLOW
  469, // VIOLATED_CONSTRAINT
]);

/** ClickHouse error codes that say "not now" rather than "never". */
const RETRIABLE_CODES = new Set([
  3, // UNEXPECTED_END_OF_FILE (connection cut mid-request)
  159, // TIMEOUT_EXCEEDED
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  243, // NOT_ENOUGH_SPACE
  252, // TOO_MANY_PARTS
  285, // TOO_FEW_LIVE_REPLICAS
  319, // UNKNOWN_STATUS_OF_INSERT
  425, // SYSTEM_ERROR
  999, // KEEPER_EXCEPTION
]);

/** Node socket errors: the server is down, restarting or unreachable. */
const NETWORK_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);
/** What @clickhouse/client throws itself for a request timeout or a dropped keep-alive socket. */
const CLIENT_TRANSIENT_MESSAGES = /^(Timeout error\.|socket hang up)/;

/**
 * The ClickHouse error code in an error, if any. Newer servers' messages read `Code: 27. DB::…`,
 * 18.16's `Code: 27, e.displayText() = …`; chDB also sets `clickhouseCode`.
 */
export function clickhouseCodeOf(err: unknown): number | undefined {
  const own = (err as { clickhouseCode?: unknown } | null)?.clickhouseCode;
  if (typeof own === 'number') return own;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const m = /\bCode: (\d+)[.,]/.exec(message);
  return m ? Number(m[1]) : undefined;
}

export function storeErrorKind(err: unknown): StoreErrorKind {
  const code = clickhouseCodeOf(err);
  if (code !== undefined) return REJECTED_ROW_CODES.has(code) ? 'rejected_rows' : RETRIABLE_CODES.has(code) ? 'retriable' : 'fatal';
  const errno = (err as { code?: unknown } | null)?.code;
  if (typeof errno === 'string' && NETWORK_ERRNOS.has(errno)) return 'retriable';
  if (err instanceof Error && CLIENT_TRANSIENT_MESSAGES.test(err.message)) return 'retriable';
  return 'fatal';
}

/** The first line of an engine's message, without 18.16's `e.what()` tail: short enough for a bad row. */
export function storeErrorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.replace(/, e\.what\(\) = .*$/, '').trim();
}

/** The error to throw for an engine failure: a RetriableError when trying again later can help, else the error itself. */
export function asThrownStoreError(err: unknown): unknown {
  return storeErrorKind(err) === 'retriable' ? new RetriableError(`event store unavailable: ${storeErrorMessage(err)}`, { cause: err }) : err;
}
