/**
 * The dashboard's one page, used two ways:
 * - live (`tailplow dashboard`): the page loads Chart.js and its script from the server and asks
 *   /api/views for the data, again on every filter change and every few seconds while "live" is on;
 * - report (`tailplow report`): Chart.js, the script and the data are inlined, so the file works
 *   offline, from disk or as an e-mail attachment.
 *
 * The browser script is plain ES2017 in a string (the project compiles for Node, without DOM
 * types); it builds every element with textContent, never innerHTML, so values from events (page
 * paths, campaign names) cannot inject markup.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Analytics } from './queries';

/** What the page shows: the views and when they were computed (ISO). */
export interface DashboardData extends Analytics {
  readonly generatedAt: string;
}
import { FIRST_VIEWS, GRANULARITIES, VIEW_NAMES } from './queries';

/** Chart.js's UMD build, from the installed package (no CDN: the dashboard works offline). */
export function chartJsPath(): string {
  // The package's exports map hides dist/, so the UMD file is found next to its CommonJS entry (dist/chart.cjs).
  return join(dirname(require.resolve('chart.js')), 'chart.umd.js');
}

let chartJsText: string | undefined;
export function chartJsSource(): string {
  chartJsText ??= readFileSync(chartJsPath(), 'utf8');
  return chartJsText;
}

export interface PageOptions {
  title: string;
  /** Where the data is (path or server URL), shown in the footer. */
  location: string;
  /** live: fetch /api/views; report: the data is in the page. */
  mode: 'live' | 'report';
  /** Seconds between refreshes while "live" is on. */
  refreshSeconds?: number;
  /** The report's data. */
  data?: DashboardData;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside <script>: `<` escaped so no value can close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export function renderPage(opts: PageOptions): string {
  const config = {
    mode: opts.mode,
    refreshSeconds: opts.refreshSeconds ?? 10,
    location: opts.location,
    // Two requests: the numbers and the chart first, then the rankings (each view is a query).
    phases: [FIRST_VIEWS, VIEW_NAMES.filter((v) => !FIRST_VIEWS.includes(v))],
  };
  const scripts =
    opts.mode === 'live'
      ? '<script src="assets/chart.umd.js"></script>\n<script src="app.js"></script>'
      : // A report inlines everything; `</script` inside Chart.js would end the element early, so it is escaped.
        `<script>${chartJsSource().replace(/<\/script/gi, '<\\/script')}</script>\n<script>${CLIENT_SCRIPT}</script>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(opts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(opts.title)}</h1>
  <form id="filters" autocomplete="off">
    <label>Range <select name="range">
      <option value="1h">last hour</option><option value="24h">last 24 hours</option>
      <option value="7d" selected>last 7 days</option><option value="30d">last 30 days</option>
      <option value="90d">last 90 days</option><option value="365d">last year</option>
      <option value="custom">custom</option></select></label>
    <label class="custom">From (UTC) <input name="from" type="datetime-local" step="60"></label>
    <label class="custom">To (UTC) <input name="to" type="datetime-local" step="60"></label>
    <label>By <select name="granularity"><option value="">auto</option>${GRANULARITIES.map((g) => `<option value="${g}">${g}</option>`).join('')}</select></label>
    <label>App <select name="app_id"><option value="">all apps</option></select></label>
    <label>Page <input name="page" type="text" placeholder="/path" maxlength="3000"></label>
    <label class="live"><input name="live" type="checkbox" checked> live</label>
  </form>
</header>
<main>
  <p id="status" role="status"></p>
  <section class="kpis" id="kpis"></section>
  <section class="card wide"><h2>Over time</h2><div class="chart tall"><canvas id="timeseries"></canvas></div></section>
  <div class="grid">
    <section class="card"><h2>New vs returning visitors</h2><div class="chart"><canvas id="new_vs_returning"></canvas></div></section>
    <section class="card"><h2>Device types</h2><div class="chart"><canvas id="device_types"></canvas></div></section>
    <section class="card" data-table="top_pages"><h2>Top pages</h2></section>
    <section class="card" data-table="entry_pages"><h2>Entry pages</h2></section>
    <section class="card" data-table="referrer_media"><h2>Referrer media</h2></section>
    <section class="card" data-table="referrer_sources"><h2>Referrer sources</h2></section>
    <section class="card" data-table="campaigns"><h2>Campaigns</h2></section>
    <section class="card" data-table="countries"><h2>Countries</h2></section>
    <section class="card" data-table="browsers"><h2>Browsers</h2></section>
    <section class="card" data-table="operating_systems"><h2>Operating systems</h2></section>
    <section class="card" data-table="structured_events"><h2>Structured events</h2></section>
  </div>
</main>
<footer id="footer"></footer>
<script type="application/json" id="tailplow-config">${scriptJson(config)}</script>
${opts.data ? `<script type="application/json" id="tailplow-data">${scriptJson(opts.data)}</script>` : ''}
${scripts}
</body>
</html>
`;
}

const STYLE = `
:root { --fg: #1d2330; --muted: #5f6b7a; --bg: #f5f6f8; --card: #fff; --line: #e3e6ea; --accent: #2f6fde; --bar: #dfe9fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: var(--card); border-bottom: 1px solid var(--line); padding: 10px 16px; position: sticky; top: 0; z-index: 2; }
h1 { font-size: 18px; margin: 0 0 8px; }
h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); font-weight: 600; }
form { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; }
label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
label.live { flex-direction: row; align-items: center; gap: 4px; }
select, input[type=text], input[type=datetime-local] { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; background: #fff; color: var(--fg); max-width: 100%; }
input[name=page] { width: 14em; }
form:not(.custom-range) label.custom { display: none; }
main { padding: 12px 16px 24px; max-width: 1400px; margin: 0 auto; }
#status { margin: 0 0 8px; min-height: 1.4em; color: var(--muted); }
#status.error { color: #b3261e; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin-bottom: 12px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.kpi .label { font-size: 12px; color: var(--muted); }
.kpi .value { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px; min-width: 0; }
.card.wide { margin-bottom: 12px; }
.chart { position: relative; height: 220px; }
.chart.tall { height: 280px; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { padding: 4px 6px; text-align: left; border-bottom: 1px solid var(--line); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; width: 6.5em; font-variant-numeric: tabular-nums; }
td.key { position: relative; }
td.key .bar { position: absolute; inset: 2px auto 2px 0; background: var(--bar); z-index: 0; border-radius: 2px; }
td.key span { position: relative; z-index: 1; }
td.key a { color: var(--accent); text-decoration: none; cursor: pointer; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; padding: 0 16px 16px; text-align: center; }
@media (max-width: 480px) {
  .grid { grid-template-columns: 1fr; }
  .kpi .value { font-size: 20px; }
  input[name=page] { width: 9em; }
}
`;

/** Columns of each table: [field, heading, numeric]. The first is the key column (with a bar). */
const TABLES: Record<string, Array<[string, string, boolean?]>> = {
  top_pages: [['page', 'Page'], ['page_views', 'Views', true], ['visitors', 'Visitors', true]],
  entry_pages: [['page', 'Page'], ['sessions', 'Sessions', true]],
  referrer_media: [['medium', 'Medium'], ['sessions', 'Sessions', true], ['page_views', 'Views', true]],
  referrer_sources: [['source', 'Source'], ['medium', 'Medium'], ['sessions', 'Sessions', true]],
  campaigns: [['campaign', 'Campaign'], ['source', 'Source'], ['medium', 'Medium'], ['sessions', 'Sessions', true]],
  countries: [['country', 'Country'], ['visitors', 'Visitors', true]],
  browsers: [['browser', 'Browser'], ['visitors', 'Visitors', true]],
  operating_systems: [['os', 'OS'], ['visitors', 'Visitors', true]],
  structured_events: [['category', 'Category'], ['action', 'Action'], ['events', 'Events', true]],
};

/** The browser script (ES2017, no modules). */
const CLIENT_SCRIPT = `(function () {
'use strict';
var TABLES = ${JSON.stringify(TABLES)};
var config = JSON.parse(document.getElementById('tailplow-config').textContent);
var dataEl = document.getElementById('tailplow-data');
var form = document.getElementById('filters');
var statusEl = document.getElementById('status');
var charts = {};
var timer = null;
var inFlight = null;
var nf = new Intl.NumberFormat('en');
var queryMs = 0;

function el(tag, attrs, text) {
  var e = document.createElement(tag);
  if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
  if (text !== undefined) e.textContent = text;
  return e;
}
function setStatus(text, isError) { statusEl.textContent = text; statusEl.className = isError ? 'error' : ''; }
function pad(n) { return (n < 10 ? '0' : '') + n; }
function utcLabel(t, g) {
  var d = new Date(t * 1000);
  var date = d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
  if (g === 'month') return date.slice(0, 7);
  if (g === 'day' || g === 'week') return date;
  return date + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
}
function toLocalInput(t) { return new Date(t * 1000).toISOString().slice(0, 16); }
function duration(ms) {
  var s = Math.round(ms / 1000);
  return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + pad(s % 60) + ' s';
}

/** The filters as the API's query string, from the form. */
function queryOf() {
  var p = new URLSearchParams();
  var range = form.range.value;
  if (range === 'custom') {
    if (form.from.value) p.set('from', form.from.value + ':00Z');
    if (form.to.value) p.set('to', form.to.value + ':00Z');
  } else p.set('from', range);
  ['granularity', 'app_id', 'page'].forEach(function (name) { if (form[name].value) p.set(name, form[name].value); });
  return p;
}
function formFromQuery(p) {
  var from = p.get('from');
  if (from && /^\\d+[mhdw]$/.test(from) && form.range.querySelector('option[value="' + from + '"]')) form.range.value = from;
  else if (from || p.get('to')) {
    form.range.value = 'custom';
    var asInput = function (v) { return /^\\d+$/.test(v) ? toLocalInput(Number(v)) : v.replace(/Z$/, '').replace(' ', 'T').slice(0, 16); };
    if (from) form.from.value = asInput(from);
    if (p.get('to')) form.to.value = asInput(p.get('to'));
  }
  ['granularity', 'page'].forEach(function (name) { if (p.get(name)) form[name].value = p.get(name); });
  if (p.get('app_id')) {
    var o = el('option', { value: p.get('app_id') }, p.get('app_id'));
    form.app_id.appendChild(o);
    form.app_id.value = p.get('app_id');
  }
  form.classList.toggle('custom-range', form.range.value === 'custom');
}

var KPIS = [['visitors', 'Visitors'], ['sessions', 'Sessions'], ['page_views', 'Page views'], ['events', 'Events'], ['bounce_rate', 'Bounce rate'], ['engaged_sessions', 'Engaged sessions'], ['avg_duration_ms', 'Avg. session']];
/** Sets one KPI box (created in KPIS order on first use); no value shows as '…' until it comes. */
function setKpi(id, value, shown) {
  var box = document.getElementById('kpis');
  if (!box.children.length) KPIS.forEach(function (k) {
    var b = el('div', { class: 'kpi', 'data-kpi': k[0] });
    b.appendChild(el('div', { class: 'label' }, k[1]));
    b.appendChild(el('div', { class: 'value' }, '…'));
    box.appendChild(b);
  });
  var target = box.querySelector('[data-kpi="' + id + '"]');
  target.setAttribute('data-value', String(value));
  target.querySelector('.value').textContent = shown === undefined ? nf.format(value) : shown;
}
function renderKpis(v) {
  if (v.summary) {
    var s = v.summary[0] || { visitors: 0, sessions: 0, page_views: 0, events: 0 };
    ['visitors', 'sessions', 'page_views', 'events'].forEach(function (k) { setKpi(k, s[k]); });
  }
  if (v.engagement) {
    var e = v.engagement[0] || { sessions: 0, bounces: 0, engaged_sessions: 0, total_duration_ms: 0 };
    var bounce = e.sessions ? Math.round((1000 * e.bounces) / e.sessions) / 10 : 0;
    setKpi('bounce_rate', bounce, e.sessions ? bounce + ' %' : '–');
    setKpi('engaged_sessions', e.engaged_sessions);
    var avg = e.sessions ? Math.round(e.total_duration_ms / e.sessions) : 0;
    setKpi('avg_duration_ms', avg, e.sessions ? duration(avg) : '–');
  }
}

function renderTable(name, rows) {
  var section = document.querySelector('[data-table="' + name + '"]');
  var old = section.querySelector('table, p.empty');
  if (old) section.removeChild(old);
  if (!rows.length) { section.appendChild(el('p', { class: 'empty' }, 'nothing in this range')); return; }
  var cols = TABLES[name];
  var table = el('table', { 'data-view': name });
  var head = el('tr');
  cols.forEach(function (c) { head.appendChild(el('th', c[2] ? { class: 'num' } : {}, c[1])); });
  table.appendChild(el('thead')).appendChild(head);
  var body = el('tbody');
  var countCol = cols.filter(function (c) { return c[2]; })[0][0];
  var max = Math.max.apply(null, rows.map(function (r) { return r[countCol]; })) || 1;
  rows.forEach(function (r) {
    var tr = el('tr');
    cols.forEach(function (c, i) {
      var value = r[c[0]];
      if (c[2]) { tr.appendChild(el('td', { class: 'num', 'data-col': c[0], 'data-value': String(value) }, nf.format(value))); return; }
      var td = el('td', { class: i === 0 ? 'key' : '', 'data-col': c[0], title: String(value) });
      if (i === 0) {
        var bar = el('div', { class: 'bar' });
        bar.style.width = Math.max(1, (100 * r[countCol]) / max) + '%';
        td.appendChild(bar);
      }
      var label = value === '' ? '(none)' : String(value);
      if (i === 0 && (name === 'top_pages' || name === 'entry_pages') && config.mode === 'live') {
        var a = el('a', { href: '#', 'data-page': String(value) }, label);
        a.addEventListener('click', function (ev) { ev.preventDefault(); form.page.value = a.getAttribute('data-page'); refresh(true); });
        td.appendChild(el('span')).appendChild(a);
      } else td.appendChild(el('span', {}, label));
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  table.appendChild(body);
  section.appendChild(table);
}

var COLORS = ['#2f6fde', '#e8772e', '#2e9e5b', '#a64fc9', '#d9455f', '#7a8599', '#c9a227'];
function upsertChart(id, type, labels, datasets, options) {
  if (!window.Chart) return;
  var chart = charts[id];
  if (chart) { chart.data.labels = labels; chart.data.datasets = datasets; chart.update('none'); return; }
  charts[id] = new window.Chart(document.getElementById(id), {
    type: type, data: { labels: labels, datasets: datasets },
    options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: 'bottom' } } }, options || {}),
  });
}
function renderCharts(a) {
  var v = a.views, g = a.filters.granularity;
  if (v.timeseries) {
    var byT = {};
    v.timeseries.forEach(function (r) { byT[r.t] = r; });
    var labels = a.buckets.map(function (t) { return utcLabel(t, g); });
    var series = function (field, label, color) {
      return { label: label, data: a.buckets.map(function (t) { return byT[t] ? byT[t][field] : 0; }), borderColor: color, backgroundColor: color, pointRadius: a.buckets.length > 60 ? 0 : 2, borderWidth: 2, tension: 0.2 };
    };
    upsertChart('timeseries', 'line', labels, [series('page_views', 'Page views', COLORS[0]), series('sessions', 'Sessions', COLORS[1]), series('visitors', 'Visitors', COLORS[2])],
      { interaction: { mode: 'index', intersect: false }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } } } });
  }
  var doughnut = function (id, rows, key) {
    upsertChart(id, 'doughnut', rows.map(function (r) { return r[key]; }), [{ data: rows.map(function (r) { return r.visitors; }), backgroundColor: COLORS }]);
  };
  if (v.new_vs_returning) {
    doughnut('new_vs_returning', v.new_vs_returning, 'kind');
    var nvr = document.getElementById('new_vs_returning');
    ['new', 'returning'].forEach(function (k) {
      var row = v.new_vs_returning.filter(function (r) { return r.kind === k; })[0];
      nvr.setAttribute('data-' + k, String(row ? row.visitors : 0));
    });
  }
  if (v.device_types) doughnut('device_types', v.device_types, 'device');
}
function renderApps(apps) {
  var select = form.app_id, current = select.value;
  var known = {};
  Array.prototype.forEach.call(select.options, function (o) { known[o.value] = true; });
  apps.forEach(function (r) { if (!known[r.app_id]) select.appendChild(el('option', { value: r.app_id }, r.app_id === '' ? '(no app_id)' : r.app_id)); });
  select.value = current;
}

/** Renders the views present in \`a\`; \`last\` marks the page complete (data-rendered). */
function render(a, last) {
  renderKpis(a.views);
  renderCharts(a);
  Object.keys(TABLES).forEach(function (name) { if (a.views[name]) renderTable(name, a.views[name]); });
  if (a.views.apps) renderApps(a.views.apps);
  var f = a.filters;
  queryMs = (last ? queryMs : 0) + a.queryMs;
  document.getElementById('footer').textContent = 'Events ' + utcLabel(f.from, 'minute') + ' – ' + utcLabel(f.to, 'minute') + ' UTC' + (f.appId !== undefined ? ', app ' + f.appId : '') + (f.page !== undefined ? ', page ' + f.page : '') + ' · by ' + f.granularity + ' · ' + config.location + ' · queries ' + queryMs + ' ms';
  // Which filters this render shows: a poll with the old filters may land just before a change.
  if (last) document.body.setAttribute('data-rendered-filters', JSON.stringify(f));
  document.body.setAttribute(last ? 'data-rendered' : 'data-first-render', String(Date.now()));
}

/** Resolves after the next frame is painted (or after 100 ms where no frame comes: a hidden tab). */
function afterPaint() {
  return new Promise(function (resolve) {
    var done = false;
    var go = function () { if (!done) { done = true; resolve(); } };
    requestAnimationFrame(function () { setTimeout(go, 0); });
    setTimeout(go, 100);
  });
}

function refresh(userChange) {
  if (config.mode !== 'live') return;
  // A poll waits for the pending answer; a filter change replaces it.
  if (!userChange && inFlight) return;
  var q = queryOf();
  if (userChange) history.replaceState(null, '', '?' + q.toString());
  if (inFlight) inFlight.abort();
  var controller = new AbortController();
  inFlight = controller;
  setStatus(userChange ? 'loading…' : statusEl.textContent, false);
  var phase = function (i) {
    var p = new URLSearchParams(q);
    p.set('views', config.phases[i].join(','));
    return fetch('api/views?' + p.toString(), { signal: controller.signal, headers: { accept: 'application/json' } })
      .then(function (res) { return res.json().then(function (body) { return { ok: res.ok, body: body }; }); })
      .then(function (r) {
        if (inFlight !== controller) return;
        if (!r.ok) { inFlight = null; setStatus(r.body.error || 'request failed', true); return; }
        var last = i === config.phases.length - 1;
        render(r.body, last);
        // The next phase's queries keep both cores busy for seconds: ask once this one is painted.
        if (!last) return afterPaint().then(function () { return phase(i + 1); });
        inFlight = null;
        setStatus('updated ' + new Date().toLocaleTimeString() + (form.live.checked ? ' · live' : ''), false);
      });
  };
  phase(0).catch(function (err) {
    if (inFlight === controller) inFlight = null;
    if (err.name !== 'AbortError') setStatus('cannot reach the dashboard server: ' + err.message, true);
  });
}
function schedule() {
  if (timer) clearInterval(timer);
  timer = null;
  if (config.mode === 'live' && form.live.checked) timer = setInterval(function () { if (!document.hidden) refresh(false); }, config.refreshSeconds * 1000);
}

if (config.mode === 'report') {
  var data = JSON.parse(dataEl.textContent);
  form.querySelectorAll('select, input').forEach(function (e) { e.disabled = true; });
  form.range.value = 'custom';
  form.from.value = toLocalInput(data.filters.from);
  form.to.value = toLocalInput(data.filters.to);
  form.granularity.value = data.filters.granularity;
  if (data.filters.page !== undefined) form.page.value = data.filters.page;
  if (data.filters.appId !== undefined) { form.app_id.appendChild(el('option', { value: data.filters.appId }, data.filters.appId)); form.app_id.value = data.filters.appId; }
  form.classList.add('custom-range');
  form.querySelector('label.live').style.display = 'none';
  render(data, true);
  document.body.setAttribute('data-first-render', document.body.getAttribute('data-rendered'));
  setStatus('Report generated ' + new Date(data.generatedAt).toISOString().replace('T', ' ').slice(0, 16) + ' UTC', false);
} else {
  formFromQuery(new URLSearchParams(location.search));
  form.addEventListener('change', function (ev) {
    form.classList.toggle('custom-range', form.range.value === 'custom');
    if (ev.target.name === 'range' && form.range.value === 'custom' && !form.from.value) return;
    if (ev.target.name === 'live') { schedule(); return; }
    refresh(true);
  });
  form.addEventListener('submit', function (ev) { ev.preventDefault(); refresh(true); });
  refresh(true);
  schedule();
}
})();
`;

/** The browser script served as /app.js by the live dashboard. */
export const clientScript = (): string => CLIENT_SCRIPT;
