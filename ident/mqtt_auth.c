/*
 * mqtt_auth — the broker_auth hook (mqtt_auth.h): certificate, device secret or user
 * access token. Refusals are logged with the peer and the reason, never with what was
 * presented as a password.
 */
#include "ident/mqtt_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct mqtt_auth {
    broker_auth hook;
    devdir *dd;
    auth *au;
};

/* A user's CONNECT waiting for its token to be looked up. */
typedef struct pending {
    mqtt_auth *m;
    broker_auth_ticket *t;
    char username[STORE_NAME_MAX + 1];
    char peer[64];
    size_t id_len;
    uint8_t client_id[STORE_ID_MAX + 1]; /* only compared against device ids */
    bool id_fits;
} pending;

static bool same(const uint8_t *a, size_t an, const char *b)
{
    return b && an == strlen(b) && memcmp(a, b, an) == 0;
}

static void refuse(broker_auth_ticket *t, uint8_t rc, const char *peer, const char *why)
{
    log_info("mqtt %s: authentication refused: %s", peer ? peer : "-", why);
    broker_auth_done(t, rc, NULL);
}

static void accept_as(broker_auth_ticket *t, enum broker_who who, const char *id)
{
    broker_principal p = {.who = who};
    size_t n = strlen(id);
    if (n > BROKER_PRINCIPAL_ID_MAX) {
        broker_auth_done(t, 5, NULL);
        return;
    }
    memcpy(p.id, id, n + 1);
    broker_auth_done(t, 0, &p);
}

static void by_certificate(mqtt_auth *m, const broker_auth_req *q, broker_auth_ticket *t)
{
    const char *cn = q->cert_cn;
    if (!same(q->client_id, q->client_id_len, cn)) {
        refuse(t, 2, q->peer, "client id differs from the certificate's CN");
        return;
    }
    if (!devdir_exists(m->dd, (const uint8_t *)cn, strlen(cn))) {
        refuse(t, 5, q->peer, "certificate of no registered device");
        return;
    }
    if (q->username && strcmp(q->username, cn) != 0) {
        refuse(t, 4, q->peer, "user name differs from the certificate's CN");
        return;
    }
    accept_as(t, BROKER_WHO_DEVICE, cn);
}

static void by_secret(mqtt_auth *m, const broker_auth_req *q, broker_auth_ticket *t)
{
    if (!q->password || !devdir_secret_ok(m->dd, q->username, q->password, q->password_len)) {
        refuse(t, 4, q->peer, "wrong device secret");
        return;
    }
    if (!same(q->client_id, q->client_id_len, q->username)) {
        refuse(t, 2, q->peer, "a device's client id must be its id");
        return;
    }
    accept_as(t, BROKER_WHO_DEVICE, q->username);
}

static void token_checked(void *arg, bool ok, const auth_principal *p)
{
    pending *w = arg;
    if (!ok || strcmp(p->username, w->username) != 0)
        refuse(w->t, 4, w->peer, "invalid access token");
    else if (w->id_fits && devdir_exists(w->m->dd, w->client_id, w->id_len))
        refuse(w->t, 2, w->peer, "client id belongs to a device");
    else
        accept_as(w->t, BROKER_WHO_USER, p->user_id);
    free(w);
}

static void by_token(mqtt_auth *m, const broker_auth_req *q, broker_auth_ticket *t)
{
    size_t un = strlen(q->username);
    pending *w = calloc(1, sizeof *w);
    if (!w) {
        broker_auth_done(t, 3, NULL);
        return;
    }
    if (!m->au || !q->password || un > STORE_NAME_MAX) {
        free(w);
        {
            refuse(t, 4, q->peer, "no access token");
            return;
        }
    }
    w->m = m;
    w->t = t;
    memcpy(w->username, q->username, un + 1);
    snprintf(w->peer, sizeof w->peer, "%s", q->peer ? q->peer : "-");
    w->id_fits = q->client_id_len <= STORE_ID_MAX;
    if (w->id_fits) {
        memcpy(w->client_id, q->client_id, q->client_id_len);
        w->id_len = q->client_id_len;
    }
    auth_verify_token(m->au, q->loop, (const char *)q->password, q->password_len, token_checked, w);
}

static void on_connect(void *arg, const broker_auth_req *q, broker_auth_ticket *t)
{
    mqtt_auth *m = arg;
    if (q->cert_cn)
        by_certificate(m, q, t);
    else if (!q->username)
        refuse(t, 5, q->peer, "no credentials");
    else if (devdir_exists(m->dd, (const uint8_t *)q->username, strlen(q->username)))
        by_secret(m, q, t);
    else
        by_token(m, q, t);
}

static bool owns(void *arg, const char *user_id, const uint8_t *dev, size_t len)
{
    mqtt_auth *m = arg;
    return devdir_owned_by(m->dd, dev, len, user_id);
}

mqtt_auth *mqtt_auth_new(devdir *dd, auth *au)
{
    mqtt_auth *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->dd = dd;
    m->au = au;
    m->hook = (broker_auth){.connect = on_connect, .owns = owns, .arg = m};
    return m;
}

void mqtt_auth_free(mqtt_auth *m) { free(m); }

void mqtt_auth_set_users(mqtt_auth *m, auth *au) { m->au = au; }

const broker_auth *mqtt_auth_hook(mqtt_auth *m) { return &m->hook; }
