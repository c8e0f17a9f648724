/* The device-event bus (devices/events.c): kind filters, subscription order, the limit,
 * and the wiring ctl publishes through (devices/ctl.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/ctl.h"
#include "devices/events.h"

typedef struct seen {
    char log[256];
} seen;

static void note(seen *s, const char *who, const dev_event *e)
{
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "%s:%d:%s;", who, (int)e->kind, e->dev);
}

static seen g;
static void sub_a(void *arg, const dev_event *e) { note(&g, arg, e); }
static void sub_b(void *arg, const dev_event *e) { note(&g, arg, e); }

Test(dev_events, kinds_filter_and_order)
{
    memset(&g, 0, sizeof g);
    dev_events b;
    dev_events_init(&b);
    cr_assert_eq(dev_events_subscribe(&b, DEV_EV_PRESENCE, sub_a, "pres"), 0);
    cr_assert_eq(dev_events_subscribe(&b, DEV_EV_MESSAGE, sub_b, "msg"), 0);
    cr_assert_eq(dev_events_subscribe(&b, DEV_EV_CONNECTED, sub_b, "conn"), 0);
    dev_events_publish(&b, &(dev_event){.kind = DEV_EV_CONNECTED, .dev = "d1"});
    dev_events_publish(&b, &(dev_event){.kind = DEV_EV_MESSAGE, .dev = "d2", .api = "x"});
    dev_events_publish(&b, &(dev_event){.kind = DEV_EV_DISCONNECTED, .dev = "d3"});
    cr_assert_str_eq(g.log, "pres:1:d1;conn:1:d1;msg:4:d2;pres:2:d3;");
}

Test(dev_events, refuses_empty_and_beyond_the_limit)
{
    dev_events b;
    dev_events_init(&b);
    cr_assert_lt(dev_events_subscribe(&b, 0, sub_a, NULL), 0);
    cr_assert_lt(dev_events_subscribe(&b, DEV_EV_MESSAGE, NULL, NULL), 0);
    for (int i = 0; i < DEV_EVENTS_MAX; i++)
        cr_assert_eq(dev_events_subscribe(&b, DEV_EV_MESSAGE, sub_a, NULL), 0);
    cr_assert_lt(dev_events_subscribe(&b, DEV_EV_MESSAGE, sub_a, NULL), 0);
    memset(&g, 0, sizeof g);
    dev_events_init(&b); /* empty again: publishing reaches nobody */
    dev_events_publish(&b, &(dev_event){.kind = DEV_EV_MESSAGE, .dev = "d"});
    cr_assert_str_eq(g.log, "");
}

/* ctl's tap publishes to its bus: presence after ctl's table took it, messages before
 * matching (an answer nobody waits for still reaches the subscriber). */
static ctl *tapped;
static bool online_seen;
static void check_presence(void *arg, const dev_event *e)
{
    ctl_presence_info pi;
    ctl_presence(tapped, e->dev, &pi);
    online_seen = pi.online;
    note(&g, arg, e);
}

Test(dev_events, ctl_tap_publishes_presence_and_messages)
{
    memset(&g, 0, sizeof g);
    tapped = ctl_new(NULL, NULL);
    cr_assert_not_null(tapped);
    cr_assert_eq(dev_events_subscribe(ctl_events(tapped), DEV_EV_PRESENCE, check_presence, "p"), 0);
    cr_assert_eq(dev_events_subscribe(ctl_events(tapped), DEV_EV_MESSAGE, sub_b, "m"), 0);
    const broker_tap *t = ctl_tap(tapped);
    t->on_presence(t->arg, NULL, "dev1", true, 1000, NULL);
    cr_assert(online_seen, "ctl's table already has the device online");
    const char *ans = "{\"value\":1}";
    t->on_device_publish(t->arg, NULL, "dev1", "get_x", (const uint8_t *)ans, strlen(ans));
    t->on_presence(t->arg, NULL, "dev1", false, 2000, "keepalive");
    cr_assert(!online_seen);
    cr_assert_str_eq(g.log, "p:1:dev1;m:4:dev1;p:2:dev1;");
    ctl_free(tapped);
}
