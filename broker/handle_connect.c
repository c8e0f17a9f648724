/*
 * handle_connect — CONNECT in, CONNACK out, and the session it opens or resumes.
 *
 * Order of checks (3.1.4): decode and validate [MQTT-3.1.4-1], protocol level, client
 * identifier rules, keepalive cap, authentication (broker_auth.c; the connection may
 * wait in MC_WAIT_AUTH for the hook), the will topic against the principal's policy,
 * a client id held by another principal's session (0x02), the per-user quota of persistent
 * sessions (0x05, quota.c), then the session: a clean session
 * (or a resumed one whose old state was clean) replaces any previous session with that
 * id [MQTT-3.1.2-6]; a persistent one is resumed, wherever it lives [MQTT-3.1.2-4]; a
 * connection already holding that id is closed first [MQTT-3.1.4-2].
 *
 * MQTT 5.0 (protocol level 5, v5_conn.c): the same path; the CONNECT properties are taken
 * first, refusals are 5.0 CONNACKs, a keep-alive above max-keepalive becomes Server Keep
 * Alive instead of a refusal, Clean Start decides whether an old session is resumed and the
 * Session Expiry Interval whether the session outlives the connection.
 */
#include <stdio.h>
#include <string.h>

#include "broker/auth.h"
#include "broker/quota.h"
#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/handle.h"
#include "broker/handover.h"
#include "broker/mconn.h"
#include "broker/persist.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "broker/v5.h"
#include "common/log.h"

/* @rc5: the 5.0 reason code, 0 to translate the 3.1.1 one (v5__connack_code). */
static int refuse(mconn *c, uint8_t rc, uint8_t rc5, const char *why)
{
    uint8_t ack[4];
    /* [MQTT-3.2.2-4] a non-zero return code comes with session present 0, and
     * [MQTT-3.2.2-5] the connection is closed after it; 5.0: [MQTT-3.2.2-6]/[MQTT-3.2.2-7] */
    if (c->ver == MQTT5_LEVEL) {
        rc = rc5 ? rc5 : v5__connack_code(rc);
        v5__connack_refuse(c, rc, why);
    } else {
        mconn__write(c, ack, mqtt_encode_connack(ack, false, rc));
    }
    broker__errlog(c->br, "mqtt %s: CONNACK %u: %s", mconn__peer(c), rc, why);
    mconn__close(c);
    return 0;
}

int handle__connect_refuse(mconn *c, uint8_t rc, const char *why) { return refuse(c, rc, 0, why); }

/* @wp: the will properties of a 5.0 CONNECT, forwarded with the will (3.1.3.2), or NULL */
static int make_will(mconn *c, const mqtt_connect *k, const mqtt5_props *wp)
{
    if (!k->will)
        return 0;
    c->will = bmsg__new(k->will_topic.p, k->will_topic.len, k->will_payload, k->will_payload_len,
                        k->will_qos, k->will_retain);
    if (!c->will)
        return -1;
    if (wp && v5__msg_props(c->will, wp, 0) < 0)
        return -1;
    /* the will's Message Expiry Interval runs from its publication */
    c->will_expiry_ms = c->will->expire_at;
    c->will->expire_at = 0;
    return 0;
}

enum { ACCT_OK = 0, ACCT_NOMEM = -1, ACCT_FULL = -2 };

/* Under reg_lock: the account a new persistent session of @c counts against (NULL: none,
 * when @aid is empty), or ACCT_FULL at max_sessions_per_user, or ACCT_NOMEM. */
static int take_account(mconn *c, const char *aid, qacct **out)
{
    *out = NULL;
    if (!aid[0])
        return ACCT_OK;
    if (!(*out = quota__acct(c->br, aid)))
        return ACCT_NOMEM;
    return quota__sessions_full(c->br, *out) ? ACCT_FULL : ACCT_OK;
}

/* 3.1.1 has no quota code: 0x05 (not authorized) tells the client that retrying the same
 * thing will not help, where 0x03 (unavailable) invites a retry loop; MQTT 5 will answer
 * 0x97 (quota exceeded). */
static void refuse_account(mconn *c, int rc)
{
    if (rc == ACCT_NOMEM) {
        handle__connect_refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory");
        return;
    }
    BROKER_STAT_ADD(c->br, quota_sessions, 1);
    refuse(c, MQTT_CONNACK_NOT_AUTHORIZED, MQTT5_RC_QUOTA_EXCEEDED,
           "persistent sessions per user quota reached");
}

/* @clean: the session ends with the connection (3.1.1 clean session 1, 5.0 session
 * expiry 0); @fresh: no old session is resumed (3.1.1 clean session, 5.0 Clean Start). */
static void open_session(mconn *c, const uint8_t *id, size_t id_len, bool clean, bool fresh)
{
    broker *br = c->br;
    char aid[BROKER_PRINCIPAL_ID_MAX + 1] = "";
    qacct *acct = NULL;
    if (!clean && !quota__account_id(br, &c->who, aid))
        aid[0] = '\0'; /* outside the lock: account_of reads the device directory */
    registry__lock(br);
    session *old = registry__find(br, id, id_len);
    if (old && !auth__same(&old->who, &c->who)) {
        /* broker.h: another principal's session is left alone */
        registry__unlock(br);
        BROKER_STAT_ADD(br, auth_refused, 1);
        handle__connect_refuse(c, MQTT_CONNACK_ID_REJECTED, "client id held by another principal");
        return;
    }
    if (old && !fresh && !old->clean) {
        session__ref(old);
        registry__unlock(br);
        handover__claim(c->lp, old, c);
        return;
    }
    /* From here a persistent CONNECT creates a session (any old one is clean). */
    int arc = take_account(c, aid, &acct);
    if (arc < 0) {
        registry__unlock(br);
        refuse_account(c, arc);
        return;
    }
    session *s = session__new(br, c->lp, id, id_len, clean);
    if (s) {
        s->who = c->who;
        s->acct = acct;
    }
    if (old)
        session__ref(old); /* before put() drops the registry's reference */
    if (!s || registry__put(br, s) < 0) {
        registry__unlock(br);
        session__unref(s);
        session__unref(old);
        handle__connect_refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory");
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
    /* [MQTT-3.1.4-2] the connection holding the id (on whichever loop) ends before
     * this one is accepted */
    if (old)
        handover__replace(c->lp, old, s, c);
    else
        handover__attach(c->lp, s, c, false);
    session__unref(s);
}

void handle__connect_proceed(mconn *c, const uint8_t *id, size_t id_len, bool clean,
                             uint16_t keepalive)
{
    /* broker.h: a will the principal could not publish refuses the CONNECT */
    const bmsg *w = c->will;
    if (w && c->who.who != BROKER_WHO_ANON) {
        const broker_auth *a = c->br->o.auth;
        if (!broker_policy_pub(&c->who, w->b->data + w->topic_off, w->topic_len, a ? a->owns : NULL,
                               a ? a->arg : NULL)) {
            BROKER_STAT_ADD(c->br, auth_refused, 1);
            handle__connect_refuse(c, MQTT_CONNACK_NOT_AUTHORIZED, "will topic not allowed");
            return;
        }
    }
    c->policed = c->who.who != BROKER_WHO_ANON;
    char auto_id[32];
    if (id_len == 0) {
        /* [MQTT-3.1.3-6] assign a unique id to a clean client that sent none */
        unsigned long long nr = atomic_fetch_add(&c->br->auto_id, 1);
        id_len = (size_t)snprintf(auto_id, sizeof auto_id, "auto-%016llx", nr);
        id = (const uint8_t *)auto_id;
        c->assigned_id = true;
    }
    bool fresh = clean;
    if (c->ver == MQTT5_LEVEL)
        clean = c->expiry_s == 0; /* 3.1.2.11.2: 0 ends the session with the connection */
    c->keepalive = keepalive;
    /* [MQTT-3.1.2-24] close after 1.5 keepalive periods without a packet */
    c->io->set_timeout(c->t, (uint64_t)keepalive * 1500u);
    const char *cn = c->io->cert_cn(c->t);
    log_debug("mqtt %s: CONNECT id=%.*s clean=%d keepalive=%u who=%d%s%s", mconn__peer(c),
              (int)id_len, (const char *)id, clean, keepalive, (int)c->who.who,
              cn ? " cert-cn=" : "", cn ? cn : "");
    open_session(c, id, id_len, clean, fresh);
}

/* A 5.0 CONNECT: its properties, then the path every CONNECT takes. */
static int connect5(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt5_connect k;
    int rc = mqtt5_decode_connect(body, n, flags, &k);
    c->ver = MQTT5_LEVEL; /* the refusals below are 5.0 CONNACKs [MQTT-3.2.2-7] */
    if (rc < 0)           /* [MQTT-3.1.4-1] */
        return refuse(c, 0, mqtt5_err_reason(rc), "malformed CONNECT");
    uint8_t why = v5__connect(c, &k);
    if (why)
        return refuse(c, 0, why, "enhanced authentication is not supported");
    uint32_t cap = c->br->o.max_keepalive;
    if (cap < 65535 && (k.c.keepalive == 0 || k.c.keepalive > cap)) {
        k.c.keepalive = (uint16_t)cap; /* [MQTT-3.2.2-21] the client uses Server Keep Alive */
        c->keepalive_capped = true;
    }
    uint32_t exp = c->br->o.session_expiry_s;
    if (exp && c->expiry_s > exp) {
        c->expiry_s = exp; /* session-expiry is the longest the broker keeps one */
        c->expiry_capped = true;
    }
    if (make_will(c, &k.c, &k.will_props) < 0)
        return refuse(c, MQTT_CONNACK_UNAVAILABLE, 0, "out of memory");
    return auth__begin(c, &k.c);
}

int handle__connect(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    /* [MQTT-3.1.0-2] a second CONNECT is a protocol violation */
    if (c->state != MC_NEW)
        return -1;
    uint8_t level = 0;
    if (mqtt5_connect_level(body, n, &level) == MQTT_OK && level == MQTT5_LEVEL)
        return connect5(c, flags, body, n);
    mqtt_connect k;
    int rc = mqtt_decode_connect(body, n, flags, &k);
    if (rc == MQTT_EPROTOCOL_LEVEL) /* [MQTT-3.1.2-2] */
        return handle__connect_refuse(c, MQTT_CONNACK_BAD_PROTOCOL, "unsupported protocol level");
    if (rc == MQTT_EIDENTIFIER) /* [MQTT-3.1.3-8] */
        return handle__connect_refuse(c, MQTT_CONNACK_ID_REJECTED,
                                      "empty client id without clean session");
    if (rc < 0)
        return -1;
    uint32_t cap = atomic_load_explicit(&c->br->live_keepalive, memory_order_relaxed);
    if (cap < 65535 && (k.keepalive == 0 || k.keepalive > cap))
        return handle__connect_refuse(c, MQTT_CONNACK_ID_REJECTED, "keepalive above max-keepalive");
    /* The will is built now, while its bytes are at hand; it is checked against the
     * principal's policy once authentication decided. */
    if (make_will(c, &k, NULL) < 0)
        return handle__connect_refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory");
    return auth__begin(c, &k);
}
