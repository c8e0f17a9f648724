/*
 * shd_reply — the parts every operation shares: the request's clientToken, rejections,
 * and the get and delete answers (shadow.h, docs/shadows.md).
 *
 *   get/accepted     {state: {desired, reported, delta}, metadata: {desired, reported},
 *                     version, timestamp, clientToken?}
 *   delete/accepted  {version, timestamp, clientToken?}
 *   rejected         {code, message, timestamp, clientToken?}
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "shadows/shd_int.h"

void shd_result_init(shd_result *r)
{
    memset(r, 0, sizeof *r);
    bson_init(&r->reply);
    bson_init(&r->delta);
    bson_init(&r->documents);
}

void shd_result_fini(shd_result *r)
{
    bson_destroy(&r->reply);
    bson_destroy(&r->delta);
    bson_destroy(&r->documents);
}

bool shd_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > SHD_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int64_t shd_version(const bson_t *cur)
{
    bson_iter_t it;
    if (!cur || !bson_iter_init_find(&it, cur, "version") || !BSON_ITER_HOLDS_NUMBER(&it))
        return 0;
    return bson_iter_as_int64(&it);
}

int shd__reject(shd_result *res, int code, const char *msg, int64_t now_s)
{
    res->code = code;
    if (msg != res->message)
        snprintf(res->message, sizeof res->message, "%s", msg);
    bson_reinit(&res->reply);
    BSON_APPEND_INT32(&res->reply, "code", code);
    BSON_APPEND_UTF8(&res->reply, "message", res->message);
    BSON_APPEND_INT64(&res->reply, "timestamp", now_s);
    if (res->token[0])
        BSON_APPEND_UTF8(&res->reply, "clientToken", res->token);
    return -1;
}

int shd__request(const uint8_t *req, size_t len, bson_t *out, shd_result *res, int64_t now_s)
{
    json_err e;
    if (len == 0) { /* get and delete may come without a body */
        bson_init(out);
        return 0;
    }
    if (json_parse(req, len, out, &e) < 0)
        return shd__reject(res, 400, "Invalid JSON", now_s);
    bson_iter_t it;
    if (!bson_iter_init_find(&it, out, "clientToken"))
        return 0;
    uint32_t n = 0;
    const char *t = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, &n) : NULL;
    if (!t || n == 0 || n > SHD_TOKEN_MAX || memchr(t, '\0', n)) {
        bson_destroy(out);
        return shd__reject(res, 400, "Invalid clientToken: a string of 1 to 64 bytes", now_s);
    }
    memcpy(res->token, t, n);
    res->token[n] = '\0';
    return 0;
}

static int not_found(shd_result *res, int64_t now_s)
{
    return shd__reject(res, 404, "No shadow exists with this name", now_s);
}

/* {desired, reported, delta} of @cur into @state. */
static void full_state(const bson_t *cur, bson_t *state)
{
    bson_t st, d, r, md, dm, o = BSON_INITIALIZER, om = BSON_INITIALIZER;
    if (!shd__sub(cur, "state", &st))
        return;
    bool has_d = shd__sub(&st, "desired", &d), has_r = shd__sub(&st, "reported", &r);
    if (has_d)
        BSON_APPEND_DOCUMENT(state, "desired", &d);
    if (has_r)
        BSON_APPEND_DOCUMENT(state, "reported", &r);
    bool has_m = shd__sub(cur, "metadata", &md) && shd__sub(&md, "desired", &dm);
    if (has_d && shd__delta(&d, has_r ? &r : NULL, has_m ? &dm : NULL, &o, &om))
        BSON_APPEND_DOCUMENT(state, "delta", &o);
    bson_destroy(&o);
    bson_destroy(&om);
}

int shd_get(const bson_t *cur, const uint8_t *req, size_t len, int64_t now_s, shd_result *res)
{
    bson_t r, st, md;
    if (shd__request(req, len, &r, res, now_s) < 0)
        return -1;
    bson_destroy(&r);
    if (!cur)
        return not_found(res, now_s);
    BSON_APPEND_DOCUMENT_BEGIN(&res->reply, "state", &st);
    full_state(cur, &st);
    bson_append_document_end(&res->reply, &st);
    if (shd__sub(cur, "metadata", &md))
        BSON_APPEND_DOCUMENT(&res->reply, "metadata", &md);
    res->version = shd_version(cur);
    BSON_APPEND_INT64(&res->reply, "version", res->version);
    BSON_APPEND_INT64(&res->reply, "timestamp", now_s);
    if (res->token[0])
        BSON_APPEND_UTF8(&res->reply, "clientToken", res->token);
    return 0;
}

int shd_delete(const bson_t *cur, const uint8_t *req, size_t len, int64_t now_s, shd_result *res)
{
    bson_t r;
    if (shd__request(req, len, &r, res, now_s) < 0)
        return -1;
    bson_destroy(&r);
    if (!cur)
        return not_found(res, now_s);
    BSON_APPEND_INT64(&res->reply, "version", shd_version(cur));
    BSON_APPEND_INT64(&res->reply, "timestamp", now_s);
    if (res->token[0])
        BSON_APPEND_UTF8(&res->reply, "clientToken", res->token);
    return 0;
}
