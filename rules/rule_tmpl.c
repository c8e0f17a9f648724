/*
 * rule_tmpl — "${...}" templates and the devices a rule republishes to (rules/rule_def.h).
 *
 * Rendering copies the template with every "${name}" replaced: "deviceid()", "topic()" and
 * "timestamp()" from the context, anything else looked up as a dotted path in the
 * selection. Strings go in as they are, numbers in their shortest exact form, booleans as
 * true/false, objects and arrays as JSON, a missing field as null. An unterminated "${"
 * is copied literally.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rule_def.h"

#define NAME_MAX_ 256

typedef struct out {
    char *p;
    size_t n, cap;
    bool over;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->over || o->n + n >= o->cap) {
        o->over = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void put_num(out *o, double d)
{
    char b[40];
    int k = 0;
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        k = snprintf(b, sizeof b, "%lld", (long long)d);
    } else {
        /* the shortest form that reads back as the same double (95.9, not 95.900...06) */
        for (int prec = 15; prec <= 17; prec++) {
            k = snprintf(b, sizeof b, "%.*g", prec, d);
            if (strtod(b, NULL) == d)
                break;
        }
    }
    put(o, b, (size_t)k);
}

static void put_iter(out *o, bson_iter_t *it)
{
    uint32_t n;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        const char *s = bson_iter_utf8(it, &n);
        put(o, s, n);
        return;
    }
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        put_num(o, bson_iter_as_double(it));
        return;
    case BSON_TYPE_BOOL:
        put(o, bson_iter_bool(it) ? "true" : "false", bson_iter_bool(it) ? 4 : 5);
        return;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
        const uint8_t *p;
        bson_t sub;
        if (BSON_ITER_HOLDS_DOCUMENT(it))
            bson_iter_document(it, &n, &p);
        else
            bson_iter_array(it, &n, &p);
        size_t len = 0;
        char *j = bson_init_static(&sub, p, n)
                      ? (BSON_ITER_HOLDS_DOCUMENT(it) ? bson_as_relaxed_extended_json(&sub, &len)
                                                      : bson_array_as_json(&sub, &len))
                      : NULL;
        if (j)
            put(o, j, len);
        else
            o->over = true;
        bson_free(j);
        return;
    }
    default:
        put(o, "null", 4);
    }
}

static void put_name(out *o, const char *name, const bson_t *sel, const rexpr_ctx *c)
{
    bson_iter_t it, f;
    if (!strcmp(name, "deviceid()"))
        put(o, c->device ? c->device : "", c->device ? strlen(c->device) : 0);
    else if (!strcmp(name, "topic()"))
        put(o, c->topic ? c->topic : "", c->topic ? strlen(c->topic) : 0);
    else if (!strcmp(name, "timestamp()"))
        put_num(o, (double)c->ts_ms);
    else if (sel && bson_iter_init(&it, sel) && bson_iter_find_descendant(&it, name, &f))
        put_iter(o, &f);
    else
        put(o, "null", 4);
}

int rule_render(const char *t, const bson_t *sel, const rexpr_ctx *c, char *buf, size_t cap)
{
    out o = {.p = buf, .cap = cap};
    while (*t && !o.over) {
        const char *open = strstr(t, "${");
        const char *close = open ? strchr(open + 2, '}') : NULL;
        if (!open || !close || (size_t)(close - open - 2) > NAME_MAX_) {
            put(&o, t, strlen(t));
            break;
        }
        put(&o, t, (size_t)(open - t));
        char name[NAME_MAX_ + 1];
        size_t n = (size_t)(close - open - 2);
        memcpy(name, open + 2, n);
        name[n] = '\0';
        put_name(&o, name, sel, c);
        t = close + 1;
    }
    if (o.over || cap == 0)
        return -1;
    buf[o.n] = '\0';
    return 0;
}

void rule_def_targets(const rule_def *d, void (*cb)(void *arg, const char *dev), void *arg)
{
    for (int i = 0; i < d->n_act; i++) {
        const rule_action *a = &d->act[i];
        if (a->kind != RULE_REPUBLISH)
            continue;
        const char *dev = a->topic + 7, *slash = strchr(dev, '/');
        char id[NAME_MAX_ + 1];
        size_t n = (size_t)(slash - dev);
        if (n > NAME_MAX_ || (n > 0 && memchr(dev, '$', n)))
            continue; /* "${deviceid()}": the publisher itself */
        memcpy(id, dev, n);
        id[n] = '\0';
        cb(arg, id);
    }
}
