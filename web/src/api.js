// The REST client. The access token lives in this module's memory only; the refresh
// token is an HttpOnly cookie the browser sends to /v1/auth/refresh and script never
// sees (api/accounts/auth_cookie.c). A 401 triggers one refresh, then the call again.

let access = null;
let refreshing = null;
let onSignedOut = () => {};

export function setSignedOutHandler(fn) { onSignedOut = fn; }
export function signedIn() { return access !== null; }

async function send(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (access) headers.Authorization = 'Bearer ' + access;
  const t0 = performance.now();
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const ms = performance.now() - t0;
  let data = null;
  const text = await res.text();
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  return { status: res.status, ok: res.ok, data, ms, headers: res.headers };
}

// Exchanges the refresh cookie for a new access token; false when there is no session.
export function refresh() {
  if (!refreshing) {
    refreshing = send('POST', '/v1/auth/refresh', { cookie: true }).then((r) => {
      access = r.ok && r.data ? r.data.access_token : null;
      return access !== null;
    }).catch(() => false).finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function call(method, path, body) {
  let r = await send(method, path, body);
  if (r.status === 401 && access && !path.startsWith('/v1/auth/')) {
    if (await refresh()) r = await send(method, path, body);
    else { access = null; onSignedOut(); }
  }
  return r;
}

export async function login(username, password) {
  const r = await send('POST', '/v1/auth/login', { username, password, cookie: true });
  if (r.ok) access = r.data.access_token;
  return r;
}

export async function logout() {
  if (access) await send('POST', '/v1/auth/logout');
  access = null;
}

// The API's error text, or a plain one for an answer without it.
export function errorText(r) {
  const e = r.data && r.data.error;
  const msg = e && e.message ? e.message : 'HTTP ' + r.status;
  const retry = r.headers && r.headers.get('Retry-After');
  switch (r.status) {
    case 503:
      if (e && e.code === 'device_offline') return 'Device offline: ' + msg + '.';
      return 'Service unavailable: ' + msg + (retry ? ` (retry in ${retry} s)` : '');
    case 504: return 'No answer in time (timeout): ' + msg + '.';
    case 429: return 'Busy: ' + msg + (retry ? ` — retry in ${retry} s.` : '.');
    case 422: return 'The device reported an error: ' + msg + (e && e.code ? ` (${e.code})` : '');
    default: return msg;
  }
}

export const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const t = s.toString();
  return t ? '?' + t : '';
};
export const enc = encodeURIComponent;
