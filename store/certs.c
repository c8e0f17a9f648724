/*
 * certs — device certificates issued by our CA (store_app.h), keyed by serial. Typed
 * columns carry what the CRL and expiry need (device_id, not_after, revoked_at, reason);
 * the document carries the PEM and the rest. A private key has no place here: the device
 * keeps its own, and a PEM or field that looks like one is refused.
 */
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

#define SERIAL_MAX 40 /* hex digits of a 20-octet serial [RFC 5280 4.1.2.2] */

static const char *const owned[] = {"device_id", "not_after", "pem",         "revoked_at",
                                    "reason",    "key",       "private_key", NULL};

static const char sql_insert[] = "INSERT INTO certs (serial, device_id, not_after, doc)"
                                 " VALUES (?1, ?2, ?3, ?4)";
static const char sql_get[] = "SELECT serial, doc, revoked_at FROM certs WHERE serial = ?1";
static const char sql_each_device[] = "SELECT serial, doc FROM certs WHERE device_id = ?1"
                                      " ORDER BY not_after, serial";
static const char sql_each_live[] = "SELECT serial, doc FROM certs WHERE device_id = ?1"
                                    " AND revoked_at IS NULL ORDER BY not_after, serial";
/* certs_revoked (partial index on revoked rows) keeps this to the revoked rows. */
static const char sql_prune[] =
    "DELETE FROM certs WHERE revoked_at IS NOT NULL AND not_after <= ?1";
static const char sql_revoke[] = "UPDATE certs SET revoked_at = ?2, reason = ?3, doc = ?4"
                                 " WHERE serial = ?1";
/* Revocation must work even when the document is unreadable: the CRL reads columns. */
static const char sql_revoke_cols[] =
    "UPDATE certs SET revoked_at = ?2, reason = ?3 WHERE serial = ?1";
static const char sql_each_revoked[] =
    "SELECT serial, revoked_at, reason, not_after FROM certs"
    " WHERE revoked_at IS NOT NULL AND (?1 = 0 OR not_after > ?1)"
    " ORDER BY serial";

/* Lower-cases @serial into @buf; STORE_EINVAL unless 1..SERIAL_MAX hex digits. */
static int norm_serial(const char *serial, char buf[SERIAL_MAX + 1])
{
    if (!serial)
        return STORE_EINVAL;
    size_t i = 0;
    for (; serial[i]; i++) {
        char c = serial[i];
        if (i == SERIAL_MAX ||
            !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return STORE_EINVAL;
        buf[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    buf[i] = '\0';
    return i ? 0 : STORE_EINVAL;
}

/* Refuses what would put a private key into the database. */
static bool no_private_key(const char *pem, const bson_t *doc)
{
    if (strstr(pem, "PRIVATE KEY"))
        return false;
    bson_iter_t it;
    return !doc ||
           (!bson_iter_init_find(&it, doc, "key") && !bson_iter_init_find(&it, doc, "private_key"));
}

int store_cert_put(store_tx *tx, const char *serial, const char *device_id, int64_t not_after,
                   const char *pem, const bson_t *doc)
{
    char sn[SERIAL_MAX + 1];
    if (norm_serial(serial, sn) < 0 || !store__key_ok(device_id) || !pem || !pem[0] ||
        !no_private_key(pem, doc))
        return STORE_EINVAL;
    bson_t full;
    int rc = store__doc_start(&full, sn, doc, owned);
    if (rc < 0)
        goto out;
    if (!BSON_APPEND_UTF8(&full, "device_id", device_id) ||
        !BSON_APPEND_INT64(&full, "not_after", not_after) || !BSON_APPEND_UTF8(&full, "pem", pem)) {
        rc = STORE_EINVAL;
        goto out;
    }
    if (tx->st->mpool) {
        rc = store__mg_cert_put(tx, &full);
        goto out;
    }
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__bind_text(s, 1, sn)) < 0 || (rc = store__bind_text(s, 2, device_id)) < 0 ||
        (rc = store__doc_bind(s, 4, &full)) < 0)
        goto out;
    if (sqlite3_bind_int64(s, 3, not_after) != SQLITE_OK) {
        rc = STORE_EIO;
        goto out;
    }
    rc = store__step_done(s);
out:
    bson_destroy(&full);
    return rc;
}

int store_cert_get(store_tx *tx, const char *serial, bson_t **out)
{
    char sn[SERIAL_MAX + 1];
    *out = NULL;
    if (norm_serial(serial, sn) < 0)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_cert_get(tx, sn, out);
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, sn);
    return rc < 0 ? rc : store__get_doc(tx, s, "cert", out);
}

int store_cert_each_device(store_tx *tx, const char *device_id,
                           int (*cb)(void *arg, const bson_t *doc), void *arg)
{
    if (!store__key_ok(device_id) || !cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_cert_each(tx, device_id, false, cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_each_device);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    return rc < 0 ? rc : store__each_doc(tx, s, "cert", cb, arg, NULL);
}

int store_cert_each_live(store_tx *tx, const char *device_id,
                         int (*cb)(void *arg, const bson_t *doc), void *arg)
{
    if (!store__key_ok(device_id) || !cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_cert_each(tx, device_id, true, cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_each_live);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    return rc < 0 ? rc : store__each_doc(tx, s, "cert", cb, arg, NULL);
}

int store_cert_prune_expired(store_tx *tx, int64_t now, unsigned *n)
{
    if (tx->st->mpool)
        return store__mg_cert_prune_expired(tx, now, n);
    sqlite3_stmt *s = store__stmt(tx, sql_prune);
    if (!s || sqlite3_bind_int64(s, 1, now) != SQLITE_OK)
        return STORE_EIO;
    int rc = store__step_done(s);
    if (rc == 0 && n)
        *n = (unsigned)sqlite3_changes(tx->db);
    return rc;
}

/* The current document of @sn and whether it is revoked already. */
static int read_current(store_tx *tx, const char *sn, bson_t **doc, bool *revoked)
{
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, sn);
    if (rc < 0)
        goto out;
    if ((rc = store__step_row(s)) < 0)
        goto out;
    *revoked = sqlite3_column_type(s, 2) != SQLITE_NULL;
    rc = store__doc_column(tx, s, 1, "cert", doc);
out:
    sqlite3_reset(s);
    return rc;
}

static int write_revocation(store_tx *tx, const char *sql, const char *sn, int reason, int64_t when,
                            const bson_t *doc)
{
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, sn)) < 0 || (doc && (rc = store__doc_bind(s, 4, doc)) < 0))
        return rc;
    if (sqlite3_bind_int64(s, 2, when) != SQLITE_OK || sqlite3_bind_int(s, 3, reason) != SQLITE_OK)
        return STORE_EIO;
    return store__exec_one(tx, s);
}

int store_cert_revoke(store_tx *tx, const char *serial, int reason, int64_t when)
{
    char sn[SERIAL_MAX + 1];
    /* CRLReason 0..10, 7 unused [RFC 5280 5.3.1] */
    if (norm_serial(serial, sn) < 0 || reason < 0 || reason > 10 || reason == 7)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_cert_revoke(tx, sn, reason, when);
    bson_t *cur = NULL, full;
    bool revoked = false;
    bson_init(&full);
    int rc = read_current(tx, sn, &cur, &revoked);
    if (rc < 0 && !(rc == STORE_ECORRUPT && !revoked))
        goto out;
    if (revoked) {
        rc = STORE_EEXISTS;
        goto out;
    }
    if (!cur) {
        rc = write_revocation(tx, sql_revoke_cols, sn, reason, when, NULL);
        goto out;
    }
    /* Keep everything, then add the revocation (the owned list drops stale copies). */
    bson_destroy(&full);
    static const char *const keep[] = {"revoked_at", "reason", NULL};
    if ((rc = store__doc_start(&full, sn, cur, keep)) < 0)
        goto out;
    if (!BSON_APPEND_INT64(&full, "revoked_at", when) ||
        !BSON_APPEND_INT32(&full, "reason", reason)) {
        rc = STORE_EINVAL;
        goto out;
    }
    sqlite3_stmt *s = store__stmt(tx, sql_revoke);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__bind_text(s, 1, sn)) < 0 || (rc = store__doc_bind(s, 4, &full)) < 0)
        goto out;
    if (sqlite3_bind_int64(s, 2, when) != SQLITE_OK ||
        sqlite3_bind_int(s, 3, reason) != SQLITE_OK) {
        rc = STORE_EIO;
        goto out;
    }
    rc = store__exec_one(tx, s);
out:
    if (cur)
        bson_destroy(cur);
    bson_destroy(&full);
    return rc;
}

int store_cert_each_revoked(store_tx *tx, int64_t now,
                            int (*cb)(void *arg, const store_cert_revoked *r), void *arg)
{
    if (!cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_cert_each_revoked(tx, now, cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_each_revoked);
    if (!s || sqlite3_bind_int64(s, 1, now) != SQLITE_OK)
        return STORE_EIO;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_cert_revoked r = {
            .serial = (const char *)sqlite3_column_text(s, 0),
            .revoked_at = sqlite3_column_int64(s, 1),
            .reason = sqlite3_column_int(s, 2),
            .not_after = sqlite3_column_int64(s, 3),
        };
        if (!r.serial)
            continue;
        if ((rc = cb(arg, &r)) != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? 0 : store__rc(rc);
out:
    sqlite3_reset(s);
    return rc;
}
