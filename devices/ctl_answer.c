/*
 * ctl_answer — what a device's answer means for the REST caller (docs/device-protocol.md,
 * "Correlation"):
 *
 *   payload                                         status  value / error
 *   not a JSON object                               502     bad_answer
 *   "status" not an integer 100..599                502     bad_answer
 *   "error" not an object, or code/message not text 502     bad_answer
 *   "status" >= 400 or an "error" object            422     error.code ("device_error")
 *   anything else                                   200     the object minus rid/status/error
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "devices/ctl_int.h"

static void set_err(ctl__answer *a, int status, const char *code, const char *msg)
{
    a->status = status;
    snprintf(a->code, sizeof a->code, "%s", code);
    snprintf(a->msg, sizeof a->msg, "%s", msg);
}

/* A payload that is not JSON may still carry "rid":"..." (a truncated answer). */
static void rid_from_text(const uint8_t *p, size_t n, ctl__answer *a)
{
    const char *s = (const char *)p, *end = s + n;
    static const char key[] = "\"rid\"";
    for (const char *q = s; q + sizeof key - 1 <= end; q++) {
        if (memcmp(q, key, sizeof key - 1) != 0)
            continue;
        q += sizeof key - 1;
        while (q < end && (*q == ' ' || *q == ':' || *q == '\t'))
            q++;
        if (q >= end || *q++ != '"')
            return;
        const char *e = memchr(q, '"', (size_t)(end - q));
        if (!e || (size_t)(e - q) >= sizeof a->rid)
            return;
        memcpy(a->rid, q, (size_t)(e - q));
        a->rid[e - q] = '\0';
        a->has_rid = true;
        return;
    }
}

static bool is_object_text(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return i < n && p[i] == '{';
}

static int take_status(const bson_iter_t *it, int *out)
{
    int64_t v;
    if (BSON_ITER_HOLDS_INT32(it))
        v = bson_iter_int32(it);
    else if (BSON_ITER_HOLDS_INT64(it))
        v = bson_iter_int64(it);
    else if (BSON_ITER_HOLDS_DOUBLE(it)) {
        /* range first: converting an out-of-range double to an integer is undefined */
        double d = bson_iter_double(it);
        if (!(d >= 100.0 && d <= 599.0) || d != (double)(int)d)
            return -1;
        v = (int)d;
    } else
        return -1;
    if (v < 100 || v > 599)
        return -1;
    *out = (int)v;
    return 0;
}

/* "error": {"code": text?, "message": text?}. */
static int take_error(const bson_iter_t *it, ctl__answer *a)
{
    bson_iter_t sub;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub))
        return -1;
    snprintf(a->code, sizeof a->code, "device_error");
    snprintf(a->msg, sizeof a->msg, "the device reported an error");
    while (bson_iter_next(&sub)) {
        const char *k = bson_iter_key(&sub);
        bool code = !strcmp(k, "code"), msg = !strcmp(k, "message");
        if (!code && !msg)
            continue;
        if (!BSON_ITER_HOLDS_UTF8(&sub))
            return -1;
        const char *v = bson_iter_utf8(&sub, NULL);
        if (code && v[0])
            snprintf(a->code, sizeof a->code, "%s", v);
        else if (msg)
            snprintf(a->msg, sizeof a->msg, "%s", v);
    }
    return 0;
}

static void classify(const bson_t *doc, ctl__answer *a)
{
    bson_iter_t it;
    bool has_error = false;
    if (!bson_iter_init(&it, doc))
        goto bad;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!strcmp(k, "rid")) {
            if (BSON_ITER_HOLDS_UTF8(&it)) {
                uint32_t len;
                const char *v = bson_iter_utf8(&it, &len);
                if (len < sizeof a->rid) {
                    memcpy(a->rid, v, len + 1);
                    a->has_rid = true;
                }
            }
        } else if (!strcmp(k, "status")) {
            if (take_status(&it, &a->device_status) < 0)
                goto bad;
        } else if (!strcmp(k, "error")) {
            if (take_error(&it, a) < 0)
                goto bad;
            has_error = true;
        } else if (!bson_append_iter(&a->value, k, -1, &it)) {
            goto bad;
        }
    }
    if (has_error || a->device_status >= 400) {
        if (!has_error)
            set_err(a, 422, "device_error", "the device reported an error");
        a->status = 422;
        return;
    }
    a->status = 200;
    return;
bad:
    set_err(a, 502, "bad_answer", "the device's answer is malformed");
}

void ctl__answer_parse(const uint8_t *p, size_t n, ctl__answer *a)
{
    bson_t doc;
    memset(a, 0, sizeof *a);
    bson_init(&a->value);
    if (!is_object_text(p, n) || !json_parse_loose(p, n, &doc)) {
        set_err(a, 502, "bad_answer", "the device's answer is not a JSON object");
        rid_from_text(p, n, a);
        return;
    }
    classify(&doc, a);
    bson_destroy(&doc);
}

void ctl__answer_done(ctl__answer *a) { bson_destroy(&a->value); }
