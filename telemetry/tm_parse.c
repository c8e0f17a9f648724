/*
 * tm_parse — telemetry payload parser (telemetry/tm_parse.h). The JSON is read by json_parse
 * (common/json.h: strict RFC 8259, duplicate keys refused); a batch, whose top level is an
 * array, is wrapped as {"b": [...]} first because json_parse wants an object.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "telemetry/tm_parse.h"

typedef struct parse_ctx {
    tm_batch *b;
    size_t cap, max;
    int64_t now;
    tm_err *e;
} parse_ctx;

static int fail(parse_ctx *c, const char *reason, const char *key)
{
    snprintf(c->e->reason, sizeof c->e->reason, "%s", reason);
    snprintf(c->e->key, sizeof c->e->key, "%s", key ? key : "");
    return -1;
}

bool tm_key_ok(const char *s, size_t n)
{
    if (n == 0 || n > TM_KEY_MAX || (n == 2 && !memcmp(s, "ts", 2)))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

/* The ts at @it (an integral number in 1..2^53) into *@ts; false when it is not one. */
static bool ts_of(const bson_iter_t *it, int64_t *ts)
{
    double d;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        *ts = bson_iter_int32(it);
        break;
    case BSON_TYPE_INT64:
        *ts = bson_iter_int64(it);
        break;
    case BSON_TYPE_DOUBLE:
        d = bson_iter_double(it);
        /* in range first, so the cast is defined; then integral (no libm needed) */
        if (!(d >= 1 && d <= (double)TM_TS_MAX) || (double)(int64_t)d != d)
            return false;
        *ts = (int64_t)d;
        break;
    default:
        return false;
    }
    return *ts >= 1 && *ts <= TM_TS_MAX;
}

static tm_point *next_point(parse_ctx *c)
{
    if (c->b->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        tm_point *p = realloc(c->b->pts, cap * sizeof *p);
        if (!p)
            return NULL;
        c->b->pts = p;
        c->cap = cap;
    }
    return &c->b->pts[c->b->n++];
}

/* One key/value at @it, stamped @ts. */
static int add_value(parse_ctx *c, const bson_iter_t *it, int64_t ts)
{
    const char *key = bson_iter_key(it);
    if (!tm_key_ok(key, strlen(key)))
        return fail(c, "bad_key", key);
    if (c->b->n == c->max)
        return fail(c, "too_many", key);
    tm_point pt = {.ts = ts, .key = key};
    uint32_t len = 0;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_DOUBLE:
        pt.num = bson_iter_double(it);
        if (!isfinite(pt.num))
            return fail(c, "bad_value", key);
        break;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        pt.num = (double)bson_iter_as_int64(it);
        break;
    case BSON_TYPE_BOOL:
        pt.type = TM_BOOL;
        pt.num = bson_iter_bool(it) ? 1 : 0;
        break;
    case BSON_TYPE_UTF8:
        pt.type = TM_STR;
        pt.str = bson_iter_utf8(it, &len);
        if (len > TM_STR_MAX || strlen(pt.str) != len)
            return fail(c, "bad_value", key);
        break;
    default:
        return fail(c, "bad_value", key);
    }
    tm_point *slot = next_point(c);
    if (!slot)
        return fail(c, "nomem", NULL);
    *slot = pt;
    return 0;
}

/* The ts field of the object @obj (absent: now). */
static int object_ts(parse_ctx *c, const bson_iter_t *obj, int64_t *ts)
{
    bson_iter_t it = *obj;
    *ts = c->now;
    if (bson_iter_find(&it, "ts") && !ts_of(&it, ts))
        return fail(c, "bad_ts", NULL);
    return 0;
}

/* {"ts"?, key: value, ...}: every field but ts is a value. */
static int flat_object(parse_ctx *c, const bson_iter_t *obj)
{
    int64_t ts;
    if (object_ts(c, obj, &ts) < 0)
        return -1;
    bson_iter_t it = *obj;
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "ts") && add_value(c, &it, ts) < 0)
            return -1;
    return 0;
}

/* A batch element {"ts"?, "values": {...}} (nothing else). */
static int batch_item(parse_ctx *c, bson_iter_t *item)
{
    bson_iter_t obj, it, vals;
    int64_t ts;
    if (!BSON_ITER_HOLDS_DOCUMENT(item) || !bson_iter_recurse(item, &obj))
        return fail(c, "bad_json", NULL);
    if (object_ts(c, &obj, &ts) < 0)
        return -1;
    it = obj;
    bool have = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!strcmp(k, "ts"))
            continue;
        if (strcmp(k, "values") || !BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &vals))
            return fail(c, "bad_json", k);
        have = true;
        while (bson_iter_next(&vals))
            if (add_value(c, &vals, ts) < 0)
                return -1;
    }
    return have ? 0 : fail(c, "bad_json", "values");
}

static int batch(parse_ctx *c, const bson_iter_t *top)
{
    bson_iter_t it = *top, arr;
    if (!bson_iter_find(&it, "b") || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
        return fail(c, "bad_json", NULL);
    while (bson_iter_next(&arr))
        if (batch_item(c, &arr) < 0)
            return -1;
    return 0;
}

/* The first byte that is not JSON whitespace, or @n. */
static size_t skip_ws(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* json_parse of @p, or of {"b": @p} when @wrap. */
static int parse_json(const uint8_t *p, size_t n, bool wrap, bson_t *doc)
{
    json_err je;
    if (!wrap)
        return json_parse(p, n, doc, &je);
    uint8_t *w = malloc(n + 7);
    if (!w)
        return -1;
    memcpy(w, "{\"b\":", 5);
    memcpy(w + 5, p, n);
    w[n + 5] = '}';
    int rc = json_parse(w, n + 6, doc, &je);
    free(w);
    return rc;
}

int tm_parse(const uint8_t *p, size_t n, int64_t now_ms, size_t max_points, tm_batch *out,
             tm_err *e)
{
    parse_ctx c = {.b = out, .max = max_points ? max_points : TM_POINTS_DEF, .now = now_ms, .e = e};
    bson_iter_t top;
    memset(out, 0, sizeof *out);
    memset(e, 0, sizeof *e);
    size_t lead = skip_ws(p, n);
    bool wrap = lead < n && p[lead] == '[';
    int rc = -1;
    if (!(out->doc = malloc(sizeof *out->doc)))
        return fail(&c, "nomem", NULL);
    if (parse_json(p, n, wrap, out->doc) < 0) {
        free(out->doc);
        out->doc = NULL;
        return fail(&c, "bad_json", NULL);
    }
    if (!bson_iter_init(&top, out->doc)) {
        fail(&c, "bad_json", NULL);
        goto out;
    }
    rc = wrap ? batch(&c, &top) : flat_object(&c, &top);
    if (rc == 0 && out->n == 0)
        rc = fail(&c, "empty", NULL);
out:
    if (rc < 0)
        tm_batch_free(out);
    return rc;
}

void tm_batch_free(tm_batch *b)
{
    if (b->doc) {
        bson_destroy(b->doc);
        free(b->doc);
    }
    free(b->pts);
    memset(b, 0, sizeof *b);
}
