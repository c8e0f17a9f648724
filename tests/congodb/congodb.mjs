// iotcloud's CongoDB launcher for the MongoDB store tests (docs/store.md, "Testing").
// CongoDB is the MongoDB wire-protocol server bundled in @push.rocks/smartmongo@2.2.0
// (setup.sh installs it). It listens on 127.0.0.1 only and keeps everything in memory.
//   PORT=0 PORT_FILE=/tmp/x.port node congodb.mjs   (a free port, written to PORT_FILE)
// Stock 2.2.0 turns every _id into an ObjectId and ignores unique indexes; the store keys
// documents by strings and sub-documents and relies on duplicate-key errors, so this
// launcher replaces the document methods of the in-memory storage with ones that
//   - keep any _id as given (keyed by its canonical Extended JSON), and
//   - keep binary fields binary through an update (stock 2.2.0 clones the document on
//     update into plain objects, so a Binary comes back as {sub_type, buffer, position}),
//   - refuse (code 11000) a document whose unique-index key another document holds
//     (a scan of the collection: test data sets are small).
import { CongoServer } from '@push.rocks/smartmongo/dist_ts/congodb/index.js';
import { Binary, EJSON, ObjectId } from 'bson';
import { writeFileSync } from 'node:fs';

const server = new CongoServer({ port: Number(process.env.PORT || 0), host: '127.0.0.1',
                                 storage: 'memory' });
const mem = server.getStorage();

const keyOf = (id) => EJSON.stringify({ k: id ?? null }, { relaxed: false });
const field = (doc, path) => path.split('.').reduce(
  (cur, p) => (cur !== null && typeof cur === 'object' && p in cur ? cur[p] : undefined), doc);

function duplicate(db, coll, index, doc) {
  const e = new Error(`E11000 duplicate key error collection: ${db}.${coll} index: ${index}`);
  e.code = 11000;
  e.codeName = 'DuplicateKey';
  return e;
}

// Throws when @doc (stored under @key) takes a unique key held by another document.
async function checkUnique(db, coll, c, key, doc) {
  const specs = (await mem.getIndexes(db, coll)).filter((i) => i.unique && i.name !== '_id_');
  for (const spec of specs) {
    const fields = Object.keys(spec.key);
    const mine = keyOf(fields.map((f) => field(doc, f) ?? null));
    if (spec.sparse && fields.every((f) => field(doc, f) === undefined)) continue;
    for (const [k, other] of c)
      if (k !== key && keyOf(fields.map((f) => field(other, f) ?? null)) === mine)
        throw duplicate(db, coll, spec.name, doc);
  }
}

// Turns the plain-object remains of a cloned Binary back into a Binary, in place.
function reviveBinary(v) {
  if (v === null || typeof v !== 'object' || v instanceof Binary || v instanceof ObjectId) return v;
  if ('sub_type' in v && 'buffer' in v && 'position' in v && Object.keys(v).length === 3) {
    const bytes = Uint8Array.from({ length: v.position }, (_, i) => v.buffer[i]);
    return new Binary(bytes, v.sub_type);
  }
  for (const k of Object.keys(v)) v[k] = reviveBinary(v[k]);
  return v;
}

mem.insertOne = async (db, coll, doc) => {
  const c = mem.ensureCollection(db, coll);
  const stored = { ...doc, _id: doc._id === undefined ? new ObjectId() : doc._id };
  const key = keyOf(stored._id);
  if (c.has(key)) throw duplicate(db, coll, '_id_', stored);
  await checkUnique(db, coll, c, key, stored);
  c.set(key, stored);
  return stored;
};
mem.findById = async (db, coll, id) => mem.ensureCollection(db, coll).get(keyOf(id)) || null;
mem.updateById = async (db, coll, id, doc) => {
  const c = mem.ensureCollection(db, coll);
  const key = keyOf(id);
  if (!c.has(key)) return false;
  reviveBinary(doc);
  await checkUnique(db, coll, c, key, doc);
  c.set(key, doc);
  return true;
};
mem.deleteById = async (db, coll, id) => mem.ensureCollection(db, coll).delete(keyOf(id));

await server.start();
const port = server.server.address().port;
if (process.env.PORT_FILE) writeFileSync(process.env.PORT_FILE, `${port}\n`);
console.log(`congodb listening on mongodb://127.0.0.1:${port}`);
const stop = async () => { await server.stop(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
