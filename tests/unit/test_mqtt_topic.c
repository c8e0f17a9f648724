#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mqtt/mqtt_codec.h"
#include "mqtt/mqtt_topic.h"

#define U(s)       ((const uint8_t *)(s))
#define BYTES(lit) U(lit), sizeof(lit) - 1

static bool utf8(const char *s, size_t n) { return mqtt_utf8_valid(U(s), n); }

static bool name(const char *s) { return mqtt_topic_name_valid(U(s), strlen(s)); }

static bool filter(const char *s) { return mqtt_topic_filter_valid(U(s), strlen(s)); }

static bool match(const char *f, const char *t)
{
    return mqtt_topic_match(U(f), strlen(f), U(t), strlen(t));
}

/* ---- UTF-8 ------------------------------------------------------------------------------- */

Test(utf8, accepts_ascii_and_every_sequence_length)
{
    cr_assert(utf8("", 0));
    cr_assert(utf8("hello/world, a longer ascii run", 31));
    cr_assert(utf8("\xC2\x80", 2));         /* U+0080 */
    cr_assert(utf8("\xDF\xBF", 2));         /* U+07FF */
    cr_assert(utf8("\xE0\xA0\x80", 3));     /* U+0800 */
    cr_assert(utf8("\xED\x9F\xBF", 3));     /* U+D7FF, just below surrogates */
    cr_assert(utf8("\xEE\x80\x80", 3));     /* U+E000, just above */
    cr_assert(utf8("\xEF\xBB\xBF", 3));     /* U+FEFF BOM is not stripped [MQTT-1.5.3-3] */
    cr_assert(utf8("\xF0\x90\x80\x80", 4)); /* U+10000 */
    cr_assert(utf8("\xF4\x8F\xBF\xBF", 4)); /* U+10FFFF */
    cr_assert(utf8("abcdefgh\xC3\xA9ijklmnopq", 19)); /* non-ASCII between fast words */
}

Test(utf8, rejects_nul_in_any_form)
{
    cr_assert_not(utf8("\x00", 1));        /* [MQTT-1.5.3-2] */
    cr_assert_not(utf8("abcdefg\x00", 8)); /* inside a fast-path word */
    cr_assert_not(utf8("abcdefghijklmno\x00qrst", 20));
    cr_assert_not(utf8("\xC0\x80", 2)); /* overlong U+0000 */
}

Test(utf8, rejects_overlong_forms)
{
    cr_assert_not(utf8("\xC1\xBF", 2));
    cr_assert_not(utf8("\xE0\x9F\xBF", 3));
    cr_assert_not(utf8("\xF0\x8F\xBF\xBF", 4));
}

Test(utf8, rejects_surrogates)
{
    cr_assert_not(utf8("\xED\xA0\x80", 3)); /* U+D800 [MQTT-1.5.3-1] */
    cr_assert_not(utf8("\xED\xBF\xBF", 3)); /* U+DFFF */
}

Test(utf8, rejects_beyond_unicode)
{
    cr_assert_not(utf8("\xF4\x90\x80\x80", 4)); /* U+110000 */
    cr_assert_not(utf8("\xF5\x80\x80\x80", 4));
    cr_assert_not(utf8("\xFF", 1));
}

Test(utf8, rejects_truncated_and_stray_bytes)
{
    cr_assert_not(utf8("\xC3", 1));
    cr_assert_not(utf8("\xE2\x82", 2));
    cr_assert_not(utf8("\xF0\x9F\x98", 3));
    cr_assert_not(utf8("abcdefgh\xF0\x9F\x98", 11));
    cr_assert_not(utf8("\x80", 1));     /* continuation without a lead */
    cr_assert_not(utf8("\xC3\x28", 2)); /* lead followed by ASCII */
    cr_assert_not(utf8("\xE2\x28\xA1", 3));
    cr_assert_not(utf8("\xF0\x9F\x98\x28", 4));
}

/* ---- topic names -------------------------------------------------------------------------- */

Test(topic_name, accepts_plain_names)
{
    cr_assert(name("a"));
    cr_assert(name("sport/tennis/player1"));
    cr_assert(name("/"));
    cr_assert(name("a//b"));
    cr_assert(name("$SYS/broker"));
    cr_assert(name("caf\xC3\xA9/m\xC3\xBCnchen"));
    cr_assert(name(" spaces are fine "));
}

Test(topic_name, rejects_empty_and_wildcards)
{
    cr_assert_not(mqtt_topic_name_valid(U(""), 0)); /* [MQTT-4.7.3-1] */
    cr_assert_not(name("+"));                       /* [MQTT-3.3.2-2] */
    cr_assert_not(name("#"));
    cr_assert_not(name("a/+/b"));
    cr_assert_not(name("a/b#"));
    /* wildcards inside an 8-byte fast-path word, and in the byte-wise tail */
    cr_assert_not(name("abcdefghijk+mnopqrstuvw"));
    cr_assert_not(name("abcdefghijk#mnopqrstuvw"));
    cr_assert_not(name("abcdefghijklmnop+"));
}

Test(topic_name, rejects_bad_utf8)
{
    cr_assert_not(mqtt_topic_name_valid(BYTES("a/\x00/b")));
    cr_assert_not(mqtt_topic_name_valid(BYTES("a/\xC0\x80")));
    cr_assert_not(mqtt_topic_name_valid(BYTES("a/\xED\xA0\x80")));
    cr_assert_not(mqtt_topic_name_valid(BYTES("sensors/\xF4\x90\x80\x80")));
    cr_assert_not(mqtt_topic_name_valid(BYTES("sensors/temp\xE2\x82")));
}

static size_t levels(char *buf, size_t n)
{
    /* n levels "a/a/.../a" */
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf[len++] = '/';
        buf[len++] = 'a';
    }
    return len;
}

Test(topic_name, level_limit)
{
    char buf[2 * 200];
    size_t n = levels(buf, MQTT_MAX_TOPIC_LEVELS);
    cr_assert(mqtt_topic_name_valid(U(buf), n));
    cr_assert(mqtt_topic_filter_valid(U(buf), n));
    n = levels(buf, MQTT_MAX_TOPIC_LEVELS + 1);
    cr_assert_not(mqtt_topic_name_valid(U(buf), n));
    cr_assert_not(mqtt_topic_filter_valid(U(buf), n));
    /* n separators alone make n + 1 empty levels */
    memset(buf, '/', MQTT_MAX_TOPIC_LEVELS - 1);
    cr_assert(mqtt_topic_name_valid(U(buf), MQTT_MAX_TOPIC_LEVELS - 1));
    memset(buf, '/', MQTT_MAX_TOPIC_LEVELS);
    cr_assert_not(mqtt_topic_name_valid(U(buf), MQTT_MAX_TOPIC_LEVELS));
    /* long but shallow is fine */
    memset(buf, 'x', sizeof buf);
    cr_assert(mqtt_topic_name_valid(U(buf), sizeof buf));
}

/* ---- topic filters ------------------------------------------------------------------------ */

Test(topic_filter, accepts_spec_examples)
{
    cr_assert(filter("#"));
    cr_assert(filter("+"));
    cr_assert(filter("sport/tennis/#"));
    cr_assert(filter("sport/+/player1"));
    cr_assert(filter("+/+"));
    cr_assert(filter("/+"));
    cr_assert(filter("+/tennis/#"));
    cr_assert(filter("a//b"));
    cr_assert(filter("$SYS/#"));
}

Test(topic_filter, rejects_misplaced_wildcards)
{
    cr_assert_not(mqtt_topic_filter_valid(U(""), 0));
    cr_assert_not(filter("a/#/b")); /* [MQTT-4.7.1-2] '#' must be last */
    cr_assert_not(filter("a#"));    /* ... and a whole level */
    cr_assert_not(filter("sport/tennis#"));
    cr_assert_not(filter("##"));
    cr_assert_not(filter("+a")); /* [MQTT-4.7.1-3] */
    cr_assert_not(filter("a+"));
    cr_assert_not(filter("sport+"));
    cr_assert_not(filter("a/++/b"));
    cr_assert_not(filter("+#"));
    cr_assert_not(mqtt_topic_filter_valid(BYTES("a/\x00")));
    cr_assert_not(mqtt_topic_filter_valid(BYTES("a/\xED\xA0\x80/#")));
}

/* ---- matching (4.7) ----------------------------------------------------------------------- */

Test(topic_match, multi_level_wildcard)
{
    cr_assert(match("sport/tennis/player1/#", "sport/tennis/player1"));
    cr_assert(match("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
    cr_assert(match("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
    cr_assert(match("sport/#", "sport"));
    cr_assert(match("sport/#", "sport/"));
    cr_assert(match("#", "sport/tennis"));
    cr_assert(match("#", "/"));
    cr_assert_not(match("sport/#", "sports"));
    cr_assert_not(match("sport/tennis/#", "sport"));
    cr_assert_not(match("a/#", "b/a"));
}

Test(topic_match, single_level_wildcard)
{
    cr_assert(match("sport/tennis/+", "sport/tennis/player1"));
    cr_assert(match("sport/tennis/+", "sport/tennis/player2"));
    cr_assert_not(match("sport/tennis/+", "sport/tennis/player1/ranking"));
    cr_assert(match("sport/+", "sport/"));
    cr_assert_not(match("sport/+", "sport"));
    cr_assert(match("+/+", "/finance"));
    cr_assert(match("/+", "/finance"));
    cr_assert_not(match("+", "/finance"));
    cr_assert(match("+", "x"));
    cr_assert(match("+/tennis/#", "sport/tennis/x"));
    cr_assert(match("a/+/b", "a//b"));
    cr_assert_not(match("a/+/b", "a/b"));
    cr_assert(match("+/+/+", "//"));
}

Test(topic_match, literal_levels)
{
    cr_assert(match("a/b", "a/b"));
    cr_assert(match("a//b", "a//b"));
    cr_assert_not(match("a/b", "a/bc"));
    cr_assert_not(match("a/bc", "a/b"));
    cr_assert_not(match("a/b", "a/b/"));
    cr_assert_not(match("a/b/", "a/b"));
    cr_assert_not(match("A/b", "a/b")); /* case sensitive */
    cr_assert_not(match("a", "/a"));
}

Test(topic_match, dollar_topics)
{
    cr_assert_not(match("#", "$SYS/x")); /* [MQTT-4.7.2-1] */
    cr_assert_not(match("+/monitor", "$SYS/monitor"));
    cr_assert_not(match("+", "$SYS"));
    cr_assert(match("$SYS/#", "$SYS/x"));
    cr_assert(match("$SYS/monitor/+", "$SYS/monitor/Clients"));
    cr_assert(match("a/+", "a/$b")); /* only the first level is special */
    cr_assert(match("a/#", "a/$b"));
}

static int share(const char *f, const char **g, const char **flt)
{
    static char gb[64], fb[64];
    mqtt_share sh;
    int rc = mqtt_share_split((const uint8_t *)f, strlen(f), &sh);
    if (rc == 1) {
        snprintf(gb, sizeof gb, "%.*s", (int)sh.group_len, (const char *)sh.group);
        snprintf(fb, sizeof fb, "%.*s", (int)sh.filter_len, (const char *)sh.filter);
        *g = gb;
        *flt = fb;
    }
    return rc;
}

Test(share_split, well_formed)
{
    const char *g = NULL, *f = NULL;
    cr_assert_eq(share("$share/grp/a/b", &g, &f), 1);
    cr_assert_str_eq(g, "grp");
    cr_assert_str_eq(f, "a/b");
    cr_assert_eq(share("$share/g/#", &g, &f), 1);
    cr_assert_str_eq(f, "#");
    cr_assert_eq(share("$share/g//x", &g, &f), 1); /* an empty first level is a filter */
    cr_assert_str_eq(f, "/x");
}

Test(share_split, ordinary_filters)
{
    const char *g, *f;
    cr_assert_eq(share("a/b", &g, &f), 0);
    cr_assert_eq(share("$share", &g, &f), 0);
    cr_assert_eq(share("$SYS/#", &g, &f), 0);
    cr_assert_eq(share("$sharex/g/a", &g, &f), 0);
}

Test(share_split, malformed)
{
    const char *g, *f;
    cr_assert_eq(share("$share/", &g, &f), -1);
    cr_assert_eq(share("$share/g", &g, &f), -1);   /* [MQTT-4.8.2-1] no filter */
    cr_assert_eq(share("$share/g/", &g, &f), -1);  /* empty filter */
    cr_assert_eq(share("$share//a", &g, &f), -1);  /* empty group */
    cr_assert_eq(share("$share/+/a", &g, &f), -1); /* [MQTT-4.8.2-2] */
    cr_assert_eq(share("$share/#/a", &g, &f), -1);
    cr_assert_eq(share("$share/g+/a", &g, &f), -1);
}
