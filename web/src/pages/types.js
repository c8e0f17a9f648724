// Device types: the caller's own and the global ones, with the attributes every device of
// a type must have (checked by the server at registration and on rename/attribute edits).
import * as api from '../api.js';
import { field, form, h, notice } from '../dom.js';
import { session } from '../session.js';

export function page() {
  const list = h('div', { class: 'scroll' });
  const msg = notice();
  async function load() {
    const r = await api.call('GET', '/v1/device-types');
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    const types = r.data.device_types;
    list.replaceChildren(types.length ? h('table', null,
      h('thead', null, h('tr', null, ['Name', 'Required attributes', 'Description', 'Scope', '']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, types.map((t) => h('tr', { 'data-type': t.name }, h('td', null, t.name),
        h('td', null, t.required.join(', ') || '—'), h('td', null, t.description || ''),
        h('td', null, t.global ? 'global' : 'own'),
        h('td', null, !t.global || session.me.admin ? h('button', { type: 'button', class: 'small danger',
          onclick: async () => {
            if (!confirm('Delete type ' + t.name + '?')) return;
            const d = await api.call('DELETE', '/v1/device-types/' + encodeURIComponent(t.name));
            if (!d.ok) msg.show(api.errorText(d), 'error'); else { msg.clear(); load(); }
          } }, 'Delete') : '')))))
      : h('p', { class: 'muted' }, 'No device types yet.'));
  }
  const name = field('Name', { name: 'type_name', required: true, maxlength: 64 });
  const req = field('Required attributes (comma-separated)', { name: 'required' });
  const desc = field('Description', { name: 'description', maxlength: 1024 });
  const glob = h('input', { type: 'checkbox', id: 'type-global' });
  const fields = [name, req, desc];
  if (session.me.admin) fields.push(h('label', { class: 'check', for: 'type-global' }, glob, ' Global (every user sees it)'));
  const f = form(fields, 'Create type', async (m) => {
    const body = { name: name.input.value.trim(),
      required: req.input.value.split(',').map((x) => x.trim()).filter(Boolean) };
    if (desc.input.value.trim()) body.description = desc.input.value.trim();
    if (glob.checked) body.global = true;
    const r = await api.call('POST', '/v1/device-types', body);
    if (!r.ok) { m.show(api.errorText(r), 'error'); return; }
    m.show('Created ' + r.data.name + '.', 'ok');
    load();
  });
  load();
  return h('section', null, h('h1', null, 'Device types'), msg, list,
    h('section', { class: 'card' }, h('h2', null, 'New type'), f));
}
