/*
 * reload — what a SIGHUP or `iotcloud reload` changes, and the check that comes first.
 */
#include "app/reload.h"

#include <stdio.h>
#include <string.h>

#include "app/http_setup.h"
#include "common/log.h"

/* Keys a reload applies; every other changed key needs a restart. The TLS files are
 * re-read whether or not their names changed (a renewed certificate keeps its name). */
static const char *const live_keys[] = {
    "cert",          "key",      "cafile",    "log-level",     "allow-anonymous",
    "max-keepalive", "smtp-url", "smtp-user", "smtp-password", "smtp-from",
    "smtp-insecure", "sms-url",  "sms-user",  "sms-password",  "sms-from"};

static bool is_live(const char *key)
{
    for (size_t i = 0; i < sizeof live_keys / sizeof live_keys[0]; i++)
        if (strcmp(live_keys[i], key) == 0)
            return true;
    return false;
}

typedef struct restart_list {
    char *p;
    size_t cap, len;
    size_t n;
} restart_list;

static void note_restart(void *arg, const char *key)
{
    restart_list *l = arg;
    if (is_live(key) || l->len >= l->cap)
        return;
    int w = snprintf(l->p + l->len, l->cap - l->len, "%s%s", l->n ? ", " : "", key);
    if (w > 0)
        l->len += (size_t)w < l->cap - l->len ? (size_t)w : l->cap - l->len - 1;
    l->n++;
}

/* The files setup_tls (main.c) would pick for @c. Switching between our own CA and
 * --cafile changes who may register devices: that needs a restart, so the CA in use
 * stays when only one of the two configurations names one. */
static int tls_files(const app_reload *r, const iot_config *c, net_tls_opts *o, char *msg,
                     size_t msglen)
{
    if ((c->cert[0] != '\0') != (c->key[0] != '\0')) {
        snprintf(msg, msglen, "cert and key must be given together");
        return -1;
    }
    if (!r->cp && (!c->cert[0] || !c->cafile[0])) {
        snprintf(msg, msglen, "no certificate authority of our own to fall back to");
        return -1;
    }
    *o = r->tls;
    o->cert_file = c->cert[0] ? c->cert : r->cp->server_cert;
    o->key_file = c->key[0] ? c->key : r->cp->server_key;
    bool was_own = r->cur.cafile[0] == '\0';
    const iot_config *cac = (c->cafile[0] == '\0') == was_own ? c : &r->cur;
    o->ca_file = cac->cafile[0] ? cac->cafile : r->cp->ca_cert;
    return 0;
}

/* Parses the command line (and its --config file) afresh into @n. */
static int reparse(const app_reload *r, iot_config *n, char *msg, size_t msglen)
{
    char err[512];
    bool help = false;
    config_defaults(n);
    if (config_parse_args(n, r->argc, r->argv, &help, err, sizeof err) < 0) {
        snprintf(msg, msglen, "configuration: %s", err);
        return -1;
    }
    return 0;
}

/* The notifier's new channels for @n, checked before anything is applied. *out stays NULL
 * without a notifier (CLI use). */
static int new_notify_settings(const app_reload *r, const iot_config *n, notify_settings **out,
                               char *msg, size_t msglen)
{
    char err[256];
    notify_opts no;
    *out = NULL;
    if (!r->nt)
        return 0;
    app_http_notify_opts(n, NULL, &no);
    if (!(*out = notify_settings_new(&no, err, sizeof err))) {
        snprintf(msg, msglen, "mail/SMS settings refused, the old ones stay: %s", err);
        return -1;
    }
    return 0;
}

/* The mail and SMS keys in force after a reload (secrets included: compared, never shown). */
static void keep_notify(iot_config *cur, const iot_config *n)
{
    memcpy(cur->smtp_url, n->smtp_url, sizeof cur->smtp_url);
    memcpy(cur->smtp_user, n->smtp_user, sizeof cur->smtp_user);
    memcpy(cur->smtp_password, n->smtp_password, sizeof cur->smtp_password);
    memcpy(cur->smtp_from, n->smtp_from, sizeof cur->smtp_from);
    cur->smtp_insecure = n->smtp_insecure;
    memcpy(cur->sms_url, n->sms_url, sizeof cur->sms_url);
    memcpy(cur->sms_user, n->sms_user, sizeof cur->sms_user);
    memcpy(cur->sms_password, n->sms_password, sizeof cur->sms_password);
    memcpy(cur->sms_from, n->sms_from, sizeof cur->sms_from);
}

static void apply_live(app_reload *r, const iot_config *n, notify_settings *ns)
{
    if (ns) {
        notify_settings_apply(r->nt, ns);
        keep_notify(&r->cur, n);
    }
    enum log_level lvl;
    if (log_level_parse(n->log_level, &lvl) == 0)
        log_set_level(lvl);
    if (r->br)
        broker_set_live(r->br, n->allow_anonymous, n->max_keepalive);
    memcpy(r->cur.log_level, n->log_level, sizeof r->cur.log_level);
    r->cur.allow_anonymous = n->allow_anonymous;
    r->cur.max_keepalive = n->max_keepalive;
    if ((n->cafile[0] == '\0') == (r->cur.cafile[0] == '\0'))
        memcpy(r->cur.cafile, n->cafile, sizeof r->cur.cafile);
    memcpy(r->cur.cert, n->cert, sizeof r->cur.cert);
    memcpy(r->cur.key, n->key, sizeof r->cur.key);
}

int app_reload_run(app_reload *r, char *msg, size_t msglen)
{
    static iot_config n; /* one caller at a time; too large for a thread's stack frame */
    char err[512];
    net_tls_opts o;
    notify_settings *ns;
    if (reparse(r, &n, msg, msglen) < 0 || new_notify_settings(r, &n, &ns, msg, msglen) < 0)
        return -1;
    if (r->srv) {
        if (tls_files(r, &n, &o, msg, msglen) < 0)
            goto refused;
        if (net_server_tls_reload(r->srv, &o, err, sizeof err) < 0) {
            snprintf(msg, msglen, "certificate not loaded, the old one stays: %s", err);
            goto refused;
        }
    }
    apply_live(r, &n, ns);
    char keys[384] = "";
    restart_list rl = {.p = keys, .cap = sizeof keys};
    config_each_changed(&r->cur, &n, note_restart, &rl);
    snprintf(msg, msglen, "reloaded: %s%s; log-level %s, allow-anonymous %s, max-keepalive %u%s%s",
             r->srv ? "certificate " : "no TLS", r->srv ? o.cert_file : "", r->cur.log_level,
             r->cur.allow_anonymous ? "true" : "false", r->cur.max_keepalive,
             rl.n ? "; changed but kept until a restart: " : "", keys);
    return 0;
refused:
    notify_settings_free(ns);
    return -1;
}
