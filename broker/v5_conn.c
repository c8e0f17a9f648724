/*
 * v5_conn — the MQTT 5.0 parts of a connection's life: CONNECT properties in, CONNACK
 * with the broker's properties out, DISCONNECT from the server, incoming topic aliases.
 *
 * CONNACK properties the broker always sends (3.2.2.3): Receive Maximum (max-inflight),
 * Maximum Packet Size (max-packet-size), Topic Alias Maximum (max-topic-alias, when not
 * 0), Retain Available 1, Wildcard Subscription Available 1, Subscription Identifiers
 * Available 1, Shared Subscription Available 1; and when they apply: Assigned Client
 * Identifier, Server Keep Alive (max-keepalive), Session Expiry Interval (capped by
 * session-expiry). Reason strings only when the client did not turn Request Problem
 * Information off [MQTT-3.1.2-29].
 */
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/v5.h"
#include "common/hash.h"
#include "common/log.h"

enum { MAX_PROPS = 12, PROP_BYTES = 512 };

uint8_t v5__connect(mconn *c, const mqtt5_connect *k)
{
    mqtt5_prop p;
    c->ver = MQTT5_LEVEL;
    c->fresh = k->c.clean_session;
    c->problem_info = true; /* 3.1.2.11.7: absent means 1 */
    if (mqtt5_prop_get(&k->props, MQTT5_REQUEST_PROBLEM_INFO, &p))
        c->problem_info = p.num != 0;
    c->send_max = 65535; /* 3.1.2.11.3: absent means 65535 */
    if (mqtt5_prop_get(&k->props, MQTT5_RECEIVE_MAX, &p))
        c->send_max = (uint16_t)p.num;
    if (mqtt5_prop_get(&k->props, MQTT5_MAX_PACKET_SIZE, &p))
        c->max_out = p.num;
    if (mqtt5_prop_get(&k->props, MQTT5_SESSION_EXPIRY, &p))
        c->expiry_s = p.num; /* absent: 0, the session ends with the connection */
    if (mqtt5_prop_get(&k->props, MQTT5_TOPIC_ALIAS_MAX, &p)) /* 3.1.2.11.5: ours to use */
        c->alias_out_max =
            (uint16_t)(p.num < c->br->o.topic_alias_max ? p.num : c->br->o.topic_alias_max);
    if (mqtt5_prop_get(&k->props, MQTT5_AUTH_METHOD, &p))
        return MQTT5_RC_BAD_AUTH_METHOD; /* enhanced authentication is not offered (4.12) */
    if (k->c.will && mqtt5_prop_get(&k->will_props, MQTT5_WILL_DELAY, &p))
        c->will_delay = p.num;
    return 0;
}

uint8_t v5__connack_code(uint8_t rc)
{
    switch (rc) {
    case MQTT_CONNACK_BAD_PROTOCOL:
        return MQTT5_RC_UNSUPPORTED_VERSION;
    case MQTT_CONNACK_ID_REJECTED:
        return MQTT5_RC_CLIENT_ID_INVALID;
    case MQTT_CONNACK_UNAVAILABLE:
        return MQTT5_RC_SERVER_UNAVAILABLE;
    case MQTT_CONNACK_BAD_CREDENTIALS:
        return MQTT5_RC_BAD_CREDENTIALS;
    default:
        return MQTT5_RC_NOT_AUTHORIZED;
    }
}

/* Appends a reason string when the client asked for problem information. */
static size_t add_reason(const mconn *c, mqtt5_prop *l, size_t n, const char *why)
{
    if (!why || !c->problem_info)
        return n; /* [MQTT-3.1.2-29] */
    l[n++] = (mqtt5_prop){.id = MQTT5_REASON_STRING,
                          .str = {(const uint8_t *)why, (uint16_t)strnlen(why, 200)}};
    return n;
}

static void write_connack(mconn *c, bool present, uint8_t reason, const mqtt5_prop *l, size_t n)
{
    uint8_t pb[PROP_BYTES + 256], out[PROP_BYTES + 512];
    mqtt5_connack a = {.session_present = present, .reason = reason};
    if (mqtt5_props_build(pb, sizeof pb, l, n, &a.props) < 0)
        a.props = (mqtt5_props){0};
    int len = mqtt5_encode_connack(out, sizeof out, &a);
    if (len > 0)
        mconn__write(c, out, (size_t)len);
}

void v5__connack_refuse(mconn *c, uint8_t reason, const char *why)
{
    mqtt5_prop l[1];
    write_connack(c, false, reason, l, add_reason(c, l, 0, why));
}

static mqtt5_prop num(uint8_t id, uint32_t v) { return (mqtt5_prop){.id = id, .num = v}; }

void v5__connack(mconn *c, bool present, const session *s)
{
    const broker_opts *o = &c->br->o;
    mqtt5_prop l[MAX_PROPS];
    size_t n = 0;
    l[n++] = num(MQTT5_RECEIVE_MAX, o->max_inflight > 65535 ? 65535 : o->max_inflight);
    l[n++] = num(MQTT5_MAX_PACKET_SIZE, o->max_packet_size);
    if (o->topic_alias_max)
        l[n++] = num(MQTT5_TOPIC_ALIAS_MAX, o->topic_alias_max);
    l[n++] = num(MQTT5_RETAIN_AVAILABLE, 1);
    l[n++] = num(MQTT5_WILDCARD_SUB_AVAILABLE, 1);
    l[n++] = num(MQTT5_SUB_ID_AVAILABLE, 1);
    l[n++] = num(MQTT5_SHARED_SUB_AVAILABLE, 1);
    if (c->assigned_id) /* [MQTT-3.2.2-16] */
        l[n++] = (mqtt5_prop){.id = MQTT5_ASSIGNED_CLIENT_ID,
                              .str = {(const uint8_t *)s->id, s->id_len}};
    if (c->keepalive_capped) /* [MQTT-3.2.2-21] the client uses ours */
        l[n++] = num(MQTT5_SERVER_KEEP_ALIVE, c->keepalive);
    if (c->expiry_capped) /* 3.2.2.3.2: the interval the server uses */
        l[n++] = num(MQTT5_SESSION_EXPIRY, c->expiry_s);
    write_connack(c, present, 0, l, n);
}

void v5__disconnect(mconn *c, uint8_t reason, const char *why)
{
    if (c->ver == MQTT5_LEVEL && c->state != MC_CLOSING && c->state != MC_NEW) {
        mqtt5_prop l[1];
        uint8_t pb[256], out[300];
        mqtt5_ack a = {.reason = reason};
        if (mqtt5_props_build(pb, sizeof pb, l, add_reason(c, l, 0, why), &a.props) < 0)
            a.props = (mqtt5_props){0};
        int len = mqtt5_encode_disconnect(out, sizeof out, &a); /* [MQTT-3.14.2-1] */
        if (len > 0)
            mconn__write(c, out, (size_t)len);
    }
    mconn__close(c);
}

uint8_t v5__alias_in(mconn *c, mqtt5_publish *p)
{
    mqtt5_prop a;
    if (!mqtt5_prop_get(&p->props, MQTT5_TOPIC_ALIAS, &a))
        return 0;
    uint16_t max = c->alias ? c->alias_n : c->br->o.topic_alias_max;
    if (a.num == 0 || a.num > max) /* [MQTT-3.3.2-9] [MQTT-3.3.2-10] */
        return MQTT5_RC_TOPIC_ALIAS_INVALID;
    if (!c->alias) {
        if (!(c->alias = calloc((size_t)max + 1, sizeof *c->alias)))
            return MQTT5_RC_UNSPECIFIED;
        c->alias_n = max;
    }
    v5alias *e = &c->alias[a.num];
    if (p->topic.len == 0) { /* 3.3.2.3.4: the alias stands for the topic */
        if (!e->p)
            return MQTT5_RC_PROTOCOL_ERROR; /* an alias never set */
        p->topic = (mqtt_str){e->p, e->len};
        return 0;
    }
    uint8_t *t = malloc(p->topic.len);
    if (!t)
        return MQTT5_RC_UNSPECIFIED;
    memcpy(t, p->topic.p, p->topic.len);
    free(e->p);
    e->p = t;
    e->len = p->topic.len;
    return 0;
}

void v5__alias_free(mconn *c)
{
    for (uint32_t i = 0; c->alias && i <= c->alias_n; i++)
        free(c->alias[i].p);
    free(c->alias);
    c->alias = NULL;
    for (uint32_t i = 0; c->alias_out && i <= c->alias_out_used; i++)
        free(c->alias_out[i].p);
    free(c->alias_out);
    c->alias_out = NULL;
}

/* Outgoing aliases are handed out first come, first served, and kept for the life of the
 * connection (a client's table is small: max-topic-alias, 10 by default), so a linear
 * scan with a hash check is enough. */
uint16_t v5__alias_out(mconn *c, const uint8_t *t, uint16_t n, bool *known, bool commit)
{
    *known = false;
    if (!c->alias_out_max)
        return 0;
    uint64_t h = hash_fnv1a(t, n);
    for (uint16_t i = 1; c->alias_out && i <= c->alias_out_used; i++) {
        const v5alias *e = &c->alias_out[i];
        if (e->h == h && e->len == n && memcmp(e->p, t, n) == 0) {
            *known = true;
            return i;
        }
    }
    if (c->alias_out_used >= c->alias_out_max)
        return 0;
    if (!commit)
        return (uint16_t)(c->alias_out_used + 1);
    if (!c->alias_out && !(c->alias_out = calloc((size_t)c->alias_out_max + 1, sizeof(v5alias))))
        return 0;
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return 0;
    memcpy(copy, t, n);
    uint16_t a = ++c->alias_out_used;
    c->alias_out[a] = (v5alias){.len = n, .p = copy, .h = h};
    return a;
}
