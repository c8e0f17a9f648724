/*
 * shd_merge — merging a partial state into a stored section, with its metadata
 * (shadow.h rules). For every key:
 *
 *   old has   patch has        result                     metadata
 *   -         -                -                          -
 *   v         -                v                          old's
 *   any       null             deleted                    deleted
 *   {object}  {object}         merged key by key          merged key by key
 *   any       v (not null)     v (nulls inside dropped)   {timestamp} per leaf of v
 *
 * Arrays are leaves: they replace whole, and their metadata is one {timestamp}.
 */
#include <string.h>

#include "shadows/shd_int.h"

static bool is_obj(const bson_iter_t *it) { return BSON_ITER_HOLDS_DOCUMENT(it); }

bool shd__sub(const bson_t *d, const char *key, bson_t *out)
{
    bson_iter_t it;
    uint32_t n;
    const uint8_t *p;
    if (!d || !bson_iter_init_find(&it, d, key) || !is_obj(&it))
        return false;
    bson_iter_document(&it, &n, &p);
    return bson_init_static(out, p, n);
}

static bool leaf_meta(bson_t *meta, const char *key, int64_t ts)
{
    bson_t m;
    return BSON_APPEND_DOCUMENT_BEGIN(meta, key, &m) && BSON_APPEND_INT64(&m, "timestamp", ts) &&
           bson_append_document_end(meta, &m);
}

/* Appends the value of @it (a patch value, not null) under its key, with its metadata. */
static bool put_new(const bson_iter_t *it, int64_t ts, bson_t *out, bson_t *meta)
{
    const char *key = bson_iter_key(it);
    if (!is_obj(it))
        return bson_append_iter(out, key, -1, it) && leaf_meta(meta, key, ts);
    bson_t sub, o, m;
    uint32_t n;
    const uint8_t *p;
    bson_iter_document(it, &n, &p);
    if (!bson_init_static(&sub, p, n) || !BSON_APPEND_DOCUMENT_BEGIN(out, key, &o))
        return false;
    if (!BSON_APPEND_DOCUMENT_BEGIN(meta, key, &m))
        return false;
    bool ok = shd__fresh(&sub, ts, &o, &m);
    ok = bson_append_document_end(out, &o) && ok;
    return bson_append_document_end(meta, &m) && ok;
}

bool shd__fresh(const bson_t *patch, int64_t ts, bson_t *out, bson_t *out_meta)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, patch))
        return false;
    while (bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_NULL(&it))
            continue;
        if (!put_new(&it, ts, out, out_meta))
            return false;
    }
    return true;
}

/* Both old and patch hold objects under @key: merge them one level down. */
static bool merge_sub(const bson_iter_t *oi, const bson_t *old_meta, const bson_iter_t *pi,
                      int64_t ts, bson_t *out, bson_t *out_meta)
{
    const char *key = bson_iter_key(pi);
    bson_t a, b, am, o, m;
    uint32_t n;
    const uint8_t *p;
    bson_iter_document(oi, &n, &p);
    bson_init_static(&a, p, n);
    bson_iter_document(pi, &n, &p);
    bson_init_static(&b, p, n);
    bool has_m = shd__sub(old_meta, key, &am);
    if (!BSON_APPEND_DOCUMENT_BEGIN(out, key, &o) || !BSON_APPEND_DOCUMENT_BEGIN(out_meta, key, &m))
        return false;
    bool ok = shd__merge(&a, has_m ? &am : NULL, &b, ts, &o, &m);
    ok = bson_append_document_end(out, &o) && ok;
    return bson_append_document_end(out_meta, &m) && ok;
}

/* Copies the old metadata of @key, if any. */
static bool keep_meta(const bson_t *old_meta, const char *key, bson_t *out_meta)
{
    bson_iter_t mi;
    if (!old_meta || !bson_iter_init_find(&mi, old_meta, key))
        return true;
    return bson_append_iter(out_meta, key, -1, &mi);
}

/* The old keys: kept, replaced, merged or deleted. */
static bool merge_old(const bson_t *old, const bson_t *old_meta, const bson_t *patch, int64_t ts,
                      bson_t *out, bson_t *out_meta)
{
    bson_iter_t oi, pi;
    if (!bson_iter_init(&oi, old))
        return false;
    while (bson_iter_next(&oi)) {
        const char *key = bson_iter_key(&oi);
        bool ok;
        if (!bson_iter_init_find(&pi, patch, key))
            ok = bson_append_iter(out, key, -1, &oi) && keep_meta(old_meta, key, out_meta);
        else if (BSON_ITER_HOLDS_NULL(&pi))
            ok = true; /* null deletes */
        else if (is_obj(&oi) && is_obj(&pi))
            ok = merge_sub(&oi, old_meta, &pi, ts, out, out_meta);
        else
            ok = put_new(&pi, ts, out, out_meta);
        if (!ok)
            return false;
    }
    return true;
}

bool shd__merge(const bson_t *old, const bson_t *old_meta, const bson_t *patch, int64_t ts,
                bson_t *out, bson_t *out_meta)
{
    if (!old)
        return shd__fresh(patch, ts, out, out_meta);
    if (!merge_old(old, old_meta, patch, ts, out, out_meta))
        return false;
    bson_iter_t pi;
    if (!bson_iter_init(&pi, patch))
        return false;
    while (bson_iter_next(&pi)) { /* the new keys */
        bson_iter_t oi;
        if (BSON_ITER_HOLDS_NULL(&pi) || bson_iter_init_find(&oi, old, bson_iter_key(&pi)))
            continue;
        if (!put_new(&pi, ts, out, out_meta))
            return false;
    }
    return true;
}
