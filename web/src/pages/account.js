// Account settings: name, password, notification recipients, delete the account.
import * as api from '../api.js';
import { field, form, h } from '../dom.js';
import { go } from '../router.js';
import { loadMe, session } from '../session.js';

export function page() {
  const me = session.me;
  const given = field('Given name', { name: 'given_name', value: me.given_name || '', autocomplete: 'given-name' });
  const family = field('Family name', { name: 'family_name', value: me.family_name || '', autocomplete: 'family-name' });
  const names = form([given, family], 'Save', async (msg) => {
    const body = {}; // only what is filled in: an account made by the CLI may have no names
    if (given.input.value.trim()) body.given_name = given.input.value.trim();
    if (family.input.value.trim()) body.family_name = family.input.value.trim();
    if (!Object.keys(body).length) { msg.show('Nothing to save.', 'error'); return; }
    const r = await api.call('PATCH', '/v1/me', body);
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    await loadMe();
    msg.show('Saved.', 'ok');
  });
  const cur = field('Current password', { name: 'password', type: 'password', autocomplete: 'current-password' });
  const nw = field('New password', { name: 'new_password', type: 'password', autocomplete: 'new-password' });
  const pw = form([cur, nw], 'Change password', async (msg) => {
    const r = await api.call('POST', '/v1/me/password', { password: cur.input.value, new_password: nw.input.value });
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('Password changed.', 'ok');
  });
  const rec = field('Notification recipients (one per line: e-mail or +E.164)', { name: 'recipients', multiline: true });
  const recForm = form([rec], 'Save recipients', async (msg) => {
    const list = rec.input.value.split('\n').map((x) => x.trim()).filter(Boolean);
    const r = await api.call('PUT', '/v1/me/notification-recipients', { recipients: list });
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('Saved.', 'ok');
  });
  api.call('GET', '/v1/me/notification-recipients').then((r) => {
    if (r.ok) rec.input.value = r.data.recipients.join('\n');
  });
  const delPw = field('Password', { name: 'delete_password', type: 'password', autocomplete: 'current-password' });
  const del = form([delPw], 'Delete my account', async (msg) => {
    if (!confirm('Delete the account and all its devices? This cannot be undone.')) return;
    const r = await api.call('DELETE', '/v1/me', { password: delPw.input.value });
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    await api.logout();
    session.me = null;
    go('/signin');
  });
  const card = (t, ...k) => h('section', { class: 'card' }, h('h2', null, t), ...k);
  return h('div', null, h('h1', null, 'Account'),
    h('p', null, `${me.username} · ${me.email}${me.admin ? ' · administrator' : ''}`),
    card('Name', names), card('Password', pw), card('Notification recipients', recForm),
    card('Delete account', del));
}
