/**
 * Where the dashboard reads events from: the events table on chDB (the embedded store's data
 * directory) or on a ClickHouse server. Both answer `query(sql, params)` with the views' typed
 * parameters (`{name:Type}`):
 * - chDB and modern servers bind them (chDB's queryBind, the HTTP interface's param_<name>);
 * - ClickHouse 18.16 has no query parameters, so they are inlined as literals (inlineParams):
 *   only the two types the views use, strings escaped and numbers checked, never raw text.
 *
 * chDB holds a data directory with a lock for the whole process: a second process (the dashboard
 * next to a running `tailplow run`) cannot open it and gets a BusyStoreError. Inside one process
 * a second Session on the same directory shares the open one, which is how a process that writes
 * the store can also serve the dashboard (openChdbSource on the same path).
 */
import type * as Chdb from 'chdb';
import type { ClickHouseClient } from '@clickhouse/client';
import { schemaVariantFor, type SchemaVariant } from '../storage/clickhouse-schema';
import { openChdbSession, parseEachRow } from '../storage/chdb-store';
import { qualifiedTableName } from '../storage/event-table';
import type { QueryParams, ViewQuerier } from './queries';

export interface AnalyticsSource extends ViewQuerier {
  readonly engine: 'chdb' | 'clickhouse';
  readonly version: string;
  readonly variant: SchemaVariant;
  /** Where the data is, for logs and the page footer (a path or a URL without credentials). */
  readonly location: string;
  /** Whether the events table exists (false until the first sink created it). */
  tableExists(): Promise<boolean>;
  close(): Promise<void>;
}

/** The data directory is held by another process (chDB allows one per directory). */
export class BusyStoreError extends Error {
  override name = 'BusyStoreError';
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):(String|UInt32)\}/g;

/** A ClickHouse string literal for any text: backslashes and quotes escaped, so nothing in it is SQL. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The SQL with every `{name:String|UInt32}` replaced by its value as a literal (for servers without query parameters). */
export function inlineParams(sql: string, params: QueryParams): string {
  return sql.replace(PLACEHOLDER, (_, name: string, type: 'String' | 'UInt32') => {
    if (!Object.prototype.hasOwnProperty.call(params, name)) throw new Error(`query parameter ${name} has no value`);
    const value = params[name];
    if (type === 'String') {
      if (typeof value !== 'string') throw new Error(`query parameter ${name}: expected a string`);
      return stringLiteral(value);
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 4_294_967_295) throw new Error(`query parameter ${name}: expected a UInt32`);
    return String(value);
  });
}

const TABLE_EXISTS_SQL = 'SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {table:String}';

function splitTable(qualified: string, defaultDatabase: string): { db: string; table: string } {
  const dot = qualified.indexOf('.');
  return dot === -1 ? { db: defaultDatabase, table: qualified } : { db: qualified.slice(0, dot), table: qualified.slice(dot + 1) };
}

export interface ChdbSourceOptions {
  /** The embedded store's data directory (the embedded sink's `path`, default `<dataDir>/clickhouse`). */
  path: string;
  table?: string;
  /** How to bind parameters: the engine (default), or inlined literals as for 18.16 (tests of that path). */
  binding?: 'engine' | 'inline';
}

export async function openChdbSource(opts: ChdbSourceOptions): Promise<AnalyticsSource> {
  const table = qualifiedTableName(opts.table ?? 'events');
  let session: Chdb.Session;
  try {
    // chdb is loaded here, not at import: ≈200 ms and ≈150 MiB that a server-backed dashboard never
    // needs. The store's small caches keep a long-running dashboard's RSS flat.
    session = openChdbSession(opts.path);
  } catch (err) {
    throw new BusyStoreError(
      `cannot open the embedded store at ${opts.path}: ${err instanceof Error ? err.message : String(err)} ` +
        '(chDB lets one process hold a data directory; is `tailplow run` or `process` using it?)',
    );
  }
  try {
    session.query('SET output_format_json_quote_64bit_integers = 0');
    const version = session.query('SELECT version()', 'TSV').trim();
    const database = session.query('SELECT currentDatabase()', 'TSV').trim();
    const format = 'JSONEachRow';
    const run = (sql: string, params: QueryParams) =>
      opts.binding === 'inline' ? session.queryAsync(inlineParams(sql, params), { format }) : session.queryBindAsync(sql, params, { format });
    const query = async <T>(sql: string, params: QueryParams): Promise<T[]> => parseEachRow<T>((await run(sql, params)).text());
    return {
      engine: 'chdb',
      version,
      variant: schemaVariantFor(version),
      location: opts.path,
      table,
      query,
      async tableExists() {
        const [row] = await query<{ n: number }>(TABLE_EXISTS_SQL, splitTable(table, database));
        return (row?.n ?? 0) > 0;
      },
      async close() {
        session.close();
      },
    };
  } catch (err) {
    session.close();
    throw err;
  }
}

export interface ClickHouseSourceOptions {
  url: string;
  username?: string;
  password?: string;
  database?: string;
  table?: string;
  requestTimeoutMs?: number;
}

export async function openClickHouseSource(opts: ClickHouseSourceOptions): Promise<AnalyticsSource> {
  const database = opts.database ?? 'default';
  const table = qualifiedTableName(opts.table ?? 'events', database);
  const { ClickHouseLogLevel, createClient } = await import('@clickhouse/client');
  const client: ClickHouseClient = createClient({
    url: opts.url,
    username: opts.username ?? 'default',
    password: opts.password ?? '',
    database,
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    log: { level: ClickHouseLogLevel.OFF },
  });
  const settings = { output_format_json_quote_64bit_integers: 0 } as const;
  try {
    const [row] = await (await client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' })).json<{ version: string }>();
    const version = row?.version ?? '';
    const variant = schemaVariantFor(version);
    // 18.16 (the legacy layout's servers) refuses query parameters: literals instead.
    const request = (sql: string, params: QueryParams) => (variant === 'legacy' ? { query: inlineParams(sql, params) } : { query: sql, query_params: params });
    const query = async <T>(sql: string, params: QueryParams): Promise<T[]> =>
      (await client.query({ ...request(sql, params), format: 'JSONEachRow', clickhouse_settings: settings })).json<T>();
    const location = new URL(opts.url);
    location.username = '';
    location.password = '';
    return {
      engine: 'clickhouse',
      version,
      variant,
      location: `${location.origin}${location.pathname === '/' ? '' : location.pathname}`,
      table,
      query,
      async tableExists() {
        const [n] = await query<{ n: number }>(TABLE_EXISTS_SQL, splitTable(table, database));
        return (n?.n ?? 0) > 0;
      },
      close: () => client.close(),
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
