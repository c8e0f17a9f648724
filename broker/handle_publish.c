/*
 * handle_publish — PUBLISH in, and the acknowledgement flows of incoming messages:
 * PUBACK out for QoS 1, PUBREC out / PUBREL in / PUBCOMP out for QoS 2.
 *
 * QoS 2 uses method B of 4.3.3: the message is routed when PUBLISH arrives and its id
 * is remembered until PUBREL, so a re-sent PUBLISH with that id is acknowledged again
 * but not routed twice [MQTT-4.3.3-2].
 */
#include "broker/auth.h"
#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/flow.h"
#include "broker/handle.h"
#include "broker/mconn.h"
#include "broker/persist.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/share.h"
#include "broker/sys.h"
#include "broker/tap.h"
#include "common/hash.h"

/* Refused by the topic policy: dropped (neither routed nor retained), yet acknowledged,
 * since 3.1.1 has no negative acknowledgement. A QoS 2 id is remembered (and stored, for a
 * persistent session) like any other, so the PUBREL that follows is one awaited. */
static int denied(mconn *c, const mqtt_publish *p)
{
    BROKER_STAT_ADD(c->br, denied_publish, 1);
    if (p->qos == 1)
        persist__ack(c, MQTT_PUBACK, p->packet_id, false);
    if (p->qos != 2)
        return 0;
    int added = session__rx_qos2_add(c->s, p->packet_id);
    if (added < 0)
        return -1;
    bool durable = added && persist__session_on(c->s);
    if (durable)
        persist__session_put(c->lp, c->s);
    persist__ack(c, MQTT_PUBREC, p->packet_id, durable);
    return 0;
}

int handle__publish(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt_publish p;
    if (mqtt_decode_publish(body, n, flags, &p) < 0)
        return -1;
    BROKER_STAT_ADD(c->br, msgs_in, 1);
    session *s = c->s;
    /* $SYS is the broker's own namespace (sys.c) [MQTT-4.7.2-1]: nobody publishes there */
    if (sys__topic(p.topic.p, p.topic.len) ||
        (c->policed && !auth__may_pub(s, p.topic.p, p.topic.len)))
        return denied(c, &p);
    int added = p.qos == 2 ? session__rx_qos2_add(s, p.packet_id) : 1;
    if (added < 0)
        return -1; /* out of memory: the client publishes again after it reconnects */
    if (added == 0) {
        persist__ack(c, MQTT_PUBREC, p.packet_id, false);
        return 0;
    }
    /* PUBACK / PUBREC promise that every durable effect is committed: the retained
     * update, the copies queued for persistent sessions, our own QoS 2 id. */
    bool own = p.qos == 2 && persist__session_on(s);
    uint32_t lost = persist__lost(c->lp);
    if (own)
        persist__session_put(c->lp, s);
    bmsg *m = bmsg__new(p.topic.p, p.topic.len, p.payload, p.payload_len, p.qos, p.retain);
    if (!m)
        return -1;
    if (c->br->o.share_policy == SHARE_STICKY)
        m->from = hash_fnv1a32_str(s->id) | 1u; /* sticky shared subscriptions (share.c) */
    route_result r = route__publish(c->lp, m);
    if (r.congested)
        flow__block(c, r.congested); /* stop reading until that subscriber catches up */
    bool durable = own || r.durable;
    if (r.lost || persist__lost(c->lp) != lost) {
        /* Out of memory: something this PUBLISH had to store was not recorded, so no
         * PUBACK/PUBREC may promise it; close instead, the client publishes again. A
         * QoS 2 id is forgotten so that the resend is routed (and stored) again. */
        if (p.qos == 2)
            session__rx_qos2_del(s, p.packet_id);
        bmsg__unref(m);
        mconn__close(c);
        return 0;
    }
    /* broker.h: the in-process tap hears a device once its message is accepted, in the
     * order of the acknowledgements (broker_tap.c) */
    if (c->br->tap)
        tap__publish(c, m, durable);
    bmsg__unref(m);
    if (p.qos == 1)
        persist__ack(c, MQTT_PUBACK, p.packet_id, durable); /* [MQTT-4.3.2-2] */
    else if (p.qos == 2)
        persist__ack(c, MQTT_PUBREC, p.packet_id, durable); /* [MQTT-4.3.3-2] */
    return 0;
}

int handle__pubrel(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t pid;
    if (mqtt_decode_ack(body, n, &pid) < 0)
        return -1;
    /* [MQTT-4.8.0-1] a PUBREL for an id that awaits none is a protocol violation, except
     * on a resumed session: there it may be the resend [MQTT-4.4.0-1] of a PUBREL whose
     * PUBCOMP was lost with the previous connection (or a crash after our commit), and
     * it is answered with PUBCOMP [MQTT-4.3.3-2]; closing would loop the client forever. */
    if (!session__rx_qos2_del(c->s, pid) && !c->resumed)
        return -1;
    /* Once PUBCOMP is out the client may reuse the id: the store must have dropped it
     * first, or a restart would take the next message with that id for a duplicate. */
    bool durable = persist__session_on(c->s);
    if (durable)
        persist__session_put(c->lp, c->s);
    persist__ack(c, MQTT_PUBCOMP, pid, durable); /* [MQTT-4.3.3-2] */
    return 0;
}

/* Acknowledgements of what we sent (deliver.c keeps the state). */
int handle__puback(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t pid;
    if (mqtt_decode_ack(body, n, &pid) < 0)
        return -1;
    return session__puback(c->s, pid);
}

int handle__pubrec(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t pid;
    if (mqtt_decode_ack(body, n, &pid) < 0)
        return -1;
    return session__pubrec(c->s, pid);
}

int handle__pubcomp(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t pid;
    if (mqtt_decode_ack(body, n, &pid) < 0)
        return -1;
    return session__pubcomp(c->s, pid);
}
