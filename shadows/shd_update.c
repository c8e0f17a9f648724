/*
 * shd_update — an update request against the stored shadow (shadow.h, docs/shadows.md).
 *
 *   request   {state: {desired: {...}|null, reported: {...}|null}, version?: N,
 *              clientToken?: "..."}                       (other fields are ignored)
 *   accepted  {state: <the request's state>, metadata: <timestamps of its leaves>,
 *              version, timestamp, clientToken?}
 *   delta     {state: <delta>, metadata, version, timestamp, clientToken?}  (when the
 *              request set desired and desired still differs from reported)
 *   documents {previous: {state, metadata, version} (absent for a new shadow),
 *              current: {state, metadata, version}, timestamp, clientToken?}
 *   rejected  {code, message, timestamp, clientToken?}: 400 bad request, 409 version
 *              conflict, 413 too large
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "shadows/shd_int.h"

typedef struct upd {
    bson_t req, state;
    bool has_desired, has_reported;   /* present in the request (maybe null) */
    bool null_desired, null_reported; /* present as null */
    bson_t desired, reported;         /* static views when present and objects */
} upd;

/* One section of the request's state: absent, null or an object within the limits. */
static int section(upd *u, const char *key, bool *has, bool *null, bson_t *out,
                   const shd_limits *lim, shd_result *res, int64_t now)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, &u->state, key))
        return 0;
    *has = true;
    if (BSON_ITER_HOLDS_NULL(&it)) {
        *null = true;
        return 0;
    }
    if (!shd__sub(&u->state, key, out))
        return shd__reject(res, 400,
                           key[0] == 'd' ? "Invalid desired node: must be an object"
                                         : "Invalid reported node: must be an object",
                           now);
    if (!shd__within(out, lim))
        return shd__reject(res, 400, "JSON contains too many levels of nesting or keys", now);
    return 0;
}

/* The state node: an object of desired / reported only. */
static int state_of(upd *u, const shd_limits *lim, shd_result *res, int64_t now)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, &u->req, "state"))
        return shd__reject(res, 400, "Missing required node: state", now);
    if (!shd__sub(&u->req, "state", &u->state))
        return shd__reject(res, 400, "State node must be an object", now);
    bson_iter_init(&it, &u->state);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "desired") != 0 && strcmp(k, "reported") != 0) {
            snprintf(res->message, sizeof res->message, "State contains an invalid node: '%.64s'",
                     k);
            return shd__reject(res, 400, res->message, now);
        }
    }
    if (section(u, "desired", &u->has_desired, &u->null_desired, &u->desired, lim, res, now) < 0 ||
        section(u, "reported", &u->has_reported, &u->null_reported, &u->reported, lim, res, now) <
            0)
        return -1;
    if (!u->has_desired && !u->has_reported)
        return shd__reject(res, 400, "State node must have desired or reported", now);
    return 0;
}

/* A merged section of the new document (omitted when it ends up empty). */
static void new_section(const bson_t *cur, const char *key, bool has, bool null,
                        const bson_t *patch, int64_t now, bson_t *st, bson_t *md)
{
    bson_t cs, cm, ostate, ometa, o, m;
    bool has_c = shd__sub(cur, "state", &ostate) && shd__sub(&ostate, key, &cs);
    bool has_cm = shd__sub(cur, "metadata", &ometa) && shd__sub(&ometa, key, &cm);
    if (null)
        return;
    if (!has) {
        if (has_c && !bson_empty(&cs)) {
            BSON_APPEND_DOCUMENT(st, key, &cs);
            BSON_APPEND_DOCUMENT(md, key, has_cm ? &cm : &(bson_t)BSON_INITIALIZER);
        }
        return;
    }
    bson_init(&o);
    bson_init(&m);
    shd__merge(has_c ? &cs : NULL, has_cm ? &cm : NULL, patch, now, &o, &m);
    if (!bson_empty(&o)) {
        BSON_APPEND_DOCUMENT(st, key, &o);
        BSON_APPEND_DOCUMENT(md, key, &m);
    }
    bson_destroy(&o);
    bson_destroy(&m);
}

static void build_next(const bson_t *cur, const upd *u, int64_t version, int64_t now, bson_t *next)
{
    bson_t st, md;
    bson_t state, meta;
    bson_init(&state);
    bson_init(&meta);
    new_section(cur, "desired", u->has_desired, u->null_desired, &u->desired, now, &state, &meta);
    new_section(cur, "reported", u->has_reported, u->null_reported, &u->reported, now, &state,
                &meta);
    bson_init(next);
    BSON_APPEND_DOCUMENT_BEGIN(next, "state", &st);
    bson_concat(&st, &state);
    bson_append_document_end(next, &st);
    BSON_APPEND_DOCUMENT_BEGIN(next, "metadata", &md);
    bson_concat(&md, &meta);
    bson_append_document_end(next, &md);
    BSON_APPEND_INT64(next, "version", version);
    BSON_APPEND_INT64(next, "timestamp", now);
    bson_destroy(&state);
    bson_destroy(&meta);
}

static void add_token(bson_t *d, const shd_result *res)
{
    if (res->token[0])
        BSON_APPEND_UTF8(d, "clientToken", res->token);
}

/* {state, metadata, version} of a stored shadow under @key. */
static void snapshot(bson_t *d, const char *key, const bson_t *doc)
{
    bson_t s, st, md;
    BSON_APPEND_DOCUMENT_BEGIN(d, key, &s);
    if (shd__sub(doc, "state", &st))
        BSON_APPEND_DOCUMENT(&s, "state", &st);
    if (shd__sub(doc, "metadata", &md))
        BSON_APPEND_DOCUMENT(&s, "metadata", &md);
    BSON_APPEND_INT64(&s, "version", shd_version(doc));
    bson_append_document_end(d, &s);
}

static void accepted(const upd *u, int64_t version, int64_t now, shd_result *res)
{
    bson_t md, m;
    BSON_APPEND_DOCUMENT(&res->reply, "state", &u->state);
    BSON_APPEND_DOCUMENT_BEGIN(&res->reply, "metadata", &md);
    if (u->has_desired && !u->null_desired) {
        BSON_APPEND_DOCUMENT_BEGIN(&md, "desired", &m);
        bson_t ignore = BSON_INITIALIZER;
        shd__fresh(&u->desired, now, &ignore, &m);
        bson_destroy(&ignore);
        bson_append_document_end(&md, &m);
    }
    if (u->has_reported && !u->null_reported) {
        BSON_APPEND_DOCUMENT_BEGIN(&md, "reported", &m);
        bson_t ignore = BSON_INITIALIZER;
        shd__fresh(&u->reported, now, &ignore, &m);
        bson_destroy(&ignore);
        bson_append_document_end(&md, &m);
    }
    bson_append_document_end(&res->reply, &md);
    BSON_APPEND_INT64(&res->reply, "version", version);
    BSON_APPEND_INT64(&res->reply, "timestamp", now);
    add_token(&res->reply, res);
}

/* The delta document, when the request set desired and it still differs from reported. */
static void delta_doc(const upd *u, const bson_t *next, int64_t now, shd_result *res)
{
    bson_t st, md, d, r, dm, o = BSON_INITIALIZER, om = BSON_INITIALIZER;
    if (!u->has_desired || u->null_desired || !shd__sub(next, "state", &st) ||
        !shd__sub(&st, "desired", &d))
        goto out;
    bool has_r = shd__sub(&st, "reported", &r);
    bool has_m = shd__sub(next, "metadata", &md) && shd__sub(&md, "desired", &dm);
    if (!shd__delta(&d, has_r ? &r : NULL, has_m ? &dm : NULL, &o, &om))
        goto out;
    res->has_delta = true;
    BSON_APPEND_INT64(&res->delta, "version", shd_version(next));
    BSON_APPEND_INT64(&res->delta, "timestamp", now);
    BSON_APPEND_DOCUMENT(&res->delta, "state", &o);
    BSON_APPEND_DOCUMENT(&res->delta, "metadata", &om);
    add_token(&res->delta, res);
out:
    bson_destroy(&o);
    bson_destroy(&om);
}

static void documents_doc(const bson_t *cur, const bson_t *next, int64_t now, shd_result *res)
{
    res->has_documents = true;
    if (cur)
        snapshot(&res->documents, "previous", cur);
    snapshot(&res->documents, "current", next);
    BSON_APPEND_INT64(&res->documents, "timestamp", now);
    add_token(&res->documents, res);
}

int shd_update(const bson_t *cur, const uint8_t *req, size_t len, int64_t now_s,
               const shd_limits *lim, bson_t *next, shd_result *res)
{
    upd u;
    memset(&u, 0, sizeof u);
    if (len > lim->max_size)
        return shd__reject(res, 413, "The payload exceeds the maximum size allowed", now_s);
    if (shd__request(req, len, &u.req, res, now_s) < 0)
        return -1;
    int rc = state_of(&u, lim, res, now_s);
    if (rc < 0)
        goto out;
    bson_iter_t it;
    int64_t have = shd_version(cur);
    if (bson_iter_init_find(&it, &u.req, "version")) {
        if (!BSON_ITER_HOLDS_NUMBER(&it)) {
            rc = shd__reject(res, 400, "Invalid version: must be a number", now_s);
            goto out;
        }
        if (bson_iter_as_int64(&it) != have) { /* optimistic concurrency */
            rc = shd__reject(res, 409, "Version conflict", now_s);
            goto out;
        }
    }
    build_next(cur, &u, have + 1, now_s, next);
    bson_t st;
    if (shd__sub(next, "state", &st) && shd__json_size(&st) > lim->max_size) {
        bson_destroy(next);
        rc = shd__reject(res, 413, "The shadow document exceeds the maximum size allowed", now_s);
        goto out;
    }
    res->version = have + 1;
    accepted(&u, have + 1, now_s, res);
    delta_doc(&u, next, now_s, res);
    documents_doc(cur, next, now_s, res);
    rc = 0;
out:
    bson_destroy(&u.req);
    return rc;
}
