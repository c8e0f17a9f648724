#include <criterion/criterion.h>

#include "api/web/web_int.h"

Test(web_accepts, names_and_star)
{
    cr_assert(web__accepts("gzip, deflate, br", "br"));
    cr_assert(web__accepts("gzip, deflate, br", "gzip"));
    cr_assert(web__accepts("GZip", "gzip"));
    cr_assert(web__accepts("*", "br"));
    cr_assert(web__accepts("br;q=0.5", "br"));
    cr_assert(web__accepts(" gzip ; q=1 ,br", "gzip"));
}

Test(web_accepts, refused_or_absent)
{
    cr_assert_not(web__accepts(NULL, "gzip"));
    cr_assert_not(web__accepts("", "gzip"));
    cr_assert_not(web__accepts("deflate", "gzip"));
    cr_assert_not(web__accepts("gzipx, xgzip", "gzip"));
    cr_assert_not(web__accepts("br;q=0", "br"));
    cr_assert_not(web__accepts("br; q=0.000", "br"));
    cr_assert_not(web__accepts("*;q=0", "gzip"));
    /* a named coding overrides "*" either way [RFC 9110 12.5.3] */
    cr_assert_not(web__accepts("*, br;q=0", "br"));
    cr_assert(web__accepts("*;q=0, gzip", "gzip"));
}

Test(web_accepts, malformed_is_not_fatal)
{
    cr_assert_not(web__accepts(",,,;;;", "gzip"));
    cr_assert(web__accepts(",, gzip;;", "gzip"));
    cr_assert(web__accepts("gzip;q=", "gzip")); /* not a zero q-value */
    cr_assert_not(web__accepts(";q=1", "gzip"));
}

Test(web_etag, matches)
{
    const char *tag = "\"0123abcd\"";
    cr_assert(web__etag_match("\"0123abcd\"", tag));
    cr_assert(web__etag_match("*", tag));
    cr_assert(web__etag_match("\"x\", W/\"0123abcd\"", tag));
    cr_assert(web__etag_match(" \"a\" ,\"0123abcd\" ", tag));
}

Test(web_etag, no_match)
{
    const char *tag = "\"0123abcd\"";
    cr_assert_not(web__etag_match(NULL, tag));
    cr_assert_not(web__etag_match("", tag));
    cr_assert_not(web__etag_match("\"0123abc\"", tag));
    cr_assert_not(web__etag_match("0123abcd", tag));
    cr_assert_not(web__etag_match("\"0123abcd\"x", tag));
    cr_assert_not(web__etag_match("W/", tag));
    cr_assert_not(web__etag_match("**", tag));
}
