/*
 * expiry — persistent sessions offline longer than session_expiry are purged; a 5.0
 * session after its own Session Expiry Interval (3.1.2.11.2, at most session_expiry).
 *
 * Each loop sweeps the registry for the offline persistent sessions it owns, on a timer
 * (a quarter of the expiry, between 250 ms and 60 s). A purged session leaves the
 * registry and the store under the registry lock, so a client reconnecting at that very
 * moment either resumes it or starts a new one whose store row comes after the delete.
 */
#include <stdlib.h>

#include "broker/bloop.h"
#include "broker/expiry.h"
#include "broker/persist.h"
#include "broker/registry.h"
#include "broker/route.h"
#include "broker/session.h"
#include "common/clock.h"
#include "common/log.h"

typedef struct sweep {
    bloop *lp;
    int64_t now;
    uint64_t ttl_ms;
    bmsg **wills; /* delayed wills now due, taken from their sessions */
    size_t n_wills, cap_wills;
} sweep;

/* Takes the delayed will of @s (owned, offline) when due (3.1.3.2.2). */
static void take_will(sweep *w, session *s)
{
    if (!s->will || w->now < s->will_at || s->conn)
        return;
    if (w->n_wills == w->cap_wills) {
        size_t ncap = w->cap_wills ? w->cap_wills * 2 : 8;
        bmsg **nv = realloc(w->wills, ncap * sizeof *nv);
        if (!nv)
            return; /* the next sweep */
        w->wills = nv;
        w->cap_wills = ncap;
    }
    w->wills[w->n_wills++] = s->will;
    s->will = NULL;
}

static bool is_expired(session *s, void *arg)
{
    sweep *w = arg;
    if (s->clean || session__owner(s) != w->lp) /* expiry_ms is the owner's to read */
        return false;
    take_will(w, s);
    uint64_t ttl = s->expiry_ms >= 0 ? (uint64_t)s->expiry_ms : w->ttl_ms;
    if (ttl == 0 && s->expiry_ms < 0)
        return false; /* session-expiry 0: kept for ever */
    return !atomic_load_explicit(&s->online, memory_order_relaxed) && !s->conn &&
           s->offline_since > 0 && w->now >= s->offline_since &&
           (uint64_t)(w->now - s->offline_since) >= ttl;
}

static void sweep_cb(uv_timer_t *t)
{
    bloop *lp = t->data;
    broker *br = lp->br;
    sweep w = {lp, clock_wall_ms(), (uint64_t)br->o.session_expiry_s * 1000u, NULL, 0, 0};
    session **v = NULL;
    registry__lock(br);
    size_t n = registry__take(br, is_expired, &w, &v);
    for (size_t i = 0; i < n; i++)
        if (persist__session_on(v[i]))
            persist__session_del(lp, v[i]);
    persist__flush(lp);
    registry__unlock(br);
    for (size_t i = 0; i < n; i++) {
        log_info("mqtt: session '%s' expired", v[i]->id);
        /* 3.1.3.2.2: a delayed will goes out when its session ends, if not before */
        if (v[i]->will)
            session__unref_opt(route__publish(lp, v[i]->will).congested);
        session__destroy_state(v[i]);
        session__unref(v[i]);
    }
    for (size_t i = 0; i < w.n_wills; i++) {
        session__unref_opt(route__publish(lp, w.wills[i]).congested);
        bmsg__unref(w.wills[i]);
    }
    free(w.wills);
    BROKER_STAT_ADD(br, sessions_expired, n);
    free(v);
}

void expiry__loop_init(bloop *lp)
{
    uint64_t ttl = (uint64_t)lp->br->o.session_expiry_s * 1000u;
    uv_timer_init(net_loop_uv(lp->nl), &lp->expiry_timer);
    lp->expiry_timer.data = lp;
    /* A 5.0 client chooses its session's interval: sweep every second at most, so that
     * one lives about as long as it asked (a walk of the registry under its lock). */
    uint64_t every = ttl ? ttl / 4 : 1000;
    every = every < 250 ? 250 : every > 1000 ? 1000 : every;
    uv_timer_start(&lp->expiry_timer, sweep_cb, every, every);
    uv_unref((uv_handle_t *)&lp->expiry_timer);
}

void expiry__loop_fini(bloop *lp) { uv_close((uv_handle_t *)&lp->expiry_timer, NULL); }
