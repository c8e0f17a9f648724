/*
 * UTF-8 and topic syntax of MQTT 3.1.1 (1.5.3, 4.7).
 *
 *   well-formed UTF-8 (Unicode table 3-7), as [MQTT-1.5.3-1] requires:
 *     U+0080..U+07FF     C2..DF 80..BF
 *     U+0800..U+0FFF     E0     A0..BF 80..BF        (E0 80..9F would be overlong)
 *     U+1000..U+CFFF     E1..EC 80..BF 80..BF
 *     U+D000..U+D7FF     ED     80..9F 80..BF        (ED A0..BF are surrogates)
 *     U+E000..U+FFFF     EE..EF 80..BF 80..BF
 *     U+10000..U+3FFFF   F0     90..BF 80..BF 80..BF (F0 80..8F would be overlong)
 *     U+40000..U+FFFFF   F1..F3 80..BF 80..BF 80..BF
 *     U+100000..U+10FFFF F4     80..8F 80..BF 80..BF (above is not Unicode)
 *   C0, C1 (overlong 2-byte) and F5..FF never occur; U+0000 is banned [MQTT-1.5.3-2].
 *
 *   topic name    "a/b/c"   levels split by '/', empty levels allowed, no '+' or '#'
 *   topic filter  "a/+/#"   '+' fills one whole level, '#' is the whole last level
 *
 * '/', '+', '#' and NUL are ASCII and can never be part of a multi-byte sequence, so the
 * syntax checks can look at single bytes after (or while) validating the encoding.
 *
 * Names are checked on every PUBLISH, so their scan tests 8 bytes per step for "plain"
 * (ASCII, not NUL, not a wildcard) and only drops to byte steps around other bytes.
 */
#include "mqtt/mqtt_topic.h"

#include <string.h>

#include "mqtt/mqtt_codec.h"

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Non-zero iff some byte of @v is 0 (exact as a whole, whichever bytes it flags). */
static inline uint64_t any_zero_byte(uint64_t v) { return (v - ONES) & ~v & HIGH; }

static inline uint64_t any_byte_eq(uint64_t v, uint8_t b) { return any_zero_byte(v ^ (ONES * b)); }

/* Length of the well-formed sequence at @p (first byte >= 0x80), or 0 if it is not. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];

    if (c < 0xC2 || c > 0xF4) /* stray continuation, overlong C0/C1, beyond U+10FFFF */
        return 0;
    if (c < 0xE0)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
            return 0; /* overlong; surrogate [MQTT-1.5.3-1] */
        return 3;
    }
    if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
        return 0;
    if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
        return 0; /* overlong; above U+10FFFF */
    return 4;
}

/* One pass over @p: valid UTF-8, no U+0000 and, if @no_wild, no '+' or '#'. Inlined with a
 * constant @no_wild so each caller gets its own specialised loop. */
static inline bool scan(const uint8_t *p, size_t n, bool no_wild)
{
    size_t i = 0;

    while (i < n) {
        if (n - i >= 8) {
            uint64_t v = load64(p + i);
            uint64_t odd = (v & HIGH) | any_zero_byte(v);
            if (no_wild)
                odd |= any_byte_eq(v, '+') | any_byte_eq(v, '#');
            if (!odd) {
                i += 8;
                continue;
            }
        }
        uint8_t c = p[i];
        if (c == 0) /* [MQTT-1.5.3-2] */
            return false;
        if (no_wild && (c == '+' || c == '#')) /* [MQTT-3.3.2-2] */
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_seq_len(p + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

/* At most MQTT_MAX_TOPIC_LEVELS levels, i.e. at most MAX - 1 separators. */
static bool levels_ok(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    size_t seps = 0;

    /* n bytes hold at most n separators: short topics need no counting. */
    if (n < MQTT_MAX_TOPIC_LEVELS)
        return true;
    while ((p = memchr(p, '/', (size_t)(end - p))) != NULL) {
        if (++seps >= MQTT_MAX_TOPIC_LEVELS)
            return false;
        p++;
    }
    return true;
}

bool mqtt_utf8_valid(const uint8_t *p, size_t n) { return scan(p, n, false); }

bool mqtt_topic_name_valid(const uint8_t *p, size_t n)
{
    /* [MQTT-4.7.3-1] at least one character */
    return n > 0 && scan(p, n, true) && levels_ok(p, n);
}

bool mqtt_topic_filter_valid(const uint8_t *p, size_t n)
{
    size_t seps = 0;

    if (n == 0 || !scan(p, n, false)) /* [MQTT-4.7.3-1] */
        return false;
    /* Filters are rarer than names: one plain byte loop does depth and wildcard placement. */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '/' && ++seps >= MQTT_MAX_TOPIC_LEVELS)
            return false;
        if (c != '+' && c != '#')
            continue;
        /* A wildcard must start its level... */
        if (i > 0 && p[i - 1] != '/') /* [MQTT-4.7.1-2] [MQTT-4.7.1-3] */
            return false;
        /* ...'#' must be the last character, '+' must end its level. */
        if (c == '#' && i + 1 != n) /* [MQTT-4.7.1-2] */
            return false;
        if (c == '+' && i + 1 < n && p[i + 1] != '/') /* [MQTT-4.7.1-3] */
            return false;
    }
    return true;
}

bool mqtt_topic_match(const uint8_t *f, size_t fn, const uint8_t *t, size_t tn)
{
    size_t i = 0, j = 0;

    /* [MQTT-4.7.2-1] a leading wildcard never matches a '$' topic */
    if (tn > 0 && t[0] == '$' && fn > 0 && (f[0] == '+' || f[0] == '#'))
        return false;
    for (;;) {
        /* Both cursors are at the start of a level here. */
        if (i < fn && f[i] == '#') /* [MQTT-4.7.1-2] this level and all below */
            return true;
        if (i < fn && f[i] == '+') {
            i++;
            while (j < tn && t[j] != '/')
                j++;
        } else {
            while (i < fn && j < tn && f[i] == t[j] && f[i] != '/') {
                i++;
                j++;
            }
            if ((i < fn && f[i] != '/') || (j < tn && t[j] != '/'))
                return false;
        }
        if (i == fn)
            return j == tn;
        if (j == tn) /* "a/#" also matches the parent "a" [MQTT-4.7.1-2] */
            return fn - i == 2 && f[i + 1] == '#';
        i++; /* both sit on '/' */
        j++;
    }
}

#define SHARE_PREFIX     "$share/"
#define SHARE_PREFIX_LEN (sizeof SHARE_PREFIX - 1)

int mqtt_share_split(const uint8_t *f, size_t n, mqtt_share *out)
{
    if (n < SHARE_PREFIX_LEN || memcmp(f, SHARE_PREFIX, SHARE_PREFIX_LEN) != 0)
        return 0;
    const uint8_t *g = f + SHARE_PREFIX_LEN;
    size_t rest = n - SHARE_PREFIX_LEN;
    const uint8_t *slash = memchr(g, '/', rest);
    if (!slash || slash == g)
        return -1; /* no filter, or an empty group name */
    size_t glen = (size_t)(slash - g);
    /* [MQTT-4.8.2-2] the ShareName must not contain '/', '+' or '#' */
    if (memchr(g, '+', glen) || memchr(g, '#', glen))
        return -1;
    size_t flen = rest - glen - 1;
    if (flen == 0)
        return -1; /* [MQTT-4.8.2-1] a filter must follow the ShareName */
    *out = (mqtt_share){g, glen, slash + 1, flen};
    return 1;
}
