/*
 * shd_limits — the size, depth and key limits of a shadow (shadow.h, docs/shadows.md):
 * checked on the request and on the state an update would produce, so a rejection never
 * leaves a partial write.
 */
#include "shadows/shd_int.h"
#include "common/json.h"

/* Walks @d at @depth (1 = the section's own keys); counts keys into *@keys. */
static bool walk(const bson_t *d, unsigned depth, const shd_limits *lim, unsigned *keys)
{
    bson_iter_t it;
    if (depth > lim->max_depth || !bson_iter_init(&it, d))
        return false;
    while (bson_iter_next(&it)) {
        if (++*keys > lim->max_keys)
            return false;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) && !BSON_ITER_HOLDS_ARRAY(&it))
            continue;
        uint32_t n;
        const uint8_t *p;
        bson_t sub;
        if (BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &n, &p);
        else
            bson_iter_array(&it, &n, &p);
        /* an array's elements count as one level, like an object's keys */
        if (!bson_init_static(&sub, p, n) || !walk(&sub, depth + 1, lim, keys))
            return false;
    }
    return true;
}

bool shd__within(const bson_t *section, const shd_limits *lim)
{
    unsigned keys = 0;
    return walk(section, 1, lim, &keys);
}

size_t shd__json_size(const bson_t *d)
{
    size_t n = 0;
    char *t = json_text(d, &n);
    if (!t)
        return 0;
    bson_free(t);
    return n;
}
