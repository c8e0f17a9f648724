/* One-time code checks against a real store (api/accounts/auth_code.c): right, wrong, used up,
 * expired. The integration test cannot wait 15 minutes for an expiry; this one sets it. */
#include <criterion/criterion.h>

#include <openssl/sha.h>
#include <sys/stat.h>

#include "api/accounts/accounts_int.h"
#include "store_util.h"

static store *st;
static const uint8_t key[AUTH_SECRET_LEN] = "0123456789abcdef0123456789abcde";

static void setup(void)
{
    tmp_setup();
    st = open_store();
}

static void teardown(void)
{
    store_close(st);
    tmp_teardown();
}

TestSuite(auth_code, .init = setup, .fini = teardown);

typedef struct check {
    const char *code;
    int64_t now, expires_at;
    auth__verdict v;
    store_code c;
    int get_rc;
} check;

static int put_code(store_tx *tx, void *arg)
{
    check *k = arg;
    uint8_t h[32];
    auth__code_hash(key, "u1", "123456", h);
    return store_code_put(tx, "u1", STORE_CODE_CONFIRM, h, sizeof h, k->expires_at);
}

static int run_check(store_tx *tx, void *arg)
{
    check *k = arg;
    k->v = (auth__verdict){0};
    int rc = auth__code_check(tx, key, "u1", STORE_CODE_CONFIRM, k->code, k->now, &k->v);
    k->get_rc = store_code_get(tx, "u1", STORE_CODE_CONFIRM, k->now, &k->c);
    return rc;
}

Test(auth_code, right_code_passes_and_is_kept_for_the_caller_to_delete)
{
    check k = {.code = "123456", .now = 1000, .expires_at = 2000};
    cr_assert_eq(store_sync(st, put_code, &k), 0);
    cr_assert_eq(store_sync(st, run_check, &k), 0);
    cr_assert_eq(k.v.status, 0);
    cr_assert_eq(k.get_rc, 0);
}

Test(auth_code, wrong_code_counts_and_fifth_deletes)
{
    check k = {.code = "654321", .now = 1000, .expires_at = 2000};
    cr_assert_eq(store_sync(st, put_code, &k), 0);
    for (int i = 1; i < AUTH_CODE_TRIES; i++) {
        cr_assert_eq(store_sync(st, run_check, &k), 0);
        cr_assert_eq(k.v.status, 400);
        cr_assert_str_eq(k.v.code, "invalid_code");
        cr_assert_eq(k.c.attempts, i);
    }
    cr_assert_eq(store_sync(st, run_check, &k), 0);
    cr_assert_eq(k.get_rc, STORE_ENOTFOUND, "used up after %d wrong guesses", AUTH_CODE_TRIES);
    k.code = "123456";
    cr_assert_eq(store_sync(st, run_check, &k), 0);
    cr_assert_eq(k.v.status, 400, "even the right code is refused once it is gone");
}

Test(auth_code, expired_code_is_refused)
{
    check k = {.code = "123456", .now = 2000, .expires_at = 2000};
    cr_assert_eq(store_sync(st, put_code, &k), 0);
    cr_assert_eq(store_sync(st, run_check, &k), 0);
    cr_assert_eq(k.v.status, 400);
    cr_assert_str_eq(k.v.code, "invalid_code");
}

Test(auth_code, no_code_is_refused)
{
    check k = {.code = "123456", .now = 1};
    cr_assert_eq(store_sync(st, run_check, &k), 0);
    cr_assert_eq(k.v.status, 400);
}

/* A row written before codes were keyed: SHA-256(user_id ":" code), no secret. */
static int put_plain_code(store_tx *tx, void *arg)
{
    check *k = arg;
    uint8_t h[32];
    SHA256((const uint8_t *)"u1:123456", 9, h);
    return store_code_put(tx, "u1", STORE_CODE_CONFIRM, h, sizeof h, k->expires_at);
}

Test(auth_code, plain_sha256_row_does_not_verify)
{
    check k = {.code = "123456", .now = 1000, .expires_at = 2000};
    cr_assert_eq(store_sync(st, put_plain_code, &k), 0);
    cr_assert_eq(store_sync(st, run_check, &k), 0);
    cr_assert_eq(k.v.status, 400, "an unkeyed hash of the right code is refused");
    cr_assert_str_eq(k.v.code, "invalid_code");
}

Test(auth_code, secret_file_created_0600_then_reused)
{
    uint8_t a[AUTH_SECRET_LEN], b[AUTH_SECRET_LEN];
    char err[512], path[160];
    struct stat sb;
    snprintf(path, sizeof path, "%s/code-hmac.key", tdir);
    cr_assert_eq(auth_secret_load(tdir, a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", (unsigned)(sb.st_mode & 0777));
    cr_assert_eq(sb.st_size, 2 * AUTH_SECRET_LEN + 1);
    cr_assert_eq(auth_secret_load(tdir, b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "the second start reads the same key");
    /* Codes hashed under it differ from the plain SHA-256 and from another key's. */
    uint8_t h1[32], h2[32], plain[32];
    auth__code_hash(a, "u1", "123456", h1);
    auth__code_hash(key, "u1", "123456", h2);
    SHA256((const uint8_t *)"u1:123456", 9, plain);
    cr_assert_neq(memcmp(h1, plain, 32), 0);
    cr_assert_neq(memcmp(h1, h2, 32), 0);
    /* A damaged file stops the start instead of silently making a new key. */
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("not hex\n", f);
    fclose(f);
    cr_assert_lt(auth_secret_load(tdir, b, err, sizeof err), 0);
    cr_assert(strstr(err, "code-hmac.key"), "%s", err);
    cr_assert_null(strstr(err, "not hex"), "the file's bytes are never echoed");
    unlink(path);
}
