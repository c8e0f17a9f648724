// The per-device command latency chart (uPlot): one point per call, device latency in ms
// against the time it ended. Fed from the history API and from live answers.
import uPlot from 'uplot';

export function latencyChart(width) {
  const xs = [], ys = [];
  const el = document.createElement('div');
  el.className = 'chart';
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', 'Command latency over time');
  const opts = {
    width, height: 200,
    series: [{}, { label: 'latency (ms)', stroke: '#2563eb', width: 2, points: { show: true, size: 5 } }],
    axes: [{}, { label: 'ms' }],
    scales: { x: { time: true } },
  };
  const plot = new uPlot(opts, [xs, ys], el);
  return {
    el,
    // @points: [{at (ms), latency_us}] in any order; keeps the last 200
    set(points) {
      const p = points.filter((x) => x.latency_us > 0).sort((a, b) => a.at - b.at).slice(-200);
      xs.length = 0; ys.length = 0;
      for (const x of p) { xs.push(x.at / 1000); ys.push(x.latency_us / 1000); }
      plot.setData([xs, ys]);
    },
    resize(w) { plot.setSize({ width: w, height: 200 }); },
    destroy() { plot.destroy(); },
  };
}

// One telemetry series (uPlot): aggregated values against the bucket start, the x axis
// spanning the chosen range. @label: the text for screen readers until set() names the key.
export function seriesChart(width, label) {
  const el = document.createElement('div');
  el.className = 'chart';
  el.id = 'tm-chart';
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', label);
  let span = null; // [from, to] in s: the x axis is the chosen range, not the data's
  const opts = {
    width, height: 220,
    series: [{}, { label: 'avg', stroke: '#047857', width: 2, points: { show: true, size: 4 } }],
    scales: { x: { time: true, range: (u, lo, hi) => span || [lo, hi] } },
  };
  const plot = new uPlot(opts, [[], []], el);
  return {
    el,
    // @points: [{ts (ms), v}] oldest first, as the telemetry API answers; @from, @to: ms
    set(name, points, from, to) {
      span = [from / 1000, to / 1000];
      el.setAttribute('aria-label', 'Average of ' + name + ' over time');
      plot.setData([points.map((p) => p.ts / 1000), points.map((p) => Number(p.v))]);
    },
    resize(w) { plot.setSize({ width: w, height: 220 }); },
    destroy() { plot.destroy(); },
  };
}
