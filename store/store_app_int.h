/*
 * store_app_int — private to store/: document helpers shared by the application entity
 * files (users.c, devices.c, ...). Implemented in docs.c.
 */
#ifndef IOT_STORE_STORE_APP_INT_H
#define IOT_STORE_STORE_APP_INT_H

#include "store/store_app.h"
#include "store/store_db.h"

typedef int (*store__doc_cb)(void *arg, const bson_t *doc);

/* Non-NULL, non-empty and at most STORE_ID_MAX / STORE_NAME_MAX bytes. */
bool store__key_ok(const char *s);
bool store__name_ok(const char *s);

/* Decodes a stored document: valid BSON (UTF-8 checked) whose `v` is STORE_DOC_V. 0 with a
 * new bson_t in *out, STORE_ECORRUPT or STORE_ENOMEM. Pure: no database, no logging. */
int store__doc_parse(const uint8_t *data, size_t len, bson_t **out);
/* store__doc_parse of column @col of the current row; a corrupt one is reported through
 * store__row_skipped(@what, text of column 0). */
int store__doc_column(store_tx *tx, sqlite3_stmt *s, int col, const char *what, bson_t **out);

/* Initialises @out as { _id: @id (omitted when NULL), v: STORE_DOC_V } followed by the
 * fields of @src (may be NULL) except _id, v and the NULL-terminated @owned names, which the
 * caller appends itself. 0 or STORE_EINVAL (document too large). @out is always initialised:
 * the caller bson_destroy()s it. */
int store__doc_start(bson_t *out, const char *id, const bson_t *src, const char *const *owned);
/* Binds @doc's bytes to parameter @idx (the bytes must outlive the step). */
int store__doc_bind(sqlite3_stmt *s, int idx, const bson_t *doc);
/* Copies a TEXT column into @buf; STORE_ECORRUPT if NULL or longer than @cap - 1. */
int store__text_column(sqlite3_stmt *s, int col, char *buf, size_t cap);

/* Runs @s (parameters bound; selecting key, doc) expecting at most one row: its document in
 * *out, STORE_ENOTFOUND, STORE_ECORRUPT. Resets @s. */
int store__get_doc(store_tx *tx, sqlite3_stmt *s, const char *what, bson_t **out);
/* Runs @s (selecting key, doc) and calls @cb for every decodable document, skipping and
 * reporting corrupt ones (counted in *skipped when not NULL). Resets @s. */
int store__each_doc(store_tx *tx, sqlite3_stmt *s, const char *what, store__doc_cb cb, void *arg,
                    unsigned *skipped);
/* One row of a page (selecting id, doc): records its id as the cursor (corrupt or not),
 * skips a corrupt document (counted in pg->skipped), else counts it and calls @cb. */
int store__page_row(store_tx *tx, sqlite3_stmt *s, const char *what, store_page *pg,
                    store__doc_cb cb, void *arg);
/* Steps @s (a page query asking for limit + 1 rows of (id, doc)) through store__page_row,
 * setting pg->more when the extra row exists. 0, the callback's value, or a STORE_E*. */
int store__page_walk(store_tx *tx, sqlite3_stmt *s, unsigned limit, const char *what,
                     store_page *pg, store__doc_cb cb, void *arg);
/* Binds a text parameter (copied by SQLite), or NULL when @v is NULL. */
int store__bind_text(sqlite3_stmt *s, int idx, const char *v);

#endif
