/*
 * Fuzzes the MongoDB backend's document decoders (store/mongo_docs.c): what a damaged or
 * foreign database hands the store instead of the documents it wrote. The input is one
 * BSON document (after the structural validation the driver does); each decoder must
 * either refuse it or return fields within the ranges the store's callers rely on, and
 * never read outside the document.
 */
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"

static void check(bool cond)
{
    if (!cond)
        abort();
}

/* Touches every byte of a range so ASan sees a read outside the input. */
static unsigned sum(const uint8_t *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

static void session(const bson_t *doc)
{
    const char *id;
    bson_t sess;
    bson_iter_t it;
    if (!store__mg_session_decode(doc, &id, &sess))
        return;
    check(id && *id);
    /* the broker walks it freely: it must be iterable to the end */
    check(bson_iter_init(&it, &sess));
    while (bson_iter_next(&it))
        (void)bson_iter_key(&it);
}

static void msg(const bson_t *doc)
{
    store_msg m;
    if (!store__mg_msg_decode(doc, &m))
        return;
    check(m.mid >= 1 && m.mid <= INT64_MAX && m.qos <= 2 && m.state <= STORE_MSG_RELEASED);
    check(m.topic && m.topic_len > 0 && m.payload);
    (void)(sum(m.topic, m.topic_len) + sum(m.payload, m.payload_len));
}

static void retained(const bson_t *doc)
{
    store_retained r;
    if (!store__mg_retained_decode(doc, &r))
        return;
    check(r.topic && r.topic_len > 0 && r.qos <= 2 && r.payload && r.payload_len > 0);
    (void)(sum(r.topic, r.topic_len) + sum(r.payload, r.payload_len));
}

static void code(const bson_t *doc)
{
    store_code c;
    if (store__mg_code_decode(doc, &c))
        check(c.hash_len >= 1 && c.hash_len <= STORE_HASH_MAX && c.attempts >= 0);
}

static void token(const bson_t *doc)
{
    store_token t;
    if (!store__mg_token_decode(doc, &t))
        return;
    check((t.kind == STORE_TOKEN_ACCESS || t.kind == STORE_TOKEN_REFRESH) && t.user_id[0] &&
          t.family[0] && strlen(t.user_id) <= STORE_ID_MAX && strlen(t.family) <= STORE_ID_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t doc;
    size_t off;
    if (size < 5 || !bson_init_static(&doc, data, size) ||
        !bson_validate(&doc, BSON_VALIDATE_NONE, &off))
        return 0;
    session(&doc);
    msg(&doc);
    retained(&doc);
    code(&doc);
    token(&doc);
    return 0;
}
