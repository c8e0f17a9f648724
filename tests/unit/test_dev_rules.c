#include <bson/bson.h>
#include <criterion/criterion.h>
#include <string.h>

#include "api/devices/dev_int.h"
#include "ident/devdir.h"

Test(dev_rules, ids_are_d_and_24_hex)
{
    char a[DEV_ID_LEN + 1], b[DEV_ID_LEN + 1];
    cr_assert_eq(dev__id_new(a), 0);
    cr_assert_eq(dev__id_new(b), 0);
    cr_assert_eq(strlen(a), DEV_ID_LEN);
    cr_assert_eq(a[0], 'd');
    cr_assert_eq(strspn(a + 1, "0123456789abcdef"), DEV_ID_LEN - 1);
    cr_assert_str_neq(a, b);
}

Test(dev_rules, names)
{
    const char *why = NULL;
    const char *good[] = {"lamp", "Living room lamp", "x", "température", "a-b_c.d (2)"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_assert_eq(dev__name_check(good[i], &why), 0, "%s", good[i]);
    char longest[DEV_NAME_MAX + 2];
    memset(longest, 'n', sizeof longest);
    longest[DEV_NAME_MAX] = '\0';
    cr_assert_eq(dev__name_check(longest, &why), 0);
    longest[DEV_NAME_MAX] = 'n';
    longest[DEV_NAME_MAX + 1] = '\0';
    const char *bad[] = {"",      "a/b",  "a+b",      "a#b",          " lead",   "trail ", "t\tb",
                         "nl\nx", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "del\x7f", longest};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        cr_assert_lt(dev__name_check(bad[i], &why), 0, "%s", bad[i]);
        cr_assert_not_null(why);
    }
    cr_assert_lt(dev__name_check(NULL, &why), 0);
}

Test(dev_rules, identifiers)
{
    const char *why = NULL;
    cr_assert_eq(dev__ident_check("lamp-2.v_1", DEV_TYPE_MAX, &why), 0);
    cr_assert_eq(dev__ident_check("9lives", DEV_TYPE_MAX, &why), 0);
    const char *bad[] = {"", "-", "_x", ".x", "a b", "a/b", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_lt(dev__ident_check(bad[i], DEV_TYPE_MAX, &why), 0, "%s", bad[i]);
    cr_assert_lt(dev__ident_check("abcde", 4, &why), 0);
    cr_assert_lt(dev__ident_check(DEV_NO_TYPE, DEV_TYPE_MAX, &why), 0, "no type is no name");
}

static bson_t *json(const char *s)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)s, -1, &e);
    cr_assert_not_null(b, "%s", e.message);
    return b;
}

Test(dev_rules, attributes_are_scalars)
{
    const char *key, *why;
    bson_t *ok = json("{\"room\": \"hall\", \"floor\": 2, \"w\": 1.5, \"on\": true, \"n\": null}");
    cr_assert_eq(dev__attrs_check(ok, &key, &why), 0);
    bson_destroy(ok);
    const char *bad[][2] = {{"{\"a\": {\"b\": 1}}", "a"},
                            {"{\"a\": [1]}", "a"},
                            {"{\"bad key\": 1}", "bad key"},
                            {"{\"\": 1}", ""}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bson_t *b = json(bad[i][0]);
        key = why = NULL;
        cr_assert_lt(dev__attrs_check(b, &key, &why), 0, "%s", bad[i][0]);
        cr_assert_str_eq(key, bad[i][1]);
        cr_assert_not_null(why);
        bson_destroy(b);
    }
    bson_t many = BSON_INITIALIZER;
    char k[16];
    for (int i = 0; i <= DEV_ATTRS_MAX; i++) {
        snprintf(k, sizeof k, "k%d", i);
        BSON_APPEND_INT32(&many, k, i);
    }
    cr_assert_lt(dev__attrs_check(&many, &key, &why), 0);
    bson_destroy(&many);
    char big[DEV_ATTR_STR_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    bson_t longv = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&longv, "k", big);
    cr_assert_lt(dev__attrs_check(&longv, &key, &why), 0);
    bson_destroy(&longv);
}

Test(dev_rules, required_attributes)
{
    bson_t *type = json("{\"name\": \"lamp\", \"required\": [\"room\", \"watts\"]}");
    bson_t *full = json("{\"room\": \"a\", \"watts\": 40, \"x\": 1}");
    bson_t *part = json("{\"room\": \"a\"}");
    bson_t *nul = json("{\"room\": \"a\", \"watts\": null}");
    bson_t *none = json("{\"name\": \"free\", \"required\": []}");
    cr_assert_null(dev__required_missing(full, type));
    cr_assert_str_eq(dev__required_missing(part, type), "watts");
    cr_assert_str_eq(dev__required_missing(nul, type), "watts");
    cr_assert_str_eq(dev__required_missing(NULL, type), "room");
    cr_assert_null(dev__required_missing(NULL, none));
    bson_destroy(type);
    bson_destroy(full);
    bson_destroy(part);
    bson_destroy(nul);
    bson_destroy(none);
}

Test(dev_rules, secrets_hash_like_the_directory)
{
    char a[DEV_SECRET_LEN + 1], b[DEV_SECRET_LEN + 1];
    uint8_t ha[32], hb[32], want[32];
    cr_assert_eq(dev__secret_new(a, ha), 0);
    cr_assert_eq(dev__secret_new(b, hb), 0);
    cr_assert_eq(strlen(a), DEV_SECRET_LEN);
    cr_assert_eq(strspn(a, "0123456789abcdef"), DEV_SECRET_LEN);
    cr_assert_str_neq(a, b);
    devdir_secret_hash(a, strlen(a), want);
    cr_assert_eq(memcmp(ha, want, 32), 0);
}
