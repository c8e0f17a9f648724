/*
 * The persistent-session document (broker/persist_doc.c): what the broker writes is what
 * it reads back, and documents it did not write (other versions, wrong types, filters the
 * wire would refuse) are refused whole.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "broker/persist.h"
#include "broker/session.h"

typedef struct got {
    char filters[8][64];
    uint8_t qos[8];
    uint8_t opts[8];
    uint32_t subid[8];
    size_t n;
    uint16_t rx2[8];
    size_t n_rx2;
} got;

static int on_sub(void *arg, const persist_sub *ps)
{
    got *g = arg;
    cr_assert_lt(g->n, 8);
    cr_assert_lt(ps->len, 64);
    memcpy(g->filters[g->n], ps->filter, ps->len);
    g->filters[g->n][ps->len] = '\0';
    g->opts[g->n] = ps->opts;
    g->subid[g->n] = ps->subid;
    g->qos[g->n++] = ps->qos;
    return 0;
}

static int on_rx2(void *arg, uint16_t pid)
{
    got *g = arg;
    cr_assert_lt(g->n_rx2, 8);
    g->rx2[g->n_rx2++] = pid;
    return 0;
}

static void add_sub(session *s, const char *f, uint8_t qos)
{
    size_t n = strlen(f);
    sub *e = malloc(sizeof *e + n);
    cr_assert_not_null(e);
    e->len = (uint16_t)n;
    e->qos = qos;
    e->opts = 0;
    e->subid = 0;
    memcpy(e->filter, f, n);
    e->next = s->subs;
    s->subs = e;
}

static void free_session(session *s)
{
    for (sub *e = s->subs; e;) {
        sub *next = e->next;
        free(e);
        e = next;
    }
    free(s->rx_qos2);
    free(s);
}

Test(persist_doc, round_trip)
{
    session *s = session__new(NULL, NULL, (const uint8_t *)"dev-1", 5, false);
    cr_assert_not_null(s);
    add_sub(s, "a/b", 1);
    add_sub(s, "sensors/+/temp", 2);
    add_sub(s, "#", 0);
    session__rx_qos2_add(s, 7);
    session__rx_qos2_add(s, 65535);
    bson_t *doc = persist__session_doc(s, 1700000000123);
    cr_assert_not_null(doc);
    got g = {0};
    int64_t seen = 0;
    cr_assert_eq(persist__session_parse(doc, &seen, on_sub, on_rx2, &g), 0);
    cr_assert_eq(seen, 1700000000123);
    cr_assert_eq(g.n, 3);
    /* the list is newest first; the document keeps the list's order */
    cr_assert_str_eq(g.filters[0], "#");
    cr_assert_eq(g.qos[0], 0);
    cr_assert_str_eq(g.filters[1], "sensors/+/temp");
    cr_assert_eq(g.qos[1], 2);
    cr_assert_str_eq(g.filters[2], "a/b");
    cr_assert_eq(g.qos[2], 1);
    cr_assert_eq(g.n_rx2, 2);
    cr_assert_eq(g.rx2[0], 7);
    cr_assert_eq(g.rx2[1], 65535);
    bson_destroy(doc);
    free_session(s);
}

Test(persist_doc, empty_session)
{
    session *s = session__new(NULL, NULL, (const uint8_t *)"x", 1, false);
    bson_t *doc = persist__session_doc(s, 0);
    got g = {0};
    int64_t seen = -1;
    cr_assert_eq(persist__session_parse(doc, &seen, on_sub, on_rx2, &g), 0);
    cr_assert_eq(seen, 0);
    cr_assert_eq(g.n + g.n_rx2, 0);
    bson_destroy(doc);
    free_session(s);
}

/* Builds {v: version, last_seen: 1, subs: [{f: filter, q: qos}]}. */
static bson_t *doc_with(int32_t version, const char *filter, int32_t qos)
{
    bson_t *d = bson_new();
    bson_t arr, item;
    BSON_APPEND_INT32(d, "v", version);
    BSON_APPEND_INT64(d, "last_seen", 1);
    BSON_APPEND_ARRAY_BEGIN(d, "subs", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &item);
    BSON_APPEND_UTF8(&item, "f", filter);
    BSON_APPEND_INT32(&item, "q", qos);
    bson_append_document_end(&arr, &item);
    bson_append_array_end(d, &arr);
    return d;
}

static int parse(bson_t *d)
{
    got g = {0};
    int64_t seen;
    int rc = persist__session_parse(d, &seen, on_sub, on_rx2, &g);
    bson_destroy(d);
    return rc;
}

Test(persist_doc, refuses_foreign_documents)
{
    cr_assert_eq(parse(doc_with(1, "ok/+", 1)), 0);
    cr_assert_eq(parse(doc_with(2, "ok/+", 1)), 0, "version 2: with MQTT 5.0 fields");
    cr_assert_lt(parse(doc_with(3, "ok/+", 1)), 0, "unknown version");
    cr_assert_lt(parse(doc_with(1, "a/#/b", 1)), 0, "'#' not last [MQTT-4.7.1-2]");
    cr_assert_lt(parse(doc_with(1, "a+/b", 1)), 0, "'+' not a whole level");
    cr_assert_lt(parse(doc_with(1, "", 1)), 0, "empty filter");
    cr_assert_lt(parse(doc_with(1, "a", 3)), 0, "QoS 3");
    cr_assert_lt(parse(doc_with(1, "a", -1)), 0, "QoS -1");

    bson_t *d = bson_new();
    BSON_APPEND_INT32(d, "v", 1);
    cr_assert_lt(parse(d), 0, "no last_seen");

    d = bson_new();
    BSON_APPEND_INT32(d, "v", 1);
    BSON_APPEND_INT64(d, "last_seen", 1);
    BSON_APPEND_UTF8(d, "subs", "not an array");
    cr_assert_lt(parse(d), 0, "subs of the wrong type");

    bson_t arr;
    d = bson_new();
    BSON_APPEND_INT32(d, "v", 1);
    BSON_APPEND_INT64(d, "last_seen", 1);
    BSON_APPEND_ARRAY_BEGIN(d, "rx2", &arr);
    BSON_APPEND_INT32(&arr, "0", 0);
    bson_append_array_end(d, &arr);
    cr_assert_lt(parse(d), 0, "packet id 0 [MQTT-2.3.1-1]");
}

Test(persist_doc, refuses_invalid_utf8)
{
    static const char bad[] = {'a', '/', (char)0xC0, (char)0x80, 0};
    cr_assert_lt(parse(doc_with(1, bad, 1)), 0, "overlong NUL in a filter");
}

/* MQTT 5.0 state (session expiry interval, subscription options) makes a version 2
 * document; a 3.1.1 session's stays version 1. */
Test(persist_doc, mqtt5_fields)
{
    session *s = session__new(NULL, NULL, (const uint8_t *)"v5", 2, false);
    cr_assert_not_null(s);
    add_sub(s, "plain", 1);
    bson_t *doc = persist__session_doc(s, 0);
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, doc, "v"));
    cr_assert_eq(bson_iter_int32(&it), 1);
    int64_t exp = 0;
    cr_assert_eq(persist__session_expiry(doc, &exp), 0);
    cr_assert_eq(exp, -1);
    bson_destroy(doc);

    add_sub(s, "nl/#", 2);
    s->subs->opts = 0x0C; /* no-local, retain-as-published */
    s->subs->subid = 268435455;
    s->n_opt_subs = 1;
    s->expiry_ms = 90000;
    doc = persist__session_doc(s, 5);
    cr_assert(bson_iter_init_find(&it, doc, "v"));
    cr_assert_eq(bson_iter_int32(&it), 2);
    got g = {0};
    int64_t seen = 0;
    cr_assert_eq(persist__session_parse(doc, &seen, on_sub, on_rx2, &g), 0);
    cr_assert_eq(g.n, 2);
    cr_assert_str_eq(g.filters[0], "nl/#");
    cr_assert_eq(g.opts[0], 0x0C);
    cr_assert_eq(g.subid[0], 268435455);
    cr_assert_eq(g.subid[1], 0);
    cr_assert_eq(g.opts[1], 0);
    cr_assert_eq(persist__session_expiry(doc, &exp), 0);
    cr_assert_eq(exp, 90000);
    bson_destroy(doc);
    free_session(s);
}

Test(persist_doc, refuses_bad_mqtt5_fields)
{
    bson_t *doc = BCON_NEW("v", BCON_INT32(2), "last_seen", BCON_INT64(0), "subs", "[", "{", "f",
                           BCON_UTF8("a"), "q", BCON_INT32(0), "o", BCON_INT32(0x30), "}", "]");
    got g = {0};
    int64_t seen = 0, exp = 0;
    cr_assert_lt(persist__session_parse(doc, &seen, on_sub, on_rx2, &g), 0);
    bson_destroy(doc);
    doc = BCON_NEW("v", BCON_INT32(2), "last_seen", BCON_INT64(0), "exp", BCON_INT64(-5));
    cr_assert_lt(persist__session_expiry(doc, &exp), 0);
    bson_destroy(doc);
    doc = BCON_NEW("v", BCON_INT32(3), "last_seen", BCON_INT64(0));
    cr_assert_lt(persist__session_parse(doc, &seen, on_sub, on_rx2, &g), 0);
    bson_destroy(doc);
}
