/*
 * handle_connect — CONNECT in, CONNACK out, and the session it opens or resumes.
 *
 * Order of checks (3.1.4): decode and validate [MQTT-3.1.4-1], protocol level, client
 * identifier rules, keepalive cap, authentication, then the session: a clean session
 * (or a resumed one whose old state was clean) replaces any previous session with that
 * id [MQTT-3.1.2-6]; a persistent one is resumed, wherever it lives [MQTT-3.1.2-4]; a
 * connection already holding that id is closed first [MQTT-3.1.4-2].
 */
#include <stdio.h>
#include <string.h>

#include "broker/broker_int.h"
#include "common/log.h"

static int refuse(mconn *c, uint8_t rc, const char *why)
{
    uint8_t ack[4];
    /* [MQTT-3.2.2-4] a non-zero return code comes with session present 0, and
     * [MQTT-3.2.2-5] the connection is closed after it. */
    mconn__write(c, ack, mqtt_encode_connack(ack, false, rc));
    log_info("mqtt %s: CONNACK %u: %s", mconn__peer(c), rc, why);
    mconn__close(c);
    return 0;
}

static uint8_t authenticate(mconn *c, const mqtt_connect *k)
{
    if (c->br->o.allow_anonymous)
        return MQTT_CONNACK_ACCEPTED;
    /* No credential store yet: device and user authentication arrive with the device
     * identity work. Until then only anonymous access can be granted. */
    return k->has_username ? MQTT_CONNACK_BAD_CREDENTIALS : MQTT_CONNACK_NOT_AUTHORIZED;
}

static int make_will(mconn *c, const mqtt_connect *k)
{
    if (!k->will)
        return 0;
    c->will = bmsg__new(k->will_topic.p, k->will_topic.len, k->will_payload, k->will_payload_len,
                        k->will_qos, k->will_retain);
    return c->will ? 0 : -1;
}

static void open_session(mconn *c, const uint8_t *id, size_t id_len, bool clean)
{
    broker *br = c->br;
    registry__lock(br);
    session *old = registry__find(br, id, id_len);
    if (old && !clean && !old->clean) {
        session__ref(old);
        registry__unlock(br);
        handover__claim(c->lp, old, c);
        return;
    }
    session *s = session__new(br, c->lp, id, id_len, clean);
    if (old)
        session__ref(old); /* before put() drops the registry's reference */
    if (!s || registry__put(br, s) < 0) {
        registry__unlock(br);
        session__unref(s);
        session__unref(old);
        refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory");
        return;
    }
    /* The store must see the old session deleted and the new one created before any
     * other loop can find the new one and replace it in turn: submit under the lock. */
    if (old && persist__session_on(old))
        persist__session_del(c->lp, old);
    if (persist__session_on(s))
        persist__session_new(c->lp, s);
    persist__flush(c->lp);
    registry__unlock(br);
    if (old)
        handover__kill(c->lp, old);
    handover__attach(c->lp, s, c, false);
    session__unref(s);
}

int handle__connect(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    /* [MQTT-3.1.0-2] a second CONNECT is a protocol violation */
    if (c->state != MC_NEW)
        return -1;
    mqtt_connect k;
    int rc = mqtt_decode_connect(body, n, flags, &k);
    if (rc == MQTT_EPROTOCOL_LEVEL) /* [MQTT-3.1.2-2] */
        return refuse(c, MQTT_CONNACK_BAD_PROTOCOL, "unsupported protocol level");
    if (rc == MQTT_EIDENTIFIER) /* [MQTT-3.1.3-8] */
        return refuse(c, MQTT_CONNACK_ID_REJECTED, "empty client id without clean session");
    if (rc < 0)
        return -1;
    uint32_t cap = c->br->o.max_keepalive;
    if (cap < 65535 && (k.keepalive == 0 || k.keepalive > cap))
        return refuse(c, MQTT_CONNACK_ID_REJECTED, "keepalive above max-keepalive");
    uint8_t auth = authenticate(c, &k);
    if (auth != MQTT_CONNACK_ACCEPTED)
        return refuse(c, auth, "not authorized");

    char auto_id[32];
    const uint8_t *id = k.client_id.p;
    size_t id_len = k.client_id.len;
    if (id_len == 0) {
        /* [MQTT-3.1.3-6] assign a unique id to a clean client that sent none */
        unsigned long long nr = atomic_fetch_add(&c->br->auto_id, 1);
        id_len = (size_t)snprintf(auto_id, sizeof auto_id, "auto-%016llx", nr);
        id = (const uint8_t *)auto_id;
    }
    if (make_will(c, &k) < 0)
        return refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory");
    c->keepalive = k.keepalive;
    /* [MQTT-3.1.2-24] close after 1.5 keepalive periods without a packet */
    c->io->set_timeout(c->t, (uint64_t)k.keepalive * 1500u);
    const char *cn = c->io->cert_cn(c->t);
    log_debug("mqtt %s: CONNECT id=%.*s clean=%d keepalive=%u%s%s", mconn__peer(c), (int)id_len,
              (const char *)id, k.clean_session, k.keepalive, cn ? " cert-cn=" : "", cn ? cn : "");
    open_session(c, id, id_len, k.clean_session);
    return 0;
}
