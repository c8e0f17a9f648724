#include <criterion/criterion.h>
#include <string.h>

#include "common/json.h"

static int parse(const char *s, bson_t *out, json_err *e)
{
    memset(e, 0, sizeof *e);
    return json_parse((const uint8_t *)s, strlen(s), out, e);
}

Test(json, parses_object_and_decodes_fields)
{
    bson_t doc;
    json_err e;
    cr_assert_eq(
        parse("{\"username\":\"alice\",\"n\":5,\"ok\":true,\"attrs\":{\"a\":1}}", &doc, &e), 0);
    const char *user = NULL;
    int64_t n = 0;
    bool ok = false;
    bson_iter_t attrs;
    json_field f[] = {
        {"username", JSON_STR, JSON_REQUIRED, .max_len = 64, .str = &user},
        {"n", JSON_INT, JSON_REQUIRED, .min = 1, .max = 10, .i64 = &n},
        {"ok", JSON_BOOL, JSON_OPTIONAL, .b = &ok},
        {"attrs", JSON_OBJ, JSON_OPTIONAL, .doc = &attrs},
        {"absent", JSON_STR, JSON_OPTIONAL, .max_len = 8},
    };
    cr_assert_eq(json_decode(&doc, f, 5, &e), 0, "%s", e.message);
    cr_assert_str_eq(user, "alice");
    cr_assert_eq(n, 5);
    cr_assert(ok);
    cr_assert(f[3].present);
    cr_assert_not(f[4].present);
    cr_assert(BSON_ITER_HOLDS_DOCUMENT(&attrs));
    bson_destroy(&doc);
}

Test(json, malformed_and_non_object_refused)
{
    bson_t doc;
    json_err e;
    const char *bad[] = {"",         "   ",        "[1,2]", "\"str\"",           "{",
                         "{\"a\":}", "{\"a\":1,}", "nul",   "{\"a\":1} trailing"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_lt(parse(bad[i], &doc, &e), 0, "accepted: %s", bad[i]);
        cr_assert_str_eq(e.code, "bad_json");
        cr_assert_eq(e.status, 400);
        cr_assert_neq(e.message[0], '\0');
    }
}

Test(json, extended_json_dollar_keys_and_duplicates_refused)
{
    bson_t doc;
    json_err e;
    /* Wrappers that only spell a plain number are that number; other types are refused. */
    cr_assert_eq(parse("{\"a\":{\"$numberLong\":\"5\"}}", &doc, &e), 0);
    bson_destroy(&doc);
    cr_assert_lt(parse("{\"a\":{\"$date\":0}}", &doc, &e), 0);
    cr_assert_lt(parse("{\"a\":{\"$regex\":\"x\",\"$options\":\"\"}}", &doc, &e), 0);
    cr_assert_lt(parse("{\"a\":{\"$oid\":\"5f0000000000000000000000\"}}", &doc, &e), 0);
    cr_assert_lt(parse("{\"a\":{\"$where\":\"x\"}}", &doc, &e), 0);
    cr_assert_lt(parse("{\"$set\":1}", &doc, &e), 0);
    cr_assert_lt(parse("{\"a\":1,\"a\":2}", &doc, &e), 0);
    cr_assert_str_eq(e.field, "a");
    cr_assert_lt(parse("{\"o\":{\"b\":1,\"b\":1}}", &doc, &e), 0);
    cr_assert_lt(parse("{\"a\":\"x\\u0000y\"}", &doc, &e), 0);
}

Test(json, depth_limited)
{
    char text[256] = "";
    size_t n = 0;
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"a\":");
    n += (size_t)snprintf(text + n, sizeof text - n, "1");
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "}");
    bson_t doc;
    json_err e;
    cr_assert_lt(parse(text, &doc, &e), 0);
}

Test(json, field_errors_name_the_field)
{
    bson_t doc;
    json_err e;
    const char *s = NULL;
    int64_t n = 0;
    json_field f[] = {
        {"name", JSON_STR, JSON_REQUIRED, .max_len = 4, .str = &s},
        {"n", JSON_INT, JSON_OPTIONAL, .min = 1, .max = 3, .i64 = &n},
    };
    struct {
        const char *body, *code, *field;
    } cases[] = {
        {"{}", "missing_field", "name"},
        {"{\"name\":5}", "invalid_field", "name"},
        {"{\"name\":\"toolong\"}", "invalid_field", "name"},
        {"{\"name\":\"ok\",\"n\":9}", "invalid_field", "n"},
        {"{\"name\":\"ok\",\"n\":1.5}", "invalid_field", "n"},
        {"{\"name\":\"ok\",\"x\":1}", "unknown_field", "x"},
        {"{\"name\":null}", "invalid_field", "name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(parse(cases[i].body, &doc, &e), 0, "%s", cases[i].body);
        cr_assert_lt(json_decode(&doc, f, 2, &e), 0, "%s", cases[i].body);
        cr_assert_str_eq(e.code, cases[i].code, "%s: %s", cases[i].body, e.code);
        cr_assert_str_eq(e.field, cases[i].field, "%s", cases[i].body);
        cr_assert(strstr(e.message, cases[i].field), "%s", e.message);
        bson_destroy(&doc);
    }
}

Test(json, integral_double_accepted_as_int)
{
    bson_t doc;
    json_err e;
    int64_t n = 0;
    json_field f[] = {{"n", JSON_INT, JSON_REQUIRED, .i64 = &n}};
    cr_assert_eq(parse("{\"n\":2.0}", &doc, &e), 0);
    cr_assert_eq(json_decode(&doc, f, 1, &e), 0);
    cr_assert_eq(n, 2);
    bson_destroy(&doc);
}

/* The error text echoes request bytes and becomes a JSON answer: it must stay UTF-8, or
 * encoding the 400 fails and the client gets a 500 (found by fuzz_http_api). */
static void assert_utf8(const json_err *e)
{
    cr_assert(bson_utf8_validate(e->message, strlen(e->message), false), "message: %s", e->message);
    cr_assert(bson_utf8_validate(e->field, strlen(e->field), false), "field: %s", e->field);
}

Test(json, error_text_is_utf8)
{
    bson_t doc;
    json_err e;
    /* libbson's parser message quotes the stray byte 0xbe. */
    cr_assert_lt(parse("{\"username\"\xbe\"alice\"}", &doc, &e), 0);
    cr_assert_eq(e.status, 400);
    assert_utf8(&e);
    /* A key whose 64-byte cut in the message falls inside a two-byte character. */
    char body[256] = "{\"";
    memset(body + 2, 'k', 63);
    memcpy(body + 65, "\xc3\xa9\xc3\xa9\":1}", 9); /* "é" twice, then the end */
    cr_assert_eq(parse(body, &doc, &e), 0);
    json_field f[] = {{"username", JSON_STR, JSON_OPTIONAL, .max_len = 16}};
    cr_assert_lt(json_decode(&doc, f, 1, &e), 0);
    cr_assert_str_eq(e.code, "unknown_field");
    assert_utf8(&e);
    bson_destroy(&doc);
}

Test(json, trailing_value_after_object_refused)
{
    bson_t doc;
    json_err e;
    const char *bad[] = {"{\"name\":\"t1\",\"generate_key\":true}{\"x\":1}", "{\"name\":\"t1\"} {",
                         "{\"a\":\"}{\"}[1]", "{\"a\":[1,{}]}]", "{\"a\":\"\\\"}\"} x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_lt(parse(bad[i], &doc, &e), 0, "accepted: %s", bad[i]);
        cr_assert_str_eq(e.code, "bad_json");
        cr_assert_eq(e.status, 400);
    }
    cr_assert_lt(parse("{\"a\":1}{\"x\":1}", &doc, &e), 0);
    cr_assert(strstr(e.message, "after the JSON object"), "%s", e.message);
    /* Whitespace (and braces inside strings) after or within the object is fine. */
    cr_assert_eq(parse(" {\"a\":\"}{\"} \r\n\t", &doc, &e), 0, "%s", e.message);
    bson_destroy(&doc);
}

Test(json, nan_and_infinity_refused)
{
    bson_t doc;
    json_err e;
    const char *bad[] = {"{\"v\":NaN}",
                         "{\"v\":Infinity}",
                         "{\"v\":-Infinity}",
                         "{\"o\":{\"v\":NaN}}",
                         "{\"v\":{\"$numberDouble\":\"NaN\"}}",
                         "{\"v\":{\"$numberDouble\":\"-Infinity\"}}",
                         "{\"a\":[1,Infinity]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_lt(parse(bad[i], &doc, &e), 0, "accepted: %s", bad[i]);
        cr_assert_str_eq(e.code, "bad_json");
        cr_assert(strstr(e.message, "NaN and Infinity"), "%s: %s", bad[i], e.message);
    }
    cr_assert_eq(parse("{\"v\":1.5e300}", &doc, &e), 0, "%s", e.message);
    bson_destroy(&doc);
}
