// The device's classic shadow (docs/shadows.md): desired, reported, delta and version, and
// an editor for desired. The save carries the version it was loaded at, so a change made
// elsewhere in between answers 409 instead of being overwritten; the view then reloads.
import * as api from '../api.js';
import { field, form, h } from '../dom.js';

const show = (v) => (v === undefined || v === null ? '—' : JSON.stringify(v, null, 2));

function facts(doc) {
  const st = (doc && doc.state) || {};
  const row = (id, label, v) => [h('dt', null, label), h('dd', null, h('pre', { id, class: 'json' }, show(v)))];
  return h('dl', { class: 'facts' },
    h('dt', null, 'Version'), h('dd', { id: 'shadow-version' }, doc ? String(doc.version) : 'none yet'),
    row('shadow-desired', 'Desired', st.desired), row('shadow-reported', 'Reported', st.reported),
    row('shadow-delta', 'Delta', st.delta));
}

export function shadowView(base) {
  const url = base + '/shadows';
  const view = h('div');
  let doc = null; // the document the editor was loaded from
  const desired = field('Desired state (JSON object)', { multiline: true, name: 'shadow-desired' });
  const f = form([desired], 'Update desired', async (msg) => {
    let v;
    try { v = JSON.parse(desired.input.value); } catch (e) {
      msg.show('Desired: not valid JSON (' + e.message + ')', 'error'); return;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      msg.show('Desired: must be a JSON object', 'error'); return;
    }
    const body = { state: { desired: v } };
    if (doc) body.version = doc.version;
    const r = await api.call('PATCH', url, body);
    if (r.status === 409) {
      await load();
      msg.show('Not saved: ' + api.errorText(r) + ' \u2014 the shadow changed since it was loaded. ' +
        'Reloaded at version ' + (doc ? doc.version : '?') + '; check desired and save again.', 'error');
      return;
    }
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    await load();
    msg.show('Saved: version ' + r.data.version + '.', 'ok');
  });
  const reload = h('button', { type: 'button', class: 'small', onclick: () => { f.msg.clear(); load(); } }, 'Reload');

  async function load() {
    const r = await api.call('GET', url);
    if (!r.ok) { f.msg.show(api.errorText(r), 'error'); return; }
    doc = r.data.classic;
    view.replaceChildren(facts(doc));
    const st = (doc && doc.state) || {};
    desired.input.value = JSON.stringify(st.desired || {}, null, 2);
  }
  const box = h('div', null, view, f, reload);
  box.load = load;
  return box;
}
