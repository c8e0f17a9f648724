// One device: state (polled), the control panel, the latency chart, queued commands,
// call history and connection events, telemetry and the device log (live: server-sent
// events), the shadow, credential rotation and unregistering.
import * as api from '../api.js';
import { latencyChart } from '../chart.js';
import { dot, field, form, h, notice, when } from '../dom.js';
import { go, link } from '../router.js';
import { panel } from './panel.js';
import { liveStream } from '../live.js';
import { logsView } from './logs.js';
import { credentials } from './register.js';
import { shadowView } from './shadow.js';
import { telemetryView } from './telemetry.js';

const POLL_MS = 2000;

function table(cols, rows) {
  return h('div', { class: 'scroll' }, h('table', null,
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))));
}

function summary(d) {
  return h('dl', { class: 'facts' },
    h('dt', null, 'State'), h('dd', { id: 'device-state', 'data-online': d.online ? '1' : '0' },
      dot(d.online), d.online ? ' online since ' + when(d.connected_at) : ' offline, last seen ' + when(d.last_seen)),
    h('dt', null, 'Id'), h('dd', null, h('code', null, d.id)),
    h('dt', null, 'Type'), h('dd', null, d.type || '—'),
    h('dt', null, 'Attributes'), h('dd', null, Object.keys(d.attributes || {}).length ? JSON.stringify(d.attributes) : '—'),
    h('dt', null, 'Certificate'), h('dd', null, d.certificate
      ? `serial ${d.certificate.serial}, valid until ${when(d.certificate.not_after)}` : 'none'),
    h('dt', null, 'Secret'), h('dd', null, d.has_secret ? 'set' : 'none'));
}

function commandsView(base) {
  const box = h('div');
  async function load() {
    const r = await api.call('GET', base + '/commands' + api.q({ limit: 50 }));
    if (!r.ok) { box.replaceChildren(h('p', { class: 'notice error' }, api.errorText(r))); return; }
    const cmds = r.data.commands.slice().reverse();
    box.replaceChildren(cmds.length ? table(['Command', 'API', 'State', 'Created', 'Outcome', ''],
      cmds.map((c) => [h('code', null, c.id), c.api, h('span', { class: 'state', 'data-state': c.state }, c.state),
        when(c.created_at), c.error ? c.error.message : c.result ? JSON.stringify(c.result) : '',
        c.state === 'QUEUED' ? h('button', { type: 'button', class: 'small', onclick: async () => {
          await api.call('DELETE', '/v1/commands/' + encodeURIComponent(c.id)); load();
        } }, 'Cancel') : ''])) : h('p', { class: 'muted' }, 'No queued commands.'));
  }
  box.load = load;
  return box;
}

function historyView(base, chart) {
  const box = h('div');
  box.load = async () => {
    const r = await api.call('GET', base + '/history' + api.q({ limit: 50 }));
    if (!r.ok) return;
    chart.set(r.data.history);
    box.replaceChildren(r.data.history.length ? table(['When', 'API', 'Status', 'Outcome', 'Latency'],
      r.data.history.slice(0, 20).map((x) => [when(x.at), x.api, String(x.status), x.outcome,
        x.latency_us ? (x.latency_us / 1000).toFixed(1) + ' ms' : '—'])) : h('p', { class: 'muted' }, 'No calls yet.'));
  };
  return box;
}

function eventsView(base) {
  const box = h('div');
  box.load = async () => {
    const r = await api.call('GET', base + '/events' + api.q({ limit: 20 }));
    if (!r.ok) return;
    box.replaceChildren(r.data.events.length ? table(['When', 'Event', 'Reason'],
      r.data.events.map((e) => [when(e.at), e.kind, e.reason || ''])) : h('p', { class: 'muted' }, 'No connections yet.'));
  };
  return box;
}

function notificationsView(base) {
  const box = h('div');
  box.load = async () => {
    const r = await api.call('GET', base + '/notifications' + api.q({ limit: 20 }));
    if (!r.ok) return;
    const ns = r.data.notifications;
    box.replaceChildren(ns.length ? table(['When', 'Channel', 'Recipient', 'Status', 'Detail'],
      ns.map((n) => [when(n.created_at), n.channel, n.recipient || '—', n.status,
        n.reason || n.last_error || (n.sent_at ? 'sent ' + when(n.sent_at) : '')]))
      : h('p', { class: 'muted' }, 'No notifications yet.'));
  };
  return box;
}

function credentialsView(d, base) {
  const msg = notice();
  const out = h('div');
  const secret = h('button', { type: 'button', onclick: async () => {
    if (!confirm('Replace the device secret? Connections made with the old one are closed.')) return;
    const r = await api.call('POST', base + '/secret');
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('New secret (shown once, only its hash is kept):', 'warn');
    out.replaceChildren(h('pre', { class: 'pem' }, r.data.secret));
  } }, 'New MQTT secret');
  const cert = h('button', { type: 'button', onclick: async () => {
    if (!confirm('Rotate the certificate? The old one is revoked and the device must use the new key.')) return;
    const r = await api.call('POST', base + '/certificate', { generate_key: true });
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('Certificate rotated.', 'ok');
    out.replaceChildren(credentials(r.data));
  } }, 'Rotate certificate (new key)');
  return h('div', null, h('div', { class: 'inline' }, secret, cert), msg, out);
}

function editView(d, base, onSaved) {
  const name = field('Name', { name: 'device_name', value: d.name, maxlength: 128 });
  const attrs = field('Attributes (JSON object; the type\u2019s required ones stay)', {
    name: 'device_attributes', value: JSON.stringify(d.attributes || {}) });
  return form([name, attrs], 'Save', async (msg) => {
    let a;
    try { a = JSON.parse(attrs.input.value || '{}'); } catch {
      msg.show('Attributes: not valid JSON', 'error'); return;
    }
    const r = await api.call('PATCH', base, { name: name.input.value.trim(), attributes: a });
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('Saved.', 'ok');
    onSaved(r.data);
  });
}

function unregisterView(current, base) {
  const name = field('Type the device name to confirm', { name: 'confirm-name', autocomplete: 'off' });
  const f = form([name], 'Unregister', async (msg) => {
    if (name.input.value !== current().name) { msg.show('The name does not match.', 'error'); return; }
    const r = await api.call('DELETE', base);
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    go('/devices');
  });
  f.querySelector('button').className = 'danger';
  return f;
}

export async function page(ctx) {
  const base = '/v1/devices/' + encodeURIComponent(ctx.params.id);
  const r = await api.call('GET', base);
  if (!r.ok) return h('section', null, h('h1', null, 'Device'), h('p', { class: 'notice error', role: 'alert' },
    api.errorText(r)), link('/devices', 'Back to the list'));
  let d = r.data;
  const facts = h('div', null, summary(d));
  const title = h('h1', null, d.name, ' ', dot(d.online));
  const chartWidth = () => Math.min(760, Math.max(260, window.innerWidth - 64));
  const chart = latencyChart(chartWidth());
  const tm = telemetryView(base, chartWidth()), shadow = shadowView(base);
  const logs = logsView(base);
  // live values and log lines: server-sent events, not polling (docs/telemetry.md)
  const tmLive = liveStream(base + '/telemetry/stream/ticket', {}, { telemetry: tm.live }, tm.load);
  const logLive = liveStream(base + '/logs/stream/ticket', {}, { log: logs.live }, logs.load);
  const cmds = commandsView(base), hist = historyView(base, chart), evs = eventsView(base);
  const ntfs = notificationsView(base);
  const onAnswer = () => { cmds.load(); hist.load(); ntfs.load(); };
  const timer = setInterval(async () => {
    const x = await api.call('GET', base);
    if (!x.ok) return;
    if (x.data.online !== d.online) evs.load();
    cmds.load(); // queued commands change state when the device comes back
    ntfs.load(); // and notifications when the notifier delivers them
    d = x.data;
    facts.replaceChildren(summary(d));
    title.replaceChildren(d.name, ' ', dot(d.online));
  }, POLL_MS);
  const onResize = () => { chart.resize(chartWidth()); tm.resize(chartWidth()); };
  window.addEventListener('resize', onResize);
  ctx.onLeave(() => {
    clearInterval(timer); tmLive.close(); logLive.close(); window.removeEventListener('resize', onResize);
    chart.destroy(); tm.destroy();
  });
  cmds.load(); hist.load(); evs.load(); ntfs.load(); tm.load(); logs.load(); shadow.load();
  const sec = (id, t, ...kids) => h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, t), ...kids);
  return h('div', { class: 'device' }, title, facts, panel(d, onAnswer),
    sec('lat-h', 'Command latency', chart.el),
    sec('cmd-h', 'Queued commands', cmds),
    sec('hist-h', 'History', hist),
    sec('ev-h', 'Connection events', evs),
    sec('ntf-h', 'Notifications', ntfs),
    sec('tm-h', 'Telemetry', tm),
    sec('log-h', 'Device log', logs),
    sec('shadow-h', 'Shadow', shadow),
    sec('edit-h', 'Name and attributes', editView(d, base, (x) => {
      d = x;
      facts.replaceChildren(summary(d));
      title.replaceChildren(d.name, ' ', dot(d.online));
    })),
    sec('cred-h', 'Credentials', credentialsView(d, base)),
    sec('del-h', 'Unregister', unregisterView(() => d, base)));
}
