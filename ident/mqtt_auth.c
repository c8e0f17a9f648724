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
#include "ident/acct_rules.h"
#include "ident/mqtt_claim.h"

struct mqtt_auth {
    broker_auth hook;
    devdir *dd;
    auth *au;
    store *st; /* claim certificates' templates (mqtt_claim.h); NULL: none accepted */
};

/* A user's CONNECT waiting for its token to be looked up. */
typedef struct pending {
    mqtt_auth *m;
    broker_auth_ticket *t;
    char username[ACCT_USERNAME_MAX + 1]; /* normalised as the REST login does */
    char peer[64];
    size_t id_len;
    uint8_t client_id[STORE_ID_MAX + 1]; /* only compared against device ids */
    bool id_fits;
} pending;

static bool same(const uint8_t *a, size_t an, const char *b)
{
    return b && an == strlen(b) && memcmp(a, b, an) == 0;
}

void mqtt_auth_peer_ip(const char *peer, char *ip, size_t cap)
{
    const char *colon = peer ? strrchr(peer, ':') : NULL;
    const char *from = peer, *to = colon;
    if (peer && peer[0] == '[') { /* "[v6]:port" */
        from = peer + 1;
        to = colon && colon > from && colon[-1] == ']' ? colon - 1 : NULL;
    }
    size_t n = to && to > from ? (size_t)(to - from) : 0;
    if (cap == 0)
        return;
    if (n >= cap)
        n = 0;
    if (n)
        memcpy(ip, from, n);
    ip[n] = '\0';
}

static void refuse(broker_auth_ticket *t, uint8_t rc, const char *peer, const char *why)
{
    log_info("mqtt %s: authentication refused: %s", peer ? peer : "-", why);
    broker_auth_done(t, rc, NULL);
}

/* A wrong credential (0x04): refused, and counted against the peer's address. */
static void refuse_bad(mqtt_auth *m, broker_auth_ticket *t, const char *peer, const char *why)
{
    char ip[64];
    mqtt_auth_peer_ip(peer, ip, sizeof ip);
    if (m->au && ip[0])
        auth_peer_failed(m->au, ip);
    refuse(t, 4, peer, why);
}

/* @cred: the credential tag (broker.h) revocation finds the connection by; @expires_ms
 * its end (0 = none). */
static void accept_as(broker_auth_ticket *t, enum broker_who who, const char *id, const char *cred,
                      int64_t expires_ms, bool admin)
{
    broker_principal p = {.who = who, .expires_ms = expires_ms, .admin = admin};
    size_t n = strlen(id);
    if (n > BROKER_PRINCIPAL_ID_MAX || strlen(cred) > BROKER_CRED_MAX) {
        broker_auth_done(t, 5, NULL);
        return;
    }
    memcpy(p.id, id, n + 1);
    memcpy(p.cred, cred, strlen(cred) + 1);
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
    accept_as(t, BROKER_WHO_DEVICE, cn, "", 0,
              false); /* revocation purges it (broker_purge_client) */
}

/* A claim certificate: its client id is free but never a device's (docs/provisioning.md). */
static void by_claim(mqtt_auth *m, const broker_auth_req *q, broker_auth_ticket *t)
{
    const char *id = (const char *)q->client_id;
    if (devdir_id_shaped(id, q->client_id_len) ||
        devdir_exists(m->dd, q->client_id, q->client_id_len)) {
        refuse(t, 2, q->peer, "a claim connection's client id is a device's");
        return;
    }
    if (q->username && strcmp(q->username, q->cert_cn) != 0) {
        refuse(t, 4, q->peer, "user name differs from the certificate's CN");
        return;
    }
    mqtt_claim_connect(m->st, q, t);
}

static void by_secret(mqtt_auth *m, const broker_auth_req *q, broker_auth_ticket *t)
{
    if (!q->password || !devdir_secret_ok(m->dd, q->username, q->password, q->password_len)) {
        refuse_bad(m, t, q->peer, "wrong device secret");
        return;
    }
    if (!same(q->client_id, q->client_id_len, q->username)) {
        refuse(t, 2, q->peer, "a device's client id must be its id");
        return;
    }
    accept_as(t, BROKER_WHO_DEVICE, q->username, MQTT_AUTH_CRED_SECRET, 0, false);
}

static void token_checked(void *arg, bool ok, const auth_principal *p, const auth_token_info *ti)
{
    pending *w = arg;
    if (!ok || strcmp(p->username, w->username) != 0)
        refuse_bad(w->m, w->t, w->peer, "invalid access token");
    else if (w->id_fits && devdir_exists(w->m->dd, w->client_id, w->id_len))
        refuse(w->t, 2, w->peer, "client id belongs to a device");
    else /* tagged with its family, closed at its expiry (docs/device-identity.md) */
        accept_as(w->t, BROKER_WHO_USER, p->user_id, ti->family, ti->expires_at, p->admin);
    free(w);
}

static void by_token(mqtt_auth *m, const broker_auth_req *q, broker_auth_ticket *t)
{
    const char *why = NULL;
    pending *w = calloc(1, sizeof *w);
    if (!w) {
        broker_auth_done(t, 3, NULL);
        return;
    }
    /* The REST login's rule: "Alice" is "alice" (ident/acct_rules.h). */
    if (!m->au || !q->password ||
        acct_username_norm(q->username, w->username, sizeof w->username, &why) < 0 ||
        acct_username_reserved(w->username, &why) < 0) {
        free(w);
        refuse_bad(m, t, q->peer, "no access token or no valid user name");
        return;
    }
    w->m = m;
    w->t = t;
    snprintf(w->peer, sizeof w->peer, "%s", q->peer ? q->peer : "-");
    w->id_fits = q->client_id_len <= STORE_ID_MAX;
    if (w->id_fits) {
        memcpy(w->client_id, q->client_id, q->client_id_len);
        w->id_len = q->client_id_len;
    }
    auth_verify_token(m->au, q->loop, (const char *)q->password, q->password_len, token_checked, w);
}

/* Too many failed authentications from this address lately (auth_peer_limited). */
static bool limited(mqtt_auth *m, const broker_auth_req *q)
{
    char ip[64];
    mqtt_auth_peer_ip(q->peer, ip, sizeof ip);
    return m->au && ip[0] && auth_peer_limited(m->au, ip, NULL);
}

const char *mqtt_auth_username(const char *username)
{
    /* The AWS IoT Device SDKs send "?SDK=JavaScript&Version=2.2.13" (their usage metrics)
     * as the user name: a query, never a name (docs/device-identity.md). */
    return username && username[0] != '?' ? username : NULL;
}

static void on_connect(void *arg, const broker_auth_req *q0, broker_auth_ticket *t)
{
    mqtt_auth *m = arg;
    broker_auth_req q1 = *q0;
    const broker_auth_req *q = &q1;
    q1.username = mqtt_auth_username(q0->username);
    size_t un = q->username ? strlen(q->username) : 0;
    if (q->cert_cn && mqtt_claim_cn(q->cert_cn))
        by_claim(m, q, t);
    else if (q->cert_cn)
        by_certificate(m, q, t);
    else if (!q->username)
        refuse(t, 5, q->peer, "no credentials");
    else if (limited(m, q)) /* not even checked: no guessing while limited */
        refuse(t, 5, q->peer, "too many failed authentications from this address");
    else if (devdir_id_shaped(q->username, un) ||
             devdir_exists(m->dd, (const uint8_t *)q->username, un))
        by_secret(m, q, t); /* the device namespace: never a user (devdir.h) */
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

void mqtt_auth_user_revoked(void *br, const char *user_id, const char *family)
{
    broker_close_principal(br, BROKER_WHO_USER, user_id, family);
}

void mqtt_auth_secret_rotated(struct broker *br, const char *device_id)
{
    broker_close_principal(br, BROKER_WHO_DEVICE, device_id, MQTT_AUTH_CRED_SECRET);
}

void mqtt_auth_claim_revoked(struct broker *br, const char *template_id, const char *serial)
{
    if (serial && serial[0]) /* "": no tag, which would close every claim connection */
        broker_close_principal(br, BROKER_WHO_CLAIMCERT, template_id, serial);
}

void mqtt_auth_set_users(mqtt_auth *m, auth *au) { m->au = au; }

void mqtt_auth_set_store(mqtt_auth *m, store *st) { m->st = st; }

const broker_auth *mqtt_auth_hook(mqtt_auth *m) { return &m->hook; }
