// The dashboard's entry point: the route table, the frame (header, navigation, <main>)
// and the session (restored from the refresh cookie on load).
import * as api from './api.js';
import { h } from './dom.js';
import { sections } from './nav.js';
import { go, link, resolve, setRoutes } from './router.js';
import * as auth from './pages/auth.js';
import * as devices from './pages/devices.js';
import * as register from './pages/register.js';
import * as device from './pages/device.js';
import * as account from './pages/account.js';
import * as admin from './pages/admin.js';
import * as types from './pages/types.js';
import { loadMe, session } from './session.js';

const routes = [
  { path: '/', page: () => { go(api.signedIn() ? '/devices' : '/signin', true); return null; }, auth: 'public' },
  { path: '/signin', page: auth.signin, auth: 'public' },
  { path: '/signup', page: auth.signup, auth: 'public' },
  { path: '/confirm', page: auth.confirm, auth: 'public' },
  { path: '/forgot', page: auth.forgot, auth: 'public' },
  { path: '/reset', page: auth.reset, auth: 'public' },
  { path: '/devices', page: devices.list, auth: 'user' },
  { path: '/devices/new', page: register.page, auth: 'user' },
  { path: '/devices/:id', page: device.page, auth: 'user' },
  { path: '/device-types', page: types.page, auth: 'user' },
  { path: '/account', page: account.page, auth: 'user' },
  { path: '/admin/users', page: admin.users, auth: 'admin' },
  { path: '/admin/devices', page: admin.devices, auth: 'admin' },
];

let cleanup = null; // the current page's timers

function header() {
  const nav = h('nav', { 'aria-label': 'Main' });
  const ul = h('ul');
  for (const s of sections) {
    if (!session.me || (s.auth === 'admin' && !session.me.admin)) continue;
    const cur = location.pathname === s.href ? { 'aria-current': 'page' } : {};
    ul.append(h('li', null, link(s.href, s.label, cur)));
  }
  if (session.me) {
    ul.append(h('li', null, h('button', { type: 'button', class: 'link', onclick: async () => {
      await api.logout(); session.me = null; go('/signin');
    } }, 'Sign out')));
  }
  nav.append(ul);
  return h('header', null, h('a', { href: '/', class: 'brand' }, 'iotcloud'), nav);
}

async function render() {
  if (cleanup) { cleanup(); cleanup = null; }
  const m = resolve(location.pathname);
  const app = document.getElementById('app');
  if (m && m.route.auth !== 'public' && !session.me) {
    go('/signin?next=' + encodeURIComponent(location.pathname), true);
    return;
  }
  if (m && m.route.auth === 'admin' && !session.me.admin) {
    app.replaceChildren(header(), h('main', null, h('h1', null, 'Administrators only')));
    return;
  }
  const main = h('main', { id: 'main' });
  app.replaceChildren(header(), main);
  if (!m) { main.append(h('h1', null, 'Not found'), h('p', null, link('/', 'Home'))); return; }
  const ctx = { params: m.params, query: new URLSearchParams(location.search), session,
    onLeave: (fn) => { const prev = cleanup; cleanup = () => { if (prev) prev(); fn(); }; } };
  const node = await m.route.page(ctx);
  if (node) main.append(node);
  const h1 = main.querySelector('h1');
  if (h1) document.title = h1.textContent + ' · iotcloud';
}

api.setSignedOutHandler(() => { session.me = null; go('/signin'); });
setRoutes(routes, render);

(async () => {
  if (await api.refresh()) await loadMe();
  await render();
  document.body.dataset.ready = '1';
  performance.mark('iot-interactive'); // the first page is up and its handlers attached
})();
