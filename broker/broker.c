/*
 * broker — the shared broker object and the per-loop state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/creds.h"
#include "broker/expiry.h"
#include "broker/flow.h"
#include "broker/persist.h"
#include "broker/quota.h"
#include "broker/registry.h"
#include "broker/restore.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/share.h"
#include "broker/sys.h"
#include "common/clock.h"
#include "common/log.h"

broker *broker_new(const broker_opts *o)
{
    broker *br = calloc(1, sizeof *br);
    if (!br)
        return NULL;
    br->o = *o;
    if (br->o.max_inflight == 0)
        br->o.max_inflight = 1;
    if (br->o.max_inflight > 65535)
        br->o.max_inflight = 65535;
    if (br->o.qos0_drop_bytes == 0)
        br->o.qos0_drop_bytes = 1u << 20;
    if (br->o.out_congest_bytes == 0)
        br->o.out_congest_bytes = br->o.qos0_drop_bytes / 2;
    atomic_init(&br->next_mid, 1);
    broker_set_live(br, br->o.allow_anonymous, br->o.max_keepalive);
    br->started_ms = clock_mono_ms();
    pthread_mutex_init(&br->reg_lock, NULL);
    pthread_mutex_init(&br->loops_lock, NULL);
    log_limit_init(&br->errlog, br->o.error_log_rate, 1000);
    br->subs = mqtt_trie_new(session__hold);
    br->retained = mqtt_retain_new(bmsg__hold, bmsg__release);
    if (share__init(br) < 0 || !br->subs || !br->retained) {
        broker_free(br);
        return NULL;
    }
    return br;
}

void broker_free(broker *br)
{
    if (!br)
        return;
    for (size_t i = 0; i < br->n_restored; i++)
        session__unref_opt(br->restored[i]); /* never adopted: no loop ran */
    free(br->restored);
    registry__free_all(br);
    for (bloop *lp = br->loops; lp; lp = lp->next)
        persist__drop(lp);
    if (br->inject_lp) {
        persist__drop(br->inject_lp);
        bloop__free(br->inject_lp);
    }
    while (br->loops) {
        bloop *next = br->loops->next;
        bloop__free(br->loops);
        br->loops = next;
    }
    share__free_all(br);
    if (br->subs)
        mqtt_trie_free(br->subs);
    if (br->retained)
        mqtt_retain_free(br->retained);
    quota__free_all(br); /* after every session that could point at an account */
    pthread_mutex_destroy(&br->reg_lock);
    pthread_mutex_destroy(&br->loops_lock);
    log_limit_fini(&br->errlog);
    free(br);
}

void broker__errlog(broker *br, const char *fmt, ...)
{
    uint64_t more;
    if (!log_limit_allow(&br->errlog, &more)) {
        BROKER_STAT_ADD(br, log_suppressed, 1);
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (more)
        log_info("%s (%llu similar lines not logged)", line, (unsigned long long)more);
    else
        log_info("%s", line);
}

void broker_set_live(broker *br, bool allow_anonymous, uint32_t max_keepalive)
{
    atomic_store_explicit(&br->live_anon, allow_anonymous, memory_order_relaxed);
    atomic_store_explicit(&br->live_keepalive, max_keepalive, memory_order_relaxed);
}

bool broker__allow_anon(const broker *br)
{
    return atomic_load_explicit(&br->live_anon, memory_order_relaxed);
}

void broker_stats_get(broker *br, broker_stats *out)
{
    out->msgs_in = atomic_load(&br->st.msgs_in);
    out->log_suppressed = atomic_load(&br->st.log_suppressed);
    out->msgs_out = atomic_load(&br->st.msgs_out);
    out->dropped_queue_full = atomic_load(&br->st.dropped_queue_full);
    out->dropped_qos0_slow = atomic_load(&br->st.dropped_qos0_slow);
    out->connects = atomic_load(&br->st.connects);
    out->protocol_errors = atomic_load(&br->st.protocol_errors);
    out->store_errors = atomic_load(&br->st.store_errors);
    out->sessions_expired = atomic_load(&br->st.sessions_expired);
    out->auth_refused = atomic_load(&br->st.auth_refused);
    out->denied_publish = atomic_load(&br->st.denied_publish);
    out->denied_subscribe = atomic_load(&br->st.denied_subscribe);
    out->purged = atomic_load(&br->st.purged);
    out->quota_sessions = atomic_load(&br->st.quota_sessions);
    out->quota_dropped = atomic_load(&br->st.quota_dropped);
    out->cred_closed = atomic_load(&br->st.cred_closed);
}

bloop *bloop__new(broker *br, net_loop *nl)
{
    bloop *lp = calloc(1, sizeof *lp);
    if (!lp)
        return NULL;
    lp->br = br;
    lp->nl = nl;
    if (nl) {
        lp->n_loops = net_server_workers(net_loop_server(nl));
        lp->batch = calloc(lp->n_loops, sizeof *lp->batch);
        if (!lp->batch) {
            free(lp);
            return NULL;
        }
    }
    return lp;
}

void bloop__free(bloop *lp)
{
    if (!lp)
        return;
    mqtt_trie_hits_free(&lp->hits);
    mqtt_ptrvec_free(&lp->rhits);
    mqtt_trie_hits_free(&lp->shits);
    route__drop_batches(lp);
    free(lp->batch);
    free(lp);
}

bloop *bloop__of(net_loop *nl) { return net_loop_user(nl); }

void broker_loop_init(net_loop *l, void *b)
{
    broker *br = b;
    bloop *lp = bloop__new(br, l);
    if (!lp)
        abort();
    net_loop_set_user(l, lp);
    flow__loop_init(lp);
    route__loop_init(lp);
    expiry__loop_init(lp);
    creds__loop_init(lp);
    sys__loop_init(lp);
    restore__adopt(lp);
    pthread_mutex_lock(&br->loops_lock);
    lp->next = br->loops;
    br->loops = lp;
    pthread_mutex_unlock(&br->loops_lock);
}

void broker_loop_fini(net_loop *l, void *b)
{
    bloop *lp = net_loop_user(l);
    route__loop_fini(lp);
    /* From now on durable effects (of messages still arriving from other loops) are
     * submitted as they come: there is no next iteration to flush them. */
    lp->stopped = true;
    persist__flush(lp);
    expiry__loop_fini(lp);
    creds__loop_fini(lp);
    sys__loop_fini(lp);
    flow__loop_fini(lp);
    /* Nothing to free yet: sessions owned by this loop stay in the registry (offline)
     * and keep pointing at its bloop, and messages still in flight between loops at
     * shutdown may run after this. broker_free releases the bloops last. */
    (void)l;
    (void)b;
}
