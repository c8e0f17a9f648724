/* The Range header parser (http/range.c): one byte range, RFC 9110 §14. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/range.h"

static int parse(const char *v, uint64_t size, http_range *r)
{
    return http_range_parse(v, strlen(v), size, r);
}

Test(http_range, closed_open_and_suffix_forms)
{
    http_range r;
    cr_assert_eq(parse("bytes=0-99", 1000, &r), HTTP_RANGE_OK);
    cr_assert_eq(r.first, 0);
    cr_assert_eq(r.last, 99);
    cr_assert_eq(parse("bytes=500-", 1000, &r), HTTP_RANGE_OK, "open: to the end");
    cr_assert_eq(r.first, 500);
    cr_assert_eq(r.last, 999);
    cr_assert_eq(parse("bytes=-100", 1000, &r), HTTP_RANGE_OK, "suffix: last 100");
    cr_assert_eq(r.first, 900);
    cr_assert_eq(r.last, 999);
    cr_assert_eq(parse("BYTES=7-7", 1000, &r), HTTP_RANGE_OK, "unit case-insensitive");
    cr_assert_eq(r.first, 7);
    cr_assert_eq(r.last, 7);
}

Test(http_range, clamps_past_the_end)
{
    http_range r;
    cr_assert_eq(parse("bytes=990-5000", 1000, &r), HTTP_RANGE_OK);
    cr_assert_eq(r.first, 990);
    cr_assert_eq(r.last, 999);
    cr_assert_eq(parse("bytes=-5000", 1000, &r), HTTP_RANGE_OK, "suffix longer than body");
    cr_assert_eq(r.first, 0);
    cr_assert_eq(r.last, 999);
}

Test(http_range, unsatisfiable)
{
    http_range r = {42, 42};
    cr_assert_eq(parse("bytes=1000-", 1000, &r), HTTP_RANGE_UNSAT, "first at the length");
    cr_assert_eq(parse("bytes=2000-3000", 1000, &r), HTTP_RANGE_UNSAT);
    cr_assert_eq(parse("bytes=-0", 1000, &r), HTTP_RANGE_UNSAT, "empty suffix");
    cr_assert_eq(parse("bytes=0-", 0, &r), HTTP_RANGE_UNSAT, "empty body");
    cr_assert_eq(parse("bytes=-10", 0, &r), HTTP_RANGE_UNSAT);
    cr_assert_eq(r.first, 42, "out untouched unless OK");
}

Test(http_range, malformed_and_multi_range_invalid)
{
    http_range r;
    const char *bad[] = {"",
                         "bytes",
                         "bytes=",
                         "bytes=-",
                         "bytes=5-4",
                         "bytes=a-b",
                         "bytes=0-1,5-6",
                         "bytes=1-2x",
                         "bytes=--1",
                         "bytes=1 -2",
                         "bytes=0-1 ,",
                         "=0-1x",
                         "bytes=18446744073709551616-",
                         "bytes=-99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(parse(bad[i], 1000, &r), HTTP_RANGE_INVALID, "%s", bad[i]);
}

Test(http_range, other_units_ignored)
{
    http_range r;
    cr_assert_eq(parse("items=0-1", 1000, &r), HTTP_RANGE_IGNORE);
    cr_assert_eq(parse("byte=0-1", 1000, &r), HTTP_RANGE_IGNORE);
}

Test(http_range, largest_values)
{
    http_range r;
    cr_assert_eq(parse("bytes=18446744073709551614-18446744073709551615", UINT64_MAX, &r),
                 HTTP_RANGE_OK);
    cr_assert_eq(r.first, UINT64_MAX - 1);
    cr_assert_eq(r.last, UINT64_MAX - 1);
}
