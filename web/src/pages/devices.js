// The device list: name search, type filter, an online filter on the page shown, cursor
// paging (the API's keyset "next", so page 500 of 10,000 devices costs what page 1 does)
// and online dots refreshed by polling every few seconds.
import * as api from '../api.js';
import { dot, field, h, notice, when } from '../dom.js';
import { link } from '../router.js';

const POLL_MS = 3000;
const PAGE = 25;

export function deviceTable(devices, showOwner) {
  const head = h('tr', null, h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Name'),
    h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Last seen'),
    showOwner ? h('th', { scope: 'col' }, 'Owner') : null);
  const rows = devices.map((d) => h('tr', { 'data-device': d.id },
    h('td', null, dot(d.online)),
    h('td', null, link('/devices/' + d.id, d.name)),
    h('td', null, d.type || '—'),
    h('td', null, d.online ? 'now' : when(d.last_seen)),
    showOwner ? h('td', null, d.owner_id) : null));
  return h('table', { class: 'devices' }, h('thead', null, head), h('tbody', null, rows));
}

export function list(ctx) {
  const name = field('Search by name', { name: 'name', type: 'search', placeholder: 'name starts with…' });
  const type = field('Type', { name: 'type', placeholder: 'any' });
  const online = h('select', { id: 'online-filter' },
    h('option', { value: '' }, 'all'), h('option', { value: 'on' }, 'online'),
    h('option', { value: 'off' }, 'offline'));
  const onlineField = h('div', { class: 'field' }, h('label', { for: 'online-filter' }, 'Show'), online);
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const msg = notice();
  const table = h('div', { class: 'scroll' });
  const prev = h('button', { type: 'button', disabled: true }, 'Previous');
  const next = h('button', { type: 'button', disabled: true }, 'Next');
  const cursors = ['']; // cursor of each page seen, for Previous
  let page = 0, nextCursor = null, timer = null, typing = null;

  async function load() {
    const filt = { name: name.input.value.trim(), type: type.input.value.trim() };
    const r = await api.call('GET', '/v1/devices' + api.q({ ...filt, limit: PAGE, after: cursors[page] }));
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.clear();
    nextCursor = r.data.next;
    let devs = r.data.devices;
    if (online.value) devs = devs.filter((d) => d.online === (online.value === 'on'));
    table.replaceChildren(devs.length ? deviceTable(devs, false)
      : h('p', null, 'No devices here yet. ', link('/devices/new', 'Register one')));
    prev.disabled = page === 0;
    next.disabled = !nextCursor;
    const c = await api.call('GET', '/v1/devices/count' + api.q(filt));
    if (c.ok) count.textContent = `${c.data.count} device${c.data.count === 1 ? '' : 's'} · page ${page + 1}`;
  }
  function restart() { cursors.length = 1; page = 0; load(); }
  for (const w of [name.input, type.input])
    w.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(restart, 250); });
  online.addEventListener('change', load);
  prev.addEventListener('click', () => { if (page > 0) { page--; load(); } });
  next.addEventListener('click', () => { if (nextCursor) { cursors[++page] = nextCursor; load(); } });
  timer = setInterval(load, POLL_MS);
  ctx.onLeave(() => { clearInterval(timer); clearTimeout(typing); });
  load();
  return h('section', null, h('h1', null, 'Devices'),
    h('div', { class: 'filters' }, name, type, onlineField), count, msg, table,
    h('div', { class: 'pager' }, prev, next));
}
