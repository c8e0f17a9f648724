// Administrator pages: every user, every device (the API answers 403 to anyone else, and
// the router does not show them to non-administrators).
import * as api from '../api.js';
import { h, notice } from '../dom.js';
import { deviceTable } from './devices.js';

function pager(load) {
  const cursors = [''];
  let page = 0, next = null;
  const prev = h('button', { type: 'button', disabled: true }, 'Previous');
  const nxt = h('button', { type: 'button', disabled: true }, 'Next');
  const run = async () => {
    next = await load(cursors[page]);
    prev.disabled = page === 0;
    nxt.disabled = !next;
  };
  prev.addEventListener('click', () => { if (page) { page--; run(); } });
  nxt.addEventListener('click', () => { if (next) { cursors[++page] = next; run(); } });
  run();
  return h('div', { class: 'pager' }, prev, nxt);
}

export function users() {
  const box = h('div', { class: 'scroll' });
  const msg = notice();
  const p = pager(async (after) => {
    const r = await api.call('GET', '/v1/admin/users' + api.q({ limit: 50, after }));
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return null; }
    box.replaceChildren(h('table', null, h('thead', null, h('tr', null,
      ['Username', 'E-mail', 'Name', 'Confirmed', 'Admin'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, r.data.users.map((u) => h('tr', null, h('td', null, u.username), h('td', null, u.email),
      h('td', null, `${u.given_name || ''} ${u.family_name || ''}`), h('td', null, u.confirmed ? 'yes' : 'no'),
      h('td', null, u.admin ? 'yes' : 'no'))))));
    return r.data.next;
  });
  return h('section', null, h('h1', null, 'All users'), msg, box, p);
}

export function devices() {
  const box = h('div', { class: 'scroll' });
  const msg = notice();
  const p = pager(async (after) => {
    const r = await api.call('GET', '/v1/admin/devices' + api.q({ limit: 50, after }));
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return null; }
    box.replaceChildren(deviceTable(r.data.devices, true));
    return r.data.next;
  });
  return h('section', null, h('h1', null, 'All devices'), msg, box, p);
}
