/*
 * purge — broker_purge_client: forget a client id entirely (revoked or unregistered
 * device), from any thread.
 *
 * The session part runs on the session's owner loop, like a takeover: the caller looks
 * the id up (registry lock), takes a reference and posts it to the owner, which forwards
 * it if the session moved meanwhile. There, under the registry lock (as expiry.c does, so
 * a client reconnecting at that moment gets a store row after the delete), the session
 * leaves the registry and its store row (with its queued messages) is deleted in the
 * loop's store job; then its connection is closed without its will and its state dropped.
 * A connection waiting for a hand-over of that session finds it dead and is closed.
 *
 * The retained part runs on the caller's thread: the retained index has its own lock,
 * and the store rows go in a store job of their own that finds them by prefix.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/handover.h"
#include "broker/persist.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "common/log.h"

typedef struct xpurge {
    net_msg nm;
    session *s; /* one reference */
} xpurge;

static const char SERVER_PREFIX[] = "server/";
#define SERVER_PREFIX_LEN (sizeof SERVER_PREFIX - 1)

static void purge_run(net_loop *nl, net_msg *nm);

static void do_purge(bloop *lp, session *s)
{
    broker *br = lp->br;
    registry__lock(br);
    bool current = s->in_registry; /* else it was replaced or purged already */
    if (current) {
        registry__remove(br, s);
        if (persist__session_on(s))
            persist__session_del(lp, s);
        persist__flush(lp);
    }
    registry__unlock(br);
    if (current) {
        log_info("mqtt: session '%s' purged", s->id);
        BROKER_STAT_ADD(br, purged, 1);
    }
    handover__kick(lp, s, false);
    session__destroy_state(s);
    session__unref(s);
}

static void post_purge(bloop *owner, session *s)
{
    xpurge *x = malloc(sizeof *x);
    if (!x)
        abort(); /* a lost purge would leave a revoked device connected */
    x->nm.next = NULL;
    x->nm.fn = purge_run;
    x->s = s;
    net_loop_post(owner->nl, &x->nm);
}

static void purge_run(net_loop *nl, net_msg *nm)
{
    xpurge *x = (xpurge *)nm;
    bloop *lp = bloop__of(nl);
    bloop *owner = session__owner(x->s);
    if (owner != lp)
        post_purge(owner, x->s);
    else
        do_purge(lp, x->s);
    free(x);
}

static void purge_session(broker *br, const char *id, size_t n)
{
    registry__lock(br);
    session *s = registry__find(br, (const uint8_t *)id, n);
    if (s)
        session__ref(s);
    registry__unlock(br);
    if (!s)
        return;
    bloop *owner = session__owner(s);
    if (!owner) { /* restored, not yet adopted: no loop ran, nothing to reach */
        session__unref(s);
        return;
    }
    if (owner->nl)
        post_purge(owner, s);
    else
        do_purge(owner, s); /* without loops (tests): the caller is the only thread */
}

/* ---- retained ---------------------------------------------------------------------- */

/* The topics to forget: "{id}", "{id}/...", "server/{id}", "server/{id}/...". */
static bool under(const uint8_t *t, size_t tn, const char *id, size_t n)
{
    if (tn >= SERVER_PREFIX_LEN && memcmp(t, SERVER_PREFIX, SERVER_PREFIX_LEN) == 0 &&
        under(t + SERVER_PREFIX_LEN, tn - SERVER_PREFIX_LEN, id, n))
        return true;
    return tn >= n && memcmp(t, id, n) == 0 && (tn == n || t[n] == '/');
}

typedef struct rpurge {
    store_job sj;
    uint8_t **topics; /* found in the store's rows (run) */
    uint16_t *lens;
    size_t n_topics, cap;
    size_t id_len;
    char id[];
} rpurge;

static int collect(void *arg, const store_retained *r)
{
    rpurge *j = arg;
    if (!under(r->topic, r->topic_len, j->id, j->id_len))
        return 0;
    if (j->n_topics == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 8;
        uint8_t **t = realloc(j->topics, cap * sizeof *t);
        if (t)
            j->topics = t;
        uint16_t *l = realloc(j->lens, cap * sizeof *l);
        if (l)
            j->lens = l;
        if (!t || !l)
            return STORE_ENOMEM;
        j->cap = cap;
    }
    uint8_t *copy = malloc(r->topic_len ? r->topic_len : 1);
    if (!copy)
        return STORE_ENOMEM;
    memcpy(copy, r->topic, r->topic_len);
    j->topics[j->n_topics] = copy;
    j->lens[j->n_topics++] = r->topic_len;
    return 0;
}

static int rpurge_run(store_tx *tx, store_job *sj)
{
    rpurge *j = (rpurge *)sj;
    /* Collected first, deleted after: no row changes under the iteration. */
    int rc = store_retained_each(tx, collect, j);
    for (size_t i = 0; rc >= 0 && i < j->n_topics; i++) {
        rc = store_retained_delete(tx, j->topics[i], j->lens[i]);
        if (rc == STORE_ENOTFOUND)
            rc = 0;
    }
    return rc;
}

static void rpurge_done(store_job *sj)
{
    rpurge *j = (rpurge *)sj;
    if (sj->rc < 0)
        log_error("broker: purging retained messages of '%s': %s", j->id, store_strerror(sj->rc));
    for (size_t i = 0; i < j->n_topics; i++)
        free(j->topics[i]);
    free(j->topics);
    free(j->lens);
    free(j);
}

static void purge_retained_store(broker *br, const char *id, size_t n)
{
    rpurge *j = calloc(1, sizeof *j + n + 1);
    if (!j) {
        log_error("broker: out of memory purging retained messages of '%s'", id);
        return;
    }
    memcpy(j->id, id, n + 1);
    j->id_len = n;
    j->sj.run = rpurge_run;
    j->sj.done = rpurge_done;
    store_submit(br->o.st, &j->sj);
}

/* Deletes the retained messages matching "{prefix}{id}/#" ('#' also takes the parent). */
static void purge_retained_mem(broker *br, const char *prefix, const char *id, size_t n)
{
    size_t pn = strlen(prefix);
    size_t fn = pn + n + 2;
    uint8_t *f = malloc(fn);
    mqtt_ptrvec hits = {0};
    if (!f)
        return;
    memcpy(f, prefix, pn);
    memcpy(f + pn, id, n);
    memcpy(f + pn + n, "/#", 2);
    if (mqtt_retain_match(br->retained, f, fn, &hits) > 0) {
        for (size_t i = 0; i < hits.n; i++) {
            bmsg *m = hits.v[i];
            mqtt_retain_set(br->retained, m->b->data + m->topic_off, m->topic_len, NULL);
            bmsg__unref(m);
        }
    }
    mqtt_ptrvec_free(&hits);
    free(f);
}

void broker_purge_client(broker *br, const char *client_id)
{
    size_t n = strlen(client_id);
    purge_session(br, client_id, n);
    /* An id that could not be a device's topic level (policy.c) owns no retained topics,
     * and must not widen the filter built from it: "server" would take every device's. */
    if (n == 0 || n > UINT16_MAX - 16 || client_id[0] == '$' || strpbrk(client_id, "+#/") ||
        strcmp(client_id, "server") == 0)
        return;
    purge_retained_mem(br, "", client_id, n);
    purge_retained_mem(br, SERVER_PREFIX, client_id, n);
    if (br->o.st)
        purge_retained_store(br, client_id, n);
}
