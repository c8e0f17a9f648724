/* Rule expression language (rules/rexpr*.c): every operator, function, refusal and limit. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/json.h"
#include "rules/rexpr.h"

static const char *PAYLOAD = "{\"temp\": 21.5, \"hum\": 40, \"on\": true, \"name\": \"boiler-1\","
                             " \"neg\": -3.25, \"zero\": 0, \"s\": {\"a\": {\"b\": 7}},"
                             " \"arr\": [10, {\"x\": \"y\"}], \"nil\": null}";

static bson_t doc;
static rexpr_ctx ctx;

static void init(void)
{
    json_err je;
    cr_assert_eq(json_parse((const uint8_t *)PAYLOAD, strlen(PAYLOAD), &doc, &je), 0);
    ctx = (rexpr_ctx){.topic = "server/dev42/telemetry",
                      .device = "dev42",
                      .ts_ms = 1700000000123LL,
                      .payload = &doc};
}

static void fini(void) { bson_destroy(&doc); }

TestSuite(rexpr, .init = init, .fini = fini);

/* Evaluates condition @c against the payload. */
static bool eval(const char *c)
{
    rexpr *x = NULL;
    rexpr_err e;
    int rc = rexpr_compile_cond("server/+/telemetry", c, strlen(c), NULL, &x, &e);
    cr_assert_eq(rc, 0, "%s: %s", c, e.msg);
    bool m = rexpr_match(x, &ctx);
    rexpr_free(x);
    return m;
}

#define T(c) cr_expect(eval(c), "expected true: %s", c)
#define F(c) cr_expect(!eval(c), "expected false: %s", c)

Test(rexpr, comparisons)
{
    T("temp > 20");
    F("temp > 21.5");
    T("temp >= 21.5");
    T("temp < 22");
    F("temp < 21.5");
    T("temp <= 21.5");
    T("temp = 21.5");
    T("temp == 21.5");
    T("temp != 20");
    T("temp <> 20");
    F("temp <> 21.5");
    T("name = 'boiler-1'");
    T("name = \"boiler-1\"");
    T("name < 'boiler-2'");
    F("name = 'boiler'");
    T("on = true");
    F("on = false");
    T("'it''s' = \"it's\"");
    T("\"say \"\"hi\"\"\" = 'say \"hi\"'");
}

Test(rexpr, mixed_types_and_null)
{
    F("temp = '21.5'");
    T("temp != '21.5'");
    F("name > 3");
    T("missing = null");
    T("nil = null");
    F("temp = null");
    F("missing > 0");
    F("missing < 0");
    T("missing != 0");
    T("s.a = null"); /* an object compares as null (SELECT copies it) */
}

Test(rexpr, logic)
{
    T("temp > 20 and hum = 40");
    F("temp > 20 AND hum = 41");
    T("temp > 30 or hum = 40");
    F("temp > 30 OR hum = 41");
    T("not temp > 30");
    F("NOT on");
    T("not missing");
    T("not not on");
    T("on and (hum = 41 or hum = 40)");
    F("hum"); /* only true is true */
    T("temp > 30 or hum = 41 or on");
    T("not (temp > 30) and on");
}

Test(rexpr, arithmetic)
{
    T("temp + 1 = 22.5");
    T("temp - 1.5 = 20");
    T("hum * 2 = 80");
    T("hum / 8 = 5");
    T("hum % 7 = 5");
    T("-hum = -40");
    T("- -hum = 40");
    T("1 + 2 * 3 = 7");
    T("(1 + 2) * 3 = 9");
    T("10 - 2 - 3 = 5");
    T("hum / zero = null"); /* division by zero is null */
    T("hum % zero = null");
    T("name + 1 = null");
    T("1.5e2 = 150");
}

Test(rexpr, functions)
{
    T("abs(neg) = 3.25");
    T("abs(-2) = 2");
    T("abs(name) = null");
    T("round(temp) = 22");
    T("round(neg) = -3");
    T("round(3.14159, 2) = 3.14");
    T("round(name) = null");
    T("startswith(name, 'boil')");
    F("startswith(name, 'oil')");
    T("startswith(name, '')");
    T("contains(name, 'ler-')");
    F("contains(name, 'xyz')");
    F("contains(hum, '4')");
    T("topic(1) = 'server'");
    T("topic(2) = 'dev42'");
    T("topic(3) = 'telemetry'");
    T("topic(4) = null");
    T("deviceid() = 'dev42'");
    T("timestamp() = 1700000000123");
    T("timestamp() > 0 and deviceid() = topic(2)");
}

Test(rexpr, paths)
{
    T("s.a.b = 7");
    T("arr[0] = 10");
    T("arr[1].x = 'y'");
    T("arr[2] = null");
    T("s.a.c = null");
    T("abs = null"); /* a field named like a function */
}

Test(rexpr, no_payload)
{
    ctx.payload = NULL;
    T("temp = null");
    T("deviceid() = 'dev42'");
}

static void refused(const char *text, size_t pos, const char *word)
{
    rexpr *x = (rexpr *)1;
    rexpr_err e;
    int rc = rexpr_compile_sql(text, strlen(text), NULL, &x, &e);
    cr_assert_lt(rc, 0, "accepted: %s", text);
    cr_expect_null(x);
    cr_expect_eq(e.pos, pos, "%s: position %zu, expected %zu (%s)", text, e.pos, pos, e.msg);
    cr_expect(strstr(e.msg, word), "%s: \"%s\" lacks \"%s\"", text, e.msg, word);
    char at[32];
    snprintf(at, sizeof at, "position %zu", pos);
    cr_expect(strstr(e.msg, at), "%s: \"%s\" does not name the position", text, e.msg);
}

Test(rexpr, malformed_names_position)
{
    refused("", 0, "SELECT");
    refused("SELEKT * FROM 'a'", 0, "SELECT");
    refused("SELECT * 'a'", 9, "FROM");
    refused("SELECT * FROM a", 14, "quoted");
    refused("SELECT * FROM 'a/#/b'", 14, "filter");
    refused("SELECT * FROM 'a' WHERE", 23, "end");
    refused("SELECT * FROM 'a' WHERE x >", 27, "end");
    refused("SELECT * FROM 'a' WHERE (x > 1", 30, "')'");
    refused("SELECT * FROM 'a' WHERE x > 'abc", 28, "unterminated");
    refused("SELECT * FROM 'a' WHERE x # 1", 26, "character");
    refused("SELECT * FROM 'a' WHERE abs(1, 2)", 29, "at most");
    refused("SELECT * FROM 'a' WHERE round()", 24, "round");
    refused("SELECT * FROM 'a' WHERE topic(0) = 'x'", 24, "topic");
    refused("SELECT * FROM 'a' WHERE topic(a) = 'x'", 24, "topic");
    refused("SELECT * FROM 'a' WHERE x[a] = 1", 26, "index");
    refused("SELECT * FROM 'a' WHERE x. = 1", 27, "field name");
    refused("SELECT * FROM 'a' WHERE x = 1 y", 30, "after");
    refused("SELECT * FROM 'a' WHERE 1 < 2 < 3", 30, "after");
    refused("SELECT a AS FROM 'a'", 12, "AS");
    refused("SELECT * FROM 'a' WHERE 1e999 > 0", 24, "number");
}

Test(rexpr, limits)
{
    rexpr *x;
    rexpr_err e;
    rexpr_limits lim = {.max_len = 40, .max_depth = 3};
    const char *longer = "SELECT * FROM 'a/b' WHERE temp > 1 and hum < 2";
    cr_assert_lt(rexpr_compile_sql(longer, strlen(longer), &lim, &x, &e), 0);
    cr_expect(strstr(e.msg, "longer than 40"), "%s", e.msg);
    const char *deep = "SELECT * FROM 'a' WHERE ((((1))))";
    cr_assert_lt(rexpr_compile_sql(deep, strlen(deep), &lim, &x, &e), 0);
    cr_expect(strstr(e.msg, "deeper than 3"), "%s", e.msg);
    cr_expect_eq(e.pos, 27);
    const char *ok = "SELECT * FROM 'a' WHERE ((1))";
    cr_assert_eq(rexpr_compile_sql(ok, strlen(ok), &lim, &x, &e), 0, "%s", e.msg);
    rexpr_free(x);
    /* a node bomb within the length limit is refused by the node cap */
    char big[4000] = "SELECT * FROM 'a' WHERE 1";
    for (size_t n = strlen(big); n + 3 < sizeof big - 1; n += 2)
        memcpy(big + n, "+1", 3);
    cr_assert_lt(rexpr_compile_sql(big, strlen(big), NULL, &x, &e), 0);
    cr_expect(strstr(e.msg, "complex"), "%s", e.msg);
    cr_assert_lt(rexpr_compile_sql("SELECT * FROM 'a'\0", 18, NULL, &x, &e), 0);
}

Test(rexpr, sql_select_and_filter)
{
    const char *q = "select temp, round(temp) as t, s.a, arr[1].x, deviceid() as dev, "
                    "topic(3) as kind, missing FROM 'server/+/telemetry' where temp > 20";
    rexpr *x;
    rexpr_err e;
    cr_assert_eq(rexpr_compile_sql(q, strlen(q), NULL, &x, &e), 0, "%s", e.msg);
    cr_expect_str_eq(rexpr_filter(x), "server/+/telemetry");
    cr_expect(rexpr_match(x, &ctx));
    bson_t out = BSON_INITIALIZER;
    cr_assert_eq(rexpr_select(x, &ctx, &out), 0);
    char *j = json_text(&out, NULL);
    cr_expect_str_eq(j, "{ \"temp\" : 21.5, \"t\" : 22, \"a\" : { \"b\" : 7 }, \"x\" : \"y\", "
                        "\"dev\" : \"dev42\", \"kind\" : \"telemetry\", \"missing\" : null }");
    bson_free(j);
    bson_destroy(&out);
    rexpr_free(x);
}

Test(rexpr, select_star_and_cond)
{
    rexpr *x;
    rexpr_err e;
    cr_assert_eq(rexpr_compile_sql("SELECT * FROM '#'", 17, NULL, &x, &e), 0);
    cr_expect(rexpr_match(x, &ctx));
    bson_t out = BSON_INITIALIZER;
    cr_assert_eq(rexpr_select(x, &ctx, &out), 0);
    cr_expect(bson_equal(&out, &doc));
    bson_destroy(&out);
    rexpr_free(x);
    cr_assert_lt(rexpr_compile_cond("a/#/b", "x > 1", 5, NULL, &x, &e), 0);
    cr_expect(strstr(e.msg, "source"), "%s", e.msg);
    cr_assert_eq(rexpr_compile_cond("a/b", "", 0, NULL, &x, &e), 0);
    cr_expect(rexpr_match(x, &ctx));
    rexpr_free(x);
}
