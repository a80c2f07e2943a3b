// Browser side of scripts/capture: real @snowplow/browser-tracker calls, driven step by step
// by the capture program through window.capture.*. Four trackers cover GET/POST x base64 on/off.
(function () {
  'use strict';
  var sp = window.snowplowBrowserTracking;
  var lc = window.snowplowLinkClickTracking;
  var NON_ASCII = 'Grüße ✓ 日本';
  var TRACKERS = [
    { ns: 'get64', eventMethod: 'get', encodeBase64: true },
    { ns: 'getplain', eventMethod: 'get', encodeBase64: false },
    { ns: 'post64', eventMethod: 'post', encodeBase64: true },
    { ns: 'postplain', eventMethod: 'post', encodeBase64: false, bufferSize: 3 },
  ];
  var ALL = TRACKERS.map(function (t) { return t.ns; });

  function pageContext(n) {
    return {
      schema: 'iglu:com.acme/page_meta/jsonschema/1-0-0',
      data: { section: 'news', n: n, tags: ['ä', '✓', '日本'], quote: 'say "hi" \\ back' },
    };
  }

  window.capture = {
    setup: function (collector) {
      TRACKERS.forEach(function (t) {
        sp.newTracker(t.ns, collector, {
          appId: 'capture-web',
          platform: 'web',
          eventMethod: t.eventMethod,
          encodeBase64: t.encodeBase64,
          bufferSize: t.bufferSize || 1,
          cookieSameSite: 'Lax',
          contexts: { webPage: true, session: true, browser: true },
          plugins: [lc.LinkClickTrackingPlugin()],
        });
      });
      sp.setUserId('user-Grüße-1', ALL);
      sp.enableActivityTracking({ minimumVisitLength: 1, heartbeatDelay: 1 }, ['get64', 'post64']);
      lc.enableLinkClickTracking({ pseudoClicks: false, trackContent: true }, ALL);
      // Like a single-page app's router: the click is tracked, the browser stays on the page.
      document.getElementById('link-external').addEventListener('click', function (e) { e.preventDefault(); });
    },
    pageViews: function () {
      sp.trackPageView({ title: 'Custom title — ' + NON_ASCII, context: [pageContext(1)] }, ALL);
    },
    structEvents: function () {
      sp.trackStructEvent({
        category: NON_ASCII,
        action: 'click & "quote" = 100%+',
        label: 'line1\nline2\ttab \\ back/slash 🚀',
        property: 'prop/ü?x=1',
        value: 42.5,
      }, ALL);
      sp.trackStructEvent({ category: 'minimal', action: 'only-action' }, ALL);
    },
    selfDescribing: function () {
      sp.trackSelfDescribingEvent({
        event: {
          schema: 'iglu:com.acme/checkout_step/jsonschema/1-0-0',
          data: { step: 2, note: NON_ASCII, nested: { ok: true, none: null, list: [1, 'ü'] } },
        },
        context: [pageContext(2), { schema: 'iglu:com.acme/user/jsonschema/1-0-1', data: { tier: 'gold' } }],
      }, ALL);
    },
    flush: function () {
      sp.flushBuffer({}, ALL);
    },
  };
})();
