/*
 * persist_doc — the session document kept by the store for a persistent session.
 *
 *   { v: 1 or 2,                    document version (unknown versions are refused)
 *     last_seen: int64,             wall-clock ms the session went offline, 0 = online
 *     subs: [ { f: utf8, q: int32,  subscriptions (filter, granted QoS,
 *               o: int32,             v2: MQTT 5.0 no-local 0x04 / retain-as-published 0x08,
 *               i: int64 } ],         v2: MQTT 5.0 Subscription Identifier)
 *     exp:  int64,                  v2: MQTT 5.0 Session Expiry Interval in ms
 *     rx2:  [ int32 ],              incoming QoS 2 packet ids awaiting PUBREL
 *     who:  int32,                  principal kind (broker_who); absent = ANON
 *     wid:  utf8 }                  principal id (DEVICE/USER only)
 *
 * Version 2 is written only for a session with MQTT 5.0 state (an expiry interval of its
 * own, subscription options), so 3.1.1 documents stay as they were; both are read.
 *
 * The parser trusts nothing: a document from a damaged or foreign database is refused
 * as a whole (fuzz/fuzz_session_doc.c).
 */
#include <string.h>
#include <time.h>

#include "broker/persist.h"
#include "broker/session.h"
#include "common/clock.h"
#include "mqtt/mqtt5.h"
#include "mqtt/mqtt_topic.h"

#define SESSION_DOC_VERSION 1
#define SESSION_DOC_V5      2    /* with MQTT 5.0 fields */
#define SUB_OPTS_MASK       0x0C /* the options kept: no-local, retain-as-published */

static bool append_subs(bson_t *doc, const session *s)
{
    bson_t arr, item;
    char key[16];
    const char *k;
    uint32_t i = 0;
    if (!bson_append_array_begin(doc, "subs", -1, &arr))
        return false;
    for (const sub *e = s->subs; e; e = e->next, i++) {
        bson_uint32_to_string(i, &k, key, sizeof key);
        if (!bson_append_document_begin(&arr, k, -1, &item) ||
            !bson_append_utf8(&item, "f", 1, (const char *)e->filter, e->len) ||
            !bson_append_int32(&item, "q", 1, e->qos) ||
            (e->opts && !bson_append_int32(&item, "o", 1, e->opts)) ||
            (e->subid && !bson_append_int64(&item, "i", 1, e->subid)) ||
            !bson_append_document_end(&arr, &item))
            return false;
    }
    return bson_append_array_end(doc, &arr);
}

static bool append_rx2(bson_t *doc, const session *s)
{
    bson_t arr;
    char key[16];
    const char *k;
    if (!bson_append_array_begin(doc, "rx2", -1, &arr))
        return false;
    for (uint32_t i = 0; i < s->n_rx_qos2; i++) {
        bson_uint32_to_string(i, &k, key, sizeof key);
        if (!bson_append_int32(&arr, k, -1, s->rx_qos2[i]))
            return false;
    }
    return bson_append_array_end(doc, &arr);
}

static bool append_who(bson_t *doc, const session *s)
{
    if (s->who.who == BROKER_WHO_ANON)
        return true; /* documents of anonymous sessions look as they always did */
    return bson_append_int32(doc, "who", 3, (int32_t)s->who.who) &&
           bson_append_utf8(doc, "wid", 3, s->who.id, -1);
}

bson_t *persist__session_doc(session *s, int64_t last_seen)
{
    bson_t *doc = bson_new();
    if (!doc)
        return NULL;
    bool v5 = s->expiry_ms >= 0 || s->n_opt_subs;
    if (!bson_append_int32(doc, "v", 1, v5 ? SESSION_DOC_V5 : SESSION_DOC_VERSION) ||
        !bson_append_int64(doc, "last_seen", -1, last_seen) || !append_subs(doc, s) ||
        !append_rx2(doc, s) || !append_who(doc, s) ||
        (s->expiry_ms >= 0 && !bson_append_int64(doc, "exp", 3, s->expiry_ms))) {
        bson_destroy(doc);
        return NULL;
    }
    return doc;
}

static int parse_sub(const bson_iter_t *it, persist_sub *ps)
{
    bson_iter_t in;
    bool has_f = false, has_q = false;
    ps->opts = 0;
    ps->subid = 0;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &in))
        return -1;
    while (bson_iter_next(&in)) {
        const char *key = bson_iter_key(&in);
        if (strcmp(key, "f") == 0 && BSON_ITER_HOLDS_UTF8(&in)) {
            ps->filter = bson_iter_utf8(&in, &ps->len);
            has_f = true;
        } else if (strcmp(key, "q") == 0 && BSON_ITER_HOLDS_INT32(&in)) {
            int32_t q = bson_iter_int32(&in);
            if (q < 0 || q > 2)
                return -1;
            ps->qos = (uint8_t)q;
            has_q = true;
        } else if (strcmp(key, "o") == 0 && BSON_ITER_HOLDS_INT32(&in)) {
            int32_t o = bson_iter_int32(&in);
            if (o & ~SUB_OPTS_MASK)
                return -1;
            ps->opts = (uint8_t)o;
        } else if (strcmp(key, "i") == 0 && BSON_ITER_HOLDS_INT64(&in)) {
            int64_t id = bson_iter_int64(&in);
            if (id < 1 || id > MQTT5_MAX_VBI) /* 3.8.2.1.2 */
                return -1;
            ps->subid = (uint32_t)id;
        }
    }
    if (!has_f || !has_q || ps->len == 0 || ps->len > UINT16_MAX)
        return -1;
    /* [MQTT-4.7.3-1] etc.: a filter we would refuse on the wire is refused here too */
    return mqtt_topic_filter_valid((const uint8_t *)ps->filter, (uint16_t)ps->len) ? 0 : -1;
}

static int parse_array(const bson_iter_t *it, bool subs,
                       int (*on_sub)(void *arg, const persist_sub *ps),
                       int (*on_rx2)(void *arg, uint16_t pid), void *arg)
{
    bson_iter_t in;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &in))
        return -1;
    while (bson_iter_next(&in)) {
        if (subs) {
            persist_sub ps;
            if (parse_sub(&in, &ps) < 0 || on_sub(arg, &ps) < 0)
                return -1;
        } else {
            if (!BSON_ITER_HOLDS_INT32(&in))
                return -1;
            int32_t pid = bson_iter_int32(&in);
            if (pid <= 0 || pid > UINT16_MAX || on_rx2(arg, (uint16_t)pid) < 0)
                return -1;
        }
    }
    return 0;
}

static int check_header(const bson_t *doc, int64_t *last_seen)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "v") || !BSON_ITER_HOLDS_INT32(&it) ||
        (bson_iter_int32(&it) != SESSION_DOC_VERSION && bson_iter_int32(&it) != SESSION_DOC_V5))
        return -1;
    if (!bson_iter_init_find(&it, doc, "last_seen") || !BSON_ITER_HOLDS_INT64(&it))
        return -1;
    *last_seen = bson_iter_int64(&it);
    return 0;
}

int persist__session_parse(const bson_t *doc, int64_t *last_seen,
                           int (*on_sub)(void *arg, const persist_sub *ps),
                           int (*on_rx2)(void *arg, uint16_t pid), void *arg)
{
    bson_iter_t it;
    if (!bson_validate(doc, BSON_VALIDATE_UTF8, NULL) || check_header(doc, last_seen) < 0)
        return -1;
    if (bson_iter_init_find(&it, doc, "subs") && parse_array(&it, true, on_sub, on_rx2, arg) < 0)
        return -1;
    if (bson_iter_init_find(&it, doc, "rx2") && parse_array(&it, false, on_sub, on_rx2, arg) < 0)
        return -1;
    return 0;
}

int persist__session_expiry(const bson_t *doc, int64_t *expiry_ms)
{
    bson_iter_t it;
    *expiry_ms = -1;
    if (!bson_iter_init_find(&it, doc, "exp"))
        return 0;
    if (!BSON_ITER_HOLDS_INT64(&it) || bson_iter_int64(&it) < 0 ||
        bson_iter_int64(&it) > (int64_t)UINT32_MAX * 1000)
        return -1;
    *expiry_ms = bson_iter_int64(&it);
    return 0;
}

int persist__session_principal(const bson_t *doc, broker_principal *p)
{
    bson_iter_t it;
    uint32_t len = 0;
    *p = (broker_principal){.who = BROKER_WHO_ANON};
    if (!bson_iter_init_find(&it, doc, "who"))
        return 0;
    if (!BSON_ITER_HOLDS_INT32(&it))
        return -1;
    int32_t who = bson_iter_int32(&it);
    if (who == BROKER_WHO_ANON)
        return 0;
    if (who != BROKER_WHO_DEVICE && who != BROKER_WHO_USER)
        return -1;
    if (!bson_iter_init_find(&it, doc, "wid") || !BSON_ITER_HOLDS_UTF8(&it))
        return -1;
    const char *id = bson_iter_utf8(&it, &len);
    if (len == 0 || len > BROKER_PRINCIPAL_ID_MAX || memchr(id, '\0', len))
        return -1;
    p->who = (enum broker_who)who;
    memcpy(p->id, id, len);
    p->id[len] = '\0';
    return 0;
}
