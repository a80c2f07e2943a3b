/**
 * The nginx opt-out of docs/privacy.md on a real nginx: a request with the opt-out cookie or
 * Sec-GPC: 1 is answered like any other but never written to the access log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nginxBinary } from '../support/nginx-service';
import { freePort, waitFor } from '../support/services';

/** The map and access_log lines exactly as docs/privacy.md shows them. */
function documentedSnippet(): string {
  const doc = readFileSync(resolve(__dirname, '../../../docs/privacy.md'), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'docs/privacy.md has an nginx block');
  return block;
}

test('opt-out cookie and Sec-GPC requests are served but not logged; others are logged', async () => {
  const prefix = mkdtempSync(join(tmpdir(), 'tailplow-nginx-optout-'));
  chmodSync(prefix, 0o755);
  mkdirSync(join(prefix, 'logs'));
  chmodSync(join(prefix, 'logs'), 0o777);
  const port = await freePort();
  const log = join(prefix, 'logs/tracker.log');
  const snippet = documentedSnippet().replace('/var/log/nginx/tracker.log', log);
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `daemon on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log;
events { worker_connections 64; }
http {
  log_format tailplow '$msec "$request" "$http_user_agent"';
  ${snippet}
  server {
    listen 127.0.0.1:${port};
    location = /i { return 200 "ok"; }
  }
}
`,
  );
  const nginx = (...args: string[]) => execFileSync(nginxBinary(), ['-p', prefix, '-c', join(prefix, 'nginx.conf'), ...args], { stdio: 'pipe' });
  nginx();
  try {
    const hit = async (ua: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`http://127.0.0.1:${port}/i?e=pv&ua=${ua}`, { headers: { 'user-agent': ua, ...headers } });
      assert.equal(r.status, 200, ua);
    };
    await hit('plain');
    await hit('cookie-optout', { cookie: 'sp=abc; tracking_optout=1' });
    await hit('gpc', { 'sec-gpc': '1' });
    await hit('other-cookie', { cookie: 'sp=abc' });
    await hit('last');
    await waitFor(() => readFileSync(log, 'utf8').includes('"last"'), 5000, 50);
    const agents = readFileSync(log, 'utf8').trim().split('\n').map((l) => /"([^"]*)"$/.exec(l)?.[1]);
    assert.deepEqual(agents, ['plain', 'other-cookie', 'last']);
  } finally {
    try {
      nginx('-s', 'stop');
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  }
});
