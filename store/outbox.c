/*
 * outbox — work to do outside the transaction that decided it (notification e-mails, later
 * webhooks), written in the same transaction as the change so nothing is lost or sent for
 * a change that rolled back. A sender claims due items, which leases them (due_at moves to
 * now + lease): an item whose sender died is claimed again when the lease ends.
 */
#include <stdlib.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

static const char *const owned[] = {"kind", NULL};

static const char sql_insert[] = "INSERT INTO outbox (kind, due_at, doc) VALUES (?1, ?2, ?3)";
/* UPDATE ... RETURNING leases and reads the batch in one statement. */
static const char sql_claim[] = "UPDATE outbox SET due_at = ?2 WHERE id IN (SELECT id FROM outbox"
                                " WHERE due_at <= ?1 ORDER BY due_at, id LIMIT ?3)"
                                " RETURNING id, doc, kind, attempts";
static const char sql_retry[] = "UPDATE outbox SET due_at = ?2, attempts = attempts + 1"
                                " WHERE id = ?1 RETURNING attempts";
static const char sql_delete[] = "DELETE FROM outbox WHERE id = ?1";

int store_outbox_add(store_tx *tx, const char *kind, const bson_t *doc, int64_t due_at, int64_t *id)
{
    if (!store__name_ok(kind))
        return STORE_EINVAL;
    bson_t full;
    int rc = store__doc_start(&full, NULL, doc, owned);
    if (rc < 0)
        goto out;
    if (!BSON_APPEND_UTF8(&full, "kind", kind)) {
        rc = STORE_EINVAL;
        goto out;
    }
    if (tx->st->mpool) {
        rc = store__mg_outbox_add(tx, kind, &full, due_at, id);
        goto out;
    }
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__bind_text(s, 1, kind)) < 0 || (rc = store__doc_bind(s, 3, &full)) < 0)
        goto out;
    if (sqlite3_bind_int64(s, 2, due_at) != SQLITE_OK) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__step_done(s)) == 0 && id)
        *id = sqlite3_last_insert_rowid(tx->db);
out:
    bson_destroy(&full);
    return rc;
}

typedef struct claim_cb {
    int (*cb)(void *arg, int64_t id, const char *kind, int32_t attempts, const bson_t *doc);
    void *arg;
    int64_t *bad; /* ids of corrupt rows, deleted after the walk */
    unsigned n_bad;
} claim_cb;

static int claim_row(store_tx *tx, sqlite3_stmt *s, claim_cb *c)
{
    int64_t id = sqlite3_column_int64(s, 0);
    bson_t *doc;
    int rc = store__doc_column(tx, s, 1, "outbox", &doc);
    const char *kind = (const char *)sqlite3_column_text(s, 2);
    if (rc == 0 && !kind) {
        bson_destroy(doc);
        rc = STORE_ECORRUPT;
    }
    if (rc == STORE_ECORRUPT) {
        c->bad[c->n_bad++] = id;
        return 0;
    }
    if (rc < 0)
        return rc;
    rc = c->cb(c->arg, id, kind, sqlite3_column_int(s, 3), doc);
    bson_destroy(doc);
    return rc;
}

static int delete_bad(store_tx *tx, const claim_cb *c)
{
    int rc = 0;
    for (unsigned i = 0; i < c->n_bad && rc == 0; i++) {
        rc = store_outbox_delete(tx, c->bad[i]);
    }
    return rc;
}

int store_outbox_claim(store_tx *tx, int64_t now, int64_t lease_ms, unsigned max,
                       int (*cb)(void *arg, int64_t id, const char *kind, int32_t attempts,
                                 const bson_t *doc),
                       void *arg)
{
    if (!cb || max == 0 || max > STORE_PAGE_MAX || lease_ms <= 0)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_outbox_claim(tx, now, lease_ms, max, cb, arg);
    claim_cb c = {.cb = cb, .arg = arg, .bad = calloc(max, sizeof(int64_t))};
    if (!c.bad)
        return STORE_ENOMEM;
    sqlite3_stmt *s = store__stmt(tx, sql_claim);
    int rc = STORE_EIO, step = SQLITE_DONE;
    if (!s || sqlite3_bind_int64(s, 1, now) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, now + lease_ms) != SQLITE_OK ||
        sqlite3_bind_int(s, 3, (int)max) != SQLITE_OK)
        goto out;
    rc = 0;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        rc = claim_row(tx, s, &c);
    }
    /* Finish the statement before deleting (RETURNING made every change at the first step,
     * so items after an early stop stay leased and come back when the lease ends). */
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store__rc(step);
    int drc = delete_bad(tx, &c);
    if (rc == 0)
        rc = drc;
out:
    free(c.bad);
    return rc;
}

int store_outbox_retry(store_tx *tx, int64_t id, int64_t due_at, int32_t *attempts)
{
    if (tx->st->mpool)
        return store__mg_outbox_retry(tx, id, due_at, attempts);
    sqlite3_stmt *s = store__stmt(tx, sql_retry);
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, due_at) != SQLITE_OK)
        return STORE_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (attempts)
            *attempts = sqlite3_column_int(s, 0);
        rc = store__rc(sqlite3_step(s));
    } else {
        rc = rc == SQLITE_DONE ? STORE_ENOTFOUND : store__rc(rc);
    }
    sqlite3_reset(s);
    return rc;
}

int store_outbox_delete(store_tx *tx, int64_t id)
{
    if (tx->st->mpool)
        return store__mg_outbox_delete(tx, id);
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        return STORE_EIO;
    return store__exec_one(tx, s);
}
