// A private nginx for end-to-end tests: scripts/services/nginx.sh (the shipped nginx/ config) in
// its own run dir on free ports, started with empty logs, with log rotation the way logrotate
// does it (rename, then `nginx -s reopen`).
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './services';

/** Debian's nginx binary (scripts/services/nginx.sh installs it). */
export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  throw new Error('nginx is not installed: run scripts/services/nginx.sh start once (it installs it with apt-get)');
}

const run = promisify(execFile);
const NGINX_SH = resolve(__dirname, '../../../scripts/services/nginx.sh');
/** Every access log nginx.sh configures (all four are written for each request). */
const ACCESS_LOGS = ['tailplow-json.log', 'json-default-escape.log', 'combined.log', 'custom.log'];

export interface TestNginx {
  /** http://127.0.0.1:<port>, the collector (nginx/tailplow-locations.conf). */
  readonly collector: string;
  readonly port: number;
  /** http://127.0.0.1:<page port>, the test page (scripts/capture/www) on another origin. */
  readonly pageOrigin: string;
  readonly logsDir: string;
  /** The nginx master's pid file (what `nginx -s reopen` and a logrotate postrotate signal). */
  readonly pidFile: string;
  /** The log in the recommended format (nginx/tailplow.conf's `tailplow` log_format). */
  readonly jsonLog: string;
  /** Renames the JSON log to `<log>.<suffix>` and runs `nginx -s reopen`: a logrotate `create` rotation. */
  rotate(suffix: string): Promise<void>;
  /** `nginx -s reopen` with this instance's prefix and config. */
  reopen(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestNginx(): Promise<TestNginx> {
  const runDir = mkdtempSync(join(tmpdir(), 'tailplow-nginx-'));
  // mkdtemp makes it 0700: nginx's workers (user nobody) must reach logs/ to reopen their logs.
  chmodSync(runDir, 0o755);
  const port = await freePort();
  const pagePort = await freePort();
  const env = { ...process.env, TAILPLOW_RUN_DIR: runDir, TAILPLOW_NGINX_PORT: String(port), TAILPLOW_NGINX_PAGE_PORT: String(pagePort) };
  const script = (command: string) => run('bash', [NGINX_SH, command], { env });
  const prefix = join(runDir, 'nginx');
  const logsDir = join(prefix, 'logs');
  await script('start');
  const bin = nginxBinary();
  const reopen = async () => {
    await run(bin, ['-p', prefix, '-c', join(prefix, 'conf/nginx.conf'), '-s', 'reopen']);
  };
  // nginx.sh start probed /i once: start from empty logs (reopen recreates them).
  for (const name of ACCESS_LOGS) unlinkSync(join(logsDir, name));
  await reopen();
  // nginx -s reopen only signals the master; the worker (re)creates the files a moment later.
  await waitFor(() => ACCESS_LOGS.every((name) => existsSync(join(logsDir, name))), 5000, 50);
  return {
    collector: `http://127.0.0.1:${port}`,
    port,
    pageOrigin: `http://127.0.0.1:${pagePort}`,
    logsDir,
    pidFile: join(prefix, 'nginx.pid'),
    jsonLog: join(logsDir, 'tailplow-json.log'),
    async rotate(suffix) {
      renameSync(join(logsDir, 'tailplow-json.log'), join(logsDir, `tailplow-json.log.${suffix}`));
      await reopen();
    },
    reopen,
    async stop() {
      try {
        await script('stop');
      } finally {
        rmSync(runDir, { recursive: true, force: true });
      }
    },
  };
}
