/**
 * Drives the real @snowplow/node-tracker against the capture nginx. Its customFetch hook records
 * each request exactly as the tracker built it, then sends it with two proxy-style headers added.
 */
import {
  newTracker,
  buildEcommerceTransaction,
  buildEcommerceTransactionItem,
  buildPageView,
  buildSelfDescribingEvent,
  buildStructEvent,
  type Tracker,
} from '@snowplow/node-tracker';
import { sentRequestOf, type SentRequest } from './sent';

export interface NodeCaptureOptions {
  host: string;
  port: number;
  networkUserId: string;
}

export const NODE_TRACKERS = [
  { namespace: 'nodeget', eventMethod: 'get' as const, encodeBase64: false, bufferSize: 1 },
  { namespace: 'node64', eventMethod: 'post' as const, encodeBase64: true, bufferSize: 2 },
  { namespace: 'nodepost', eventMethod: 'post' as const, encodeBase64: false, bufferSize: 10 },
];

const NON_ASCII = 'Grüße ✓ 日本';

export async function captureNode(opts: NodeCaptureOptions): Promise<SentRequest[]> {
  const recorded: SentRequest[] = [];
  const recordingFetch = async (input: Request): Promise<Response> => {
    const body = input.method === 'POST' ? await input.clone().text() : undefined;
    const headers = new Headers(input.headers);
    headers.set('x-forwarded-for', '198.51.100.23, 10.0.0.1');
    headers.set('cookie', `sp=${opts.networkUserId}; other=1`);
    headers.set('user-agent', 'tailplow-capture node-tracker');
    recorded.push(sentRequestOf('node', input.method, input.url, body, Object.fromEntries(headers)));
    return fetch(input.url, { method: input.method, headers, body });
  };

  const trackers: Tracker[] = NODE_TRACKERS.map((t) => {
    const tracker = newTracker(
      { namespace: t.namespace, appId: 'capture-node', encodeBase64: t.encodeBase64 },
      {
        endpoint: opts.host,
        protocol: 'http',
        port: opts.port,
        eventMethod: t.eventMethod,
        bufferSize: t.bufferSize,
        customFetch: recordingFetch,
      },
    );
    tracker.setPlatform('srv');
    tracker.setUserId('node-user-ü');
    tracker.setDomainUserId('0b7c4c9e-5a0e-4d8b-9f5e-1f2a3b4c5d6e');
    tracker.setNetworkUserId(opts.networkUserId);
    tracker.setSessionId('6f3c2a1b-0d9e-4c8b-a7f6-e5d4c3b2a190');
    tracker.setSessionIndex(3);
    tracker.setLang('de-DE');
    tracker.setScreenResolution('1920', '1080');
    tracker.setViewport('1280', '720');
    tracker.setColorDepth('24');
    tracker.setTimezone('Europe/Berlin');
    return tracker;
  });
  trackers[1]?.setIpAddress('203.0.113.7');

  const ctx = (n: number) => [
    { schema: 'iglu:com.acme/server_ctx/jsonschema/1-0-0', data: { n, host: 'web-1', note: NON_ASCII } },
  ];
  for (const tracker of trackers) {
    tracker.track(
      buildPageView({
        pageUrl: 'https://shop.example/produkt/gr%C3%BC%C3%9Fe?utm_source=node&utm_campaign=%E6%97%A5%E6%9C%AC',
        pageTitle: `Produkt — ${NON_ASCII}`,
        referrer: 'https://www.bing.com/search?q=gr%C3%BC%C3%9Fe',
      }),
      ctx(1),
    );
    tracker.track(
      buildStructEvent({ category: NON_ASCII, action: 'buy "now" & save=10%', label: 'ü+ä', property: 'p/1', value: 0.1 }),
      ctx(2),
      { type: 'ttm', value: 1700000000123 },
    );
    tracker.track(
      buildSelfDescribingEvent({
        event: { schema: 'iglu:com.acme/order_note/jsonschema/1-0-0', data: { text: `${NON_ASCII}\n🚀`, lines: [1, 2] } },
      }),
      ctx(3),
      { type: 'dtm', value: 1700000000456 },
    );
    tracker.track(
      buildEcommerceTransaction({
        orderId: 'order-ü-1',
        total: 123.45,
        affiliation: 'Laden Köln',
        tax: 19.5,
        shipping: 4.99,
        city: 'Köln',
        state: 'NRW',
        country: 'DE',
        currency: 'EUR',
      }),
    );
    tracker.track(
      buildEcommerceTransactionItem({
        orderId: 'order-ü-1',
        sku: 'SKU-ß-1',
        price: 59.5,
        name: 'Tasse 日本',
        category: 'Küche',
        quantity: 2,
        currency: 'EUR',
      }),
    );
  }
  for (const tracker of trackers) await tracker.flush();
  return recorded;
}
