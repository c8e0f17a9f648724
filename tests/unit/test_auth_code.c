/* One-time code checks against a real store (api/accounts/auth_code.c): right, wrong, used up,
 * expired. The integration test cannot wait 15 minutes for an expiry; this one sets it. */
#include <criterion/criterion.h>

#include "api/accounts/accounts_int.h"
#include "store_util.h"

static store *st;

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
    auth__code_hash("u1", "123456", h);
    return store_code_put(tx, "u1", STORE_CODE_CONFIRM, h, sizeof h, k->expires_at);
}

static int run_check(store_tx *tx, void *arg)
{
    check *k = arg;
    k->v = (auth__verdict){0};
    int rc = auth__code_check(tx, "u1", STORE_CODE_CONFIRM, k->code, k->now, &k->v);
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
