/*
 * Idempotency keys in the store (store/store_idem.h) against a real SQLite file: claim,
 * answer, replay lookup, other requests, expiry, stale in-progress rows, release, purge.
 * With IOTCLOUD_TEST_MONGO set they run on the MongoDB backend (store_util.h).
 */
#include "store/store_db.h"
#include "store/store_idem.h"
#include "store_util.h"

#define TTL   1000
#define STALE 100

static store *st;
static store_tx tx_;
static store_tx *tx = &tx_;

static void setup(void)
{
    tmp_setup();
    st = open_store();
    tx_ = (store_tx){st, st->db}; /* no store thread: the test owns the connection */
    if (st->mpool)
        st->mcur = mongoc_client_pool_pop(st->mpool); /* as a batch would */
}

static void teardown(void)
{
    if (st->mpool)
        mongoc_client_pool_push(st->mpool, st->mcur);
    st->mcur = NULL;
    store_close(st);
    tmp_teardown();
}

TestSuite(store_idem, .init = setup, .fini = teardown);

static int claim(const char *owner, const char *key, const char *hash, int64_t now, store_idem *e)
{
    memset(e, 0, sizeof *e);
    return store_idem_claim(tx, owner, key, hash, now, TTL, STALE, e);
}

static long long rows(void)
{
    if (st->mpool) {
        mongoc_collection_t *c = mongoc_client_get_collection(st->mcur, st->mdb, "idempotency");
        bson_t q = BSON_INITIALIZER;
        bson_error_t e;
        int64_t n = mongoc_collection_count_documents(c, &q, NULL, NULL, NULL, &e);
        cr_assert_geq(n, 0, "%s", e.message);
        mongoc_collection_destroy(c);
        return n;
    }
    sqlite3_stmt *s;
    cr_assert_eq(sqlite3_prepare_v2(st->db, "SELECT count(*) FROM idempotency", -1, &s, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

Test(store_idem, first_claim_is_new_then_in_progress_then_answered)
{
    store_idem e;
    cr_assert_eq(claim("u1", "k", "h1", 10, &e), STORE_IDEM_NEW);
    cr_assert_eq(claim("u1", "k", "h1", 20, &e), STORE_IDEM_EXISTING);
    cr_assert_eq(e.status, 0, "in progress");
    cr_assert(e.same_request);
    cr_assert_null(e.blob);
    cr_assert_eq(store_idem_finish(tx, "u1", "k", 201, (const uint8_t *)"abc", 3), 0);
    cr_assert_eq(claim("u1", "k", "h1", 30, &e), STORE_IDEM_EXISTING);
    cr_assert_eq(e.status, 201);
    cr_assert_eq(e.blob_len, 3);
    cr_assert_eq(memcmp(e.blob, "abc", 3), 0);
    cr_assert_eq(e.created_at, 10);
    free(e.blob);
}

Test(store_idem, other_request_same_key_is_told_apart)
{
    store_idem e;
    cr_assert_eq(claim("u1", "k", "h1", 10, &e), STORE_IDEM_NEW);
    cr_assert_eq(claim("u1", "k", "h2", 20, &e), STORE_IDEM_EXISTING);
    cr_assert_not(e.same_request);
}

Test(store_idem, keys_are_per_owner)
{
    store_idem e;
    cr_assert_eq(claim("u1", "k", "h1", 10, &e), STORE_IDEM_NEW);
    cr_assert_eq(claim("u2", "k", "h1", 10, &e), STORE_IDEM_NEW);
    cr_assert_eq(rows(), 2);
}

Test(store_idem, expired_key_is_claimed_again)
{
    store_idem e;
    cr_assert_eq(claim("u1", "k", "h1", 10, &e), STORE_IDEM_NEW);
    cr_assert_eq(store_idem_finish(tx, "u1", "k", 200, (const uint8_t *)"x", 1), 0);
    cr_assert_eq(claim("u1", "k", "h2", 10 + TTL - 1, &e), STORE_IDEM_EXISTING);
    free(e.blob);
    cr_assert_eq(claim("u1", "k", "h2", 10 + TTL, &e), STORE_IDEM_NEW);
    cr_assert_eq(claim("u1", "k", "h2", 10 + TTL, &e), STORE_IDEM_EXISTING);
    cr_assert(e.same_request, "the new claim's hash is stored");
    cr_assert_eq(e.status, 0);
}

Test(store_idem, stale_in_progress_is_taken_over_but_answered_is_not)
{
    store_idem e;
    cr_assert_eq(claim("u1", "k", "h1", 10, &e), STORE_IDEM_NEW);
    cr_assert_eq(claim("u1", "k", "h1", 10 + STALE - 1, &e), STORE_IDEM_EXISTING);
    cr_assert_eq(claim("u1", "k", "h1", 10 + STALE, &e), STORE_IDEM_NEW);
    cr_assert_eq(store_idem_finish(tx, "u1", "k", 200, NULL, 0), 0);
    cr_assert_eq(claim("u1", "k", "h1", 10 + 3 * STALE, &e), STORE_IDEM_EXISTING);
    cr_assert_eq(e.status, 200);
    cr_assert_null(e.blob);
}

Test(store_idem, release_forgets_the_key)
{
    store_idem e;
    cr_assert_eq(claim("u1", "k", "h1", 10, &e), STORE_IDEM_NEW);
    cr_assert_eq(store_idem_release(tx, "u1", "k"), 0);
    cr_assert_eq(rows(), 0);
    cr_assert_eq(store_idem_finish(tx, "u1", "k", 200, NULL, 0), STORE_ENOTFOUND);
    cr_assert_eq(claim("u1", "k", "h2", 11, &e), STORE_IDEM_NEW);
}

Test(store_idem, old_rows_are_purged_by_later_claims)
{
    store_idem e;
    char key[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "old%d", i);
        cr_assert_eq(claim("u1", key, "h", i, &e), STORE_IDEM_NEW);
    }
    cr_assert_eq(rows(), 40);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "new%d", i);
        cr_assert_eq(claim("u1", key, "h", 2 * TTL, &e), STORE_IDEM_NEW);
    }
    cr_assert_eq(rows(), 3, "each claim purges up to 16 expired rows");
}

Test(store_idem, bad_arguments)
{
    store_idem e;
    char big[STORE_IDEM_KEY_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(claim("u1", big, "h", 1, &e), STORE_EINVAL);
    cr_assert_eq(claim("u1", "", "h", 1, &e), STORE_EINVAL);
    cr_assert_eq(claim("", "k", "h", 1, &e), STORE_EINVAL);
    cr_assert_eq(claim("u1", "k", "", 1, &e), STORE_EINVAL);
    cr_assert_eq(store_idem_finish(tx, "u1", "k", 0, NULL, 0), STORE_EINVAL);
}
