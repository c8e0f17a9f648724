/* Verified-token cache (api/accounts/auth_cache.c): TTL, drops by token, family and user. */
#include <criterion/criterion.h>
#include <string.h>

#include "ident/auth_int.h"

static auth__cache c;

static void setup(void) { auth__cache_init(&c); }
static void teardown(void) { auth__cache_free(&c); }

static const uint8_t *h(int n)
{
    static uint8_t b[4][32];
    memset(b[n & 3], n, 32);
    return b[n & 3];
}

static auth_principal who(const char *id, bool admin)
{
    auth_principal p = {.admin = admin};
    snprintf(p.user_id, sizeof p.user_id, "%s", id);
    snprintf(p.username, sizeof p.username, "name-%s", id);
    return p;
}

TestSuite(auth_cache, .init = setup, .fini = teardown);

Test(auth_cache, hit_until_ttl_or_token_expiry)
{
    auth_principal p = who("u1", true), got;
    auth__cache_put(&c, h(1), "f1", &p, 1000000, 0);
    cr_assert(auth__cache_get(&c, h(1), 10, &got));
    cr_assert_str_eq(got.username, "name-u1");
    cr_assert(got.admin);
    cr_assert_not(auth__cache_get(&c, h(2), 10, &got));
    cr_assert_not(auth__cache_get(&c, h(1), AUTH_CACHE_TTL_MS, &got), "TTL bounds staleness");
    auth__cache_put(&c, h(1), "f1", &p, 500, 0);
    cr_assert(auth__cache_get(&c, h(1), 499, &got));
    cr_assert_not(auth__cache_get(&c, h(1), 500, &got), "never past the token's own expiry");
    auth__cache_put(&c, h(1), "f1", &p, 100, 100);
    cr_assert_not(auth__cache_get(&c, h(1), 100, &got), "an expired token is not cached");
}

Test(auth_cache, info_gives_family_and_the_tokens_own_expiry)
{
    auth_principal p = who("u1", false), got;
    auth_token_info ti;
    memset(&ti, 0, sizeof ti);
    auth__cache_put(&c, h(1), "fam-1", &p, 900000, 0);
    cr_assert(auth__cache_get_info(&c, h(1), 10, &got, &ti));
    cr_assert_str_eq(ti.family, "fam-1");
    cr_assert_eq(ti.expires_at, 900000, "the token's expiry, not the cache entry's");
    cr_assert_not(auth__cache_get_info(&c, h(2), 10, &got, &ti));
}

Test(auth_cache, a_lookup_older_than_a_drop_is_not_cached)
{
    auth_principal p = who("u1", false), got;
    uint64_t before = auth__cache_gen(&c); /* a lookup starts */
    auth__cache_drop_family(&c, "f1");     /* a logout commits meanwhile */
    auth__cache_put_gen(&c, before, h(1), "f1", &p, 900000, 0);
    cr_assert_not(auth__cache_get(&c, h(1), 10, &got), "the revoked token stays out");
    auth__cache_put_gen(&c, auth__cache_gen(&c), h(1), "f1", &p, 900000, 0);
    cr_assert(auth__cache_get(&c, h(1), 10, &got), "a lookup after the drop is cached");
}

Test(auth_cache, drops_by_token_family_and_user)
{
    auth_principal a = who("u1", false), b = who("u2", false), got;
    auth__cache_put(&c, h(1), "f1", &a, 1000000, 0);
    auth__cache_put(&c, h(2), "f1", &a, 1000000, 0);
    auth__cache_put(&c, h(3), "f2", &a, 1000000, 0);
    auth__cache_put(&c, h(4), "f3", &b, 1000000, 0);
    auth__cache_drop(&c, h(1));
    cr_assert_not(auth__cache_get(&c, h(1), 1, &got));
    cr_assert(auth__cache_get(&c, h(2), 1, &got));
    auth__cache_drop_family(&c, "f1");
    cr_assert_not(auth__cache_get(&c, h(2), 1, &got));
    cr_assert(auth__cache_get(&c, h(3), 1, &got));
    auth__cache_drop_user(&c, "u1");
    cr_assert_not(auth__cache_get(&c, h(3), 1, &got));
    cr_assert(auth__cache_get(&c, h(4), 1, &got), "another user's token stays");
    cr_assert_eq(c.n, 1);
}

Test(auth_cache, bounded_size)
{
    auth_principal p = who("u1", false);
    uint8_t k[32] = {0};
    for (uint32_t i = 0; i < AUTH_CACHE_MAX + 10; i++) {
        memcpy(k, &i, sizeof i);
        memcpy(k + 28, &i, sizeof i);
        auth__cache_put(&c, k, "f", &p, 1000000, 0);
    }
    cr_assert_eq(c.n, AUTH_CACHE_MAX);
    uint32_t i = AUTH_CACHE_MAX + 20; /* a new key */
    memcpy(k, &i, sizeof i);
    memcpy(k + 28, &i, sizeof i);
    auth__cache_put(&c, k, "f", &p, 1000000, AUTH_CACHE_TTL_MS + 1);
    cr_assert_eq(c.n, 1, "a full cache sheds expired entries first");
}
