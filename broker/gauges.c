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
