/*
 * handle_publish — PUBLISH in, and the acknowledgement flows of incoming messages:
 * PUBACK out for QoS 1, PUBREC out / PUBREL in / PUBCOMP out for QoS 2.
 *
 * QoS 2 uses method B of 4.3.3: the message is routed when PUBLISH arrives and its id
 * is remembered until PUBREL, so a re-sent PUBLISH with that id is acknowledged again
 * but not routed twice [MQTT-4.3.3-2].
 *
 * MQTT 5.0 (v5.h): the topic alias is resolved first, the properties travel with the
 * message; PUBACK/PUBREC say 0x87 for a publication the policy refused and 0x10 when
 * nobody subscribed (3.4.2.1); more unacknowledged QoS 1/2 publications than our Receive
 * Maximum (max-inflight) is DISCONNECT 0x93 [MQTT-3.3.4-8].
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
#include "broker/v5.h"
#include "common/clock.h"
#include "common/hash.h"

/* Refused by the topic policy: dropped (neither routed nor retained), yet acknowledged,
 * since 3.1.1 has no negative acknowledgement. A QoS 2 id is remembered (and stored, for a
 * persistent session) like any other, so the PUBREL that follows is one awaited. */
static int denied(mconn *c, const mqtt_publish *p)
{
    BROKER_STAT_ADD(c->br, denied_publish, 1);
    uint8_t rc = c->ver == MQTT5_LEVEL ? MQTT5_RC_NOT_AUTHORIZED : 0;
    if (p->qos == 1)
        persist__ack_rc(c, MQTT_PUBACK, p->packet_id, rc, false);
    if (p->qos != 2)
        return 0;
    int added = session__rx_qos2_add(c->s, p->packet_id);
    if (added < 0)
        return -1;
    bool durable = added && persist__session_on(c->s);
    if (durable)
        persist__session_put(c->lp, c->s);
    persist__ack_rc(c, MQTT_PUBREC, p->packet_id, rc, durable);
    return 0;
}

/* 5.0: the message's properties, the publisher (no-local). -1 without memory. */
static int with_props(mconn *c, bmsg *m, const mqtt5_props *props)
{
    m->publisher = c->s;
    return props ? v5__msg_props(m, props, clock_wall_ms()) : 0;
}

/* A decoded PUBLISH of either version; @props: the 5.0 properties, or NULL. */
static int publish(mconn *c, const mqtt_publish p, const mqtt5_props *props)
{
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
    if (m && c->ver == MQTT5_LEVEL && with_props(c, m, props) < 0) {
        bmsg__unref(m);
        m = NULL;
    }
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
    /* 3.4.2.1: 0x10 no matching subscribers (5.0 only) */
    uint8_t rc = c->ver == MQTT5_LEVEL && r.routed == 0 ? MQTT5_RC_NO_MATCHING_SUBSCRIBERS : 0;
    if (p.qos == 1)
        persist__ack_rc(c, MQTT_PUBACK, p.packet_id, rc, durable); /* [MQTT-4.3.2-2] */
    else if (p.qos == 2)
        persist__ack_rc(c, MQTT_PUBREC, p.packet_id, rc, durable); /* [MQTT-4.3.3-2] */
    return 0;
}

static int publish5(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt5_publish p;
    int rc = mqtt5_decode_publish(body, n, flags, true, &p);
    if (rc < 0)
        return rc;
    uint8_t why = v5__alias_in(c, &p);
    if (why) {
        v5__disconnect(c, why, "invalid topic alias");
        return 0;
    }
    /* [MQTT-3.3.4-8] no more unacknowledged QoS 1/2 than our Receive Maximum */
    if (p.qos && c->s->n_rx_qos2 + c->store_pending >= c->br->o.max_inflight &&
        !(p.qos == 2 && p.dup)) {
        v5__disconnect(c, MQTT5_RC_RECEIVE_MAX_EXCEEDED, "receive maximum exceeded");
        return 0;
    }
    mqtt_publish q = {p.qos, p.dup, p.retain, p.topic, p.packet_id, p.payload, p.payload_len};
    return publish(c, q, &p.props);
}

int handle__publish(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    if (c->ver == MQTT5_LEVEL)
        return publish5(c, flags, body, n);
    mqtt_publish p;
    if (mqtt_decode_publish(body, n, flags, &p) < 0)
        return -1;
    return publish(c, p, NULL);
}

/* The packet id of an acknowledgement of either version; 5.0 ones may carry a reason
 * code and properties (3.4.2); *reason 0 for 3.1.1. */
static int ack_id(mconn *c, uint8_t type, const uint8_t *body, size_t n, uint16_t *pid,
                  uint8_t *reason)
{
    *reason = 0;
    if (c->ver != MQTT5_LEVEL)
        return mqtt_decode_ack(body, n, pid) < 0 ? -1 : 0;
    mqtt5_ack a;
    int rc = mqtt5_decode_puback(body, n, type, &a);
    if (rc < 0)
        return rc;
    *pid = a.packet_id;
    *reason = a.reason;
    return 0;
}

int handle__pubrel(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t pid;
    uint8_t reason;
    int rc = ack_id(c, MQTT_PUBREL, body, n, &pid, &reason);
    if (rc < 0)
        return rc;
    if (c->ver == MQTT5_LEVEL && !session__rx_qos2_del(c->s, pid)) {
        /* 3.7.2.1: 5.0 answers an unknown id with PUBCOMP 0x92, not a protocol error */
        persist__ack_rc(c, MQTT_PUBCOMP, pid, c->resumed ? 0 : MQTT5_RC_PACKET_ID_NOT_FOUND, false);
        return 0;
    }
    /* [MQTT-4.8.0-1] a PUBREL for an id that awaits none is a protocol violation, except
     * on a resumed session: there it may be the resend [MQTT-4.4.0-1] of a PUBREL whose
     * PUBCOMP was lost with the previous connection (or a crash after our commit), and
     * it is answered with PUBCOMP [MQTT-4.3.3-2]; closing would loop the client forever. */
    if (c->ver != MQTT5_LEVEL && !session__rx_qos2_del(c->s, pid) && !c->resumed)
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
    uint8_t reason;
    int rc = ack_id(c, MQTT_PUBACK, body, n, &pid, &reason);
    return rc < 0 ? rc : session__puback(c->s, pid);
}

int handle__pubrec(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t pid;
    uint8_t reason;
    int rc = ack_id(c, MQTT_PUBREC, body, n, &pid, &reason);
    if (rc < 0)
        return rc;
    /* [MQTT-4.3.3-4] a PUBREC with a failure code ends the exchange: no PUBREL */
    if (reason >= 0x80)
        return session__pubrec_refused(c->s, pid);
    return session__pubrec(c->s, pid);
}

int handle__pubcomp(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t pid;
    uint8_t reason;
    int rc = ack_id(c, MQTT_PUBCOMP, body, n, &pid, &reason);
    return rc < 0 ? rc : session__pubcomp(c->s, pid);
}
