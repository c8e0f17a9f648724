// Client-side routes (history API). The server answers index.html for any path outside
// /v1/ and /assets/ (api/web/), so every route here is also a shareable URL.
// A route: { path: '/devices/:id', page: (ctx) => Node, auth: 'user' | 'admin' | 'public' }

let routes = [];
let render = () => {};

export function setRoutes(table, renderFn) { routes = table; render = renderFn; }

function match(pattern, path) {
  const ps = pattern.split('/').filter(Boolean), xs = path.split('/').filter(Boolean);
  if (ps.length !== xs.length) return null;
  const params = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(':')) params[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return null;
  }
  return params;
}

export function resolve(path) {
  for (const r of routes) {
    const params = match(r.path, path);
    if (params) return { route: r, params };
  }
  return null;
}

export function go(path, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

// Same-origin <a href> clicks navigate without a reload.
export function link(href, text, attrs = {}) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  for (const [k, v] of Object.entries(attrs)) a.setAttribute(k, v);
  a.addEventListener('click', (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    go(href);
  });
  return a;
}

window.addEventListener('popstate', () => render());
