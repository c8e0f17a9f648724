/*
 * devdir_load — filling the directory from the store at start-up, and the text form of a
 * secret hash in the device document ("sha256:" + 64 lower-case hex digits).
 */
#include <bson/bson.h>
#include <string.h>

#include "ident/devdir.h"

#define PREFIX     "sha256:"
#define PREFIX_LEN 7

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int devdir_secret_parse(const char *s, uint8_t out[DEVDIR_SECRET_HASH])
{
    if (!s || strlen(s) != PREFIX_LEN + 2 * DEVDIR_SECRET_HASH || memcmp(s, PREFIX, PREFIX_LEN))
        return -1;
    for (size_t i = 0; i < DEVDIR_SECRET_HASH; i++) {
        int hi = hexval(s[PREFIX_LEN + 2 * i]), lo = hexval(s[PREFIX_LEN + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void devdir_secret_format(const uint8_t hash[DEVDIR_SECRET_HASH], char out[7 + 64 + 1])
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, PREFIX, PREFIX_LEN);
    for (size_t i = 0; i < DEVDIR_SECRET_HASH; i++) {
        out[PREFIX_LEN + 2 * i] = hex[hash[i] >> 4];
        out[PREFIX_LEN + 2 * i + 1] = hex[hash[i] & 15];
    }
    out[PREFIX_LEN + 2 * DEVDIR_SECRET_HASH] = '\0';
}

static const char *doc_str(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

static int load_one(void *arg, const bson_t *doc)
{
    devdir *d = arg;
    const char *id = doc_str(doc, "_id"), *owner = doc_str(doc, "owner_id");
    uint8_t h[DEVDIR_SECRET_HASH];
    bool has = devdir_secret_parse(doc_str(doc, DEVDIR_SECRET_FIELD), h) == 0;
    if (!id || !owner)
        return 0; /* not a device we can authenticate; the store reported it */
    return devdir_put(d, id, owner, has ? h : NULL) < 0 ? STORE_ENOMEM : 0;
}

int devdir_load(devdir *d, store_tx *tx)
{
    store_device_filter f = {.limit = STORE_PAGE_MAX};
    store_page pg;
    char after[STORE_ID_MAX + 1] = "";
    do {
        f.after = after[0] ? after : NULL;
        int rc = store_device_list_all(tx, &f, load_one, d, &pg);
        if (rc < 0)
            return rc;
        memcpy(after, pg.last_id, sizeof after);
    } while (pg.more);
    return 0;
}
