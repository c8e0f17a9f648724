/*
 * MongoDB backend: a user's allow-list of notification recipients, one document per entry:
 *   { _id: { u: user id, l: recipient in ASCII lower case }, u, l, r: recipient as given }
 * The lower-cased key makes "A@x.org" and "a@x.org" one entry (SQLite: COLLATE NOCASE);
 * the first form given is kept. Replacing a list deletes the old entries first, so a
 * failure part-way leaves fewer recipients allowed, never more.
 */
#include <ctype.h>
#include <string.h>

#include "store/mongo_int.h"

#define RECIPIENTS "notify_recipients"

static void key_append(bson_t *b, const char *user_id, const char *r, char *lc, size_t cap)
{
    bson_t id;
    size_t i = 0;
    for (; r[i] && i + 1 < cap; i++)
        lc[i] = (char)tolower((unsigned char)r[i]);
    lc[i] = '\0';
    BSON_APPEND_DOCUMENT_BEGIN(b, "_id", &id);
    BSON_APPEND_UTF8(&id, "u", user_id);
    BSON_APPEND_UTF8(&id, "l", lc);
    bson_append_document_end(b, &id);
}

static int insert_one(store_tx *tx, mongoc_collection_t *c, const char *user_id, const char *r)
{
    char lc[STORE_RECIPIENT_MAX + 1];
    bson_t d = BSON_INITIALIZER, opts;
    bson_error_t e;
    int rc = 0;
    key_append(&d, user_id, r, lc, sizeof lc);
    BSON_APPEND_UTF8(&d, "u", user_id);
    BSON_APPEND_UTF8(&d, "l", lc);
    BSON_APPEND_UTF8(&d, "r", r);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_insert_one(c, &d, &opts, NULL, &e))
        rc = store__mg_err(&e, "recipient insert");
    bson_destroy(&opts);
    bson_destroy(&d);
    return rc == STORE_EEXISTS ? 0 : rc; /* the same recipient in another case: kept once */
}

int store__mg_recipients_set(store_tx *tx, const char *user_id, const char *const *list, size_t n)
{
    bson_t *q = BCON_NEW("u", BCON_UTF8(user_id));
    int rc = store__mg_delete(tx, RECIPIENTS, q, true, NULL);
    bson_destroy(q);
    mongoc_collection_t *c = store__mg_coll(tx, RECIPIENTS);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = insert_one(tx, c, user_id, list[i]);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_recipients_each(store_tx *tx, const char *user_id,
                              int (*cb)(void *arg, const char *recipient), void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, RECIPIENTS);
    bson_t *q = BCON_NEW("u", BCON_UTF8(user_id));
    bson_t *opts = BCON_NEW("sort", "{", "l", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    bson_iter_t it;
    int rc = 0;
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        if (!bson_iter_init_find(&it, doc, "r") || !BSON_ITER_HOLDS_UTF8(&it)) {
            store__row_skipped(tx, "recipient", user_id);
            continue;
        }
        rc = cb(arg, bson_iter_utf8(&it, NULL));
    }
    if (rc == 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "recipient scan");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_recipient_allowed(store_tx *tx, const char *user_id, const char *recipient)
{
    char lc[STORE_RECIPIENT_MAX + 1];
    bson_t q = BSON_INITIALIZER, found;
    key_append(&q, user_id, recipient, lc, sizeof lc);
    int rc = store__mg_find_one(tx, RECIPIENTS, &q, &found);
    if (rc == 0)
        bson_destroy(&found);
    bson_destroy(&q);
    return rc;
}
