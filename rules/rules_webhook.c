/*
 * rules_webhook — the webhook worker (rules/rules.h, docs/rules.md "Webhooks").
 *
 * One thread of its own, never a loop: it takes the due items of the persisted outbox
 * (store_sync), POSTs each with libcurl (HTTPS only, no redirects, the item's timeout),
 * and records the outcome (store_sync): delivered (a 2xx) -> the item goes and the rule
 * counts an action ok; failed -> attempts + 1 and the next attempt after a backoff of
 * 1 s x 2^(attempts - 1), at most 5 min; the last attempt failed -> the item goes to the
 * rule's dead letters and the rule counts an action failed. Between rounds it sleeps until
 * the earliest next attempt, at most 1 s, or until the drain kicks it. Undelivered items
 * stay in the outbox across restarts. The secret never reaches here: the drain stored
 * the signature header it computed.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "rules/rules_int.h"

#define BATCH       16
#define IDLE_MS     1000
#define BACKOFF_MS  1000
#define BACKOFF_MAX 300000

typedef struct hook {
    store_rule_hook h;
    char *rule_id, *url, *body, *signature;
} hook;

typedef struct due {
    hook v[BATCH];
    int n;
    int64_t now;
} due;

static int take_one(void *arg, const store_rule_hook *h)
{
    due *d = arg;
    hook *k = &d->v[d->n];
    k->h = *h;
    k->rule_id = strdup(h->rule_id);
    k->url = strdup(h->url);
    k->body = malloc(h->body_len + 1);
    k->signature = h->signature ? strdup(h->signature) : NULL;
    if (!k->rule_id || !k->url || !k->body || (h->signature && !k->signature)) {
        free(k->rule_id);
        free(k->url);
        free(k->body);
        free(k->signature);
        return STORE_ENOMEM;
    }
    memcpy(k->body, h->body, h->body_len);
    k->body[h->body_len] = '\0';
    d->n++;
    return 0;
}

static int due_fn(store_tx *tx, void *arg)
{
    due *d = arg;
    return store_rule_hook_due(tx, d->now, BATCH, take_one, d);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* One POST. 0 delivered, else -1 with @err. */
static int post(rules *r, const hook *k, char *err, size_t cap)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hd = NULL;
    char sig[128], rid[96];
    long status = 0;
    int rc = -1;
    if (!c) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    snprintf(rid, sizeof rid, "X-Iotcloud-Rule: %s", k->rule_id);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, rid);
    if (k->signature && snprintf(sig, sizeof sig, "X-Iotcloud-Signature: %s", k->signature) > 0)
        hd = curl_slist_append(hd, sig);
    CURLcode e = CURLE_OK;
    e |= curl_easy_setopt(c, CURLOPT_URL, k->url);
    e |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    e |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    e |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, k->body);
    e |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)k->h.body_len);
    e |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    e |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)k->h.timeout_ms);
    e |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    e |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (r->o.webhook_ca)
        e |= curl_easy_setopt(c, CURLOPT_CAINFO, r->o.webhook_ca);
    CURLcode res = e == CURLE_OK ? curl_easy_perform(c) : CURLE_FAILED_INIT;
    if (res == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (res != CURLE_OK)
        snprintf(err, cap, "%s", curl_easy_strerror(res));
    else if (status < 200 || status > 299)
        snprintf(err, cap, "HTTP %ld", status);
    else
        rc = 0;
    curl_slist_free_all(hd);
    curl_easy_cleanup(c);
    return rc;
}

typedef struct outcome_arg {
    rules *r;
    const hook *k;
    int rc;
    const char *err;
    int64_t now;
} outcome_arg;

static int dead(store_tx *tx, const outcome_arg *a)
{
    char why[STORE_RULE_ERR_MAX + 1];
    snprintf(why, sizeof why, "webhook: %s after %lld attempt(s)", a->err,
             (long long)a->k->h.attempts + 1);
    bson_t msg = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&msg, "url", a->k->url);
    BSON_APPEND_UTF8(&msg, "body", a->k->body);
    int rc = store_rule_dead_add(tx, a->k->rule_id, a->now, why, &msg, a->r->o.dead_keep);
    bson_destroy(&msg);
    if (rc < 0 && rc != STORE_EINVAL)
        return rc;
    rc = store_rule_counts_add(tx, a->k->rule_id, 0, 0, 1, 0, why, a->now);
    return rc < 0 && rc != STORE_EINVAL ? rc : store_rule_hook_done(tx, a->k->h.id);
}

static int outcome_fn(store_tx *tx, void *arg)
{
    outcome_arg *a = arg;
    const store_rule_hook *h = &a->k->h;
    if (a->rc == 0) {
        int rc = store_rule_counts_add(tx, a->k->rule_id, 0, 1, 0, 0, NULL, a->now);
        return rc < 0 && rc != STORE_EINVAL ? rc : store_rule_hook_done(tx, h->id);
    }
    if (h->attempts + 1 >= h->max_attempts)
        return dead(tx, a);
    int64_t wait = (int64_t)BACKOFF_MS << (h->attempts < 20 ? h->attempts : 20);
    return store_rule_hook_retry(tx, h->id, a->now + (wait < BACKOFF_MAX ? wait : BACKOFF_MAX),
                                 a->err);
}

static void deliver(rules *r, hook *k)
{
    char err[STORE_RULE_ERR_MAX + 1] = "";
    outcome_arg a = {.r = r, .k = k, .err = err};
    a.rc = post(r, k, err, sizeof err);
    a.now = clock_wall_ms();
    if (store_sync(r->st, outcome_fn, &a) < 0)
        log_warn("rules: webhook outcome of rule %s not recorded", k->rule_id);
    if (a.rc == 0)
        atomic_fetch_add(&r->ok, 1);
    else if (k->h.attempts + 1 >= k->h.max_attempts)
        atomic_fetch_add(&r->failed, 1);
    free(k->rule_id);
    free(k->url);
    free(k->body);
    free(k->signature);
}

static int next_fn(store_tx *tx, void *arg) { return store_rule_hook_next(tx, arg); }

/* With hook_mu held: sleeps @ms at most, or until kicked or stopped. */
static void sleep_ms(rules *r, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!r->hook_kick && !r->hook_stop &&
           pthread_cond_timedwait(&r->hook_cv, &r->hook_mu, &ts) == 0)
        ;
    r->hook_kick = false;
}

static void *worker(void *arg)
{
    rules *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->hook_mu);
        bool stop = r->hook_stop;
        pthread_mutex_unlock(&r->hook_mu);
        if (stop)
            break;
        due d = {.now = clock_wall_ms()};
        (void)store_sync(r->st, due_fn, &d); /* on an error: what was taken, then retry */
        for (int i = 0; i < d.n; i++)
            deliver(r, &d.v[i]);
        if (d.n == BATCH)
            continue;
        int64_t at = 0, wait = IDLE_MS;
        if (store_sync(r->st, next_fn, &at) == 0 && at - clock_wall_ms() < wait)
            wait = at - clock_wall_ms() > 0 ? at - clock_wall_ms() : 0;
        pthread_mutex_lock(&r->hook_mu);
        if (wait > 0)
            sleep_ms(r, wait);
        pthread_mutex_unlock(&r->hook_mu);
    }
    return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc;

/* curl_global_init runs once per process (the notifier may have run it too: it counts). */
static void init_curl(void) { curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

void rules__hook_kick(rules *r)
{
    pthread_mutex_lock(&r->hook_mu);
    r->hook_kick = true;
    pthread_cond_signal(&r->hook_cv);
    pthread_mutex_unlock(&r->hook_mu);
}

int rules_webhooks_start(rules *r)
{
    pthread_once(&curl_once, init_curl);
    if (curl_rc != CURLE_OK) {
        log_error("rules: curl_global_init: %s", curl_easy_strerror(curl_rc));
        return -1;
    }
    if (pthread_create(&r->hook_thread, NULL, worker, r) != 0)
        return -1;
    r->hook_running = true;
    return 0;
}

void rules_webhooks_stop(rules *r)
{
    if (!r || !r->hook_running)
        return;
    pthread_mutex_lock(&r->hook_mu);
    r->hook_stop = true;
    pthread_cond_signal(&r->hook_cv);
    pthread_mutex_unlock(&r->hook_mu);
    pthread_join(r->hook_thread, NULL);
    r->hook_running = false;
}
