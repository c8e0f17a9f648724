/* Device log line parser (telemetry/tm_log.c): text, JSON, truncation, refusals. */
#include <criterion/criterion.h>
#include <string.h>

#include "telemetry/tm_log.h"

#define NOW 1700000000000LL

static tm_log_line l;
static char why[32];

static int parse_max(const char *s, size_t max)
{
    return tm_log_parse((const uint8_t *)s, strlen(s), NOW, max, &l, why, sizeof why);
}

static int parse(const char *s) { return parse_max(s, 1024); }

static void fini(void) { tm_log_free(&l); }

TestSuite(tm_log, .fini = fini);

static void refused(const char *s, const char *reason)
{
    cr_assert_lt(parse(s), 0, "accepted: %s", s);
    cr_assert_str_eq(why, reason, "%s: %s", s, why);
    cr_assert_null(l.msg);
}

Test(tm_log, plain_text_is_info_now)
{
    cr_assert_eq(parse("boot ok, v1.2 \xc3\xa9t\xc3\xa9\n"), 0);
    cr_assert_str_eq(l.msg, "boot ok, v1.2 \xc3\xa9t\xc3\xa9");
    cr_assert_eq(l.level, TM_LOG_INFO);
    cr_assert_eq(l.ts, NOW);
    cr_assert_eq(l.cut, 0);
}

Test(tm_log, json_fields)
{
    cr_assert_eq(
        parse("{\"level\": \"error\", \"msg\": \"sensor 3 failed\", \"ts\": 1600000000000}"), 0);
    cr_assert_str_eq(l.msg, "sensor 3 failed");
    cr_assert_eq(l.level, TM_LOG_ERROR);
    cr_assert_eq(l.ts, 1600000000000LL);
    tm_log_free(&l);
    cr_assert_eq(parse(" {\"msg\": \"x\"}"), 0);
    cr_assert_eq(l.level, TM_LOG_INFO);
    cr_assert_eq(l.ts, NOW);
}

Test(tm_log, long_lines_cut_on_a_character_with_marker)
{
    char s[200];
    memset(s, 'a', sizeof s);
    memcpy(s + 20, "\xc3\xa9\xc3\xa9", 4); /* two-byte characters around the cut */
    s[sizeof s - 1] = '\0';
    cr_assert_eq(parse_max(s, 40), 0);
    cr_assert_eq(l.cut, 1);
    cr_assert_leq(l.len, 40);
    cr_assert_eq(strlen(l.msg), l.len);
    cr_assert(strstr(l.msg, TM_LOG_CUT) == l.msg + l.len - strlen(TM_LOG_CUT));
    /* 40 - 14 = 26 bytes of text: 20 'a', two é (4 bytes), then 2 'a' */
    cr_assert_eq(l.len - strlen(TM_LOG_CUT), 26);
    tm_log_free(&l);
    s[39] = '\0'; /* exactly fits: no cut */
    cr_assert_eq(parse_max(s, 40), 0);
    cr_assert_eq(l.cut, 0);
    cr_assert_eq(l.len, 39);
    tm_log_free(&l);
    /* a cut that would split a character keeps it whole or drops it */
    char t[64];
    memset(t, 'b', sizeof t);
    for (int i = 0; i < 62; i += 2)
        memcpy(t + i, "\xc3\xa9", 2);
    t[62] = '\0';
    cr_assert_eq(parse_max(t, 33), 0);
    cr_assert_eq((l.len - strlen(TM_LOG_CUT)) % 2, 0);
}

Test(tm_log, refusals)
{
    refused("", "empty");
    refused("\n", "empty");
    refused("bad \xff byte", "bad_utf8");
    refused("{\"msg\": 3}", "bad_json");
    refused("{\"msg\": \"x\", \"extra\": 1}", "bad_json");
    refused("{\"level\": \"loud\", \"msg\": \"x\"}", "bad_level");
    refused("{\"ts\": 0, \"msg\": \"x\"}", "bad_ts");
    refused("{\"level\": \"info\"}", "bad_json");
    refused("{\"msg\": \"\"}", "empty");
    refused("{broken", "bad_json");
    cr_assert_lt(tm_log_parse((const uint8_t *)"a\0b", 3, NOW, 64, &l, why, sizeof why), 0);
    cr_assert_str_eq(why, "bad_utf8");
}

Test(tm_log, levels)
{
    cr_assert_eq(tm_log_level_parse("debug"), TM_LOG_DEBUG);
    cr_assert_eq(tm_log_level_parse("warn"), TM_LOG_WARN);
    cr_assert_eq(tm_log_level_parse("WARN"), -1);
    cr_assert_eq(tm_log_level_parse(NULL), -1);
    cr_assert_str_eq(tm_log_level_name(TM_LOG_ERROR), "error");
}
