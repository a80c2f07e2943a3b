/**
 * The dashboard's HTTP server (node:http): the page, its script, Chart.js from the installed
 * package, and the JSON API. Only these exact paths exist, so no request names a file.
 *
 *   GET /                     the page
 *   GET /app.js               the page's script
 *   GET /assets/chart.umd.js  Chart.js (node_modules/chart.js/dist)
 *   GET /api/views?from=&to=&granularity=&app_id=&page=[&views=a,b]   the views for the filters (JSON)
 *   GET /api/health           200 {"ok":true,...} when the store answers
 *
 * Access: bound to loopback by default. Bound anywhere else, a token is required (the server
 * refuses to start without one) and every request must carry it: HTTP basic auth with the token
 * as password (any user name: what a browser prompts for) or `Authorization: Bearer <token>`.
 *
 * Identical requests within a few seconds share one computation, so many open pages polling in
 * live mode cost the store one set of queries.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '../observe/server';
import type { Logger } from '../util/logger';
import { chartJsSource, clientScript, renderPage, type DashboardData } from './page';
import { FilterError, filtersFrom, runViews, viewsFrom, type Filters, type ViewName } from './queries';
import type { AnalyticsSource } from './source';

export interface DashboardServerOptions {
  source: AnalyticsSource;
  /** Host to bind (default 127.0.0.1). */
  host?: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Required when host is not a loopback address. */
  token?: string;
  /** Seconds between the page's refreshes while "live" is on. */
  refreshSeconds?: number;
  title?: string;
  logger: Logger;
  /** The clock (tests). */
  now?: () => number;
}

export interface DashboardServer {
  /** http://host:port/ actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

/** Thrown when the options are unsafe or invalid (the CLI turns it into a usage error). */
export class DashboardConfigError extends Error {
  override name = 'DashboardConfigError';
}

/** Loopback as the metrics endpoint defines it: one rule for every listening address. */
export { isLoopbackHost as isLoopback };

/** A shared computation lives this long; filters with relative times are rounded to the minute, so polls hit it. */
const SHARE_MS = 3000;
const MIN_TOKEN_LENGTH = 16;

/** Refuses (DashboardConfigError) an address reachable from other machines without a token, and a short token. */
export function checkDashboardAccess(host: string, token: string | undefined): void {
  if (!isLoopbackHost(host) && !token) {
    throw new DashboardConfigError(`the dashboard on ${host} would be reachable from other machines: give --token (or TAILPLOW_DASHBOARD_TOKEN), or bind 127.0.0.1`);
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new DashboardConfigError(`the token must have at least ${MIN_TOKEN_LENGTH} characters`);
}

export async function startDashboardServer(opts: DashboardServerOptions): Promise<DashboardServer> {
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  checkDashboardAccess(host, opts.token);
  const tokenDigest = opts.token !== undefined ? digest(opts.token) : undefined;
  const page = renderPage({ title: opts.title ?? 'tailplow', location: `${opts.source.engine} ${opts.source.location} ${opts.source.table}`, mode: 'live', refreshSeconds: opts.refreshSeconds ?? 10 });
  const shared = new Map<string, { at: number; result: Promise<DashboardData> }>();

  const viewsFor = (filters: Filters, views: ViewName[]): Promise<DashboardData> => {
    const key = JSON.stringify([filters, views]);
    const t = now();
    for (const [k, v] of shared) if (t - v.at > SHARE_MS) shared.delete(k);
    const hit = shared.get(key);
    if (hit) return hit.result;
    const result = runViews(opts.source, filters, { views }).then((a) => ({ ...a, generatedAt: new Date(t).toISOString() }));
    shared.set(key, { at: t, result });
    result.catch(() => shared.delete(key));
    return result;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (tokenDigest && !authorized(req.headers.authorization, tokenDigest)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="tailplow dashboard", charset="UTF-8"', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('token required: HTTP basic auth with the token as password, or Authorization: Bearer <token>\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    switch (url.pathname) {
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', page, {
          'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          'Cache-Control': 'no-store',
        });
      case '/app.js':
        return send(res, 200, 'text/javascript; charset=utf-8', clientScript(), { 'Cache-Control': 'no-cache' });
      case '/assets/chart.umd.js':
        return send(res, 200, 'text/javascript; charset=utf-8', chartJsSource(), { 'Cache-Control': 'max-age=86400' });
      case '/api/health':
        try {
          return sendJson(res, 200, { ok: true, engine: opts.source.engine, version: opts.source.version, table: opts.source.table, tableExists: await opts.source.tableExists() });
        } catch (err) {
          return sendJson(res, 503, { ok: false, error: messageOf(err) });
        }
      case '/api/views': {
        let filters: Filters;
        let views: ViewName[];
        try {
          filters = filtersFrom(url.searchParams, now());
          views = viewsFrom(url.searchParams.get('views'));
        } catch (err) {
          if (err instanceof FilterError) return sendJson(res, 400, { error: err.message });
          throw err;
        }
        try {
          return sendJson(res, 200, await viewsFor(filters, views));
        } catch (err) {
          const missing = await opts.source.tableExists().then((exists) => !exists, () => false);
          if (missing) return sendJson(res, 503, { error: `no events yet: the table ${opts.source.table} does not exist in ${opts.source.location}` });
          opts.logger.warn({ err: messageOf(err) }, 'dashboard query failed');
          return sendJson(res, 502, { error: `the store did not answer: ${messageOf(err)}` });
        }
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.logger.error({ err: messageOf(err) }, 'dashboard request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Basic (any user, token as password) or Bearer; compared by digest in constant time. */
function authorized(header: string | undefined, tokenDigest: Buffer): boolean {
  if (!header) return false;
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  let given: string | undefined;
  if (scheme === 'bearer') given = value;
  else if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon !== -1) given = decoded.slice(colon + 1);
  }
  return given !== undefined && timingSafeEqual(digest(given), tokenDigest);
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), { 'Cache-Control': 'no-store' });
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
