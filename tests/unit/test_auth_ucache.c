#include <criterion/criterion.h>

#include "ident/auth_int.h"

static void view_of(bson_t *b, const char *name)
{
    bson_init(b);
    BSON_APPEND_UTF8(b, "username", name);
}

static const char *name_in(const bson_t *b)
{
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, b, "username"));
    return bson_iter_utf8(&it, NULL);
}

Test(auth_ucache, put_get_drop_and_expiry)
{
    auth__ucache c;
    auth__ucache_init(&c);
    bson_t v, out = BSON_INITIALIZER;
    view_of(&v, "ada");
    cr_assert_not(auth__ucache_get(&c, "u1", 1000, &out));
    auth__ucache_put(&c, "u1", &v, auth__ucache_gen(&c), 1000);
    cr_assert(auth__ucache_get(&c, "u1", 1001, &out));
    cr_assert_str_eq(name_in(&out), "ada");
    cr_assert_not(auth__ucache_get(&c, "u2", 1001, &out), "other users miss");
    cr_assert_not(auth__ucache_get(&c, "u1", 1000 + AUTH_UCACHE_TTL_MS, &out), "expired");
    auth__ucache_put(&c, "u1", &v, auth__ucache_gen(&c), 2000);
    auth__ucache_drop(&c, "u1");
    cr_assert_not(auth__ucache_get(&c, "u1", 2001, &out), "dropped");
    bson_destroy(&v);
    bson_destroy(&out);
    auth__ucache_free(&c);
}

Test(auth_ucache, a_read_older_than_a_drop_is_not_put_back)
{
    auth__ucache c;
    auth__ucache_init(&c);
    bson_t old, fresh, out = BSON_INITIALIZER;
    view_of(&old, "old-name");
    view_of(&fresh, "new-name");
    uint64_t gen = auth__ucache_gen(&c);       /* GET submits its read */
    auth__ucache_drop(&c, "u1");               /* PATCH commits and drops */
    auth__ucache_put(&c, "u1", &old, gen, 10); /* the GET's stale view arrives late */
    cr_assert_not(auth__ucache_get(&c, "u1", 11, &out), "stale view must not be cached");
    auth__ucache_put(&c, "u1", &fresh, auth__ucache_gen(&c), 12);
    cr_assert(auth__ucache_get(&c, "u1", 13, &out));
    cr_assert_str_eq(name_in(&out), "new-name");
    auth__ucache_put(&c, "u1", &old, auth__ucache_gen(&c), 14); /* replace in place */
    cr_assert(auth__ucache_get(&c, "u1", 15, &out));
    cr_assert_str_eq(name_in(&out), "old-name");
    bson_destroy(&old);
    bson_destroy(&fresh);
    bson_destroy(&out);
    auth__ucache_free(&c);
}
