// Small DOM helpers: elements are built with h() (no innerHTML, so nothing the API
// returns is ever parsed as markup), and every page renders into one <main>.

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

let uid = 0;

// A labelled input: returns the wrapper; the <input> is wrapper.input.
export function field(label, attrs = {}) {
  const id = 'f' + ++uid;
  const input = attrs.multiline
    ? h('textarea', { id, name: attrs.name, rows: 6, required: attrs.required, spellcheck: 'false' })
    : h('input', { id, type: 'text', ...attrs });
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input);
  wrap.input = input;
  return wrap;
}

// A status line for answers and errors (role=status / alert for screen readers).
export function notice() {
  const el = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  el.show = (text, kind = 'info') => {
    el.textContent = text;
    el.className = 'notice ' + kind;
    el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  };
  el.clear = () => { el.textContent = ''; el.className = 'notice'; };
  return el;
}

export function form(fields, submitLabel, onSubmit) {
  const msg = notice();
  const button = h('button', { type: 'submit' }, submitLabel);
  const f = h('form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      try { await onSubmit(msg); } finally { button.disabled = false; }
    },
  }, fields, button, msg);
  f.msg = msg;
  return f;
}

export function when(ms) {
  if (ms === null || ms === undefined) return 'never';
  return new Date(ms).toLocaleString();
}

export function dot(online) {
  return h('span', { class: 'dot ' + (online ? 'on' : 'off'), role: 'img',
    'aria-label': online ? 'online' : 'offline', title: online ? 'online' : 'offline' });
}

// Saves @data as a file the browser downloads (a blob: URL, never a server round-trip).
export function download(name, data, type = 'application/octet-stream') {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
