/*
 * mongo_int — private to store/: the MongoDB backend's shared pieces (docs/store.md,
 * "MongoDB backend").
 *
 * Split (each file one concern, prefix store__mg_):
 *   mongo_open.c     URI + credentials, client pool, collections/indexes/schema document
 *   mongo_queue.c    a batch of jobs and store_sync on a pooled client
 *   mongo_util.c     collection handles, write options, error mapping, ping
 *   mongo_docs.c     pure decoders document -> store struct (fuzzed: fuzz_mongo_docs)
 *   mongo_sessions.c mongo_msgs.c mongo_retained.c   the broker entities
 *
 * An entity file of the SQLite backend dispatches to its store__mg_ twin at the top of
 * each public function (`if (tx->st->mpool) return store__mg_x(...)`), after the argument checks
 * both backends share. Entities without a twin are listed in store__mg_missing: the server
 * refuses to start on MongoDB while that list is not empty (store_backend_missing).
 */
#ifndef IOT_STORE_MONGO_INT_H
#define IOT_STORE_MONGO_INT_H

#include "store/store_app.h"
#include "store/store_db.h"

#define STORE_MG_SCHEMA 1 /* version of the MongoDB data model this build writes */

/* Collection names. */
#define STORE_MG_META     "meta"
#define STORE_MG_SESSIONS "sessions"
#define STORE_MG_MSGS     "session_msgs"
#define STORE_MG_RETAINED "retained"
#define STORE_MG_CODES    "codes"
#define STORE_MG_TOKENS   "tokens"

/* Opens the MongoDB backend for @uri into @st (pool, schema). 0 or <0 with @err. */
int store__mg_open(store *st, const store_opts *o, char *err, size_t errlen);
void store__mg_close(store *st);
/* One batch of jobs on one pooled client; same contract as the SQLite run_batch. */
int store__mg_run_batch(store *st, store_job *first, size_t n, uint64_t *commit_us);
int store__mg_sync(store *st, int (*fn)(store_tx *tx, void *arg), void *arg);
/* ping: 0 when the deployment answers, else STORE_EIO with the reason in @msg. */
int store__mg_check(store *st, char *msg, size_t len);

/* A handle on @name of the store's database (caller destroys it). */
mongoc_collection_t *store__mg_coll(store_tx *tx, const char *name);
/* Options of every write: the store's write concern, plus upsert when asked. */
void store__mg_wopts(store_tx *tx, bson_t *opts, bool upsert);
/* Maps a driver error to STORE_E* (11000 duplicate key -> EEXISTS, anything else -> EIO)
 * and logs it with @what (never the URI: no credentials in the log). */
int store__mg_err(const bson_error_t *e, const char *what);
/* Deletes one / every document matching @q; how many in *@n (may be NULL). */
int store__mg_delete(store_tx *tx, const char *coll, const bson_t *q, bool many, int64_t *n);
/* Applies update @u to one / every document matching @q (no upsert); counts may be NULL. */
int store__mg_update(store_tx *tx, const char *coll, const bson_t *q, const bson_t *u, bool many,
                     int64_t *matched, int64_t *modified);
/* A copy of the first document matching @q into @out (caller destroys it on 0), or
 * STORE_ENOTFOUND / STORE_EIO (then @out is untouched). */
int store__mg_find_one(store_tx *tx, const char *coll, const bson_t *q, bson_t *out);
/* An application document as handed out (store_app.h): @strip (a field only the MongoDB
 * backend keeps; NULL = none) removed, then checked like a SQLite row (valid, `v` known); a damaged one
 * is reported as @what and is STORE_ECORRUPT. */
int store__mg_doc_out(store_tx *tx, const bson_t *found, const char *what, const char *strip,
                      bson_t **out);
/* The int64 count @key of a write reply (matchedCount, deletedCount...), 0 if absent. */
int64_t store__mg_count(const bson_t *reply, const char *key);

/* Decoders: false when the document lacks a field or holds one of the wrong type or out
 * of range; pointers in the out structs point into @doc. Numbers are read with
 * bson_iter_as_int64 (a server may hand back another numeric type than was written). */
bool store__mg_session_decode(const bson_t *doc, const char **client_id, bson_t *sess);
bool store__mg_msg_decode(const bson_t *doc, store_msg *m);
bool store__mg_retained_decode(const bson_t *doc, store_retained *r);
bool store__mg_code_decode(const bson_t *doc, store_code *out);
bool store__mg_token_decode(const bson_t *doc, store_token *out);

int store__mg_session_put(store_tx *tx, const char *client_id, const bson_t *doc);
int store__mg_session_update(store_tx *tx, const char *client_id, const bson_t *doc);
int store__mg_session_delete(store_tx *tx, const char *client_id);
int store__mg_session_each(store_tx *tx,
                           int (*cb)(void *arg, const char *client_id, const bson_t *doc),
                           void *arg);
int store__mg_msg_add(store_tx *tx, const char *client_id, const store_msg *m);
int store__mg_msg_update(store_tx *tx, const char *client_id, uint64_t mid, uint8_t state,
                         uint16_t pid);
int store__mg_msg_delete(store_tx *tx, const char *client_id, uint64_t mid);
int store__mg_msg_each(store_tx *tx, const char *client_id,
                       int (*cb)(void *arg, const store_msg *m), void *arg);
int store__mg_msg_max_id(store_tx *tx, uint64_t *out);
int store__mg_retained_put(store_tx *tx, const store_retained *r);
int store__mg_retained_delete(store_tx *tx, const uint8_t *topic, uint16_t topic_len);
int store__mg_retained_each(store_tx *tx, int (*cb)(void *arg, const store_retained *r), void *arg);

/* users (store_app.h); @field of get_by is "_id", "username" or "email" */
int store__mg_user_create(store_tx *tx, const char *id, const char *username, const char *email,
                          const bson_t *doc);
int store__mg_user_get_by(store_tx *tx, const char *field, const char *key, bson_t **out);
int store__mg_user_list(store_tx *tx, const char *after, unsigned limit,
                        int (*cb)(void *arg, const bson_t *doc), void *arg, store_page *pg);
int store__mg_user_update(store_tx *tx, const char *id, const char *username, const char *email,
                          const bson_t *doc);
int store__mg_user_delete(store_tx *tx, const char *id);
/* idempotency keys (store_idem.h) */
typedef struct store_idem store_idem;
int store__mg_idem_claim(store_tx *tx, const char *owner, const char *key, const char *hash,
                         int64_t now, int64_t ttl_ms, int64_t stale_ms, store_idem *out);
int store__mg_idem_finish(store_tx *tx, const char *owner, const char *key, int status,
                          const uint8_t *blob, size_t len);
int store__mg_idem_release(store_tx *tx, const char *owner, const char *key);
/* device types (store_app.h); @owner_id "" = global */
int store__mg_devtype_create(store_tx *tx, const bson_t *full, const char *owner_id);
int store__mg_devtype_get(store_tx *tx, const char *owner_id, const char *name, bson_t **out);
int store__mg_devtype_each(store_tx *tx, const char *owner_id,
                           int (*cb)(void *arg, const bson_t *doc), void *arg);
int store__mg_devtype_delete(store_tx *tx, const char *owner_id, const char *name);
int store__mg_devtype_count_owned(store_tx *tx, const char *owner_id, uint64_t *out);
/* outbox (store_app.h) */
int store__mg_outbox_add(store_tx *tx, const char *kind, const bson_t *full, int64_t due_at,
                         int64_t *id);
int store__mg_outbox_claim(store_tx *tx, int64_t now, int64_t lease_ms, unsigned max,
                           int (*cb)(void *arg, int64_t id, const char *kind, int32_t attempts,
                                     const bson_t *doc),
                           void *arg);
int store__mg_outbox_retry(store_tx *tx, int64_t id, int64_t due_at, int32_t *attempts);
int store__mg_outbox_delete(store_tx *tx, int64_t id);
/* notification recipients (store_app.h) */
int store__mg_recipients_set(store_tx *tx, const char *user_id, const char *const *list, size_t n);
int store__mg_recipients_each(store_tx *tx, const char *user_id,
                              int (*cb)(void *arg, const char *recipient), void *arg);
int store__mg_recipient_allowed(store_tx *tx, const char *user_id, const char *recipient);
/* shadows (store_app.h) */
int store__mg_shadow_get(store_tx *tx, const char *dev, const char *name, bson_t **out);
int store__mg_shadow_put(store_tx *tx, const char *dev, const char *name, int64_t version,
                         int64_t updated_at, const bson_t *doc);
int store__mg_shadow_delete(store_tx *tx, const char *dev, const char *name);
int store__mg_shadow_delete_device(store_tx *tx, const char *dev);
int store__mg_shadow_list(store_tx *tx, const char *dev,
                          int (*cb)(void *arg, const char *name, int64_t version,
                                    int64_t updated_at),
                          void *arg);
int store__mg_shadow_count(store_tx *tx, const char *dev, uint64_t *out);
/* certificates (store_app.h); @sn normalised, @full built by certs.c */
int store__mg_cert_put(store_tx *tx, const bson_t *full);
int store__mg_cert_get(store_tx *tx, const char *sn, bson_t **out);
int store__mg_cert_each(store_tx *tx, const char *device_id, bool live_only,
                        int (*cb)(void *arg, const bson_t *doc), void *arg);
int store__mg_cert_prune_expired(store_tx *tx, int64_t now, unsigned *n);
int store__mg_cert_revoke(store_tx *tx, const char *sn, int reason, int64_t when);
int store__mg_cert_each_revoked(store_tx *tx, int64_t now,
                                int (*cb)(void *arg, const store_cert_revoked *r), void *arg);
/* codes (store_app.h) */
int store__mg_code_put(store_tx *tx, const char *user_id, int kind, const uint8_t *hash,
                       size_t hash_len, int64_t expires_at);
int store__mg_code_get(store_tx *tx, const char *user_id, int kind, int64_t now, store_code *out);
int store__mg_code_fail(store_tx *tx, const char *user_id, int kind, int32_t *attempts);
int store__mg_code_delete(store_tx *tx, const char *user_id, int kind);
int store__mg_code_purge(store_tx *tx, int64_t now, unsigned *n);
/* tokens (store_app.h) */
int store__mg_token_put(store_tx *tx, const uint8_t *hash, const char *user_id, const char *family,
                        int kind, int64_t expires_at);
int store__mg_token_get(store_tx *tx, const uint8_t *hash, store_token *out);
int store__mg_token_revoke(store_tx *tx, const uint8_t *hash);
int store__mg_token_revoke_by(store_tx *tx, const char *field, const char *key, unsigned *n);
int store__mg_token_purge(store_tx *tx, int64_t now, unsigned *n);
/* devices (store_app.h); @full built by devices.c */
int store__mg_device_insert(store_tx *tx, const bson_t *full);
/* the device whose @k1 is @v1 (and @k2 is @v2 unless @k2 is NULL) */
int store__mg_device_get_by(store_tx *tx, const char *k1, const char *v1, const char *k2,
                            const char *v2, bson_t **out);
int store__mg_device_list(store_tx *tx, const char *owner_id, const store_device_filter *f,
                          unsigned limit, int (*cb)(void *arg, const bson_t *doc), void *arg,
                          store_page *pg);
int store__mg_device_count(store_tx *tx, const char *owner_id, const store_device_filter *f,
                           uint64_t *out);
/* name and type (buffers of @cap) and document of device @id of @owner_id */
int store__mg_device_current(store_tx *tx, const char *owner_id, const char *id, char *name,
                             char *type, size_t cap, bson_t **doc);
int store__mg_device_replace(store_tx *tx, const char *owner_id, const char *id,
                             const bson_t *full);
int store__mg_device_delete(store_tx *tx, const char *owner_id, const char *id);

#endif
