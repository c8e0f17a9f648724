/*
 * MongoDB backend: opening. The URI is parsed by the driver (any valid MongoDB URI: hosts,
 * replicaSet, TLS and auth options pass through); a password given apart from the URI
 * (store_opts.password) is set on the parsed URI so it never needs to be on a command
 * line. Nothing here logs the URI.
 *
 * At open: one ping (clear error when nothing answers within serverSelectionTimeoutMS,
 * 5 s unless the URI says otherwise), the schema document, then the indexes (idempotent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/mongo_int.h"

#define MG_SELECT_TIMEOUT_MS 5000  /* no server to write to: fail the job after this */
#define MG_SOCKET_TIMEOUT_MS 10000 /* a server that stopped answering */
#define MG_WTIMEOUT_MS       10000 /* majority not reached: fail the job (no ack) */
#define MG_DEFAULT_DB        "iotcloud"

/* The driver's own log goes to ours, warnings and worse only (its default handler
 * prints every level to stderr). */
static void mg_log(mongoc_log_level_t level, const char *domain, const char *msg, void *arg)
{
    (void)arg;
    if (level <= MONGOC_LOG_LEVEL_WARNING)
        log_warn("store: mongoc %s: %s", domain, msg);
}

static void mg_init_once(void)
{
    mongoc_log_set_handler(mg_log, NULL);
    mongoc_init();
}

/* name -> key spec and options of one index. */
typedef struct mg_index {
    const char *coll, *name, *k1, *k2; /* k2 may be NULL */
    int d1, d2;                        /* 1 or -1 */
    bool unique;
    bool ttl; /* expireAfterSeconds 0 on the date field k1 */
} mg_index;

static const mg_index indexes[] = {
    /* per-session queue in mid order (store_msg_each) */
    {STORE_MG_MSGS, "c_1_m_1", "c", "m", 1, 1, true, false},
    /* highest live mid (store_msg_max_id) */
    {STORE_MG_MSGS, "m_-1", "m", NULL, -1, 0, false, false},
    /* expired codes and tokens go by themselves; purges and gets check `x` too */
    {STORE_MG_CODES, "exp_ttl", "exp", NULL, 1, 0, false, true},
    {STORE_MG_CODES, "x_1", "x", NULL, 1, 0, false, false},
    {STORE_MG_TOKENS, "exp_ttl", "exp", NULL, 1, 0, false, true},
    {STORE_MG_TOKENS, "x_1", "x", NULL, 1, 0, false, false},
    {STORE_MG_TOKENS, "f_1", "f", NULL, 1, 0, false, false}, /* revoke a family */
    {STORE_MG_TOKENS, "u_1", "u", NULL, 1, 0, false, false}, /* revoke a user's tokens */
    {STORE_MG_CODES, "u_1", "u", NULL, 1, 0, false, false},  /* delete a user's codes */
    /* SQLite's UNIQUE(username) and UNIQUE(email COLLATE NOCASE) */
    {"users", "username_1", "username", NULL, 1, 0, true, false},
    {"users", "email_lc_1", "email_lc", NULL, 1, 0, true, false},
    /* SQLite's UNIQUE (owner_id, name) of device types ("" = global) */
    {"device_types", "scope_1_name_1", "scope", "name", 1, 1, true, false},
    {"notify_recipients", "u_1_l_1", "u", "l", 1, 1, false, false}, /* a user's list */
    {"shadows", "d_1_n_1", "d", "n", 1, 1, false, false},           /* a device's shadows */
    {"certs", "device_id_1_not_after_1", "device_id", "not_after", 1, 1, false, false},
    {"certs", "revoked_at_1", "revoked_at", NULL, 1, 0, false, false}, /* the CRL */
    {"outbox", "due_1__id_1", "due", "_id", 1, 1, false, false},       /* due items in order */
    /* SQLite's UNIQUE (owner_id, name) of devices */
    {"devices", "owner_id_1_name_1", "owner_id", "name", 1, 1, true, false},
    {"idempotency", "exp_ttl", "exp", NULL, 1, 0, false, true},
    {"idempotency", "c_1", "c", NULL, 1, 0, false, false}, /* purge by age */
};

static int create_index(mongoc_database_t *db, const mg_index *x, bson_error_t *e)
{
    bson_t cmd = BSON_INITIALIZER, arr, ix, key;
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&cmd, "createIndexes", x->coll);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &ix);
    BSON_APPEND_DOCUMENT_BEGIN(&ix, "key", &key);
    BSON_APPEND_INT32(&key, x->k1, x->d1);
    if (x->k2)
        BSON_APPEND_INT32(&key, x->k2, x->d2);
    bson_append_document_end(&ix, &key);
    BSON_APPEND_UTF8(&ix, "name", x->name);
    if (x->unique)
        BSON_APPEND_BOOL(&ix, "unique", true);
    if (x->ttl)
        BSON_APPEND_INT32(&ix, "expireAfterSeconds", 0);
    bson_append_document_end(&arr, &ix);
    bson_append_array_end(&cmd, &arr);
    bool ok = mongoc_database_write_command_with_opts(db, &cmd, &opts, NULL, e);
    bson_destroy(&opts);
    bson_destroy(&cmd);
    return ok ? 0 : STORE_EIO;
}

/* The schema document {_id: "schema", version}: created when missing; a newer one is
 * refused (STORE_ESCHEMA) like a newer SQLite file. */
static int schema_check(store *st, mongoc_client_t *c, char *err, size_t errlen)
{
    store_tx tx = {.st = st, .db = NULL};
    st->mcur = c;
    mongoc_collection_t *m = store__mg_coll(&tx, STORE_MG_META);
    bson_t *q = BCON_NEW("_id", BCON_UTF8("schema"));
    bson_t *doc = BCON_NEW("_id", BCON_UTF8("schema"), "version", BCON_INT32(STORE_MG_SCHEMA));
    bson_t opts;
    bson_error_t e;
    int rc = 0;
    const bson_t *found;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(m, q, NULL, NULL);
    int64_t have = -1;
    if (mongoc_cursor_next(cur, &found)) {
        bson_iter_t it;
        have = bson_iter_init_find(&it, found, "version") && BSON_ITER_HOLDS_NUMBER(&it)
                   ? bson_iter_as_int64(&it)
                   : 0;
    }
    if (mongoc_cursor_error(cur, &e)) {
        snprintf(err, errlen, "cannot read the schema document: %s", e.message);
        rc = STORE_EIO;
    } else if (have > STORE_MG_SCHEMA) {
        snprintf(err, errlen, "database schema version %lld is newer than this iotcloud (%d)",
                 (long long)have, STORE_MG_SCHEMA);
        rc = STORE_ESCHEMA;
    } else if (have < STORE_MG_SCHEMA) {
        /* version 1 is the first MongoDB model: nothing to migrate yet */
        store__mg_wopts(&tx, &opts, true);
        if (!mongoc_collection_replace_one(m, q, doc, &opts, NULL, &e)) {
            snprintf(err, errlen, "cannot write the schema document: %s", e.message);
            rc = STORE_EIO;
        }
        bson_destroy(&opts);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(doc);
    bson_destroy(q);
    mongoc_collection_destroy(m);
    st->mcur = NULL;
    return rc;
}

static int schema_setup(store *st, char *err, size_t errlen)
{
    mongoc_client_t *c = mongoc_client_pool_pop(st->mpool);
    mongoc_database_t *db = mongoc_client_get_database(c, st->mdb);
    bson_error_t e;
    int rc = store__mg_check(st, err, errlen);
    if (rc == 0)
        rc = schema_check(st, c, err, errlen);
    for (size_t i = 0; rc == 0 && i < sizeof indexes / sizeof indexes[0]; i++)
        if ((rc = create_index(db, &indexes[i], &e)) < 0)
            snprintf(err, errlen, "cannot create index %s.%s: %s", indexes[i].coll, indexes[i].name,
                     e.message);
    mongoc_database_destroy(db);
    mongoc_client_pool_push(st->mpool, c);
    return rc;
}

static mongoc_uri_t *parse_uri(const store_opts *o, char *err, size_t errlen)
{
    bson_error_t e;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(o->path, &e);
    if (!uri) {
        /* the driver's message may quote the URI: say only that it is invalid */
        snprintf(err, errlen, "invalid mongodb URI (see docs/store.md for the syntax)");
        return NULL;
    }
    if (o->password && !mongoc_uri_set_password(uri, o->password)) {
        snprintf(err, errlen, "the store password is not valid UTF-8");
        goto fail;
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                       MG_SELECT_TIMEOUT_MS);
    /* the driver's default waits 5 min on a silent server, holding every job behind it */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, MG_SOCKET_TIMEOUT_MS);
    /* [issue #20] retryable writes on: a step-down or blip retries once, exactly once */
    mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES, true);
    return uri;
fail:
    mongoc_uri_destroy(uri);
    return NULL;
}

static mongoc_write_concern_t *write_concern(const store_opts *o)
{
    mongoc_write_concern_t *wc = mongoc_write_concern_new();
    if (o->mongo_w1) {
        mongoc_write_concern_set_w(wc, 1); /* tests only: weaker, see docs/store.md */
    } else {
        mongoc_write_concern_set_wmajority(wc, 0);
        mongoc_write_concern_set_journal(wc, true);
        /* secondaries away: the write is not durable yet, so the job fails (no ack) */
        mongoc_write_concern_set_wtimeout_int64(wc, MG_WTIMEOUT_MS);
    }
    return wc;
}

int store__mg_open(store *st, const store_opts *o, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, mg_init_once);
    mongoc_uri_t *uri = parse_uri(o, err, errlen);
    if (!uri)
        return STORE_EINVAL;
    const char *db = mongoc_uri_get_database(uri);
    st->mdb = strdup(db && *db ? db : MG_DEFAULT_DB);
    st->mpool = mongoc_client_pool_new(uri);
    st->mwc = write_concern(o);
    mongoc_uri_destroy(uri);
    if (!st->mdb || !st->mpool) {
        snprintf(err, errlen, "cannot set up the mongodb client pool (TLS options?)");
        return STORE_EINVAL;
    }
    mongoc_client_pool_set_error_api(st->mpool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(st->mpool, "iotcloud");
    return schema_setup(st, err, errlen);
}

void store__mg_close(store *st)
{
    if (st->mpool)
        mongoc_client_pool_destroy(st->mpool);
    mongoc_write_concern_destroy(st->mwc);
    free(st->mdb);
    st->mpool = NULL;
    st->mwc = NULL;
    st->mdb = NULL;
}

const char *store_backend_missing(const char *backend)
{
    if (!backend || strcmp(backend, "mongodb") != 0)
        return NULL;
    /* Every entity without a MongoDB twin (docs/store.md, "Adding an entity"); an
     * entity file added to store/ without a twin must be named here too. */
    return "commands, activity (history and events), "
           "notifications, telemetry, device logs, shadow history, device groups, jobs, "
           "job executions, provisioning templates, rules, rule dead letters and webhook "
           "outbox, alarms";
}
