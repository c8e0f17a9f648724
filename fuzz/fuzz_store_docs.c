/*
 * fuzz_store_docs — arbitrary bytes as the stored document of every application collection,
 * read back through the get, list and read-modify-write paths of store_app.h. Nothing may
 * crash; a row is either handed out as a valid document or reported corrupt.
 *
 * TEMPORARY fixture until the SQLite core is merged: an in-memory database migrated with
 * store__app_migration and a bare store_tx (see tests/unit/test_store_app.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/store_app_int.h"
#include "store/store_db.h"

static sqlite3 *db;
static store_tx tx_;

static int on_doc(void *arg, const bson_t *doc)
{
    /* Walk the document as a caller would. */
    bson_iter_t it;
    size_t *n = arg;
    if (bson_iter_init(&it, doc)) {
        while (bson_iter_next(&it))
            (*n)++;
    }
    return 0;
}

static int on_claim(void *arg, int64_t id, const char *kind, int32_t attempts, const bson_t *doc)
{
    return on_doc(arg, doc);
}

static int on_revoked(void *arg, const store_cert_revoked *r) { return 0; }

static void insert(const char *sql, const uint8_t *data, size_t size)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        __builtin_trap();
    sqlite3_bind_blob(s, 1, size ? data : (const void *)"", (int)size, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        __builtin_trap();
    sqlite3_finalize(s);
}

static char path[] = "/tmp/fuzz_store_docs_XXXXXX";

static void remove_files(void)
{
    char p[64];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static void setup(void)
{
    log_set_level(LOG_ERROR);
    /* A real store (both migrations) in a scratch file; the connection is used directly,
     * as store_sync would, since no store thread runs. */
    int fd = mkstemp(path);
    if (fd < 0)
        __builtin_trap();
    close(fd);
    char err[256];
    store_opts o = {.path = path};
    store *st = store_open(&o, err, sizeof err);
    if (!st)
        __builtin_trap();
    atexit(remove_files);
    db = st->db;
    tx_ = (store_tx){st, db};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db)
        setup();
    store_tx *tx = &tx_;
    size_t n = 0;
    bson_t *d = NULL;
    if (store__doc_parse(data, size, &d) == 0) {
        bson_t copy;
        store__doc_start(&copy, "x", d, NULL);
        bson_destroy(&copy);
        bson_destroy(d);
    }
    sqlite3_exec(db,
                 "DELETE FROM users; DELETE FROM devices; DELETE FROM device_types;"
                 "DELETE FROM certs; DELETE FROM outbox;",
                 NULL, NULL, NULL);
    insert("INSERT INTO users VALUES ('u1', 'ada', 'ada@x', ?1)", data, size);
    insert("INSERT INTO devices VALUES ('d1', 'o1', 'lamp', 'light', ?1)", data, size);
    insert("INSERT INTO devices VALUES ('d2', 'o1', 'fan', 'light', ?1)", data, size);
    insert("INSERT INTO device_types VALUES ('t1', '', 'light', ?1)", data, size);
    insert("INSERT INTO certs VALUES ('01', 'd1', 100, NULL, NULL, ?1)", data, size);
    insert("INSERT INTO outbox (kind, due_at, doc) VALUES ('mail', 0, ?1)", data, size);

    if (store_user_get(tx, "u1", &d) == 0)
        bson_destroy(d);
    if (store_device_get(tx, "o1", "d1", &d) == 0)
        bson_destroy(d);
    if (store_devtype_get(tx, "o1", "light", &d) == 0)
        bson_destroy(d);
    store_page pg;
    store_device_filter f = {.limit = 1};
    store_device_list(tx, "o1", &f, on_doc, &n, &pg);
    store_devtype_each(tx, "o1", on_doc, &n);
    store_cert_each_device(tx, "d1", on_doc, &n);
    /* Read-modify-write paths copy fields of the stored document. */
    bson_t *attrs = bson_new();
    store_device_update(tx, "o1", "d1", "lamp2", NULL, NULL);
    store_device_update(tx, "o1", "d2", NULL, attrs, NULL);
    bson_destroy(attrs);
    store_user_update(tx, "u1", NULL, NULL, NULL);
    store_cert_revoke(tx, "01", 1, 5);
    store_cert_each_revoked(tx, 0, on_revoked, NULL);
    if (store_cert_get(tx, "01", &d) == 0)
        bson_destroy(d);
    store_outbox_claim(tx, 0, 10, 4, on_claim, &n);
    return 0;
}
