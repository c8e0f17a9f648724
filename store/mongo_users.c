/*
 * MongoDB backend: users, one document per user, the same document SQLite keeps in its
 * BLOB plus one field the store owns:
 *   { _id: user id, v, username, email, email_lc: email in ASCII lower case, <fields> }
 * _id is the user id (lookups and paging by id). Unique indexes on username and email_lc
 * stand for SQLite's UNIQUE(username) and UNIQUE(email COLLATE NOCASE). email_lc is
 * removed from every document handed out, so a document read, changed and written back
 * never carries it twice.
 */
#include <ctype.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

#define USERS "users"

static const char *const owned[] = {"username", "email", "email_lc", NULL};

static void lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static int build(bson_t *full, const char *id, const char *username, const char *email,
                 const bson_t *doc)
{
    char lc[STORE_NAME_MAX + 1];
    int rc = store__doc_start(full, id, doc, owned);
    lower(email, lc, sizeof lc);
    if (rc == 0 &&
        (!BSON_APPEND_UTF8(full, "username", username) || !BSON_APPEND_UTF8(full, "email", email) ||
         !BSON_APPEND_UTF8(full, "email_lc", lc)))
        rc = STORE_EINVAL;
    return rc;
}

int store__mg_user_create(store_tx *tx, const char *id, const char *username, const char *email,
                          const bson_t *doc)
{
    bson_t full, opts;
    bson_error_t e;
    int rc = build(&full, id, username, email, doc);
    if (rc == 0) {
        mongoc_collection_t *c = store__mg_coll(tx, USERS);
        store__mg_wopts(tx, &opts, false);
        if (!mongoc_collection_insert_one(c, &full, &opts, NULL, &e))
            rc = store__mg_err(&e, "user insert");
        bson_destroy(&opts);
        mongoc_collection_destroy(c);
    }
    bson_destroy(&full);
    return rc;
}

static int hand_out(store_tx *tx, const bson_t *found, bson_t **out)
{
    return store__mg_doc_out(tx, found, "user", "email_lc", out);
}

int store__mg_user_get_by(store_tx *tx, const char *field, const char *key, bson_t **out)
{
    char lc[STORE_NAME_MAX + 1];
    bson_t q = BSON_INITIALIZER, found;
    if (strcmp(field, "email") == 0) {
        lower(key, lc, sizeof lc);
        field = "email_lc";
        key = lc;
    }
    BSON_APPEND_UTF8(&q, field, key);
    int rc = store__mg_find_one(tx, USERS, &q, &found);
    bson_destroy(&q);
    if (rc < 0)
        return rc;
    rc = hand_out(tx, &found, out);
    bson_destroy(&found);
    return rc;
}

/* One document of a page: the cursor moves past it whether it decodes or not. */
static int page_doc(store_tx *tx, const bson_t *doc, store_page *pg, store__doc_cb cb, void *arg)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
        bson_strncpy(pg->last_id, bson_iter_utf8(&it, NULL), sizeof pg->last_id);
    bson_t *d;
    int rc = hand_out(tx, doc, &d);
    if (rc == STORE_ECORRUPT) {
        pg->skipped++;
        return 0;
    }
    if (rc < 0)
        return rc;
    pg->n++;
    rc = cb(arg, d);
    bson_destroy(d);
    return rc;
}

int store__mg_user_list(store_tx *tx, const char *after, unsigned limit, store__doc_cb cb,
                        void *arg, store_page *pg)
{
    mongoc_collection_t *c = store__mg_coll(tx, USERS);
    bson_t q = BSON_INITIALIZER, gt;
    if (after) {
        BSON_APPEND_DOCUMENT_BEGIN(&q, "_id", &gt);
        BSON_APPEND_UTF8(&gt, "$gt", after);
        bson_append_document_end(&q, &gt);
    }
    /* one document more than the page tells whether another page follows */
    bson_t *opts =
        BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64((int64_t)limit + 1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    unsigned rows = 0;
    int rc = 0;
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        if (rows++ == limit) {
            pg->more = true;
            break;
        }
        rc = page_doc(tx, doc, pg, cb, arg);
    }
    if (rc == 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "user list");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(&q);
    mongoc_collection_destroy(c);
    return rc;
}

/* The current username and email of @id (readable even when the rest is damaged). */
static int current_keys(store_tx *tx, const char *id, char *user, char *email, size_t cap)
{
    bson_t *q = BCON_NEW("_id", BCON_UTF8(id));
    bson_t found;
    bson_iter_t it;
    int rc = store__mg_find_one(tx, USERS, q, &found);
    bson_destroy(q);
    if (rc < 0)
        return rc;
    rc = STORE_ECORRUPT;
    if (bson_iter_init_find(&it, &found, "username") && BSON_ITER_HOLDS_UTF8(&it)) {
        bson_strncpy(user, bson_iter_utf8(&it, NULL), cap);
        if (bson_iter_init_find(&it, &found, "email") && BSON_ITER_HOLDS_UTF8(&it)) {
            bson_strncpy(email, bson_iter_utf8(&it, NULL), cap);
            rc = 0;
        }
    }
    bson_destroy(&found);
    return rc;
}

int store__mg_user_update(store_tx *tx, const char *id, const char *username, const char *email,
                          const bson_t *doc)
{
    char cur_user[STORE_NAME_MAX + 1], cur_email[STORE_NAME_MAX + 1];
    int rc = current_keys(tx, id, cur_user, cur_email, sizeof cur_user);
    if (rc < 0)
        return rc;
    bson_t full, opts, reply;
    bson_error_t e;
    rc = build(&full, id, username ? username : cur_user, email ? email : cur_email, doc);
    if (rc == 0) {
        mongoc_collection_t *c = store__mg_coll(tx, USERS);
        bson_t *q = BCON_NEW("_id", BCON_UTF8(id));
        store__mg_wopts(tx, &opts, false);
        if (!mongoc_collection_replace_one(c, q, &full, &opts, &reply, &e))
            rc = store__mg_err(&e, "user update");
        else if (store__mg_count(&reply, "matchedCount") == 0)
            rc = STORE_ENOTFOUND;
        bson_destroy(&reply);
        bson_destroy(&opts);
        bson_destroy(q);
        mongoc_collection_destroy(c);
    }
    bson_destroy(&full);
    return rc;
}

int store__mg_user_delete(store_tx *tx, const char *id)
{
    /* Credentials first: a failure part-way leaves a user without codes or tokens (they
     * sign in again), never live tokens of a deleted user. */
    bson_t *byu = BCON_NEW("u", BCON_UTF8(id));
    bson_t *q = BCON_NEW("_id", BCON_UTF8(id));
    int64_t n = 0;
    int rc = store__mg_delete(tx, STORE_MG_TOKENS, byu, true, NULL);
    if (rc == 0)
        rc = store__mg_delete(tx, STORE_MG_CODES, byu, true, NULL);
    if (rc == 0)
        rc = store__mg_delete(tx, USERS, q, false, &n);
    bson_destroy(q);
    bson_destroy(byu);
    return rc == 0 && n == 0 ? STORE_ENOTFOUND : rc;
}
