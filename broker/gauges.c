/*
 * gauges — how much the broker holds now, for the metrics endpoint: sessions online and
 * offline, messages queued, retained messages, subscriptions. Read at scrape time from
 * what the broker already keeps (the registry, each session's atomic backlog, the retained
 * store's count): nothing is counted on the publish path for them. The registry lock is
 * held for one walk per scrape, as $SYS does (sys.c).
 */
#include "broker/bloop.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "broker/share.h"

void broker_gauges_get(broker *br, broker_gauges *out)
{
    *out = (broker_gauges){0};
    registry__lock(br);
    for (size_t i = 0; i < br->reg_cap; i++) {
        session *s = br->reg[i];
        if (!s)
            continue;
        if (atomic_load_explicit(&s->online, memory_order_relaxed))
            out->sessions_online++;
        else if (!s->clean)
            out->sessions_offline++;
        out->queued += atomic_load_explicit(&s->backlog, memory_order_relaxed);
    }
    registry__unlock(br);
    out->retained = mqtt_retain_count(br->retained);
    out->subscriptions = mqtt_trie_count(br->subs) + share__count(br);
}

/* The owner loop alone touches a session's in-flight window, so each loop counts its own
 * sessions' (on that loop, from a message the metrics post: no counter on the hot path). */
unsigned long long broker_loop_inflight(broker *br, net_loop *nl)
{
    bloop *lp = bloop__of(nl);
    unsigned long long n = 0;
    if (!lp)
        return 0;
    registry__lock(br);
    for (size_t i = 0; i < br->reg_cap; i++) {
        session *s = br->reg[i];
        if (s && atomic_load_explicit(&s->owner, memory_order_acquire) == lp)
            n += s->n_inf;
    }
    registry__unlock(br);
    return n;
}
