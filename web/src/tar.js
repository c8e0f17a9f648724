// A minimal ustar writer for the credential bundle (regular files only, names < 100
// bytes): 512-byte header, the data padded to 512, two zero blocks at the end.
const te = new TextEncoder();

function octal(buf, off, len, n) {
  const s = n.toString(8).padStart(len - 1, '0');
  buf.set(te.encode(s), off);
}

function header(name, size, mode, mtime) {
  const b = new Uint8Array(512);
  b.set(te.encode(name).slice(0, 99), 0);
  octal(b, 100, 8, mode);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, mtime);
  b.set(te.encode('        '), 148); // the checksum counts its own field as spaces
  b[156] = 0x30; // '0': a regular file
  b.set(te.encode('ustar\u000000'), 257);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(te.encode(sum.toString(8).padStart(6, '0') + '\u0000 '), 148);
  return b;
}

// @files: [{ name, text, mode }] → Uint8Array of the archive.
export function tar(files) {
  const mtime = Math.floor(Date.now() / 1000);
  const parts = [];
  for (const f of files) {
    const data = te.encode(f.text);
    parts.push(header(f.name, data.length, f.mode || 0o644, mtime), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
