/**
 * Parse+decode cost per line against a bare JSON.parse of the same line.
 *   npx tsc -p tsconfig.json && node dist/src/snowplow/decode.bench.js [lines]
 * Lines are realistic JavaScript-tracker hits in tailplow's recommended JSON log_format:
 * GET /i page views, page pings, structured and self-describing events (base64 ue_px and cx
 * contexts) and tp2 POSTs with three events each.
 */
import { createLineParser } from '../nginx/index';
import { decodeLine } from './decode';
import { eventToJson } from './format';

function b64url(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

function uuid(n: number): string {
  const h = (n * 2654435761 >>> 0).toString(16).padStart(8, '0');
  return `${h}-1c2d-4e5f-8a9b-${h}${h.slice(0, 4)}`;
}

const contexts = b64url({
  schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
  data: [
    { schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: 'a3c2b1d0-1111-4222-8333-944445555666' } },
    { schema: 'iglu:org.w3/PerformanceTiming/jsonschema/1-0-0', data: { navigationStart: 1714561200000, domComplete: 1714561201234, loadEventEnd: 1714561201300 } },
  ],
});

function common(n: number): Record<string, string> {
  return {
    tv: 'js-3.23.0', tna: 'sp1', aid: 'shop', p: 'web', tz: 'Europe/Berlin', lang: 'de-DE', cs: 'UTF-8',
    res: '1920x1080', cd: '24', cookie: '1', eid: uuid(n), dtm: String(1714561200000 + n), stm: String(1714561200050 + n),
    vp: '1280x720', ds: '1265x4200', vid: '3', sid: uuid(n + 7), duid: uuid(n % 1000),
    url: `https://shop.example.com/products/item-${n % 500}?utm_source=news&utm_medium=email`,
    refr: 'https://www.google.com/', cx: contexts,
  };
}

function hit(n: number): Record<string, string> {
  switch (n % 4) {
    case 0: return { e: 'pv', page: `Product ${n % 500} – Shop`, ...common(n) };
    case 1: return { e: 'pp', pp_mix: '0', pp_max: '0', pp_miy: String(n % 3000), pp_may: String((n % 3000) + 400), ...common(n) };
    case 2: return { e: 'se', se_ca: 'basket', se_ac: 'add', se_la: `sku-${n % 900}`, se_va: '19.99', ...common(n) };
    default: return {
      e: 'ue',
      ue_px: b64url({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: 'iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1', data: { targetUrl: 'https://example.org/x', elementId: 'cta' } } }),
      ...common(n),
    };
  }
}

function logLine(n: number, method: string, path: string, args: string, body: string): string {
  return JSON.stringify({
    msec: (1714561200 + n / 1000).toFixed(3), remote_addr: '10.1.2.3', http_x_forwarded_for: '203.0.113.9, 10.0.0.1',
    request_method: method, uri: path, args, request_body: body, status: method === 'POST' ? '200' : '200',
    body_bytes_sent: '43', http_referer: 'https://shop.example.com/', http_user_agent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
    host: 'collector.example.com', scheme: 'https', cookie_sp: uuid(n % 5000),
  });
}

function makeLines(count: number): { lines: string[]; events: number } {
  const lines: string[] = [];
  let events = 0;
  for (let n = 0; n < count; n++) {
    if (n % 5 === 4) {
      const data = [hit(n), hit(n + 1), hit(n + 2)];
      lines.push(logLine(n, 'POST', '/com.snowplowanalytics.snowplow/tp2', '',
        JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data })));
      events += 3;
    } else {
      lines.push(logLine(n, 'GET', '/i', new URLSearchParams(hit(n)).toString(), ''));
      events += 1;
    }
  }
  return { lines, events };
}

function timeIt(lines: string[], fn: (line: string) => unknown): number {
  // CPU time, not wall time: the benchmark machine is shared, and descheduled time is not ours.
  const start = process.cpuUsage();
  let sink = 0;
  for (let k = 0; k < lines.length; k++) if (fn(lines[k] as string) !== undefined) sink++;
  const used = process.cpuUsage(start);
  const ns = (used.user + used.system) * 1000;
  if (sink < 0) console.log(sink);
  return ns / lines.length;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function main(): void {
  const count = Number(process.argv[2] ?? 20000);
  const { lines, events } = makeLines(count);
  const parser = createLineParser('json');
  const ctx = { offset: 0, now: () => 1714561300000 };
  let bad = 0;
  for (const l of lines) bad += decodeLine(l, parser, ctx).bad.length;
  if (bad > 0) throw new Error(`benchmark data produced ${bad} bad rows`);
  const rounds = 7;
  const base: number[] = [];
  const parseOnly: number[] = [];
  const full: number[] = [];
  const withJson: number[] = [];
  for (let r = 0; r < rounds; r++) {
    base.push(timeIt(lines, (l) => JSON.parse(l)));
    parseOnly.push(timeIt(lines, parser));
    full.push(timeIt(lines, (l) => decodeLine(l, parser, ctx)));
    withJson.push(timeIt(lines, (l) => decodeLine(l, parser, ctx).events.map(eventToJson)));
  }
  const avgLen = lines.reduce((a, l) => a + l.length, 0) / lines.length;
  const perEvent = (median(full) * lines.length) / events;
  console.log(`lines=${lines.length} events=${events} avg line=${avgLen.toFixed(0)} chars`);
  console.log(`JSON.parse(line)            ${median(base).toFixed(0)} ns/line`);
  console.log(`nginx json parser           ${median(parseOnly).toFixed(0)} ns/line`);
  console.log(`parse+decode                ${median(full).toFixed(0)} ns/line  (${(median(full) / median(base)).toFixed(2)}x JSON.parse)`);
  console.log(`parse+decode per event      ${perEvent.toFixed(0)} ns/event = ${(1e9 / perEvent).toFixed(0)} events/s`);
  console.log(`parse+decode+eventToJson    ${median(withJson).toFixed(0)} ns/line`);
}

main();
