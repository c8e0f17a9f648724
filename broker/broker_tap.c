/*
 * broker_tap — the in-process observer of devices (broker.h, broker_tap): what a DEVICE
 * publishes under "server/{its id}/{api}" (or its AWS IoT shadow topics), and its connections coming and going; and
 * broker_client_online.
 *
 * Cost without a tap: one pointer test per accepted PUBLISH (handle_publish.c) and per
 * CONNACK / connection end.
 *
 * When a device PUBLISH counts as accepted: at the point its acknowledgement goes out.
 * The call rides the connection's acknowledgement order (persist__after): QoS 0 and
 * anything without a store at once (after routing); QoS 1/2 with durable effects (the
 * copies queued for persistent sessions, a retained update, our QoS 2 id) after the
 * store commit, just before the PUBACK / PUBREC. If the commit fails, or the device's
 * connection ends before it, neither the acknowledgement nor the tap call happens: the
 * device publishes again. A QoS 2 message is reported on its PUBLISH, not on re-sent
 * PUBLISHes of the same id nor on PUBREL (handle_publish.c routes it once).
 *
 * Presence is reported per connection: online right after CONNACK 0 (handover.c), and
 * offline exactly once afterwards (c->tap_online), when the connection loses its session
 * (takeover, purge: handover__kick) or its transport (mconn__closed: disconnect,
 * keepalive expiry, protocol error, socket close, shutdown), whichever comes first.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/handover.h"
#include "broker/mconn.h"
#include "broker/persist.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "broker/tap.h"
#include "common/clock.h"
#include "mqtt/mqtt5.h"

static const char SERVER_PREFIX[] = "server/";
#define SERVER_PREFIX_LEN (sizeof SERVER_PREFIX - 1)
/* Api names up to this length are copied on the stack. */
#define SMALL_API 256

void broker_set_tap(broker *b, const broker_tap *t) { b->tap = t; }

static bool is_device(const mconn *c) { return c->who.who == BROKER_WHO_DEVICE; }

static const char AWS_PREFIX[] = "$aws/things/";
#define AWS_PREFIX_LEN (sizeof AWS_PREFIX - 1)

/* A device's own "$aws/things/{id}/shadow/..." (the policy let nothing else in): the
 * whole topic is the api. */
static bool aws_shadow(const mconn *c, const uint8_t *t, size_t n, size_t idn)
{
    return n > AWS_PREFIX_LEN + idn + 8 && memcmp(t, AWS_PREFIX, AWS_PREFIX_LEN) == 0 &&
           memcmp(t + AWS_PREFIX_LEN, c->who.id, idn) == 0 &&
           (memcmp(t + AWS_PREFIX_LEN + idn, "/shadow/", 8) == 0 ||
            memcmp(t + AWS_PREFIX_LEN + idn, "/jobs/", 6) == 0); /* docs/jobs.md */
}

/* The {api} of "server/{id}/{api}" (non-empty), or the whole "$aws/things/{id}/shadow/..."
 * topic, or NULL. */
static const uint8_t *api_of(const mconn *c, const uint8_t *t, size_t n, size_t *api_len)
{
    size_t idn = strlen(c->who.id);
    if (idn > 0 && aws_shadow(c, t, n, idn)) {
        *api_len = n;
        return t;
    }
    size_t head = SERVER_PREFIX_LEN + idn + 1;
    if (idn == 0 || n <= head || memcmp(t, SERVER_PREFIX, SERVER_PREFIX_LEN) != 0 ||
        memcmp(t + SERVER_PREFIX_LEN, c->who.id, idn) != 0 || t[head - 1] != '/')
        return NULL;
    *api_len = n - head;
    return t + head;
}

/* The Correlation Data of a 5.0 message (its kept properties, v5_publish.c). */
static bool correlation(const bmsg *m, mqtt5_prop *out)
{
    if (!m->props_len)
        return false;
    /* the block was validated on the way in: walked as it is */
    mqtt5_props view = {.p = m->props, .len = m->props_len, .present = 0};
    size_t pos = 0;
    while (mqtt5_prop_next(&view, &pos, out) == 1)
        if (out->id == MQTT5_CORRELATION_DATA)
            return true;
    return false;
}

static void report(mconn *c, bmsg *m)
{
    const broker_tap *tap = c->br->tap;
    size_t n;
    const uint8_t *api = api_of(c, m->b->data + m->topic_off, m->topic_len, &n);
    if (!api || !tap->on_device_publish)
        return;
    char small[SMALL_API + 1];
    char *s = n <= SMALL_API ? small : malloc(n + 1);
    if (!s)
        return;
    memcpy(s, api, n);
    s[n] = '\0';
    mqtt5_prop corr;
    if (tap->on_device_answer && correlation(m, &corr))
        tap->on_device_answer(tap->arg, c->lp->nl, c->who.id, s, m->b->data + m->payload_off,
                              m->payload_len, corr.str.p, corr.str.len);
    else
        tap->on_device_publish(tap->arg, c->lp->nl, c->who.id, s, m->b->data + m->payload_off,
                               m->payload_len);
    if (s != small)
        free(s);
}

static void after_ack(mconn *c, void *arg, bool ok)
{
    bmsg *m = arg;
    if (ok)
        report(c, m);
    bmsg__unref(m);
}

void tap__publish(mconn *c, bmsg *m, bool durable)
{
    if (!is_device(c))
        return;
    size_t n;
    if (!api_of(c, m->b->data + m->topic_off, m->topic_len, &n))
        return;
    if (m->qos == 0 && !c->store_pending) {
        report(c, m);
        return;
    }
    persist__after(c, after_ack, bmsg__ref(m), durable);
}

void tap__online(mconn *c, int64_t at_ms)
{
    const broker_tap *tap = c->br->tap;
    /* a CONNACK that could not be written closed the connection: nobody came online */
    if (!tap || !is_device(c) || !tap->on_presence || c->state != MC_CONNECTED)
        return;
    c->tap_online = true;
    tap->on_presence(tap->arg, c->lp->nl, c->who.id, true, at_ms, NULL);
}

void tap__offline(mconn *c, const char *why)
{
    if (!c->tap_online)
        return;
    c->tap_online = false;
    if (!why) /* a DISCONNECT before the close: the client ended it cleanly */
        why = c->clean_disconnect ? "disconnect" : c->gone_why ? c->gone_why : "closed";
    const broker_tap *tap = c->br->tap;
    tap->on_presence(tap->arg, c->lp->nl, c->who.id, false, clock_wall_ms(), why);
}

bool broker_client_online(broker *b, const char *client_id, int64_t *since)
{
    bool online = false;
    int64_t at = 0;
    registry__lock(b);
    session *s = registry__find(b, (const uint8_t *)client_id, strlen(client_id));
    if (s && atomic_load(&s->online)) {
        online = true;
        at = (int64_t)atomic_load(&s->online_since);
    }
    registry__unlock(b);
    if (online && since)
        *since = at;
    return online;
}
