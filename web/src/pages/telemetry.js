// A device's telemetry (docs/telemetry.md): the latest value of every key, and a chart of
// one numeric key's average over the last hour, day or week. Loaded once, then kept current
// by the live stream (../live.js): the device page opens it and hands each event to live();
// load() again fills a gap after the stream broke.
import * as api from '../api.js';
import { seriesChart } from '../chart.js';
import { h, notice, when } from '../dom.js';

const CHART_LIVE_MS = 10000;

// range -> [length in ms, bucket]: about 60 to 300 points whatever the range
const RANGES = {
  '1h': [3600e3, '1m', 'Last hour'],
  '24h': [86400e3, '5m', 'Last 24 hours'],
  '7d': [7 * 86400e3, '1h', 'Last 7 days'],
};

function latestTable(latest) {
  return h('div', { class: 'scroll' }, h('table', { id: 'tm-latest' },
    h('thead', null, h('tr', null, ['Key', 'Value', 'At'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, Object.entries(latest).map(([k, x]) =>
      h('tr', { 'data-key': k }, h('td', null, h('code', null, k)), h('td', null, String(x.v)), h('td', null, when(x.ts)))))));
}

function select(id, label, options) {
  const s = h('select', { id });
  for (const [value, text] of options) s.append(h('option', { value }, text));
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), s), input: s };
}

export function telemetryView(base, width) {
  const latestBox = h('div');
  const key = select('tm-key', 'Series', []);
  const range = select('tm-range', 'Range', Object.entries(RANGES).map(([k, r]) => [k, r[2]]));
  const chart = seriesChart(width, 'Telemetry chart');
  const empty = h('p', { class: 'muted', id: 'tm-empty' }, 'No readings in this range.');
  const msg = notice();
  const chartBox = h('div', { hidden: true }, h('div', { class: 'inline' }, key.wrap, range.wrap), chart.el, empty);
  const box = h('div', { id: 'tm-view' }, latestBox, chartBox, msg);

  async function loadSeries() {
    const name = key.input.value;
    if (!name) return;
    const [span, interval] = RANGES[range.input.value];
    const now = Date.now();
    const r = await api.call('GET', base + '/telemetry' + api.q({ keys: name, from: now - span, to: now + 1,
      agg: 'avg', interval }));
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    const pts = (r.data.series && r.data.series[name]) || [];
    chart.set(name, pts, now - span, now);
    chart.el.dataset.points = String(pts.length);
    chart.el.dataset.range = range.input.value;
    empty.hidden = pts.length > 0;
  }

  function setKeys(latest) {
    const numeric = Object.keys(latest).filter((k) => typeof latest[k].v !== 'string').sort();
    const have = [...key.input.options].map((o) => o.value);
    if (have.join() === numeric.join()) return;
    const cur = key.input.value;
    key.input.replaceChildren(...numeric.map((k) => h('option', { value: k }, k)));
    if (numeric.includes(cur)) key.input.value = cur;
  }

  let latest = {};
  let chartDue = 0;
  function render() {
    if (!Object.keys(latest).length) {
      latestBox.replaceChildren(h('p', { class: 'muted', id: 'tm-none' },
        'No telemetry yet. A device publishes readings on server/{its id}/telemetry.'));
      chartBox.hidden = true;
      return false;
    }
    latestBox.replaceChildren(latestTable(latest));
    setKeys(latest);
    chartBox.hidden = key.input.options.length === 0;
    return true;
  }

  box.load = async () => {
    const r = await api.call('GET', base + '/telemetry/latest');
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.clear();
    latest = r.data.latest || {};
    if (render()) await loadSeries();
  };
  // One event of the live stream: {device, ts, values}. The chart is redrawn at most every
  // CHART_LIVE_MS (a device may send many readings a second).
  box.live = (ev) => {
    for (const [k, v] of Object.entries(ev.values || {})) {
      if (!latest[k] || latest[k].ts <= ev.ts) latest[k] = { ts: ev.ts, v };
    }
    box.dataset.liveEvents = String(Number(box.dataset.liveEvents || 0) + 1);
    render();
    const now = Date.now();
    if (now >= chartDue) { chartDue = now + CHART_LIVE_MS; loadSeries(); }
  };
  key.input.addEventListener('change', loadSeries);
  range.input.addEventListener('change', loadSeries);
  box.resize = (w) => chart.resize(w);
  box.destroy = () => chart.destroy();
  return box;
}
