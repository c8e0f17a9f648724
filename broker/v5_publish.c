/*
 * v5_publish — a routed message's MQTT 5.0 properties, and the PUBLISH a 5.0 receiver
 * receives (the 3.1.1 form is built in deliver.c).
 *
 * A message keeps the property block of its PUBLISH as it came (payload format
 * indicator, content type, response topic, correlation data, user properties in their
 * order [MQTT-3.3.2-17] [MQTT-3.3.2-18]) minus the topic alias, which is per connection
 * [MQTT-3.3.2-7], and minus the message expiry, kept as an absolute time and written per
 * delivery as the time left [MQTT-3.3.2-6]. A 3.1.1 receiver gets none of it (deliver.c).
 *
 * 5.0 PUBLISH towards the client (3.3.1, 3.3.2):
 *   | fixed header | topic len (2) | topic | packet id (2, QoS > 0) |
 *   | property length (VBI) | 0x02 expiry left (4, if any) | kept properties | payload |
 */
#include <stdlib.h>
#include <string.h>

#include "broker/share.h"
#include "broker/v5.h"
#include "common/clock.h"
#include "mqtt/mqtt_topic.h"

/* Topics up to this length get their PUBLISH header built in one small copy. */
#define SMALL_TOPIC 200
/* Subscription Identifiers written with one PUBLISH, at most (overlapping subscriptions
 * of one session beyond that many are rare; the first ones found are sent). */
#define MAX_SUBIDS 8

int v5__msg_props(bmsg *m, const mqtt5_props *props, int64_t now_ms)
{
    if (props->len == 0)
        return 0;
    uint8_t *keep = malloc(props->len);
    if (!keep)
        return -1;
    size_t pos = 0, start = 0, n = 0;
    mqtt5_prop p;
    while (mqtt5_prop_next(props, &pos, &p) == 1) {
        if (p.id == MQTT5_MESSAGE_EXPIRY) /* [MQTT-3.3.2-5] gone once expired */
            m->expire_at = now_ms + (int64_t)p.num * 1000;
        else if (p.id != MQTT5_TOPIC_ALIAS && p.id != MQTT5_SUBSCRIPTION_ID &&
                 p.id != MQTT5_WILL_DELAY) { /* a will's delay is no PUBLISH property */
            memcpy(keep + n, props->p + start, pos - start);
            n += pos - start;
        }
        start = pos;
    }
    int rc = bmsg__set_props(m, keep, n);
    free(keep);
    return rc;
}

static size_t put_vbi(uint8_t *out, uint32_t v)
{
    size_t n = 0;
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        out[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

/* Seconds left before @m expires, rounded up (never 0: an expired one is not sent). */
static uint32_t expiry_left(const bmsg *m, int64_t now_ms)
{
    int64_t left = (m->expire_at - now_ms + 999) / 1000;
    return left < 1 ? 1u : left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

/* The Subscription Identifiers of @s's subscriptions matching @m's topic, at most
 * MAX_SUBIDS (3.3.4: one per matching subscription that has one); their bytes in *bytes. */
static size_t subids(const session *s, const bmsg *m, uint32_t ids[MAX_SUBIDS], size_t *bytes)
{
    size_t n = 0;
    *bytes = 0;
    if (!s->n_opt_subs)
        return 0;
    const uint8_t *topic = m->b->data + m->topic_off;
    for (const sub *e = s->subs; e && n < MAX_SUBIDS; e = e->next) {
        const uint8_t *f = e->filter;
        uint16_t fn = e->len;
        share__inner(&f, &fn);
        if (e->subid && mqtt_topic_match(f, fn, topic, m->topic_len)) {
            ids[n++] = e->subid;
            *bytes += 1 + mqtt5_vbi_len(e->subid);
        }
    }
    return n;
}

static uint32_t props_len(const bmsg *m, size_t id_bytes)
{
    return m->props_len + (m->expire_at ? 5u : 0u) + (uint32_t)id_bytes;
}

static uint64_t remaining(const bmsg *m, uint8_t qos, size_t id_bytes)
{
    uint32_t plen = props_len(m, id_bytes);
    return 2u + m->topic_len + (qos ? 2u : 0u) + mqtt5_vbi_len(plen) + (uint64_t)plen +
           m->payload_len;
}

static bool fits(const mconn *c, uint64_t rem)
{
    if (rem > MQTT_MAX_REMAINING)
        return false;
    /* [MQTT-3.1.2-24] nothing larger than the client's Maximum Packet Size */
    return !c->max_out || 1u + mqtt5_vbi_len((uint32_t)rem) + rem <= c->max_out;
}

bool v5__fits(const session *s, const mconn *c, const bmsg *m, uint8_t qos)
{
    uint32_t ids[MAX_SUBIDS];
    size_t id_bytes;
    subids(s, m, ids, &id_bytes);
    return fits(c, remaining(m, qos, id_bytes));
}

/* @aliases false: without a topic alias (none could be recorded). */
static bool write5(session *s, mconn *c, const bmsg *m, uint8_t qos, bool retain, bool dup,
                   uint16_t pid, bool aliases)
{
    uint32_t ids[MAX_SUBIDS];
    size_t id_bytes, nids = subids(s, m, ids, &id_bytes);
    const uint8_t *topic = m->b->data + m->topic_off;
    bool known = false;
    uint16_t alias = aliases ? v5__alias_out(c, topic, m->topic_len, &known, false) : 0;
    /* 3.3.2.3.4: a known alias replaces the topic; a new one is sent beside it */
    size_t extra = alias ? 3u : 0u, saved = known ? m->topic_len : 0u;
    uint64_t rem64 = remaining(m, qos, id_bytes + extra) - saved;
    if (!fits(c, rem64))
        return false;
    if (alias && !known && v5__alias_out(c, topic, m->topic_len, &known, true) != alias)
        return write5(s, c, m, qos, retain, dup, pid, false); /* no memory: without */
    uint32_t plen = props_len(m, id_bytes + extra), rem = (uint32_t)rem64;
    uint8_t hdr[MQTT_FIXED_HDR_MAX + 2 + SMALL_TOPIC + 2 + 4 + 5 + 3 + MAX_SUBIDS * 5];
    uint8_t flags = (uint8_t)((dup ? 0x8 : 0) | (qos << 1) | (retain ? 1 : 0));
    size_t n = (size_t)mqtt_encode_fixed_header(hdr, MQTT_PUBLISH, flags, rem);
    if (known) {
        hdr[n++] = 0; /* 3.3.2.3.4: an empty topic stands for the alias */
        hdr[n++] = 0;
    } else if (m->topic_len <= SMALL_TOPIC) {
        memcpy(hdr + n, m->b->data + m->topic_off - 2, 2u + m->topic_len);
        n += 2u + m->topic_len;
    } else {
        s->out->write(c, hdr, n);
        s->out->write_buf(c, m->b, m->topic_off - 2, 2u + m->topic_len);
        n = 0;
    }
    if (qos) {
        hdr[n++] = (uint8_t)(pid >> 8);
        hdr[n++] = (uint8_t)pid;
    }
    n += put_vbi(hdr + n, plen);
    if (m->expire_at) {
        uint32_t left = expiry_left(m, clock_wall_ms());
        hdr[n++] = MQTT5_MESSAGE_EXPIRY; /* [MQTT-3.3.2-6] the time left */
        hdr[n++] = (uint8_t)(left >> 24);
        hdr[n++] = (uint8_t)(left >> 16);
        hdr[n++] = (uint8_t)(left >> 8);
        hdr[n++] = (uint8_t)left;
    }
    if (alias) {
        hdr[n++] = MQTT5_TOPIC_ALIAS;
        hdr[n++] = (uint8_t)(alias >> 8);
        hdr[n++] = (uint8_t)alias;
    }
    for (size_t i = 0; i < nids; i++) { /* [MQTT-3.3.4-3] the matching subscriptions' ids */
        hdr[n++] = MQTT5_SUBSCRIPTION_ID;
        n += put_vbi(hdr + n, ids[i]);
    }
    s->out->write(c, hdr, n);
    if (m->props_len)
        s->out->write(c, m->props, m->props_len);
    if (m->payload_len)
        s->out->write_buf(c, m->b, m->payload_off, m->payload_len);
    return true;
}

bool v5__write_publish(session *s, mconn *c, const bmsg *m, uint8_t qos, bool retain, bool dup,
                       uint16_t pid)
{
    return write5(s, c, m, qos, retain, dup, pid, true);
}

bool v5__sub_filter(const session *s, const bmsg *m, bool *retain)
{
    const uint8_t *topic = m->b->data + m->topic_off;
    bool deliver = false, matched = false;
    for (const sub *e = s->subs; e; e = e->next) {
        if (e->filter[0] == '$' && e->len > 7 && memcmp(e->filter, "$share/", 7) == 0)
            continue; /* shared ones come through their group */
        if (!mqtt_topic_match(e->filter, e->len, topic, m->topic_len))
            continue;
        matched = true;
        /* [MQTT-3.8.3-3] no-local: not back to the session that published it */
        if (!(e->opts & MQTT5_SUB_NO_LOCAL) || m->publisher != (const void *)s)
            deliver = true;
        /* [MQTT-3.3.1-12] retain-as-published keeps the flag it was published with */
        if (e->opts & MQTT5_SUB_RETAIN_AS_PUB)
            *retain = *retain || m->retain;
    }
    return deliver || !matched;
}
