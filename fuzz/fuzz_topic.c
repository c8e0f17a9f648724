/*
 * Fuzzes the UTF-8 and topic validators and the matcher against slow, obviously-correct
 * reference versions written differently (decode code points; split into level arrays).
 *
 * mqtt_share_split is checked against a level-array version of the $share rules.
 *
 * Input layout: data[0] picks a split point; the rest is cut there into a filter and a
 * topic. The whole rest is also run through every validator on its own.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt_codec.h"
#include "mqtt/mqtt_topic.h"

static void check(bool cond)
{
    if (!cond)
        abort();
}

/* Decodes each code point, then checks the value: no shortest-form tables involved. */
static bool ref_utf8(const uint8_t *p, size_t n)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t i = 0;

    while (i < n) {
        uint8_t c = p[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        if (!len || i + len > n)
            return false;
        uint32_t cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min_cp[len] || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

typedef struct levels {
    size_t n;
    size_t off[MQTT_MAX_TOPIC_LEVELS + 1];
    size_t len[MQTT_MAX_TOPIC_LEVELS + 1];
} levels;

/* Splits on '/'; false when there are more levels than allowed. */
static bool split(const uint8_t *p, size_t n, levels *lv)
{
    size_t start = 0;
    lv->n = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '/')
            continue;
        if (lv->n == MQTT_MAX_TOPIC_LEVELS)
            return false;
        lv->off[lv->n] = start;
        lv->len[lv->n++] = i - start;
        start = i + 1;
    }
    return true;
}

static bool level_is(const uint8_t *p, const levels *lv, size_t i, char c)
{
    return lv->len[i] == 1 && p[lv->off[i]] == (uint8_t)c;
}

static bool ref_name(const uint8_t *p, size_t n)
{
    levels lv;
    return n > 0 && ref_utf8(p, n) && !memchr(p, '+', n) && !memchr(p, '#', n) && split(p, n, &lv);
}

static bool ref_filter(const uint8_t *p, size_t n)
{
    levels lv;
    if (n == 0 || !ref_utf8(p, n) || !split(p, n, &lv))
        return false;
    for (size_t i = 0; i < lv.n; i++) {
        const uint8_t *l = p + lv.off[i];
        bool wild = memchr(l, '+', lv.len[i]) || memchr(l, '#', lv.len[i]);
        if (wild && !level_is(p, &lv, i, '+') && !level_is(p, &lv, i, '#'))
            return false;
        if (level_is(p, &lv, i, '#') && i + 1 != lv.n)
            return false;
    }
    return true;
}

static bool ref_match(const uint8_t *f, size_t fn, const uint8_t *t, size_t tn)
{
    levels fl, tl;
    check(split(f, fn, &fl) && split(t, tn, &tl));
    if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
        return false;
    for (size_t i = 0; i < fl.n; i++) {
        if (level_is(f, &fl, i, '#'))
            return true;
        if (i >= tl.n)
            return false;
        if (level_is(f, &fl, i, '+'))
            continue;
        if (fl.len[i] != tl.len[i] || memcmp(f + fl.off[i], t + tl.off[i], fl.len[i]) != 0)
            return false;
    }
    return fl.n == tl.n;
}

/* $share/{group}/{filter}: 0 not shared, -1 malformed, 1 with group = level 1 and the
 * filter = everything after level 1's '/'. */
static int ref_share(const uint8_t *p, size_t n, size_t *goff, size_t *glen)
{
    levels lv;
    if (!split(p, n, &lv) || lv.n < 2 || lv.len[0] != 6 || memcmp(p, "$share", 6) != 0)
        return 0;
    const uint8_t *g = p + lv.off[1];
    if (lv.n < 3 || lv.len[1] == 0 || memchr(g, '+', lv.len[1]) || memchr(g, '#', lv.len[1]))
        return -1;
    if (lv.off[2] == n)
        return -1; /* nothing after the group's '/' */
    *goff = lv.off[1];
    *glen = lv.len[1];
    return 1;
}

static void check_share(const uint8_t *p, size_t n)
{
    mqtt_share sh;
    size_t goff = 0, glen = 0;
    int got = mqtt_share_split(p, n, &sh), want = ref_share(p, n, &goff, &glen);
    check(got == want);
    if (got != 1)
        return;
    check(sh.group == p + goff && sh.group_len == glen);
    check(sh.filter == p + goff + glen + 1 && sh.filter + sh.filter_len == p + n);
    check(sh.filter_len > 0);
}

/* Every level of @t replaced by '+'. */
static size_t plus_filter(const uint8_t *t, size_t tn, uint8_t *out)
{
    size_t k = 0;
    out[k++] = '+';
    for (size_t i = 0; i < tn; i++) {
        if (t[i] == '/') {
            out[k++] = '/';
            out[k++] = '+';
        }
    }
    return k;
}

static void one(const uint8_t *p, size_t n)
{
    bool name = mqtt_topic_name_valid(p, n);
    bool filter = mqtt_topic_filter_valid(p, n);

    check(mqtt_utf8_valid(p, n) == ref_utf8(p, n));
    check(name == ref_name(p, n));
    check(filter == ref_filter(p, n));
    if (filter)
        check_share(p, n);
    if (!name)
        return;
    check(filter); /* a name is a filter without wildcards */
    check(mqtt_topic_match(p, n, p, n));
    check(mqtt_topic_match((const uint8_t *)"#", 1, p, n) == (p[0] != '$'));
    uint8_t *pf = malloc(2 * n + 1);
    check(pf != NULL);
    size_t pn = plus_filter(p, n, pf);
    check(mqtt_topic_filter_valid(pf, pn));
    check(mqtt_topic_match(pf, pn, p, n) == (p[0] != '$'));
    free(pf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1, cut = n ? data[0] % (n + 1) : 0;

    one(p, n);
    if (mqtt_topic_filter_valid(p, cut) && mqtt_topic_name_valid(p + cut, n - cut))
        check(mqtt_topic_match(p, cut, p + cut, n - cut) == ref_match(p, cut, p + cut, n - cut));
    return 0;
}
