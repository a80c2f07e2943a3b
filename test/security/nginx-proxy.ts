// A real nginx in front of a plain-HTTP server, terminating TLS and checking credentials:
// what the Elasticsearch integ-test distribution (no security features enabled in our setup)
// and other plain servers need to be tested behind HTTPS with basic auth or an API key.
// The proxy accepts exactly the Authorization headers it is given (Basic or ApiKey) and
// answers 401 to anything else, so a test sees that the header really arrived.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { nginxBinary } from '../support/nginx-service';
import { freePort, waitFor } from '../support/services';

export interface TlsAuthProxyOptions {
  /** host:port of the plain-HTTP server behind the proxy. */
  upstream: string;
  certFile: string;
  keyFile: string;
  /** Authorization header values the proxy lets through, e.g. `Basic dXNlcjpwdw==`, `ApiKey abc`. */
  authorizations: string[];
  /** PEM CA of client certificates: when set, a client certificate is required. */
  clientCaFile?: string;
}

export interface TlsAuthProxy {
  /** https://127.0.0.1:port */
  readonly url: string;
  /**
   * The access log (lines `status authorization-scheme request`) once a line matches `pattern`, or
   * as it is after `timeoutMs` for the assertion to show: nginx writes a request's line after it
   * has sent the response, so a client that has its answer may look before the line is there.
   */
  accessLogMatching(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

export async function startTlsAuthProxy(opts: TlsAuthProxyOptions): Promise<TlsAuthProxy> {
  const prefix = mkdtempSync(join(tmpdir(), 'tailplow-tls-proxy-'));
  mkdirSync(join(prefix, 'logs'));
  const port = await freePort();
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  client_max_body_size 64m;
  map_hash_bucket_size 256;
  # Which Authorization headers pass; the scheme (Basic/ApiKey) goes to the access log, never the secret.
  map $http_authorization $tailplow_authorized {
    default 0;
${opts.authorizations.map((a) => `    ${quote(a)} 1;`).join('\n')}
  }
  map $http_authorization $tailplow_auth_scheme {
    default none;
    ~^(?<auth_scheme_name>\\S+)\\s $auth_scheme_name;
  }
  log_format tailplow_proxy '$status $tailplow_auth_scheme $request_method $uri';
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${opts.certFile};
    ssl_certificate_key ${opts.keyFile};
    ${opts.clientCaFile ? `ssl_client_certificate ${opts.clientCaFile};\n    ssl_verify_client on;` : ''}
    access_log ${prefix}/logs/access.log tailplow_proxy;
    location / {
      if ($tailplow_authorized = 0) {
        add_header WWW-Authenticate 'Basic realm="tailplow-test"' always;
        return 401 '{"error":{"type":"security_exception","reason":"missing or wrong credentials"},"status":401}';
      }
      proxy_pass http://${opts.upstream};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # The server behind has no security: it must not see the credentials.
      proxy_set_header Authorization "";
    }
  }
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(nginxBinary(), ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs/error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    const listening = waitFor(
      () =>
        new Promise<boolean>((done) => {
          const socket = connect(port, '127.0.0.1', () => (socket.destroy(), done(true)));
          socket.once('error', () => done(false));
        }),
      10_000,
      100,
    );
    await Promise.race([listening, exited.then(() => Promise.reject(new Error(`nginx exited: ${stderr}`)))]);
  } catch (error) {
    await stop();
    throw error;
  }
  const accessLog = () => {
    try {
      return readFileSync(join(prefix, 'logs/access.log'), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    url: `https://127.0.0.1:${port}`,
    accessLogMatching: (pattern, timeoutMs = 5000) =>
      waitFor(() => {
        const log = accessLog();
        return pattern.test(log) && log;
      }, timeoutMs, 20).catch(() => accessLog()),
    stop,
  };
}
