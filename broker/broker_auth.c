/*
 * broker_auth — who is behind a CONNECT (broker_opts.auth), and the topic policy applied
 * to that principal's session.
 *
 *   presented                    opts.auth NULL                opts.auth set
 *   neither username nor cert    ANON if allow_anonymous,      ANON if allow_anonymous,
 *                                else 0x05                     else 0x05 (hook not called)
 *   username and/or client cert  ANON if allow_anonymous,      auth->connect decides
 *                                else 0x04
 *
 * With allow_anonymous a zero-length user name counts as none (issue #16: conformance
 * suites connect that way); a user name that is not empty always goes to the hook, whose
 * refusal stands: a wrong password never falls back to anonymous.
 *
 * While the hook decides, the connection is in MC_WAIT_AUTH: reading is paused and bytes
 * already received are held (conn.c); they are handled once the session is attached.
 * The ticket belongs to the broker: freed by broker_auth_done, which may come inside
 * connect() or later on the same loop. A connection that closes meanwhile only detaches
 * from its ticket (auth__cancel), so a late decision finds nobody and frees it.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/auth.h"
#include "broker/creds.h"
#include "broker/bloop.h"
#include "broker/handle.h"
#include "broker/mconn.h"
#include "broker/session.h"
#include "broker/share.h"
#include "broker/sys.h"

struct broker_auth_ticket {
    mconn *c; /* NULL once the connection is gone */
    bool clean;
    uint16_t keepalive;
    uint16_t id_len;
    uint8_t id[]; /* the client id as sent */
};

bool auth__same(const broker_principal *a, const broker_principal *b)
{
    return a->who == b->who && strncmp(a->id, b->id, sizeof a->id) == 0;
}

bool auth__may_sub(const session *s, const uint8_t *f, size_t n)
{
    const broker_auth *a = s->br->o.auth;
    /* a shared subscription is judged by the filter inside it (share.c) */
    uint16_t n16 = (uint16_t)n;
    share__inner(&f, &n16);
    n = n16;
    /* $SYS (sys.c): administrators only; ANON (development) has no policy at all */
    if (sys__topic(f, n))
        return s->who.who == BROKER_WHO_ANON || (s->who.who == BROKER_WHO_USER && s->who.admin);
    return s->who.who == BROKER_WHO_ANON ||
           broker_policy_sub(&s->who, f, n, a ? a->owns : NULL, a ? a->arg : NULL);
}

bool auth__may_pub(const session *s, const uint8_t *t, size_t n)
{
    const broker_auth *a = s->br->o.auth;
    return s->who.who == BROKER_WHO_ANON ||
           broker_policy_pub(&s->who, t, n, a ? a->owns : NULL, a ? a->arg : NULL);
}

bool auth__recheck_subs(session *s)
{
    bool dropped = false;
    sub *e = s->subs;
    while (s->who.who != BROKER_WHO_ANON && e) {
        sub *next = e->next;
        if (!auth__may_sub(s, e->filter, e->len)) {
            session__unsubscribe(s, e->filter, e->len); /* frees e */
            dropped = true;
        }
        e = next;
    }
    return dropped;
}

static int refuse(mconn *c, uint8_t rc, const char *why)
{
    BROKER_STAT_ADD(c->br, auth_refused, 1);
    return handle__connect_refuse(c, rc, why);
}

/* Without a hook (tests, fuzzing): allow_anonymous alone decides, as it always did. */
static int without_hook(mconn *c, const mqtt_connect *k)
{
    if (!broker__allow_anon(c->br))
        return refuse(c,
                      k->has_username ? MQTT_CONNACK_BAD_CREDENTIALS : MQTT_CONNACK_NOT_AUTHORIZED,
                      "not authorized");
    handle__connect_proceed(c, k->client_id.p, k->client_id.len, k->clean_session, k->keepalive);
    return 0;
}

static broker_auth_ticket *ticket_new(mconn *c, const mqtt_connect *k)
{
    broker_auth_ticket *t = malloc(sizeof *t + k->client_id.len);
    if (!t)
        return NULL;
    t->c = c;
    t->clean = k->clean_session;
    t->keepalive = k->keepalive;
    t->id_len = k->client_id.len;
    memcpy(t->id, k->client_id.p, k->client_id.len);
    return t;
}

int auth__begin(mconn *c, const mqtt_connect *k)
{
    const broker_auth *a = c->br->o.auth;
    if (!a)
        return without_hook(c, k);
    const char *cn = c->io->cert_cn(c->t);
    if (cn && !*cn)
        cn = NULL;
    bool has_user = k->has_username && (k->username.len > 0 || !broker__allow_anon(c->br));
    if (!has_user && !cn) {
        if (!broker__allow_anon(c->br))
            return refuse(c, MQTT_CONNACK_NOT_AUTHORIZED, "no credentials");
        handle__connect_proceed(c, k->client_id.p, k->client_id.len, k->clean_session,
                                k->keepalive);
        return 0;
    }
    /* The user name is UTF-8 checked, so it holds no NUL [MQTT-1.5.3-2]. */
    char *user = has_user ? malloc((size_t)k->username.len + 1) : NULL;
    broker_auth_ticket *t = ticket_new(c, k);
    if (!t || (has_user && !user)) {
        free(user);
        free(t);
        return handle__connect_refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory");
    }
    if (user) {
        memcpy(user, k->username.p, k->username.len);
        user[k->username.len] = '\0';
    }
    broker_auth_req q = {
        .client_id = k->client_id.p,
        .client_id_len = k->client_id.len,
        .username = user,
        .password = has_user && k->has_password ? k->password : NULL,
        .password_len = has_user && k->has_password ? k->password_len : 0,
        .cert_cn = cn,
        .peer = mconn__peer(c),
        .loop = c->lp ? c->lp->nl : NULL,
    };
    c->state = MC_WAIT_AUTH;
    c->ticket = t;
    c->io->pause(c->t);
    a->connect(a->arg, &q, t); /* may answer (and free t) before it returns */
    free(user);
    return 0;
}

void auth__cancel(mconn *c)
{
    if (c->ticket)
        c->ticket->c = NULL;
    c->ticket = NULL;
}

void broker_auth_done(broker_auth_ticket *t, uint8_t rc, const broker_principal *p)
{
    mconn *c = t->c;
    if (c && c->ticket == t && c->state == MC_WAIT_AUTH) {
        c->ticket = NULL;
        if (rc == MQTT_CONNACK_ACCEPTED && !p)
            rc = MQTT_CONNACK_NOT_AUTHORIZED;
        if (rc == MQTT_CONNACK_ACCEPTED) {
            c->who = *p;
            c->who.id[BROKER_PRINCIPAL_ID_MAX] = '\0';
            c->who.cred[BROKER_CRED_MAX] = '\0';
            c->who.tmpl[BROKER_PRINCIPAL_ID_MAX] = '\0';
            creds__track(c); /* from now on a revocation reaches it (creds.c) */
            handle__connect_proceed(c, t->id, t->id_len, t->clean, t->keepalive);
        } else {
            /* 3.2.2.3: only codes 1-5 exist; anything else is "not authorized" */
            refuse(c, rc <= MQTT_CONNACK_NOT_AUTHORIZED ? rc : MQTT_CONNACK_NOT_AUTHORIZED,
                   "authentication refused");
        }
    } else if (c && c->ticket == t) {
        c->ticket = NULL;
    }
    free(t);
}
