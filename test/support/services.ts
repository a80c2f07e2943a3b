// Where integration tests find the servers that scripts/services/*.sh start, and a small
// polling helper for "eventually" assertions against them.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

export const DEFAULT_KAFKA_BROKERS = '127.0.0.1:19092';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:16379';
export const DEFAULT_CLICKHOUSE_URL = 'http://127.0.0.1:18123';
export const DEFAULT_ELASTICSEARCH_URL = 'http://127.0.0.1:19200';
/** The second ClickHouse user clickhouse.sh creates, for tests of authenticated connections. */
export const CLICKHOUSE_PASSWORD_USER = { username: 'tailplow', password: 'tailplow' } as const;

/** Broker addresses from TAILPLOW_KAFKA_BROKERS (comma separated), else kafka.sh's default. */
export function kafkaBrokers(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.TAILPLOW_KAFKA_BROKERS?.trim() || DEFAULT_KAFKA_BROKERS;
  return raw
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
}

/** Redis URL from TAILPLOW_REDIS_URL, else redis.sh's default. */
export function redisUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.TAILPLOW_REDIS_URL?.trim() || DEFAULT_REDIS_URL;
}

/** ClickHouse HTTP URL from TAILPLOW_CLICKHOUSE_URL, else clickhouse.sh's default. */
export function clickhouseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.TAILPLOW_CLICKHOUSE_URL?.trim() || DEFAULT_CLICKHOUSE_URL;
}

/** Elasticsearch URL from TAILPLOW_ELASTICSEARCH_URL, else elasticsearch.sh's default. */
export function elasticsearchUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.TAILPLOW_ELASTICSEARCH_URL?.trim() || DEFAULT_ELASTICSEARCH_URL;
}

/** A name no earlier test run used, so reruns against a long-lived server don't collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Calls `probe` until it returns something other than undefined/null/false, and resolves to
 * that value. A probe that throws counts as "not yet"; after `timeoutMs` the promise rejects
 * with the last error (or the last falsy result) so the failure says what was being waited for.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'never called';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      last = `probe returned ${String(value)}`;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const reason = last instanceof Error ? last.message : String(last);
      throw new Error(`waitFor: gave up after ${timeoutMs} ms: ${reason}`, { cause: last });
    }
    await new Promise((done) => setTimeout(done, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

export interface ScriptResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs scripts/services/<service>.sh <command> with extra environment, e.g. to start a private
 * server on another port and run dir. Rejects with the script's stderr when it exits non-zero.
 */
export function runServiceScript(
  service: 'kafka' | 'redis' | 'clickhouse' | 'elasticsearch',
  command: string,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 180_000,
): Promise<ScriptResult> {
  // Compiled to dist/test/support/, three levels below the repository root.
  const script = resolve(__dirname, '../../../scripts/services', `${service}.sh`);
  return new Promise((done, fail) => {
    execFile('bash', [script, command], { env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) fail(new Error(`${service}.sh ${command} failed: ${error.message}\n${stderr}`));
      else done({ stdout, stderr });
    });
  });
}
