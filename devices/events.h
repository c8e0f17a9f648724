/**
 * devices/events — the device-event bus: the one place where what happens to a device is
 * announced and where other parts listen (before: listener lists and a hook hidden in ctl).
 *
 *   kind                 when (published by ctl from the broker's tap)     subscribers today
 *   DEV_EV_CONNECTED     a device's session starts                        cmdq (a delivery
 *                                                                          round), devlog
 *   DEV_EV_DISCONNECTED  it ends (socket close, DISCONNECT, keep-alive,    devlog (history)
 *                        purge; .reason says which)
 *   DEV_EV_MESSAGE       any accepted message of the device under          devnotify (through
 *                        "server/{dev}/{api}", answers included, before    app/main.c)
 *                        ctl matches it to a call
 *
 * Presence events are published after ctl's own device table took the change, so
 * ctl_presence and ctl_call_start already see it.
 *
 * Threading: dev_events_init and dev_events_subscribe on the main thread before the loops
 * run (the list is read-only afterwards, so publishing takes no lock); dev_events_publish
 * on the device's loop, which runs every matching subscriber there, in subscription order.
 * A subscriber must not block; the event and its strings are valid during the call only.
 */
#ifndef IOT_DEVICES_EVENTS_H
#define IOT_DEVICES_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

enum dev_event_kind {
    DEV_EV_CONNECTED = 1,
    DEV_EV_DISCONNECTED = 2,
    DEV_EV_MESSAGE = 4,
};
#define DEV_EV_PRESENCE (DEV_EV_CONNECTED | DEV_EV_DISCONNECTED)

typedef struct dev_event {
    enum dev_event_kind kind;
    net_loop *loop;     /* the device's loop (NULL in tests without loops) */
    const char *dev;    /* the device id */
    int64_t at_ms;      /* presence: wall-clock ms of the change */
    const char *reason; /* DEV_EV_DISCONNECTED: why (may be NULL) */
    const char *api;    /* DEV_EV_MESSAGE: the {api} of "server/{dev}/{api}" */
    const uint8_t *payload;
    size_t len;
} dev_event;

typedef void (*dev_event_fn)(void *arg, const dev_event *e);

#define DEV_EVENTS_MAX 8 /* subscribers at most */

/** The bus. Fields are private (the struct is public so its owner can embed it). */
typedef struct dev_events {
    struct {
        unsigned kinds;
        dev_event_fn fn;
        void *arg;
    } sub[DEV_EVENTS_MAX];
    size_t n;
} dev_events;

void dev_events_init(dev_events *b);
/** Calls @fn(@arg, e) for every later event whose kind is in the mask @kinds. 0, or -1 when
 *  DEV_EVENTS_MAX subscribers are set or @kinds/@fn is empty. */
int dev_events_subscribe(dev_events *b, unsigned kinds, dev_event_fn fn, void *arg);
/** Runs the subscribers of @e->kind, in the order they subscribed. */
void dev_events_publish(const dev_events *b, const dev_event *e);

#endif
