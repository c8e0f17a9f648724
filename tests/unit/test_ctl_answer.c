/* ctl answer classification (devices/ctl_answer.c): 200 / 422 / 502 and the rid. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/ctl_int.h"

static ctl__answer a;

static void parse(const char *s) { ctl__answer_parse((const uint8_t *)s, strlen(s), &a); }

static void fini(void) { ctl__answer_done(&a); }

TestSuite(ctl_answer, .fini = fini);

static int64_t value_int(const char *key)
{
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, &a.value, key), "no %s", key);
    return bson_iter_as_int64(&it);
}

Test(ctl_answer, success_strips_rid_status_error)
{
    parse("{\"number\": 3, \"value\": 1, \"rid\": \"0-1a\", \"status\": 200}");
    cr_assert_eq(a.status, 200);
    cr_assert_eq(a.device_status, 200);
    cr_assert(a.has_rid);
    cr_assert_str_eq(a.rid, "0-1a");
    cr_assert_eq(value_int("number"), 3);
    cr_assert_eq(value_int("value"), 1);
    bson_iter_t it;
    cr_assert_not(bson_iter_init_find(&it, &a.value, "rid"));
    cr_assert_not(bson_iter_init_find(&it, &a.value, "status"));
    cr_assert_eq(bson_count_keys(&a.value), 2);
}

Test(ctl_answer, legacy_answer_has_no_rid)
{
    parse("{\"value\": \"02:00:5e:00:00:01\"}");
    cr_assert_eq(a.status, 200);
    cr_assert_not(a.has_rid);
    cr_assert_eq(a.device_status, 0);
}

Test(ctl_answer, status_as_double_is_fine)
{
    parse("{\"value\": 1, \"status\": 200.0}");
    cr_assert_eq(a.status, 200);
}

/* Found by fuzz_ctl_answer: a double far outside int's range must be refused, not cast. */
Test(ctl_answer, huge_or_fractional_status_is_malformed)
{
    const char *bad[] = {"{\"status\": 4e40}", "{\"status\": -4e40}", "{\"status\": 200.5}",
                         "{\"status\": 99.0}", "{\"status\": 600.0}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse(bad[i]);
        cr_expect_eq(a.status, 502, "%s", bad[i]);
        ctl__answer_done(&a);
    }
    parse("{}");
}

Test(ctl_answer, device_error_is_422)
{
    parse("{\"rid\": \"1-2\", \"status\": 400, \"error\": {\"code\": \"bad_gpio\", "
          "\"message\": \"number: must be 0..31\"}}");
    cr_assert_eq(a.status, 422);
    cr_assert_eq(a.device_status, 400);
    cr_assert_str_eq(a.code, "bad_gpio");
    cr_assert_str_eq(a.msg, "number: must be 0..31");
    cr_assert_str_eq(a.rid, "1-2");
}

Test(ctl_answer, error_without_code_or_status)
{
    parse("{\"rid\": \"1-2\", \"status\": 500}");
    cr_assert_eq(a.status, 422);
    cr_assert_str_eq(a.code, "device_error");
    ctl__answer_done(&a);
    parse("{\"error\": {\"message\": \"broken\"}}");
    cr_assert_eq(a.status, 422, "an error object alone is an error");
    cr_assert_str_eq(a.code, "device_error");
    cr_assert_str_eq(a.msg, "broken");
}

Test(ctl_answer, malformed_is_502)
{
    const char *bad[] = {
        "",
        "   ",
        "{\"value\": 1", /* cut in half */
        "[1, 2]",        /* not an object */
        "\"text\"",
        "42",
        "null",
        "{\"status\": \"200\"}", /* status not an integer */
        "{\"status\": 99}",      /* outside 100..599 */
        "{\"status\": 600}",
        "{\"status\": 200.5}",
        "{\"error\": \"bad\"}",       /* error not an object */
        "{\"error\": {\"code\": 5}}", /* code not text */
        "{\"status\": 400, \"error\": {\"message\": []}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse(bad[i]);
        cr_assert_eq(a.status, 502, "'%s' gave %d", bad[i], a.status);
        cr_assert_str_eq(a.code, "bad_answer");
        ctl__answer_done(&a);
    }
    bson_init(&a.value); /* for fini */
}

Test(ctl_answer, rid_of_a_truncated_answer)
{
    parse("{\"rid\": \"3-ff\", \"value\": \"02:00:5e");
    cr_assert_eq(a.status, 502);
    cr_assert(a.has_rid);
    cr_assert_str_eq(a.rid, "3-ff");
    ctl__answer_done(&a);
    parse("{\"value\": 1, \"ri");
    cr_assert_eq(a.status, 502);
    cr_assert_not(a.has_rid);
}
