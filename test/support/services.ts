// Where integration tests find the servers that scripts/services/*.sh start, and a small
// polling helper for "eventually" assertions against them.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';

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

export type ServiceName = 'kafka' | 'redis' | 'clickhouse' | 'elasticsearch';

export interface ScriptResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs scripts/services/<service>.sh <command> with extra environment, e.g. to start a private
 * server on another port and run dir. Rejects with the script's stderr when it exits non-zero.
 */
export function runServiceScript(
  service: ServiceName,
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

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

/** The variables each script takes its ports from: the one clients use, then the second one it listens on. */
const PORT_VARIABLES: Record<ServiceName, readonly [string, string?]> = {
  kafka: ['TAILPLOW_KAFKA_PORT', 'TAILPLOW_KAFKA_CONTROLLER_PORT'],
  redis: ['TAILPLOW_REDIS_PORT'],
  clickhouse: ['TAILPLOW_CLICKHOUSE_PORT', 'TAILPLOW_CLICKHOUSE_TCP_PORT'],
  elasticsearch: ['TAILPLOW_ELASTICSEARCH_PORT', 'TAILPLOW_ELASTICSEARCH_TRANSPORT_PORT'],
};

const addressOf = (service: ServiceName, port: number): string =>
  service === 'kafka' ? `127.0.0.1:${port}` : `${service === 'redis' ? 'redis' : 'http'}://127.0.0.1:${port}`;

export interface PrivateServiceOptions {
  /** The port clients use; a free one by default. */
  port?: number;
  /** The service's second port (Kafka controller, ClickHouse native, Elasticsearch transport); a free one by default. */
  secondPort?: number;
  /** More environment for the script, e.g. TAILPLOW_KAFKA_HEAP. */
  env?: Record<string, string>;
}

/** A server of its own (own run dir and ports), so stopping it never disturbs tests using the shared one. */
export interface PrivateService {
  /** The environment that points scripts/services/<service>.sh at this instance. */
  readonly env: Record<string, string>;
  readonly runDir: string;
  readonly port: number;
  /** Where clients reach it: a URL, or host:port for Kafka. */
  readonly address: string;
  /** scripts/services/<service>.sh <command> against this instance (start, stop, restart, status). */
  run(command: string): Promise<ScriptResult>;
  /** Stops the instance if it runs and removes its run dir; never throws for a stopped one. */
  stop(): Promise<void>;
}

/** A private instance of `service` in a fresh run dir, not started yet (see startPrivateService). */
export async function privateService(service: ServiceName, options: PrivateServiceOptions = {}): Promise<PrivateService> {
  const [portVariable, secondPortVariable] = PORT_VARIABLES[service];
  const runDir = await mkdtemp(join(tmpdir(), `tailplow-private-${service}-`));
  const port = options.port ?? (await freePort());
  const env: Record<string, string> = { TAILPLOW_RUN_DIR: runDir, [portVariable]: String(port) };
  if (secondPortVariable) env[secondPortVariable] = String(options.secondPort ?? (await freePort()));
  Object.assign(env, options.env);
  return {
    env,
    runDir,
    port,
    address: addressOf(service, port),
    run: (command) => runServiceScript(service, command, env),
    async stop() {
      await runServiceScript(service, 'stop', env).catch(() => undefined);
      await rm(runDir, { recursive: true, force: true });
    },
  };
}

/** privateService, started. A start that fails stops and removes what it made before rethrowing. */
export async function startPrivateService(service: ServiceName, options: PrivateServiceOptions = {}): Promise<PrivateService> {
  const instance = await privateService(service, options);
  try {
    await instance.run('start');
  } catch (error) {
    await instance.stop();
    throw error;
  }
  return instance;
}

/** Deletes every key under a prefix (tests and benches share one Redis; each uses its own prefix). */
export async function deleteRedisKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
