/*
 * restore — broker state back from the store at start-up.
 *
 * broker_restore runs on the main thread before any loop: it loads retained messages
 * into the retained index, persistent sessions into the registry (offline, with their
 * subscriptions listed but not yet in the trie) and their messages into queues and
 * inflight windows, and purges sessions whose expiry passed while we were down. Each
 * loop then adopts every n-th restored session in broker_loop_init: it becomes the
 * owner and only then puts the subscriptions into the shared trie, so no publisher can
 * reach a session without an owner. net runs every loop_init before any loop accepts a
 * connection, so no client can look a session up before it is adopted either.
 *
 * A row that cannot be understood (foreign or damaged document) is logged and skipped;
 * the rest of the state is still restored.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/quota.h"
#include "broker/bmsg.h"
#include "broker/persist.h"
#include "broker/registry.h"
#include "broker/restore.h"
#include "broker/session.h"
#include "broker/share.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/vec.h"

typedef struct rctx {
    broker *br;
    int64_t now;
    session **v; /* restored sessions (one reference each) */
    size_t n, cap;
    char **expired; /* ids to purge */
    size_t n_exp, cap_exp;
    session *cur;
    unsigned long long msgs, retained, skipped;
} rctx;

static bool push(void ***v, size_t *n, size_t *cap, void *p)
{
    if (vec_reserve((void **)v, cap, *n + 1, sizeof **v, 64) < 0)
        return false;
    (*v)[(*n)++] = p;
    return true;
}

static int on_retained(void *arg, const store_retained *r)
{
    rctx *x = arg;
    bmsg *m = bmsg__new(r->topic, r->topic_len, r->payload, r->payload_len, r->qos, true);
    if (!m)
        return STORE_ENOMEM;
    if (m->qos)
        m->mid = atomic_fetch_add(&x->br->next_mid, 1);
    mqtt_retain_set(x->br->retained, r->topic, r->topic_len, m); /* takes our reference */
    x->retained++;
    return 0;
}

static int add_sub(void *arg, const persist_sub *ps)
{
    int rc = session__sub_list_add(arg, (const uint8_t *)ps->filter, (uint16_t)ps->len, ps->qos);
    if (rc == 0 && (ps->opts || ps->subid))
        session__sub_opts(arg, (const uint8_t *)ps->filter, (uint16_t)ps->len, ps->opts, ps->subid);
    return rc;
}

static int add_rx2(void *arg, uint16_t pid) { return session__rx_qos2_add(arg, pid) < 0 ? -1 : 0; }

/* @exp: the session's own 5.0 expiry interval in ms, -1 for session-expiry's. */
static bool expired(rctx *x, int64_t last_seen, int64_t exp)
{
    uint64_t ttl = exp >= 0 ? (uint64_t)exp : (uint64_t)x->br->o.session_expiry_s * 1000u;
    if (exp < 0 && ttl == 0)
        return false;
    return last_seen > 0 && x->now >= last_seen && (uint64_t)(x->now - last_seen) >= ttl;
}

static int on_session(void *arg, const char *id, const bson_t *doc)
{
    rctx *x = arg;
    size_t len = strlen(id);
    session *s = session__new(x->br, NULL, (const uint8_t *)id, len, false);
    if (!s)
        return STORE_ENOMEM;
    int64_t last_seen = 0;
    if (persist__session_parse(doc, &last_seen, add_sub, add_rx2, s) < 0 ||
        persist__session_principal(doc, &s->who) < 0 ||
        persist__session_expiry(doc, &s->expiry_ms) < 0) {
        log_warn("store: session '%s' has a document we cannot read; skipped", id);
        x->skipped++;
        session__unref(s);
        return 0;
    }
    if (expired(x, last_seen, s->expiry_ms)) {
        session__unref(s);
        char *dup = strdup(id);
        return dup && push((void ***)&x->expired, &x->n_exp, &x->cap_exp, dup) ? 0 : STORE_ENOMEM;
    }
    /* Online when we stopped (0): the expiry clock starts now. */
    s->offline_since = last_seen > 0 ? last_seen : x->now;
    if (!push((void ***)&x->v, &x->n, &x->cap, s)) {
        session__unref(s);
        return STORE_ENOMEM;
    }
    return 0;
}

static int on_msg(void *arg, const store_msg *sm)
{
    rctx *x = arg;
    bmsg *m =
        bmsg__new(sm->topic, sm->topic_len, sm->payload, sm->payload_len, sm->qos, sm->retain);
    if (!m)
        return STORE_ENOMEM;
    m->mid = sm->mid;
    int rc = session__restore_msg(x->cur, m, sm->qos, sm->retain, sm->state, sm->pid);
    bmsg__unref(m);
    x->msgs++;
    return rc < 0 ? STORE_ENOMEM : 0;
}

static int restore_tx(store_tx *tx, void *arg)
{
    rctx *x = arg;
    uint64_t max_mid = 0;
    int rc = store_msg_max_id(tx, &max_mid);
    if (rc < 0)
        return rc;
    atomic_store(&x->br->next_mid, max_mid + 1);
    if ((rc = store_retained_each(tx, on_retained, x)) < 0 ||
        (rc = store_session_each(tx, on_session, x)) < 0)
        return rc;
    for (size_t i = 0; i < x->n; i++) {
        x->cur = x->v[i];
        if ((rc = store_msg_each(tx, x->cur->id, on_msg, x)) < 0)
            return rc;
    }
    for (size_t i = 0; i < x->n_exp; i++) {
        rc = store_session_delete(tx, x->expired[i]);
        if (rc < 0 && rc != STORE_ENOTFOUND)
            return rc;
    }
    return 0;
}

static void free_ctx(rctx *x, bool keep_sessions)
{
    for (size_t i = 0; !keep_sessions && i < x->n; i++)
        session__unref(x->v[i]);
    if (!keep_sessions)
        free(x->v);
    for (size_t i = 0; i < x->n_exp; i++)
        free(x->expired[i]);
    free(x->expired);
}

/* The per-user quota counters are rebuilt from what was restored: every session counts
 * against its principal's account (over the limit or not: a lowered limit refuses new
 * sessions and drops new messages, it does not delete what the store holds). */
static void register_all(broker *br, rctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        session *s = x->v[i];
        char aid[BROKER_PRINCIPAL_ID_MAX + 1];
        bool has = quota__account_id(br, &s->who, aid);
        registry__lock(br);
        s->acct = has ? quota__acct(br, aid) : NULL;
        registry__put(br, s);
        registry__unlock(br);
        quota__queue_sync(s); /* offline: its queue counts */
    }
    br->restored = x->v;
    br->n_restored = x->n;
}

int broker_restore(broker *br, char *err, size_t errlen)
{
    if (!br->o.st)
        return 0;
    rctx x = {.br = br, .now = clock_wall_ms()};
    int rc = store_sync(br->o.st, restore_tx, &x);
    if (rc < 0) {
        snprintf(err, errlen, "restoring broker state: %s", store_strerror(rc));
        free_ctx(&x, false);
        return rc;
    }
    register_all(br, &x);
    log_info("store: restored %zu persistent session(s), %llu queued message(s), %llu retained; "
             "%zu expired session(s) purged, %llu unreadable skipped",
             x.n, x.msgs, x.retained, x.n_exp, x.skipped);
    free_ctx(&x, true);
    return 0;
}

void restore__adopt(bloop *lp)
{
    broker *br = lp->br;
    unsigned idx = lp->nl ? net_loop_index(lp->nl) : 0;
    unsigned n = lp->n_loops ? lp->n_loops : 1;
    for (size_t i = idx; i < br->n_restored; i += n) {
        session *s = br->restored[i];
        atomic_store_explicit(&s->owner, lp, memory_order_release);
        for (sub *e = s->subs; e; e = e->next)
            if (share__kind(e->filter, e->len) == 1)
                share__join(br, s, e->filter, e->len, e->qos);
            else
                mqtt_trie_subscribe(br->subs, e->filter, e->len, s, e->qos);
        session__unref(s); /* the registry keeps its own */
        br->restored[i] = NULL;
    }
}
