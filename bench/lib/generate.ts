/**
 * Realistic access-log lines for benchmarks: what a Snowplow JS tracker sends through the
 * recommended nginx config (nginx/tailplow.conf): GET /i page views, page pings, structured
 * and self-describing events with base64 contexts, and tp2 POSTs batching several events.
 * Deterministic (seeded) so every run measures the same bytes.
 */
import { createHash } from 'node:crypto';

/** Small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAGES = ['/', '/pricing', '/blog/tailing-nginx-logs', '/blog/snowplow-without-a-jvm', '/docs/install', '/docs/config', '/about', '/contact', '/shop/item/4711', '/search'];
const REFERERS = ['', 'https://www.google.com/', 'https://www.bing.com/search?q=nginx+analytics', 'https://news.ycombinator.com/', 'https://t.co/abc', 'https://example.org/blog/'];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
];

function uuidFrom(rand: () => number): string {
  const h = createHash('md5').update(String(rand())).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const b64url = (s: string) => Buffer.from(s).toString('base64url');
const enc = encodeURIComponent;

/** JSON string escaping as nginx's escape=json writes it (enough for generated ASCII/UTF-8 text). */
function jsonEscape(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

export interface GeneratorOptions {
  seed?: number;
  startMs?: number;
  /** Average milliseconds between lines. */
  stepMs?: number;
  visitors?: number;
}

/** Returns a function producing one log line (without newline) per call. */
export function createLineGenerator(opts: GeneratorOptions = {}): () => string {
  const rand = prng(opts.seed ?? 42);
  let now = opts.startMs ?? Date.UTC(2026, 9, 1);
  const step = opts.stepMs ?? 5;
  const visitors = Array.from({ length: opts.visitors ?? 5000 }, () => ({
    duid: uuidFrom(rand),
    sid: uuidFrom(rand),
    ip: `${1 + Math.floor(rand() * 220)}.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}.${1 + Math.floor(rand() * 250)}`,
    ua: AGENTS[Math.floor(rand() * AGENTS.length)]!,
    vid: 1 + Math.floor(rand() * 5),
  }));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const webPageContext = (id: string) =>
    JSON.stringify({
      schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
      data: [{ schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id } }],
    });

  function eventParams(v: (typeof visitors)[number], page: string, dtm: number): Record<string, string> {
    const kind = rand();
    const base: Record<string, string> = {
      tv: 'js-4.1.0', tna: 'sp', aid: 'site', p: 'web', eid: uuidFrom(rand), dtm: String(dtm),
      duid: v.duid, vid: String(v.vid), sid: v.sid, lang: 'en-US', cs: 'UTF-8', res: '1920x1080', cd: '24',
      tz: 'Europe/Berlin', vp: '1280x720', ds: '1280x3400', cookie: '1',
      url: `https://www.example.com${page}?utm_source=newsletter&utm_medium=email`,
      cx: b64url(webPageContext(uuidFrom(rand))),
    };
    if (kind < 0.45) return { e: 'pv', page: 'Example page', refr: pick(REFERERS), ...base };
    if (kind < 0.8) return { e: 'pp', pp_mix: '0', pp_max: String(Math.floor(rand() * 300)), pp_miy: '0', pp_may: String(Math.floor(rand() * 3000)), ...base };
    if (kind < 0.93) return { e: 'se', se_ca: 'video', se_ac: 'play', se_la: 'intro', se_va: String(Math.floor(rand() * 100)), ...base };
    const ue = JSON.stringify({
      schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
      data: { schema: 'iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1', data: { targetUrl: 'https://example.org/out', elementId: 'cta' } },
    });
    return { e: 'ue', ue_px: b64url(ue), ...base };
  }

  return () => {
    now += Math.floor(rand() * step * 2);
    const v = pick(visitors);
    const page = pick(PAGES);
    const isPost = rand() < 0.3;
    let args = '';
    let body = '';
    let uri = '/i';
    let method = 'GET';
    if (isPost) {
      uri = '/com.snowplowanalytics.snowplow/tp2';
      method = 'POST';
      const n = 1 + Math.floor(rand() * 4);
      const data = Array.from({ length: n }, () => ({ ...eventParams(v, page, now - 200), stm: String(now - 5) }));
      body = JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data });
    } else {
      const params = { ...eventParams(v, page, now - 30), stm: String(now - 2) };
      args = Object.entries(params).map(([k, val]) => `${k}=${enc(val)}`).join('&');
    }
    const msec = (now / 1000).toFixed(3);
    return (
      `{"msec":"${msec}","remote_addr":"10.0.0.1","http_x_forwarded_for":"${v.ip}",` +
      `"request_method":"${method}","uri":"${uri}","args":"${jsonEscape(args)}","request_body":"${jsonEscape(body)}",` +
      `"status":"200","body_bytes_sent":"43","http_referer":"https://www.example.com${page}",` +
      `"http_user_agent":"${jsonEscape(v.ua)}","host":"collector.example.com","scheme":"https","cookie_sp":""}`
    );
  };
}
