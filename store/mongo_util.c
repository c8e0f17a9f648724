/*
 * MongoDB backend helpers: collection handles, write options, error mapping, ping.
 */
#include <stdio.h>

#include "common/log.h"
#include "store/mongo_int.h"

#define MG_DUPLICATE_KEY 11000 /* server error code of a unique index violation */

mongoc_collection_t *store__mg_coll(store_tx *tx, const char *name)
{
    return mongoc_client_get_collection(tx->st->mcur, tx->st->mdb, name);
}

void store__mg_wopts(store_tx *tx, bson_t *opts, bool upsert)
{
    bson_init(opts);
    mongoc_write_concern_append(tx->st->mwc, opts);
    if (upsert)
        BSON_APPEND_BOOL(opts, "upsert", true);
}

int store__mg_err(const bson_error_t *e, const char *what)
{
    if (e->code == MG_DUPLICATE_KEY)
        return STORE_EEXISTS;
    /* The driver's messages name hosts and codes, never the URI's password. */
    log_error("store: mongodb %s: %s (domain %u, code %u)", what, e->message, e->domain, e->code);
    return STORE_EIO;
}

int64_t store__mg_count(const bson_t *reply, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, reply, key) || !BSON_ITER_HOLDS_NUMBER(&it))
        return 0;
    return bson_iter_as_int64(&it);
}

int store__mg_check(store *st, char *msg, size_t len)
{
    bson_t cmd = BSON_INITIALIZER;
    bson_error_t e;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    mongoc_client_t *c = mongoc_client_pool_pop(st->mpool);
    bool ok = mongoc_client_command_simple(c, "admin", &cmd, NULL, NULL, &e);
    mongoc_client_pool_push(st->mpool, c);
    bson_destroy(&cmd);
    if (ok && msg && len)
        snprintf(msg, len, "ok");
    if (ok)
        return 0;
    if (msg && len)
        snprintf(msg, len, "mongodb unreachable: %s", e.message);
    return STORE_EIO;
}
