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

/* What goes out once the subscriptions are durable: SUBACK, then the retained
 * messages of each granted filter. The packet body is kept to walk the filters again. */
typedef struct sublater {
    uint8_t *ack;
    size_t ack_len;
    size_t body_len;
    uint8_t body[];
} sublater;

static void subscribe_done(mconn *c, void *arg, bool ok)
{
    sublater *sl = arg;
    mqtt_sublist l;
    if (ok && mqtt_decode_subscribe(sl->body, sl->body_len, &l) == 0) {
        /* [MQTT-3.8.4-1] SUBACK with the same packet id [MQTT-3.8.4-2], one code per
         * filter in order [MQTT-3.8.4-5] */
        mconn__write(c, sl->ack, sl->ack_len);
        size_t pos = 0, i = 0;
        mqtt_str f;
        uint8_t qos;
        const uint8_t *codes = sl->ack + sl->ack_len - l.count;
        while (mqtt_subscribe_next(&l, &pos, &f, &qos) == 1) {
            /* MQTT 5.0 4.8.2: no retained messages on a shared subscription */
            if (codes[i++] != 0x80 && share__kind(f.p, f.len) == 0)
                route__deliver_retained(c->lp, c->s, f.p, f.len, qos);
        }
    }
    free(sl->ack);
    free(sl);
}

static sublater *sublater_new(const uint8_t *body, size_t n, size_t ack_cap)
{
    sublater *sl = malloc(sizeof *sl + n);
    if (!sl)
        return NULL;
    sl->ack = malloc(ack_cap);
    if (!sl->ack) {
        free(sl);
        return NULL;
    }
    memcpy(sl->body, body, n);
    sl->body_len = n;
    return sl;
}

int handle__subscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt_sublist l;
    if (mqtt_decode_subscribe(body, n, &l) < 0)
        return -1;
    uint8_t *codes = malloc(l.count);
    size_t cap = mqtt_suback_len(l.count);
    sublater *sl = sublater_new(body, n, cap);
    if (!codes || !sl) {
        free(codes);
        if (sl)
            subscribe_done(c, sl, false);
        return -1;
    }
    size_t pos = 0, i = 0;
    mqtt_str f;
    uint8_t qos;
    while (mqtt_subscribe_next(&l, &pos, &f, &qos) == 1) {
        if (share__kind(f.p, f.len) < 0) {
            codes[i++] = 0x80; /* [MQTT-4.8.2-1] [MQTT-4.8.2-2] a malformed $share filter */
            continue;
        }
        if (!auth__may_sub(c->s, f.p, f.len)) {
            BROKER_STAT_ADD(c->br, denied_subscribe, 1);
            codes[i++] = 0x80; /* [MQTT-3.9.3-2] refused by the topic policy */
            continue;
        }
        codes[i++] = session__subscribe(c->s, f.p, f.len, qos) == 0 ? qos : 0x80;
    }
    int len = mqtt_encode_suback(sl->ack, cap, l.packet_id, codes, l.count);
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

int handle__unsubscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
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

int handle__disconnect(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    if (n != 0)
        return -1;
    /* [MQTT-3.14.4-3] discard the will without publishing it */
    c->clean_disconnect = true;
    bmsg__unref(c->will);
    c->will = NULL;
    mconn__close(c); /* [MQTT-3.14.4-1] */
    return 0;
}
