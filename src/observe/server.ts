/**
 * The HTTP endpoint of long-running commands: Prometheus text at /metrics, /healthz for
 * liveness/readiness probes. Binds 127.0.0.1 unless the config says otherwise: metrics
 * reveal file paths and traffic volumes, which are nobody else's business.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../util/logger';

export interface Health {
  ok: boolean;
  /** Shown in the /healthz body: what is wrong, or what is being followed. */
  details?: Record<string, unknown>;
}

export interface ObservabilityServer {
  /** host:port actually bound (port 0 in config picks a free one). */
  address: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen) ?? /^()()(\d+)$/.exec(listen);
  if (!m) throw new Error(`invalid listen address "${listen}": use host:port, e.g. 127.0.0.1:9464`);
  return { host: m[1] || m[2] || '127.0.0.1', port: Number(m[3]) };
}

/** Whether a host only accepts connections from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export async function startObservabilityServer(opts: {
  listen: string;
  /** A prom-client registry, or anything that renders one (the cluster aggregator of `process` workers). */
  registry: { metrics(): Promise<string>; readonly contentType: string };
  health: () => Health;
  /** Told (warn) when the endpoint is reachable from other machines. */
  logger?: Logger;
}): Promise<ObservabilityServer> {
  const { host, port } = parseListen(opts.listen);
  if (!isLoopbackHost(host)) {
    opts.logger?.warn(
      { listen: opts.listen },
      'http.listen is not a loopback address: /metrics and /healthz (file paths, traffic volumes) are reachable from other machines; bind 127.0.0.1 unless a firewall or a scraper network needs this',
    );
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
      return;
    }
    if (path === '/healthz' || path === '/health') {
      const h = opts.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h.details }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
