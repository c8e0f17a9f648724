// Sign-in, sign-up, e-mail confirmation, forgot and reset password.
import * as api from '../api.js';
import { field, form, h } from '../dom.js';
import { go, link } from '../router.js';
import { loadMe } from '../session.js';

function card(title, ...kids) {
  return h('section', { class: 'card narrow' }, h('h1', null, title), ...kids);
}

export function signin(ctx) {
  const user = field('Username or e-mail', { name: 'username', autocomplete: 'username', required: true });
  const pw = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const f = form([user, pw], 'Sign in', async (msg) => {
    const r = await api.login(user.input.value.trim(), pw.input.value);
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    await loadMe();
    const next = ctx.query.get('next');
    go(next && next.startsWith('/') && !next.startsWith('//') ? next : '/devices');
  });
  return card('Sign in', f, h('p', null, link('/signup', 'Create an account'), ' · ',
    link('/forgot', 'Forgot password?'), ' · ', link('/confirm', 'Confirm e-mail')));
}

export function signup() {
  const fs = {
    username: field('Username', { name: 'username', autocomplete: 'username', required: true }),
    email: field('E-mail', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    given_name: field('Given name', { name: 'given_name', autocomplete: 'given-name', required: true }),
    family_name: field('Family name', { name: 'family_name', autocomplete: 'family-name', required: true }),
    password: field('Password (at least 10 characters)', { name: 'password', type: 'password', autocomplete: 'new-password', required: true }),
  };
  const f = form(Object.values(fs), 'Create account', async (msg) => {
    const body = {};
    for (const [k, w] of Object.entries(fs)) body[k] = k === 'password' ? w.input.value : w.input.value.trim();
    const r = await api.call('POST', '/v1/auth/signup', body);
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    go('/confirm?username=' + encodeURIComponent(body.username));
  });
  return card('Create an account', f, h('p', null, 'Already registered? ', link('/signin', 'Sign in')));
}

export function confirm(ctx) {
  const user = field('Username', { name: 'username', value: ctx.query.get('username') || '', required: true });
  const code = field('Code from the e-mail', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true });
  const f = form([user, code], 'Confirm', async (msg) => {
    const r = await api.call('POST', '/v1/auth/confirm', { username: user.input.value.trim(), code: code.input.value.trim() });
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('Confirmed. You can sign in now.', 'ok');
    go('/signin');
  });
  return card('Confirm your e-mail', h('p', null, 'We sent a six-digit code to your address.'), f);
}

export function forgot() {
  const email = field('E-mail', { name: 'email', type: 'email', autocomplete: 'email', required: true });
  const f = form([email], 'Send reset code', async (msg) => {
    const r = await api.call('POST', '/v1/auth/forgot', { email: email.input.value.trim() });
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('If an account has this address, a code is on its way.', 'ok');
  });
  return card('Forgot password', f, h('p', null, link('/reset', 'I have a code')));
}

export function reset() {
  const user = field('Username', { name: 'username', autocomplete: 'username', required: true });
  const code = field('Code from the e-mail', { name: 'code', inputmode: 'numeric', required: true });
  const pw = field('New password', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true });
  const f = form([user, code, pw], 'Set password', async (msg) => {
    const r = await api.call('POST', '/v1/auth/reset', { username: user.input.value.trim(),
      code: code.input.value.trim(), new_password: pw.input.value });
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('Password changed. Sign in with the new one.', 'ok');
  });
  return card('Reset password', f);
}
