/*
 * events — the device-event bus (devices/events.h): a fixed table of subscribers, filled
 * before the loops run and read without a lock afterwards.
 */
#include <string.h>

#include "devices/events.h"

void dev_events_init(dev_events *b) { memset(b, 0, sizeof *b); }

int dev_events_subscribe(dev_events *b, unsigned kinds, dev_event_fn fn, void *arg)
{
    if (!fn || !kinds || b->n == DEV_EVENTS_MAX)
        return -1;
    b->sub[b->n].kinds = kinds;
    b->sub[b->n].fn = fn;
    b->sub[b->n].arg = arg;
    b->n++;
    return 0;
}

void dev_events_publish(const dev_events *b, const dev_event *e)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->sub[i].kinds & (unsigned)e->kind)
            b->sub[i].fn(b->sub[i].arg, e);
}
