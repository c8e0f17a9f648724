// Bundles the dashboard: web/src → OUT/ with content-hashed, minified JS and CSS, an
// index.html naming them, a .gz and a .br beside every file, and manifest.json (what
// scripts/embed_web.py compiles into the server).
//
// Usage: node web/build.mjs OUT [NODE_MODULES_DIR]
// NODE_MODULES_DIR: where `npm ci` put the packages (the CMake build runs it in the build
// tree so the source tree stays clean); default web/node_modules.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
const modules = resolve(process.argv[3] || join(here, 'node_modules'));
const esbuild = createRequire(join(modules, 'noop.js'))('esbuild');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const res = await esbuild.build({
  entryPoints: [join(here, 'src/main.js'), join(here, 'src/style.css')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  nodePaths: [modules],
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const files = Object.keys(res.metafile.outputs).map((p) => resolve(p));
const js = files.find((f) => f.endsWith('.js'));
const css = files.find((f) => f.endsWith('.css'));
const html = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('%CSS%', '/assets/' + basename(css))
  .replace('%JS%', '/assets/' + basename(js));
writeFileSync(join(out, 'index.html'), html);

const types = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8' };
const manifest = [];
for (const f of [join(out, 'index.html'), js, css]) {
  const data = readFileSync(f);
  const gz = gzipSync(data, { level: 9 });
  const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(f + '.gz', gz);
  writeFileSync(f + '.br', br);
  const rel = '/' + f.slice(out.length + 1);
  const ext = rel.slice(rel.lastIndexOf('.'));
  manifest.push({
    path: rel,
    file: f.slice(out.length + 1),
    type: types[ext],
    etag: '"' + createHash('sha256').update(data).digest('hex').slice(0, 20) + '"',
    immutable: rel.startsWith('/assets/'),
    size: data.length, gz: gz.length, br: br.length,
  });
}
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
for (const m of manifest)
  console.log(`web: ${m.path} ${m.size} B (gzip ${m.gz} B, brotli ${m.br} B)`);
