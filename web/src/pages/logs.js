// A device's log lines (docs/telemetry.md "Device logs"): the newest LOG_FIRST from the
// REST API, then a live tail from the log stream (../live.js; the device page opens it and
// hands each event to live()). At most LOG_KEEP lines stay on the page, newest first.
import * as api from '../api.js';
import { h, notice, when } from '../dom.js';

const LOG_FIRST = 50;
const LOG_KEEP = 200;

function line(l) {
  return h('li', { 'data-level': l.level, 'data-ts': String(l.ts) },
    h('span', { class: 'muted' }, when(l.ts)), ' ', h('code', null, l.level), ' ', l.msg);
}

export function logsView(base) {
  const list = h('ul', { id: 'log-lines', class: 'log-lines' });
  const none = h('p', { class: 'muted', id: 'log-none' },
    'No log lines yet. A device publishes them on server/{its id}/log.');
  const msg = notice();
  const box = h('div', null, none, list, msg);
  function trim() {
    while (list.children.length > LOG_KEEP) list.lastChild.remove();
    none.hidden = list.children.length > 0;
  }
  box.load = async () => {
    const r = await api.call('GET', base + '/logs' + api.q({ limit: LOG_FIRST }));
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.clear();
    list.replaceChildren(...(r.data.logs || []).map(line));
    trim();
  };
  // One event of the live stream: {device, ts, level, msg}.
  box.live = (l) => {
    list.prepend(line(l));
    box.dataset.liveEvents = String(Number(box.dataset.liveEvents || 0) + 1);
    trim();
  };
  return box;
}
