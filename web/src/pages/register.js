// Register a device: the server generates the key (shown and downloadable once, in a
// bundle with the certificate, the CA and ready configs), or the user pastes a CSR.
import * as api from '../api.js';
import { download, field, form, h } from '../dom.js';
import { link } from '../router.js';
import { tar } from '../tar.js';

export function bundleFiles(reg) {
  const id = reg.id, m = reg.mqtt || {};
  const files = [
    { name: `${id}/${id}.crt`, text: reg.certificate.pem },
    { name: `${id}/ca.crt`, text: reg.ca_certificate },
    { name: `${id}/device.sh`, mode: 0o755, text: '#!/bin/sh\n# examples/device.py with these credentials\n' +
      `exec /usr/bin/python3 examples/device.py --host ${m.host} --port ${m.port} --cafile "$(dirname "$0")/ca.crt" ` +
      `--id ${id} --cert "$(dirname "$0")/${id}.crt" --key "$(dirname "$0")/${id}.key" "$@"\n` },
    { name: `${id}/mosquitto.conf`, text: `# mosquitto_sub/pub: -h ${m.host} -p ${m.port} -i ${id} ` +
      `--cafile ca.crt --cert ${id}.crt --key ${id}.key -t '${id}/#'\n` +
      `# or as a bridge:\nconnection ${id}\naddress ${m.host}:${m.port}\nremote_clientid ${id}\n` +
      `bridge_cafile ca.crt\nbridge_certfile ${id}.crt\nbridge_keyfile ${id}.key\n` +
      `topic # in 1 ${id}/ ""\ntopic # out 1 server/${id}/ ""\n` },
    { name: `${id}/README.txt`, text: `Device ${reg.name} (${id}).\nMQTT: ${m.host}:${m.port} over TLS, ` +
      `client id ${id}.\nSubscribe ${(m.subscribe || []).join(' ')}; publish ${(m.publish || []).join(' ')}.\n` },
  ];
  if (reg.private_key) files.splice(1, 0, { name: `${id}/${id}.key`, text: reg.private_key, mode: 0o600 });
  return files;
}

// What a registration (or certificate rotation) answered: the once-only key and bundle.
export function credentials(reg) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'creds-h' },
    h('h2', { id: 'creds-h' }, 'Credentials for ' + reg.name),
    reg.private_key ? h('p', { class: 'notice warn', role: 'alert' },
      'The private key is shown only now and is not stored by the server. Download the bundle before leaving this page.') : null,
    h('button', { type: 'button', id: 'download-bundle', onclick: () =>
      download(`${reg.id}.tar`, tar(bundleFiles(reg)), 'application/x-tar') }, 'Download bundle (.tar)'),
    h('p', null, 'Device id: ', h('code', { id: 'device-id' }, reg.id)),
    reg.private_key ? h('details', null, h('summary', null, 'Show private key'),
      h('pre', { class: 'pem' }, reg.private_key)) : null,
    h('details', null, h('summary', null, 'Certificate'), h('pre', { class: 'pem' }, reg.certificate.pem)),
    h('p', null, link('/devices/' + reg.id, 'Open the device page')));
  return box;
}

export function page() {
  const name = field('Device name', { name: 'name', required: true, maxlength: 128 });
  const type = field('Device type (optional)', { name: 'type' });
  const attrs = field('Attributes as JSON (optional)', { name: 'attributes', placeholder: '{"room": "lab"}' });
  const gen = h('input', { type: 'radio', name: 'method', id: 'm-gen', value: 'gen', checked: true });
  const csrRadio = h('input', { type: 'radio', name: 'method', id: 'm-csr', value: 'csr' });
  const csr = field('Certificate signing request (PEM)', { name: 'csr', multiline: true });
  const csrFile = h('input', { type: 'file', id: 'csr-file', accept: '.csr,.pem,.req,text/plain' });
  csrFile.addEventListener('change', async () => {
    const f = csrFile.files[0];
    if (f) csr.input.value = f.size <= 8192 ? await f.text() : '';
  });
  csr.append(h('label', { for: 'csr-file' }, 'or upload a .csr / .pem file'), csrFile);
  csr.hidden = true;
  const toggle = () => { csr.hidden = !csrRadio.checked; };
  gen.addEventListener('change', toggle);
  csrRadio.addEventListener('change', toggle);
  const method = h('fieldset', null, h('legend', null, 'Key'),
    h('label', { for: 'm-gen' }, gen, ' Let the server generate the key (download once)'),
    h('label', { for: 'm-csr' }, csrRadio, ' Paste a CSR (the key stays on your device)'));
  const out = h('div');
  const f = form([name, type, attrs, method, csr], 'Register', async (msg) => {
    const body = { name: name.input.value.trim() };
    if (type.input.value.trim()) body.type = type.input.value.trim();
    if (attrs.input.value.trim()) {
      try { body.attributes = JSON.parse(attrs.input.value); } catch {
        msg.show('Attributes: not valid JSON', 'error'); return;
      }
    }
    if (csrRadio.checked) body.csr = csr.input.value.trim();
    else body.generate_key = true;
    const r = await api.call('POST', '/v1/devices', body);
    if (!r.ok) { msg.show(api.errorText(r), 'error'); return; }
    msg.show('Registered ' + r.data.name + '.', 'ok');
    out.replaceChildren(credentials(r.data));
  });
  return h('section', null, h('h1', null, 'Register a device'), h('div', { class: 'card' }, f), out);
}
