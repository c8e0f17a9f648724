/*
 * idem — the Idempotency-Key header (api/idem.h): claim before the handler, store the
 * answer after, replay on a repeat.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "api/api.h"
#include "api/idem.h"
#include "api/job.h"
#include "store/store_idem.h"

typedef struct idem_key {
    store *st;
    char owner[65];
    char key[STORE_IDEM_KEY_MAX + 1];
} idem_key;

typedef struct idem_op {
    http_job j;
    idem_key k;
    char hash[STORE_IDEM_HASH_MAX + 1];
    int64_t now;
    store_idem found;
    int claim;
    void (*next)(void *arg);
    void (*drop)(void *arg);
    void *arg;
} idem_op;

/* After the answer: stores it or releases the key; frees itself on the store thread. */
typedef struct idem_save {
    store_job sj;
    idem_key k;
    int status; /* 0: release */
    uint8_t *blob;
    size_t len;
} idem_save;

/* The header's key into @out (quotes of a structured-field string removed): 0 or -1. */
static int key_parse(const char *h, char out[STORE_IDEM_KEY_MAX + 1])
{
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
        h++;
        n -= 2;
    }
    if (n == 0 || n > STORE_IDEM_KEY_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (h[i] < 0x21 || h[i] > 0x7e || h[i] == '"')
            return -1;
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

/* SHA-256 of method, URL (path and query as sent) and body, in hex. */
static int request_hash(const http_req *r, char out[STORE_IDEM_HASH_MAX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    const char *m = http_method_name(http_req_method(r)), *url = http_req_target(r);
    size_t body_len;
    const uint8_t *body = http_req_body(r, &body_len);
    int ok = x && EVP_DigestInit_ex(x, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(x, m, strlen(m) + 1) && EVP_DigestUpdate(x, url, strlen(url) + 1) &&
             (!body_len || EVP_DigestUpdate(x, body, body_len)) &&
             EVP_DigestFinal_ex(x, md, &mdlen);
    EVP_MD_CTX_free(x);
    if (!ok || mdlen * 2 > STORE_IDEM_HASH_MAX)
        return -1;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- after the answer ----------------------------------------------------------------- */

static int save_run(store_tx *tx, store_job *sj)
{
    idem_save *s = (idem_save *)sj;
    if (!s->status)
        return store_idem_release(tx, s->k.owner, s->k.key);
    int rc = store_idem_finish(tx, s->k.owner, s->k.key, s->status, s->blob, s->len);
    return rc == STORE_ENOTFOUND ? 0 : rc;
}

static void save_done(store_job *sj)
{
    idem_save *s = (idem_save *)sj;
    if (sj->rc < 0 && sj->rc != STORE_ECLOSED)
        log_warn("idempotency: storing the answer failed: %s", store_strerror(sj->rc));
    free(s->blob);
    free(s);
}

/* { ct, b: binary, h: ["Name: value", ...] } */
static uint8_t *answer_blob(const http_answer *a, size_t *len)
{
    bson_t doc = BSON_INITIALIZER, arr;
    char idx[24];
    if (a->ctype)
        BSON_APPEND_UTF8(&doc, "ct", a->ctype);
    BSON_APPEND_BINARY(&doc, "b", BSON_SUBTYPE_BINARY, a->body ? a->body : (const void *)"",
                       (uint32_t)a->len);
    BSON_APPEND_ARRAY_BEGIN(&doc, "h", &arr);
    for (size_t i = 0; i < a->nheaders; i++) {
        snprintf(idx, sizeof idx, "%zu", i);
        BSON_APPEND_UTF8(&arr, idx, a->headers[i]);
    }
    bson_append_array_end(&doc, &arr);
    uint8_t *out = malloc(doc.len);
    if (out)
        memcpy(out, bson_get_data(&doc), doc.len);
    *len = doc.len;
    bson_destroy(&doc);
    return out;
}

/* Answers a retry should redo: nothing was done (429, 500, 503), or the client went away
 * before the answer (499: it never saw one). */
static bool redo(int status)
{
    return status == 429 || status == 499 || status == 500 || status == 503;
}

static void on_answer(void *arg, const http_answer *a)
{
    idem_key *k = arg;
    idem_save *s = calloc(1, sizeof *s);
    if (s) {
        s->k = *k;
        if (!redo(a->status)) {
            s->status = a->status;
            s->blob = answer_blob(a, &s->len);
            if (!s->blob)
                s->status = 0; /* cannot keep it: let a retry run again */
        }
        s->sj.run = save_run;
        s->sj.done = save_done;
        store_submit(k->st, &s->sj);
    }
    free(k);
}

/* ---- replay --------------------------------------------------------------------------- */

static void add_stored_header(http_req *r, const char *line)
{
    const char *colon = strchr(line, ':');
    char name[128];
    if (!colon || (size_t)(colon - line) >= sizeof name)
        return;
    memcpy(name, line, (size_t)(colon - line));
    name[colon - line] = '\0';
    http_req_add_header(r, name, colon[1] == ' ' ? colon + 2 : colon + 1);
}

static void replay(http_req *r, const store_idem *e)
{
    bson_t doc;
    bson_iter_t it, h;
    const uint8_t *body = NULL;
    uint32_t blen = 0;
    bson_subtype_t sub;
    const char *ct = NULL;
    if (!e->blob || !bson_init_static(&doc, e->blob, e->blob_len) ||
        !bson_iter_init_find(&it, &doc, "b") || !BSON_ITER_HOLDS_BINARY(&it)) {
        http_respond_error(r, 500, "internal", "the stored answer of this key is unreadable");
        return;
    }
    bson_iter_binary(&it, &sub, &blen, &body);
    if (bson_iter_init_find(&it, &doc, "ct") && BSON_ITER_HOLDS_UTF8(&it))
        ct = bson_iter_utf8(&it, NULL);
    if (bson_iter_init_find(&it, &doc, "h") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &h))
        while (bson_iter_next(&h))
            if (BSON_ITER_HOLDS_UTF8(&h))
                add_stored_header(r, bson_iter_utf8(&h, NULL));
    http_req_add_header(r, "Idempotent-Replayed", "true");
    if (ct && strcmp(ct, "application/json") == 0)
        http_req_add_header(r, "Cache-Control", "no-store");
    http_respond_raw(r, e->status, ct, body, blen);
}

/* ---- the claim ------------------------------------------------------------------------ */

static void op_free(idem_op *o)
{
    free(o->found.blob);
    free(o);
}

static int claim_run(store_tx *tx, http_job *hj)
{
    idem_op *o = (idem_op *)hj;
    o->claim = store_idem_claim(tx, o->k.owner, o->k.key, o->hash, o->now, HTTP_IDEM_TTL_MS,
                                HTTP_IDEM_STALE_MS, &o->found);
    return o->claim < 0 ? o->claim : 0;
}

static void claim_done(http_job *hj, int rc)
{
    idem_op *o = (idem_op *)hj;
    http_req *r = hj->req;
    idem_key *k = NULL;
    if (rc < 0) {
        http_job_respond_fail(r, rc, "idempotency key");
    } else if (o->claim == STORE_IDEM_NEW && (k = malloc(sizeof *k))) {
        *k = o->k;
        http_req_on_answer(r, on_answer, k);
        o->next(o->arg);
        op_free(o);
        return;
    } else if (o->claim == STORE_IDEM_NEW) {
        http_respond_error(r, 500, "internal", "out of memory");
    } else if (!o->found.same_request) {
        http_respond_error(r, 422, "idempotency_key_reused",
                           "this Idempotency-Key was used with a different request");
    } else if (o->found.status == 0) {
        http_req_add_header(r, "Retry-After", "1");
        http_respond_error(r, 409, "idempotency_in_progress",
                           "a request with this Idempotency-Key is still running");
    } else {
        replay(r, &o->found);
    }
    o->drop(o->arg);
    op_free(o);
}

void http_idem(http_req *r, void (*next)(void *arg), void (*drop)(void *arg), void *arg)
{
    const char *h = http_req_header(r, "Idempotency-Key");
    const http_principal *p = http_req_principal(r);
    if (!h || !p || !p->user_id[0]) {
        next(arg);
        return;
    }
    idem_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 500, "internal", "out of memory");
        drop(arg);
        return;
    }
    if (key_parse(h, o->k.key) < 0 || request_hash(r, o->hash) < 0) {
        free(o);
        http_respond_field(r, "Idempotency-Key", "1..255 visible ASCII characters expected");
        drop(arg);
        return;
    }
    snprintf(o->k.owner, sizeof o->k.owner, "%s", p->user_id);
    o->k.st = api_of(r)->st;
    o->now = clock_wall_ms();
    o->next = next;
    o->drop = drop;
    o->arg = arg;
    http_job_submit(&o->j, r, claim_run, claim_done);
}
