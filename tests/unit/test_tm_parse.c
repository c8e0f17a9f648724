/* Telemetry payload parser (telemetry/tm_parse.c): both forms, every refusal. */
#include <criterion/criterion.h>
#include <string.h>

#include "telemetry/tm_parse.h"

#define NOW 1700000000000LL

static tm_batch b;
static tm_err e;

static int parse_max(const char *s, size_t max)
{
    return tm_parse((const uint8_t *)s, strlen(s), NOW, max, &b, &e);
}

static int parse(const char *s) { return parse_max(s, 0); }

static void fini(void) { tm_batch_free(&b); }

TestSuite(tm_parse, .fini = fini);

static const tm_point *find(const char *key, int64_t ts)
{
    for (size_t i = 0; i < b.n; i++)
        if (!strcmp(b.pts[i].key, key) && b.pts[i].ts == ts)
            return &b.pts[i];
    cr_assert_fail("no point %s@%lld", key, (long long)ts);
    return NULL;
}

static void refused(const char *s, const char *reason, const char *key)
{
    cr_assert_lt(parse(s), 0, "accepted: %s", s);
    cr_assert_str_eq(e.reason, reason, "%s: reason %s", s, e.reason);
    cr_assert_str_eq(e.key, key, "%s: key %s", s, e.key);
    cr_assert_eq(b.n, 0);
    cr_assert_null(b.pts);
    cr_assert_null(b.doc);
}

Test(tm_parse, single_with_types_and_ts)
{
    cr_assert_eq(parse("{\"ts\": 1690000000123, \"temp\": 21.5, \"n\": 3, \"on\": true,"
                       " \"mode\": \"eco\", \"off\": false}"),
                 0);
    cr_assert_eq(b.n, 5);
    const tm_point *p = find("temp", 1690000000123LL);
    cr_assert_eq(p->type, TM_NUM);
    cr_assert_float_eq(p->num, 21.5, 1e-9);
    cr_assert_float_eq(find("n", 1690000000123LL)->num, 3.0, 1e-9);
    p = find("on", 1690000000123LL);
    cr_assert_eq(p->type, TM_BOOL);
    cr_assert_float_eq(p->num, 1.0, 1e-9);
    cr_assert_float_eq(find("off", 1690000000123LL)->num, 0.0, 1e-9);
    p = find("mode", 1690000000123LL);
    cr_assert_eq(p->type, TM_STR);
    cr_assert_str_eq(p->str, "eco");
}

Test(tm_parse, no_ts_means_arrival_time)
{
    cr_assert_eq(parse("  {\"temp\": -4}"), 0);
    cr_assert_eq(b.n, 1);
    cr_assert_float_eq(find("temp", NOW)->num, -4.0, 1e-9);
}

Test(tm_parse, ts_as_integral_double)
{
    cr_assert_eq(parse("{\"ts\": 1.5e12, \"a\": 1}"), 0);
    find("a", 1500000000000LL);
}

Test(tm_parse, batch_form)
{
    cr_assert_eq(parse(" [{\"ts\": 1000, \"values\": {\"a\": 1, \"b\": 2}},"
                       " {\"values\": {\"a\": 3}}, {\"ts\": 2000, \"values\": {\"a\": 4}}]"),
                 0);
    cr_assert_eq(b.n, 4);
    cr_assert_float_eq(find("a", 1000)->num, 1.0, 1e-9);
    cr_assert_float_eq(find("b", 1000)->num, 2.0, 1e-9);
    cr_assert_float_eq(find("a", NOW)->num, 3.0, 1e-9);
    cr_assert_float_eq(find("a", 2000)->num, 4.0, 1e-9);
}

Test(tm_parse, refuses_bad_json)
{
    refused("", "bad_json", "");
    refused("{", "bad_json", "");
    refused("21.5", "bad_json", "");
    refused("{\"a\": 1} x", "bad_json", "");
    refused("{\"a\": 1, \"a\": 2}", "bad_json", "");
    refused("[1, 2]", "bad_json", "");
    refused("[{\"ts\": 1}]", "bad_json", "values");
    refused("[{\"values\": {\"a\": 1}, \"extra\": 2}]", "bad_json", "extra");
    refused("[{\"values\": [1]}]", "bad_json", "values");
    refused("[", "bad_json", "");
}

Test(tm_parse, refuses_bad_ts)
{
    refused("{\"ts\": \"now\", \"a\": 1}", "bad_ts", "");
    refused("{\"ts\": 0, \"a\": 1}", "bad_ts", "");
    refused("{\"ts\": -5, \"a\": 1}", "bad_ts", "");
    refused("{\"ts\": 1.5, \"a\": 1}", "bad_ts", "");
    refused("{\"ts\": 1e300, \"a\": 1}", "bad_ts", "");
    refused("{\"ts\": 9007199254740993, \"a\": 1}", "bad_ts", "");
    refused("[{\"ts\": null, \"values\": {\"a\": 1}}]", "bad_ts", "");
}

Test(tm_parse, refuses_bad_keys_and_values)
{
    refused("{\"a b\": 1}", "bad_key", "a b");
    refused("{\"\": 1}", "bad_key", "");
    refused("{\"x/y\": 1}", "bad_key", "x/y");
    refused("{\"a\": null}", "bad_value", "a");
    refused("{\"a\": {\"b\": 1}}", "bad_value", "a");
    refused("{\"a\": [1]}", "bad_value", "a");
    refused("[{\"values\": {\"ts\": 1}}]", "bad_key", "ts");
    char big[TM_STR_MAX + 32];
    memset(big, 'x', sizeof big);
    memcpy(big, "{\"s\": \"", 7);
    memcpy(big + 7 + TM_STR_MAX + 1, "\"}", 3);
    refused(big, "bad_value", "s");
    char key[TM_KEY_MAX + 16];
    memset(key, 'k', sizeof key);
    memcpy(key, "{\"", 2);
    memcpy(key + 2 + TM_KEY_MAX + 1, "\":1}", 5);
    refused(key, "bad_key", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
}

Test(tm_parse, longest_key_and_string_pass)
{
    char s[TM_KEY_MAX + TM_STR_MAX + 32];
    memset(s, 'k', sizeof s);
    memcpy(s, "{\"", 2);
    memcpy(s + 2 + TM_KEY_MAX, "\": \"", 4);
    memset(s + 6 + TM_KEY_MAX, 'v', TM_STR_MAX);
    memcpy(s + 6 + TM_KEY_MAX + TM_STR_MAX, "\"}", 3);
    cr_assert_eq(parse(s), 0);
    cr_assert_eq(strlen(b.pts[0].str), TM_STR_MAX);
}

Test(tm_parse, refuses_empty_and_too_many)
{
    refused("{}", "empty", "");
    refused("{\"ts\": 5}", "empty", "");
    refused("[]", "empty", "");
    refused("[{\"values\": {}}]", "empty", "");
    cr_assert_eq(parse_max("{\"a\": 1, \"b\": 2}", 2), 0);
    tm_batch_free(&b);
    cr_assert_lt(parse_max("{\"a\": 1, \"b\": 2, \"c\": 3}", 2), 0);
    cr_assert_str_eq(e.reason, "too_many");
    cr_assert_str_eq(e.key, "c");
}

Test(tm_parse, refuses_nan_and_infinity)
{
    refused("{\"a\": NaN}", "bad_json", "");
    refused("{\"a\": Infinity}", "bad_json", "");
}
