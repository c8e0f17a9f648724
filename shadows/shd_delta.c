/*
 * shd_delta — what the device still has to do: the desired keys whose value differs
 * from reported (shadow.h). Objects compare key by key (a desired object yields only its
 * differing keys); arrays and scalars compare whole; numbers compare by value (desired
 * 1 and reported 1.0 are equal). The delta's metadata is the desired metadata of its keys.
 */
#include <string.h>

#include "shadows/shd_int.h"

static bool is_num(const bson_iter_t *it)
{
    return BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it) || BSON_ITER_HOLDS_DOUBLE(it);
}

static bool raw_eq(const bson_iter_t *a, const bson_iter_t *b)
{
    uint32_t na, nb;
    const uint8_t *pa, *pb;
    if (BSON_ITER_HOLDS_DOCUMENT(a))
        bson_iter_document(a, &na, &pa), bson_iter_document(b, &nb, &pb);
    else
        bson_iter_array(a, &na, &pa), bson_iter_array(b, &nb, &pb);
    return na == nb && memcmp(pa, pb, na) == 0;
}

bool shd__value_eq(const bson_iter_t *a, const bson_iter_t *b)
{
    if (is_num(a) && is_num(b)) {
        if (BSON_ITER_HOLDS_DOUBLE(a) || BSON_ITER_HOLDS_DOUBLE(b))
            return bson_iter_as_double(a) == bson_iter_as_double(b);
        return bson_iter_as_int64(a) == bson_iter_as_int64(b);
    }
    if (bson_iter_type(a) != bson_iter_type(b))
        return false;
    switch (bson_iter_type(a)) {
    case BSON_TYPE_UTF8: {
        uint32_t na, nb;
        const char *sa = bson_iter_utf8(a, &na), *sb = bson_iter_utf8(b, &nb);
        return na == nb && memcmp(sa, sb, na) == 0;
    }
    case BSON_TYPE_BOOL:
        return bson_iter_bool(a) == bson_iter_bool(b);
    case BSON_TYPE_NULL:
        return true;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        return raw_eq(a, b);
    default:
        return false; /* JSON gives no other types */
    }
}

static bool copy_meta(const bson_t *meta, const char *key, bson_t *out_meta)
{
    bson_iter_t mi;
    if (!meta || !bson_iter_init_find(&mi, meta, key))
        return true;
    return bson_append_iter(out_meta, key, -1, &mi);
}

/* Both hold objects under @key: the nested delta, appended only when not empty. */
static bool sub_delta(const bson_iter_t *di, const bson_iter_t *ri, const bson_t *meta, bson_t *out,
                      bson_t *out_meta)
{
    const char *key = bson_iter_key(di);
    bson_t d, r, m, o, om;
    uint32_t n;
    const uint8_t *p;
    bson_iter_document(di, &n, &p);
    bson_init_static(&d, p, n);
    bson_iter_document(ri, &n, &p);
    bson_init_static(&r, p, n);
    bool has_m = shd__sub(meta, key, &m);
    bson_init(&o);
    bson_init(&om);
    bool any = shd__delta(&d, &r, has_m ? &m : NULL, &o, &om);
    bool ok = true;
    if (any)
        ok = BSON_APPEND_DOCUMENT(out, key, &o) && BSON_APPEND_DOCUMENT(out_meta, key, &om);
    bson_destroy(&o);
    bson_destroy(&om);
    return ok;
}

bool shd__delta(const bson_t *desired, const bson_t *reported, const bson_t *meta, bson_t *out,
                bson_t *out_meta)
{
    bson_iter_t di, ri;
    if (!desired || !bson_iter_init(&di, desired))
        return false;
    while (bson_iter_next(&di)) {
        const char *key = bson_iter_key(&di);
        bool has_r = reported && bson_iter_init_find(&ri, reported, key);
        if (has_r && BSON_ITER_HOLDS_DOCUMENT(&di) && BSON_ITER_HOLDS_DOCUMENT(&ri))
            sub_delta(&di, &ri, meta, out, out_meta);
        else if (!has_r || !shd__value_eq(&di, &ri)) {
            bson_append_iter(out, key, -1, &di);
            copy_meta(meta, key, out_meta);
        }
    }
    return !bson_empty(out);
}
