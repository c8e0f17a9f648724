/*
 * handle_subscribe — SUBSCRIBE in / SUBACK out, UNSUBSCRIBE in / UNSUBACK out.
 *
 * The whole packet is validated before any filter takes effect, so a malformed entry
 * never leaves half a subscription behind. Granted QoS = requested QoS (we support 2)
 * [MQTT-3.9.3-1]; 0x80 when the principal's topic policy refuses the filter
 * (broker_auth.c), the subscription cannot be stored or a "$share/..." filter is
 * malformed (share.c). Retained messages matching each granted filter follow the SUBACK
 * [MQTT-3.3.1-6], also when the filter replaced an existing subscription [MQTT-3.8.4-3];
 * a shared subscription gets none (MQTT 5.0 4.8.2).
 *
 * MQTT 5.0: the same flow with reason codes per filter (0x8F a malformed $share filter,
 * 0x87 the policy, 0x80 memory), the subscription options (no-local and
 * retain-as-published kept with the filter, retain handling 0/1/2 deciding the retained
 * messages) and the SUBSCRIBE's Subscription Identifier; UNSUBACK 0x00 / 0x11 per filter;
 * DISCONNECT with its reason code and Session Expiry Interval.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/auth.h"
#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/handle.h"
#include "broker/mconn.h"
#include "broker/persist.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/share.h"
#include "broker/v5.h"

/* What goes out once the subscriptions are durable: SUBACK, then the retained
 * messages of each filter marked in @retained. The packet body is kept to walk the
 * filters again. */
typedef struct sublater {
    uint8_t *ack;
    size_t ack_len;
    bool v5;
    uint8_t *retained; /* per filter: 1 + the granted QoS when retained messages follow */
    size_t body_len;
    uint8_t body[];
} sublater;

/* The next filter of a validated SUBSCRIBE of either version. */
static int next_filter(const sublater *sl, const mqtt5_sublist *l, size_t *pos, mqtt_str *f)
{
    uint8_t opts;
    return sl->v5 ? mqtt5_subscribe_next(l, pos, f, &opts)
                  : mqtt_subscribe_next(&l->list, pos, f, &opts);
}

static int decode(const sublater *sl, mqtt5_sublist *l)
{
    if (sl->v5)
        return mqtt5_decode_subscribe(sl->body, sl->body_len, l);
    return mqtt_decode_subscribe(sl->body, sl->body_len, &l->list);
}

static void subscribe_done(mconn *c, void *arg, bool ok)
{
    sublater *sl = arg;
    mqtt5_sublist l;
    if (ok && decode(sl, &l) == 0) {
        /* [MQTT-3.8.4-1] SUBACK with the same packet id [MQTT-3.8.4-2], one code per
         * filter in order [MQTT-3.8.4-5] */
        mconn__write(c, sl->ack, sl->ack_len);
        size_t pos = 0, i = 0;
        mqtt_str f;
        while (next_filter(sl, &l, &pos, &f) == 1) {
            uint8_t r = sl->retained[i++];
            if (r)
                route__deliver_retained(c->lp, c->s, f.p, f.len, (uint8_t)(r - 1));
        }
    }
    free(sl->ack);
    free(sl);
}

static sublater *sublater_new(const uint8_t *body, size_t n, size_t ack_cap, size_t count)
{
    sublater *sl = malloc(sizeof *sl + n);
    if (!sl)
        return NULL;
    sl->ack = malloc(ack_cap + count);
    if (!sl->ack) {
        free(sl);
        return NULL;
    }
    sl->retained = sl->ack + ack_cap;
    memset(sl->retained, 0, count);
    memcpy(sl->body, body, n);
    sl->body_len = n;
    return sl;
}

/* One filter of a SUBSCRIBE: its return / reason code; sets *retained when retained
 * messages follow the SUBACK. @opts: the 5.0 options byte (the QoS alone in 3.1.1). */
static uint8_t subscribe_one(mconn *c, mqtt_str f, uint8_t opts, uint32_t subid, uint8_t *retained)
{
    bool v5 = c->ver == MQTT5_LEVEL;
    uint8_t qos = MQTT5_SUB_QOS(opts);
    int kind = share__kind(f.p, f.len);
    if (kind < 0) /* [MQTT-4.8.2-1] [MQTT-4.8.2-2] a malformed $share filter */
        return v5 ? MQTT5_RC_TOPIC_FILTER_INVALID : 0x80;
    if (!auth__may_sub(c->s, f.p, f.len)) {
        BROKER_STAT_ADD(c->br, denied_subscribe, 1);
        return v5 ? MQTT5_RC_NOT_AUTHORIZED : 0x80; /* [MQTT-3.9.3-2] the topic policy */
    }
    bool existed = session__has_sub(c->s, f.p, f.len);
    if (session__subscribe(c->s, f.p, f.len, qos) != 0)
        return v5 ? MQTT5_RC_UNSPECIFIED : 0x80;
    if (v5)
        session__sub_opts(c->s, f.p, f.len, opts & (MQTT5_SUB_NO_LOCAL | MQTT5_SUB_RETAIN_AS_PUB),
                          subid);
    /* MQTT 5.0 4.8.2: no retained messages on a shared subscription; 3.8.3.1 retain
     * handling: 0 always, 1 only for a new subscription, 2 never */
    uint8_t rh = v5 ? MQTT5_SUB_RETAIN_HANDLING(opts) : 0;
    if (kind == 0 && (rh == 0 || (rh == 1 && !existed)))
        *retained = (uint8_t)(qos + 1);
    return qos;
}

/* Decodes either version. */
static int decode_sub(mconn *c, const uint8_t *body, size_t n, mqtt5_sublist *l)
{
    if (c->ver != MQTT5_LEVEL) {
        l->props = (mqtt5_props){0};
        return mqtt_decode_subscribe(body, n, &l->list) < 0 ? -1 : 0;
    }
    return mqtt5_decode_subscribe(body, n, l);
}

static int encode_ack(sublater *sl, size_t cap, uint16_t pid, const uint8_t *codes, size_t count)
{
    if (!sl->v5)
        return mqtt_encode_suback(sl->ack, cap, pid, codes, count);
    mqtt5_subacks a = {.packet_id = pid, .codes = codes, .count = count};
    return mqtt5_encode_suback(sl->ack, cap, MQTT_SUBACK, &a);
}

int handle__subscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt5_sublist l;
    int rc = decode_sub(c, body, n, &l);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    uint8_t *codes = malloc(l.list.count);
    size_t cap = mqtt_suback_len(l.list.count) + 4; /* + a 5.0 property length */
    sublater *sl = sublater_new(body, n, cap, l.list.count);
    if (!codes || !sl) {
        free(codes);
        if (sl)
            subscribe_done(c, sl, false);
        return -1;
    }
    sl->v5 = c->ver == MQTT5_LEVEL;
    size_t pos = 0, i = 0;
    mqtt_str f;
    uint8_t opts;
    mqtt5_prop id;
    /* 3.8.2.1.2: the identifier goes with every filter of this SUBSCRIBE */
    uint32_t subid = mqtt5_prop_get(&l.props, MQTT5_SUBSCRIPTION_ID, &id) ? id.num : 0;
    while ((sl->v5 ? mqtt5_subscribe_next(&l, &pos, &f, &opts)
                   : mqtt_subscribe_next(&l.list, &pos, &f, &opts)) == 1) {
        codes[i] = subscribe_one(c, f, opts, subid, &sl->retained[i]);
        i++;
    }
    int len = encode_ack(sl, cap, l.list.packet_id, codes, l.list.count);
    free(codes);
    if (len < 0) {
        subscribe_done(c, sl, false);
        return -1;
    }
    sl->ack_len = (size_t)len;
    /* A SUBACK promises the subscription: for a persistent session it waits for the
     * store (persist.c). */
    bool durable = persist__session_on(c->s);
    if (durable)
        persist__session_put(c->lp, c->s);
    persist__after(c, subscribe_done, sl, durable);
    return 0;
}

static void unsuback5_done(mconn *c, void *arg, bool ok)
{
    uint8_t *ack = arg;
    if (ok)
        mconn__write(c, ack + sizeof(size_t), *(size_t *)(void *)ack);
    free(ack);
}

/* 5.0: UNSUBACK with one reason code per filter, 0x11 for one that was not there
 * (3.11.3); sent once the change is durable, like the 3.1.1 one. */
static int unsubscribe5(mconn *c, const uint8_t *body, size_t n)
{
    mqtt5_sublist l;
    int rc = mqtt5_decode_unsubscribe(body, n, &l);
    if (rc < 0)
        return rc;
    size_t cap = sizeof(size_t) + mqtt_suback_len(l.list.count) + 4;
    uint8_t *ack = malloc(cap + l.list.count);
    if (!ack)
        return -1;
    uint8_t *codes = ack + cap;
    size_t pos = 0, i = 0;
    mqtt_str f;
    while (mqtt5_unsubscribe_next(&l, &pos, &f) == 1)
        codes[i++] = session__unsubscribe(c->s, f.p, f.len) == 0 ? MQTT5_RC_SUCCESS
                                                                 : MQTT5_RC_NO_SUBSCRIPTION_EXISTED;
    mqtt5_subacks a = {.packet_id = l.list.packet_id, .codes = codes, .count = l.list.count};
    int len = mqtt5_encode_suback(ack + sizeof(size_t), cap - sizeof(size_t), MQTT_UNSUBACK, &a);
    if (len < 0) {
        free(ack);
        return -1;
    }
    size_t sz = (size_t)len;
    memcpy(ack, &sz, sizeof sz);
    bool durable = persist__session_on(c->s);
    if (durable)
        persist__session_put(c->lp, c->s);
    persist__after(c, unsuback5_done, ack, durable);
    return 0;
}

int handle__unsubscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    if (c->ver == MQTT5_LEVEL)
        return unsubscribe5(c, body, n);
    mqtt_sublist l;
    if (mqtt_decode_unsubscribe(body, n, &l) < 0)
        return -1;
    size_t pos = 0;
    mqtt_str f;
    while (mqtt_unsubscribe_next(&l, &pos, &f) == 1)
        session__unsubscribe(c->s, f.p, f.len); /* absent filters are fine [MQTT-3.10.4-1] */
    bool durable = persist__session_on(c->s);
    if (durable)
        persist__session_put(c->lp, c->s);
    /* [MQTT-3.10.4-4] UNSUBACK even when nothing matched [MQTT-3.10.4-5] */
    persist__ack(c, MQTT_UNSUBACK, l.packet_id, durable);
    return 0;
}

int handle__pingreq(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    if (n != 0)
        return -1;
    uint8_t out[2];
    mconn__write(c, out, mqtt_encode_pingresp(out)); /* [MQTT-3.12.4-1] */
    return 0;
}

/* 5.0 DISCONNECT (3.14): reason 0x04 keeps the will; a Session Expiry Interval
 * replaces the one of CONNECT, but not 0 by another [MQTT-3.14.2-2]. */
static int disconnect5(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt5_ack a;
    int rc = mqtt5_decode_disconnect(body, n, flags, &a);
    if (rc < 0)
        return rc;
    mqtt5_prop p;
    if (mqtt5_prop_get(&a.props, MQTT5_SESSION_EXPIRY, &p)) {
        if (c->expiry_s == 0 && p.num != 0)
            return MQTT_EPROTOCOL; /* [MQTT-3.14.2-2] */
        uint32_t cap = c->br->o.session_expiry_s;
        c->expiry_s = cap && p.num > cap ? cap : p.num;
        c->s->expiry_ms = c->expiry_s == UINT32_MAX ? -1 : (int64_t)c->expiry_s * 1000;
    }
    c->clean_disconnect = true;
    if (a.reason != MQTT5_RC_DISCONNECT_WITH_WILL) {
        bmsg__unref(c->will); /* [MQTT-3.14.4-3] */
        c->will = NULL;
    }
    mconn__close(c); /* [MQTT-3.14.4-1] */
    return 0;
}

int handle__auth(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    (void)c, (void)flags, (void)body, (void)n;
    /* 4.12: no authentication method was agreed in CONNECT (one there is refused with
     * 0x8C), so any AUTH is a protocol error [MQTT-4.12.0-6]: DISCONNECT 0x82 */
    return MQTT_EPROTOCOL;
}

int handle__disconnect(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    if (c->ver == MQTT5_LEVEL)
        return disconnect5(c, flags, body, n);
    if (n != 0)
        return -1;
    /* [MQTT-3.14.4-3] discard the will without publishing it */
    c->clean_disconnect = true;
    bmsg__unref(c->will);
    c->will = NULL;
    mconn__close(c); /* [MQTT-3.14.4-1] */
    return 0;
}
