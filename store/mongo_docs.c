/*
 * MongoDB backend: documents -> store structs. Pure functions over one document (no
 * client, no store), so fuzz/fuzz_mongo_docs.c can feed them anything.
 *
 *   sessions      { _id: utf8 client id, d: document (opaque session, store.h) }
 *   session_msgs  { _id: { c, m }, c: utf8 client id, m: number mid, q: number qos,
 *                   r: bool retain, s: number state, p: number pid,
 *                   t: binary topic, b: binary payload }
 *   retained      { _id: utf8 topic, q: number qos, b: binary payload }
 *
 * Numbers are accepted as int32, int64 or double (a server or a migration tool may
 * change the type) and range-checked after bson_iter_as_int64.
 */
#include <string.h>

#include "store/mongo_int.h"

/* The number at @key within [lo, hi]. */
static bool num(const bson_t *doc, const char *key, int64_t lo, int64_t hi, int64_t *v)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_NUMBER(&it))
        return false;
    if (BSON_ITER_HOLDS_DOUBLE(&it)) {
        double d = bson_iter_double(&it);
        /* NaN, fractions and values beyond int64 are not ids */
        /* 2^63 itself does not fit: the bound is exclusive */
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != (double)(int64_t)d)
            return false;
    }
    *v = bson_iter_as_int64(&it);
    return *v >= lo && *v <= hi;
}

static bool bin(const bson_t *doc, const char *key, const uint8_t **p, uint32_t *len)
{
    bson_iter_t it;
    bson_subtype_t sub;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_BINARY(&it))
        return false;
    bson_iter_binary(&it, &sub, len, p);
    return *p || *len == 0;
}

static bool utf8(const bson_t *doc, const char *key, const char **s, uint32_t *len)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    *s = bson_iter_utf8(&it, len);
    return *s && *len > 0 && strlen(*s) == *len; /* no embedded NUL */
}

bool store__mg_session_decode(const bson_t *doc, const char **client_id, bson_t *sess)
{
    bson_iter_t it;
    uint32_t idlen, len;
    const uint8_t *data;
    if (!utf8(doc, "_id", client_id, &idlen))
        return false;
    if (!bson_iter_init_find(&it, doc, "d") || !BSON_ITER_HOLDS_DOCUMENT(&it))
        return false;
    bson_iter_document(&it, &len, &data);
    size_t off;
    /* the broker iterates it freely afterwards: validate it whole here */
    return data && bson_init_static(sess, data, len) &&
           bson_validate(sess, BSON_VALIDATE_NONE, &off);
}

bool store__mg_msg_decode(const bson_t *doc, store_msg *m)
{
    static const uint8_t empty[1];
    int64_t mid, qos, state, pid;
    const uint8_t *topic, *payload;
    uint32_t tlen, plen;
    bson_iter_t it;

    if (!num(doc, "m", 1, INT64_MAX, &mid) || !num(doc, "q", 0, 2, &qos) ||
        !num(doc, "s", 0, STORE_MSG_RELEASED, &state) || !num(doc, "p", 0, UINT16_MAX, &pid))
        return false;
    if (!bson_iter_init_find(&it, doc, "r") || !BSON_ITER_HOLDS_BOOL(&it))
        return false;
    bool retain = bson_iter_bool(&it);
    if (!bin(doc, "t", &topic, &tlen) || !bin(doc, "b", &payload, &plen))
        return false;
    if (tlen == 0 || tlen > UINT16_MAX)
        return false;
    *m = (store_msg){.mid = (uint64_t)mid,
                     .qos = (uint8_t)qos,
                     .retain = retain,
                     .state = (uint8_t)state,
                     .pid = (uint16_t)pid,
                     .topic = topic,
                     .topic_len = (uint16_t)tlen,
                     .payload = payload ? payload : empty,
                     .payload_len = plen};
    return true;
}

bool store__mg_retained_decode(const bson_t *doc, store_retained *r)
{
    const char *topic;
    const uint8_t *payload;
    uint32_t tlen, plen;
    int64_t qos;

    if (!utf8(doc, "_id", &topic, &tlen) || tlen > UINT16_MAX || !num(doc, "q", 0, 2, &qos))
        return false;
    /* [MQTT-3.3.1-10] an empty payload is never stored: such a document is damaged */
    if (!bin(doc, "b", &payload, &plen) || plen == 0)
        return false;
    *r = (store_retained){.topic = (const uint8_t *)topic,
                          .topic_len = (uint16_t)tlen,
                          .qos = (uint8_t)qos,
                          .payload = payload,
                          .payload_len = plen};
    return true;
}

/*   codes   { _id: { u, k }, u: utf8 user id, k: kind, h: binary hash, x: number expires_at,
 *             exp: date (TTL), a: number attempts }
 *   tokens  { _id: binary SHA-256, u: utf8 user id, f: utf8 family, k: kind,
 *             x: number expires_at, exp: date (TTL), r: bool revoked } */

bool store__mg_code_decode(const bson_t *doc, store_code *out)
{
    const uint8_t *h;
    uint32_t hlen;
    int64_t x, a;
    if (!bin(doc, "h", &h, &hlen) || hlen == 0 || hlen > STORE_HASH_MAX ||
        !num(doc, "x", INT64_MIN, INT64_MAX, &x) || !num(doc, "a", 0, INT32_MAX, &a))
        return false;
    memcpy(out->hash, h, hlen);
    out->hash_len = hlen;
    out->expires_at = x;
    out->attempts = (int32_t)a;
    return true;
}

/* Copies the UTF-8 @key of @doc into @dst (1..cap-1 bytes). */
static bool str_into(const bson_t *doc, const char *key, char *dst, size_t cap)
{
    const char *s;
    uint32_t len;
    if (!utf8(doc, key, &s, &len) || len >= cap)
        return false;
    memcpy(dst, s, len + 1);
    return true;
}

bool store__mg_token_decode(const bson_t *doc, store_token *out)
{
    int64_t k, x;
    bson_iter_t it;
    if (!str_into(doc, "u", out->user_id, sizeof out->user_id) ||
        !str_into(doc, "f", out->family, sizeof out->family) ||
        !num(doc, "k", STORE_TOKEN_ACCESS, STORE_TOKEN_REFRESH, &k) ||
        !num(doc, "x", INT64_MIN, INT64_MAX, &x))
        return false;
    if (!bson_iter_init_find(&it, doc, "r") || !BSON_ITER_HOLDS_BOOL(&it))
        return false;
    out->kind = (int)k;
    out->expires_at = x;
    out->revoked = bson_iter_bool(&it);
    return true;
}
