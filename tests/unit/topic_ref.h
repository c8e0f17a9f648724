/**
 * topic_ref — brute-force MQTT 3.1.1 filter/topic matcher for tests and fuzz targets.
 *
 * Deliberately written differently from the trie (string walk, level by level, no tree)
 * so the two can check each other. Not the production mqtt_topic_match, which another
 * module owns. Strings are NUL-terminated; the filter must be valid.
 */
#ifndef IOT_TESTS_TOPIC_REF_H
#define IOT_TESTS_TOPIC_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline bool ref_match(const char *f, const char *t)
{
    /* [MQTT-4.7.2-1] first-level wildcards never match '$' topics */
    if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
        return false;
    for (;;) {
        size_t fl = strcspn(f, "/"), tl = strcspn(t, "/");
        if (fl == 1 && f[0] == '#')
            return true; /* this level and everything below */
        bool plus = fl == 1 && f[0] == '+';
        if (!plus && (fl != tl || memcmp(f, t, fl) != 0))
            return false;
        bool fmore = f[fl] == '/', tmore = t[tl] == '/';
        if (!fmore && !tmore)
            return true;
        if (!tmore) /* topic used up: only a trailing "/#" still matches (the parent) */
            return strcmp(f + fl, "/#") == 0;
        if (!fmore)
            return false;
        f += fl + 1;
        t += tl + 1;
    }
}

/* Is @f a valid filter per [MQTT-4.7.1-2] and [MQTT-4.7.1-3] (no UTF-8 check)? */
static inline bool ref_filter_valid(const char *f)
{
    if (f[0] == '\0')
        return false;
    for (;;) {
        size_t l = strcspn(f, "/");
        bool wild = memchr(f, '+', l) != NULL || memchr(f, '#', l) != NULL;
        if (wild && l != 1)
            return false;
        if (l == 1 && f[0] == '#' && f[1] != '\0')
            return false;
        if (f[l] == '\0')
            return true;
        f += l + 1;
    }
}

/* Random topic names (filter = false) and filters (true) from a small alphabet of
 * levels, for the randomized comparisons. xorshift: reproducible from the seed. Inline,
 * like everything here, so a user that needs only ref_match (fuzz_trie) compiles clean. */
static inline uint32_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 11);
}

static inline void rand_levels(uint64_t *s, char *out, size_t cap, bool filter)
{
    static const char *lv[] = {"a", "b", "$x", "", "ab", "+", "#"};
    int nlv = filter ? 7 : 5;
    size_t o;

    do { /* topics and filters are never empty [MQTT-4.7.3-1] */
        int k = 1 + (int)(rnd(s) % 4);
        o = 0;
        for (int i = 0; i < k; i++) {
            const char *l = lv[rnd(s) % (uint32_t)nlv];
            if (l[0] == '#' && i != k - 1)
                l = "+";
            o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "/" : "", l);
        }
    } while (o == 0);
}

#endif
