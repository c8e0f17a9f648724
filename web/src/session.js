// Who is signed in: the /v1/me document, or null.
import * as api from './api.js';

export const session = { me: null };

export async function loadMe() {
  const r = await api.call('GET', '/v1/me');
  session.me = r.ok ? r.data : null;
  return session.me;
}
