// The device control panel: one row per device API, each showing the answer, the
// device's latency (publish to answer, server-measured) and the round trip seen here.
// "Queue if offline" sends ?mode=queue: the server stores the command (202) and delivers
// it when the device connects.
import * as api from '../api.js';
import { field, h } from '../dom.js';

function answerText(r) {
  if (r.status === 202) return `Queued as ${r.data.id} (${r.data.state}); it runs when the device is online.`;
  if (!r.ok) return api.errorText(r);
  const v = { ...r.data };
  delete v.latency_us;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === 'value' ? String(v.value) : JSON.stringify(v);
}

// A result line: data-status carries the HTTP status for tests and styling.
function result(name) {
  const out = h('output', { class: 'answer', 'aria-live': 'polite', name, id: 'ans-' + name });
  out.show = (r) => {
    out.dataset.status = r.status;
    out.className = 'answer ' + (r.ok ? 'ok' : 'error');
    const lat = r.ok && r.data && r.data.latency_us !== undefined
      ? ` · device ${(r.data.latency_us / 1000).toFixed(1)} ms` : '';
    out.replaceChildren(h('span', { class: 'value' }, answerText(r)),
      h('span', { class: 'latency' }, `${r.status}${lat} · round trip ${r.ms.toFixed(0)} ms`));
  };
  return out;
}

export function panel(dev, onAnswer) {
  const base = '/v1/devices/' + encodeURIComponent(dev.id);
  const queue = h('input', { type: 'checkbox', id: 'queue-mode' });
  const mode = () => (queue.checked ? api.q({ mode: 'queue' }) : '');
  async function run(out, method, path, body, apiName) {
    out.textContent = '…';
    delete out.dataset.status; // set again by the answer
    const r = await api.call(method, base + path + mode(), body);
    out.show(r);
    onAnswer(apiName, r);
    return r;
  }
  const rows = [];
  const row = (title, ...kids) => { const s = h('div', { class: 'ctl', role: 'group', 'aria-label': title }, h('h3', null, title), ...kids); rows.push(s); return s; };

  // GPIO
  const pin = field('Pin', { name: 'pin', type: 'number', min: 0, max: 31, value: 0, inputmode: 'numeric' });
  const sw = h('input', { type: 'checkbox', role: 'switch', id: 'gpio-switch', 'aria-label': 'Pin level high' });
  const gpioOut = result('gpio');
  const readGpio = async () => {
    const r = await run(gpioOut, 'GET', '/gpio/' + Number(pin.input.value), undefined, 'get_gpio');
    if (r.ok && r.status === 200) sw.checked = r.data.value === 1;
  };
  sw.addEventListener('change', () => run(gpioOut, 'PUT', '/gpio/' + Number(pin.input.value),
    { value: sw.checked ? 1 : 0 }, 'set_gpio'));
  row('GPIO', h('div', { class: 'inline' }, pin,
    h('button', { type: 'button', id: 'gpio-read', onclick: readGpio }, 'Read'),
    h('label', { class: 'switch', for: 'gpio-switch' }, sw, h('span', null, 'High'))), gpioOut);

  // RTC
  const rtcOut = result('rtc');
  row('Clock', h('div', { class: 'inline' },
    h('button', { type: 'button', id: 'rtc-read', onclick: async () => {
      const r = await run(rtcOut, 'GET', '/rtc', undefined, 'get_rtc');
      if (r.ok && r.status === 200) rtcOut.querySelector('.value').textContent =
        new Date(r.data.value * 1000).toISOString() + ` (${r.data.value})`;
    } }, 'Read'),
    h('button', { type: 'button', onclick: () => run(rtcOut, 'PUT', '/rtc',
      { value: Math.floor(Date.now() / 1000) }, 'set_rtc') }, 'Set to this browser\u2019s time')), rtcOut);

  // Network
  const netOut = result('network');
  row('Network', h('button', { type: 'button', id: 'net-read', onclick: async () => {
    const r = await run(netOut, 'GET', queue.checked ? '/ip' : '/network', undefined, 'network');
    if (r.ok && r.status === 200 && r.data.mac !== undefined) {
      const v = (k) => (typeof r.data[k] === 'object' && r.data[k] ? r.data[k].value : r.data[k]);
      netOut.querySelector('.value').textContent =
        `MAC ${v('mac')} · IP ${v('ip')} · subnet ${v('subnet')} · gateway ${v('gateway')}`;
    }
  } }, 'Read MAC / IP / subnet / gateway'), netOut);

  // Status and restart
  const stOut = result('status');
  row('Status', h('div', { class: 'inline' },
    h('button', { type: 'button', id: 'status-read', onclick: () => run(stOut, 'GET', '/status', undefined, 'get_status') }, 'Read'),
    h('button', { type: 'button', class: 'danger', onclick: () => {
      if (confirm('Restart ' + dev.name + '?')) run(stOut, 'PUT', '/status', { value: 'restart' }, 'set_status');
    } }, 'Restart')), stOut);

  // UART
  const line = field('Line to send', { name: 'uart', maxlength: 1024 });
  const uartOut = result('uart');
  row('UART', h('form', { class: 'inline', onsubmit: (e) => {
    e.preventDefault();
    run(uartOut, 'POST', '/uart', { value: line.input.value }, 'write_uart');
  } }, line, h('button', { type: 'submit', id: 'uart-send' }, 'Send')), uartOut);

  // Notification
  const to = field('Recipient', { name: 'recipient', type: 'email' });
  const text = field('Message', { name: 'message' });
  const ntfOut = result('notification');
  row('Notification', h('form', { class: 'inline', onsubmit: (e) => {
    e.preventDefault();
    run(ntfOut, 'POST', '/notifications', { recipient: to.input.value.trim(), message: text.input.value },
      'trigger_notification');
  } }, to, text, h('button', { type: 'submit' }, 'Send')), ntfOut);

  return h('section', { class: 'card', 'aria-labelledby': 'panel-h' },
    h('h2', { id: 'panel-h' }, 'Control panel'),
    h('label', { class: 'check', for: 'queue-mode' }, queue, ' Queue if offline (deliver when the device connects)'),
    h('div', { class: 'controls' }, rows));
}
