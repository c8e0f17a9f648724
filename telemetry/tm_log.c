/*
 * tm_log — device log line parser (telemetry/tm_log.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "telemetry/tm_log.h"
#include "telemetry/tm_parse.h"

static const char *const levels[] = {"debug", "info", "warn", "error"};

int tm_log_level_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, levels[i]))
            return i;
    return -1;
}

const char *tm_log_level_name(int level) { return levels[level & 3]; }

/* Length of the valid UTF-8 sequence at @p (@n bytes left), or 0 when it is not one. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || len > n || c == 0 || c == 0xC0 || c == 0xC1 || c > 0xF4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Copies @n bytes of UTF-8 text into l->msg, cut to @max with the marker. 0, or <0 with
 * "bad_utf8" / "empty". */
static int take_msg(tm_log_line *l, const uint8_t *p, size_t n, size_t max, const char **why)
{
    size_t keep = 0, cutlen = sizeof TM_LOG_CUT - 1, budget = n <= max ? n : max - cutlen;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(p + i, n - i);
        if (!k) {
            *why = "bad_utf8";
            return -1;
        }
        if (i + k <= budget)
            keep = i + k;
        i += k;
    }
    while (keep > 0 && (p[keep - 1] == '\n' || p[keep - 1] == '\r') && n <= max)
        keep--, n--; /* a trailing newline is not part of the line */
    if (keep == 0) {
        *why = "empty";
        return -1;
    }
    l->cut = n > max;
    l->len = keep + (l->cut ? cutlen : 0);
    if (!(l->msg = malloc(l->len + 1))) {
        *why = "nomem";
        return -1;
    }
    memcpy(l->msg, p, keep);
    if (l->cut)
        memcpy(l->msg + keep, TM_LOG_CUT, cutlen);
    l->msg[l->len] = '\0';
    return 0;
}

/* {"level"?, "msg", "ts"?}: nothing else. */
static int from_json(tm_log_line *l, const uint8_t *p, size_t n, size_t max, const char **why)
{
    bson_t doc;
    json_err je;
    const char *msg = NULL, *level = NULL;
    size_t mlen = 0;
    bson_iter_t it;
    if (json_parse(p, n, &doc, &je) < 0) {
        *why = "bad_json";
        return -1;
    }
    int rc = -1;
    *why = "bad_json";
    bson_iter_init(&it, &doc);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        uint32_t len;
        if (!strcmp(k, "msg") && BSON_ITER_HOLDS_UTF8(&it)) {
            msg = bson_iter_utf8(&it, &len);
            mlen = len;
        } else if (!strcmp(k, "level") && BSON_ITER_HOLDS_UTF8(&it)) {
            level = bson_iter_utf8(&it, NULL);
        } else if (!strcmp(k, "ts") && (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it))) {
            l->ts = bson_iter_as_int64(&it);
            if (l->ts < 1 || l->ts > TM_TS_MAX) {
                *why = "bad_ts";
                goto out;
            }
        } else {
            goto out;
        }
    }
    if (level && (l->level = tm_log_level_parse(level)) < 0) {
        *why = "bad_level";
        goto out;
    }
    if (!msg)
        goto out;
    rc = take_msg(l, (const uint8_t *)msg, mlen, max, why);
out:
    bson_destroy(&doc);
    return rc;
}

int tm_log_parse(const uint8_t *p, size_t n, int64_t now_ms, size_t max_len, tm_log_line *out,
                 char *reason, size_t reason_len)
{
    const char *why = NULL;
    size_t i = 0;
    memset(out, 0, sizeof *out);
    out->level = TM_LOG_INFO;
    out->ts = now_ms;
    if (max_len < TM_LOG_LEN_MIN)
        max_len = TM_LOG_LEN_MIN;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    int rc = i < n && p[i] == '{' ? from_json(out, p, n, max_len, &why)
                                  : take_msg(out, p, n, max_len, &why);
    if (rc < 0) {
        tm_log_free(out);
        snprintf(reason, reason_len, "%s", why ? why : "bad_json");
    }
    return rc;
}

void tm_log_free(tm_log_line *l)
{
    free(l->msg);
    memset(l, 0, sizeof *l);
}
