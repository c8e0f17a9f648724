/*
 * docs — how an application entity becomes a row and back.
 *
 * Every document row is read through store__doc_parse, the one place that decides whether
 * bytes from the database are a document this build understands: well-formed BSON with
 * valid UTF-8 and `v` == STORE_DOC_V. Anything else is corrupt: get functions answer
 * STORE_ECORRUPT and listings skip the row, both reporting it through store__row_skipped.
 */
#include <string.h>

#include "store/store_app_int.h"

bool store__key_ok(const char *s)
{
    return s && s[0] && strnlen(s, STORE_ID_MAX + 1) <= STORE_ID_MAX;
}

bool store__name_ok(const char *s)
{
    return s && s[0] && strnlen(s, STORE_NAME_MAX + 1) <= STORE_NAME_MAX;
}

int store__doc_parse(const uint8_t *data, size_t len, bson_t **out)
{
    *out = NULL;
    if (!data || len < 5)
        return STORE_ECORRUPT;
    bson_t *b = bson_new_from_data(data, len);
    if (!b)
        return STORE_ECORRUPT;
    bson_iter_t it;
    if (!bson_validate(b, BSON_VALIDATE_UTF8, NULL) || !bson_iter_init_find(&it, b, "v") ||
        !BSON_ITER_HOLDS_INT32(&it) || bson_iter_int32(&it) != STORE_DOC_V) {
        bson_destroy(b);
        return STORE_ECORRUPT;
    }
    *out = b;
    return 0;
}

int store__doc_column(store_tx *tx, sqlite3_stmt *s, int col, const char *what, bson_t **out)
{
    const void *p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    int rc = store__doc_parse(p, n > 0 ? (size_t)n : 0, out);
    if (rc == STORE_ECORRUPT)
        store__row_skipped(tx, what, (const char *)sqlite3_column_text(s, 0));
    return rc;
}

static bool is_owned(const char *key, const char *const *owned)
{
    if (strcmp(key, "_id") == 0 || strcmp(key, "v") == 0)
        return true;
    for (; owned && *owned; owned++) {
        if (strcmp(key, *owned) == 0)
            return true;
    }
    return false;
}

int store__doc_start(bson_t *out, const char *id, const bson_t *src, const char *const *owned)
{
    bson_init(out);
    if (id && !BSON_APPEND_UTF8(out, "_id", id))
        return STORE_EINVAL;
    if (!BSON_APPEND_INT32(out, "v", STORE_DOC_V))
        return STORE_EINVAL;
    bson_iter_t it;
    if (!src)
        return 0;
    if (!bson_iter_init(&it, src))
        return STORE_EINVAL;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (is_owned(key, owned))
            continue;
        if (!bson_append_iter(out, key, (int)bson_iter_key_len(&it), &it))
            return STORE_EINVAL;
    }
    return 0;
}

int store__doc_bind(sqlite3_stmt *s, int idx, const bson_t *doc)
{
    return store__rc(sqlite3_bind_blob(s, idx, bson_get_data(doc), (int)doc->len, SQLITE_STATIC));
}

int store__bind_text(sqlite3_stmt *s, int idx, const char *v)
{
    int rc = v ? sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, idx);
    return store__rc(rc);
}

int store__text_column(sqlite3_stmt *s, int col, char *buf, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    int n = sqlite3_column_bytes(s, col);
    if (!t || n < 0 || (size_t)n >= cap)
        return STORE_ECORRUPT;
    memcpy(buf, t, (size_t)n);
    buf[n] = '\0';
    return 0;
}

int store__get_doc(store_tx *tx, sqlite3_stmt *s, const char *what, bson_t **out)
{
    *out = NULL;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = store__doc_column(tx, s, 1, what, out);
    else
        rc = rc == SQLITE_DONE ? STORE_ENOTFOUND : store__rc(rc);
    sqlite3_reset(s);
    return rc;
}

int store__each_doc(store_tx *tx, sqlite3_stmt *s, const char *what, store__doc_cb cb, void *arg,
                    unsigned *skipped)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        bson_t *doc;
        rc = store__doc_column(tx, s, 1, what, &doc);
        if (rc == STORE_ECORRUPT) {
            if (skipped)
                (*skipped)++;
            continue;
        }
        if (rc < 0)
            goto out;
        rc = cb(arg, doc);
        bson_destroy(doc);
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? 0 : store__rc(rc);
out:
    sqlite3_reset(s);
    return rc;
}

int store__page_row(store_tx *tx, sqlite3_stmt *s, const char *what, store_page *pg,
                    store__doc_cb cb, void *arg)
{
    int rc = store__text_column(s, 0, pg->last_id, sizeof pg->last_id);
    if (rc < 0)
        return rc;
    bson_t *doc;
    rc = store__doc_column(tx, s, 1, what, &doc);
    if (rc == STORE_ECORRUPT) {
        pg->skipped++;
        return 0;
    }
    if (rc < 0)
        return rc;
    pg->n++;
    rc = cb(arg, doc);
    bson_destroy(doc);
    return rc;
}

int store__page_walk(store_tx *tx, sqlite3_stmt *s, unsigned limit, const char *what,
                     store_page *pg, store__doc_cb cb, void *arg)
{
    int rc;
    unsigned rows = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (rows++ == limit) {
            pg->more = true;
            return 0;
        }
        if ((rc = store__page_row(tx, s, what, pg, cb, arg)) != 0)
            return rc;
    }
    return rc == SQLITE_DONE ? 0 : store__rc(rc);
}
