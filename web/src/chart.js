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
