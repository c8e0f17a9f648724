/*
 * notify — the notifier thread's life: start, kick, stop, counters.
 *
 * The thread runs a round (round.c) whenever it is kicked, a retry it scheduled is due, or
 * NOTIFY_POLL_MS passed (items a previous process leased, or added by a writer that did
 * not kick). A round that claimed a full batch is followed by another at once.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "notify/notify_int.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init is not thread-safe and must run once per process. */
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* Sleeps until kicked, stopped, or @ms passed. Called with n->mu held. */
static void wait_ms(notify *n, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!n->stop && !n->kicked) {
        if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) != 0)
            break; /* timed out (or an error: then poll) */
    }
}

static int64_t sleep_ms(const notify *n)
{
    if (n->next_due == 0)
        return NOTIFY_POLL_MS;
    int64_t d = n->next_due - clock_wall_ms();
    return d < 1 ? 1 : d < NOTIFY_POLL_MS ? d : NOTIFY_POLL_MS;
}

static void *run(void *arg)
{
    notify *n = arg;
    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        n->kicked = false;
        pthread_mutex_unlock(&n->mu);
        bool more = notify__round(n);
        pthread_mutex_lock(&n->mu);
        if (!more && !n->kicked)
            wait_ms(n, sleep_ms(n));
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

static int check_from(const notify_opts *o, char *err, size_t errlen)
{
    if (o->from && !notify__addr_ok(o->from)) {
        snprintf(err, errlen, "notifier: from must be one plain e-mail address");
        return -1;
    }
    return 0;
}

static int check_opts(const notify_opts *o, char *err, size_t errlen)
{
    if (!o || !o->st) {
        snprintf(err, errlen, "notifier: no store");
        return -1;
    }
    return check_from(o, err, errlen);
}

static int open_channel(notify_channel *ch, const notify_opts *o, char *err, size_t errlen)
{
    if (!o->smtp_url || !o->smtp_url[0]) {
        log_info("notify: log channel (no smtp-url): mail text, codes included, goes to this log");
        return notify__log_channel(ch);
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
        return -1;
    }
    notify_opts oo = *o;
    oo.from = o->from ? o->from : "iotcloud@localhost";
    if (notify__smtp_channel(ch, &oo, err, errlen) < 0)
        return -1;
    log_info("notify: smtp channel, from %s, %s", oo.from,
             o->smtp_insecure ? "STARTTLS when offered (insecure)" : "TLS required");
    return 0;
}

static int open_sms_channel(notify_channel *ch, const notify_opts *o, char *err, size_t errlen)
{
    if (!o->sms_url || !o->sms_url[0]) {
        log_info("notify: sms log channel (no sms-url): SMS text goes to this log");
        return notify__log_channel_sms(ch);
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
        return -1;
    }
    if (notify__sms_channel(ch, o, err, errlen) < 0)
        return -1;
    log_info("notify: sms channel: HTTP gateway%s", o->sms_user ? " with basic auth" : "");
    return 0;
}

static void close_channel(notify_channel *ch)
{
    if (ch->free)
        ch->free(ch->ctx);
    *ch = (notify_channel){0};
}

static void close_channels(notify *n)
{
    close_channel(&n->ch);
    close_channel(&n->sms);
}

notify_settings *notify_settings_new(const notify_opts *o, char *err, size_t errlen)
{
    if (check_from(o, err, errlen) < 0)
        return NULL;
    notify_settings *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (open_channel(&s->ch, o, err, errlen) < 0 || open_sms_channel(&s->sms, o, err, errlen) < 0) {
        notify_settings_free(s);
        return NULL;
    }
    return s;
}

void notify_settings_free(notify_settings *s)
{
    if (!s)
        return;
    close_channel(&s->ch);
    close_channel(&s->sms);
    free(s);
}

void notify_settings_apply(notify *n, notify_settings *s)
{
    pthread_mutex_lock(&n->mu);
    notify_settings *old = n->pending; /* applied twice before a delivery: the last wins */
    n->pending = s;
    pthread_mutex_unlock(&n->mu);
    notify_settings_free(old);
}

void notify__take_settings(notify *n)
{
    pthread_mutex_lock(&n->mu);
    notify_settings *s = n->pending;
    n->pending = NULL;
    pthread_mutex_unlock(&n->mu);
    if (!s)
        return;
    notify_channel ch = n->ch, sms = n->sms;
    n->ch = s->ch;
    n->sms = s->sms;
    s->ch = ch; /* the old ones: no delivery uses them any more */
    s->sms = sms;
    notify_settings_free(s);
}

static int init_sync(notify *n)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&n->mu, NULL) != 0) {
        pthread_cond_destroy(&n->cv);
        return -1;
    }
    return 0;
}

notify *notify_start(const notify_opts *o, char *err, size_t errlen)
{
    if (check_opts(o, err, errlen) < 0)
        return NULL;
    notify *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->st = o->st;
    n->max_attempts = o->max_attempts ? o->max_attempts : 8;
    n->backoff_ms = o->backoff_ms ? o->backoff_ms : 2000;
    if (open_channel(&n->ch, o, err, errlen) < 0 || open_sms_channel(&n->sms, o, err, errlen) < 0)
        goto fail_channel;
    if (init_sync(n) < 0) {
        snprintf(err, errlen, "notifier: cannot create its lock");
        goto fail_channel;
    }
    if (pthread_create(&n->thread, NULL, run, n) != 0) {
        snprintf(err, errlen, "notifier: cannot start its thread");
        pthread_mutex_destroy(&n->mu);
        pthread_cond_destroy(&n->cv);
        goto fail_channel;
    }
    return n;
fail_channel:
    close_channels(n);
    free(n);
    return NULL;
}

void notify_kick(notify *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->kicked = true;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

void notify_stop(notify *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    close_channels(n);
    notify_settings_free(n->pending);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}

void notify_stats_get(notify *n, notify_stats *out)
{
    if (!n) {
        *out = (notify_stats){0};
        return;
    }
    pthread_mutex_lock(&n->mu);
    *out = n->stats;
    pthread_mutex_unlock(&n->mu);
}
