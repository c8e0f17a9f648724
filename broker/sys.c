/*
 * sys — $SYS/broker/... : the broker's counters as retained QoS 0 messages, in the
 * mosquitto naming, so existing dashboards and `mosquitto_sub -t '$SYS/#' -v` read them.
 *
 *   topic                                          value
 *   $SYS/broker/version                            "iotcloud version <IOT_VERSION>"
 *   $SYS/broker/uptime                             "<n> seconds"
 *   $SYS/broker/clients/connected                  sessions with a connection
 *   $SYS/broker/clients/disconnected               persistent sessions without one
 *   $SYS/broker/clients/total                      both
 *   $SYS/broker/messages/received | sent           PUBLISH packets in / out, since start
 *   $SYS/broker/bytes/received | sent              bytes read / written on MQTT connections
 *   $SYS/broker/subscriptions/count                (session, filter) pairs
 *   $SYS/broker/retained messages/count            retained topics
 *   $SYS/broker/load/{messages,bytes}/{received,sent}/{1min,5min,15min}
 *                                                  per-minute rates, exponentially averaged
 *
 * Published by loop 0 every sys_interval seconds (0: never) through the ordinary route,
 * retained, never stored: they describe this process and are rebuilt after a restart.
 * Readable by administrators (USER principals with admin) and ANON only (auth__may_sub);
 * no client publishes under $SYS (handle_publish.c). '#' and '+' do not match them
 * [MQTT-4.7.2-1] (trie.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/bmsg.h"
#include "broker/registry.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/share.h"
#include "broker/sys.h"
#include "common/clock.h"
#include "common/log.h"

#ifndef IOT_VERSION
#define IOT_VERSION "dev"
#endif

enum { LOAD_MSG_IN, LOAD_MSG_OUT, LOAD_BYTES_IN, LOAD_BYTES_OUT, LOAD_N };

static const char *const load_name[LOAD_N] = {"messages/received", "messages/sent",
                                              "bytes/received", "bytes/sent"};
static const unsigned load_minutes[3] = {1, 5, 15};

/* Loop 0's averaging state (the only writer and reader). */
struct sys_state {
    int64_t last_ms;
    unsigned long long last[LOAD_N];
    double avg[LOAD_N][3];
};

bool sys__topic(const uint8_t *p, size_t n)
{
    return n >= 4 && memcmp(p, "$SYS", 4) == 0 && (n == 4 || p[4] == '/');
}

static void publish_one(bloop *lp, const char *topic, const char *value)
{
    bmsg *m = bmsg__new((const uint8_t *)topic, (uint16_t)strlen(topic), (const uint8_t *)value,
                        strlen(value), 0, true);
    if (!m)
        return; /* out of memory: this value waits for the next interval */
    route_result r = route__publish(lp, m);
    session__unref_opt(r.congested); /* the broker itself is never held back */
    bmsg__unref(m);
}

static void publish_u(bloop *lp, const char *topic, unsigned long long v)
{
    char s[32];
    snprintf(s, sizeof s, "%llu", v);
    publish_one(lp, topic, s);
}

static void publish_clients(bloop *lp)
{
    size_t online, offline;
    registry__count(lp->br, &online, &offline);
    publish_u(lp, "$SYS/broker/clients/connected", online);
    publish_u(lp, "$SYS/broker/clients/disconnected", offline);
    publish_u(lp, "$SYS/broker/clients/total", online + offline);
}

static void sum_bytes(broker *br, unsigned long long *in, unsigned long long *out)
{
    *in = *out = 0;
    pthread_mutex_lock(&br->loops_lock);
    for (bloop *l = br->loops; l; l = l->next) {
        *in += atomic_load_explicit(&l->bytes_in, memory_order_relaxed);
        *out += atomic_load_explicit(&l->bytes_out, memory_order_relaxed);
    }
    pthread_mutex_unlock(&br->loops_lock);
}

/* e^-x for x >= 0 without libm: halve x until small, a short Taylor series, square back. */
static double decay(double x)
{
    int k = 0;
    while (x > 0.01 && k < 60) {
        x /= 2;
        k++;
    }
    double r = 1 - x + x * x / 2 - x * x * x / 6;
    while (k-- > 0)
        r *= r;
    return r;
}

/* mosquitto's load averages: the rate per minute over the last interval, folded into an
 * exponential average with a time constant of 1, 5 and 15 minutes. */
static void publish_load(bloop *lp, struct sys_state *st, const unsigned long long now[LOAD_N])
{
    int64_t t = clock_mono_ms();
    double dt = st->last_ms ? (double)(t - st->last_ms) / 1000.0 : 0;
    for (int k = 0; k < LOAD_N; k++) {
        double rate = dt > 0 ? (double)(now[k] - st->last[k]) * 60.0 / dt : 0;
        for (int j = 0; j < 3; j++) {
            double f = decay(dt / (60.0 * load_minutes[j]));
            st->avg[k][j] = rate + f * (st->avg[k][j] - rate);
            char topic[96], v[32];
            snprintf(topic, sizeof topic, "$SYS/broker/load/%s/%umin", load_name[k],
                     load_minutes[j]);
            snprintf(v, sizeof v, "%.2f", st->avg[k][j]);
            publish_one(lp, topic, v);
        }
        st->last[k] = now[k];
    }
    st->last_ms = t;
}

void sys__publish(bloop *lp)
{
    broker *br = lp->br;
    unsigned long long now[LOAD_N];
    now[LOAD_MSG_IN] = atomic_load(&br->st.msgs_in);
    now[LOAD_MSG_OUT] = atomic_load(&br->st.msgs_out);
    sum_bytes(br, &now[LOAD_BYTES_IN], &now[LOAD_BYTES_OUT]);
    char v[64];
    snprintf(v, sizeof v, "iotcloud version %s", IOT_VERSION);
    publish_one(lp, "$SYS/broker/version", v);
    snprintf(v, sizeof v, "%lld seconds", (long long)((clock_mono_ms() - br->started_ms) / 1000));
    publish_one(lp, "$SYS/broker/uptime", v);
    publish_clients(lp);
    publish_u(lp, "$SYS/broker/messages/received", now[LOAD_MSG_IN]);
    publish_u(lp, "$SYS/broker/messages/sent", now[LOAD_MSG_OUT]);
    publish_u(lp, "$SYS/broker/bytes/received", now[LOAD_BYTES_IN]);
    publish_u(lp, "$SYS/broker/bytes/sent", now[LOAD_BYTES_OUT]);
    publish_u(lp, "$SYS/broker/subscriptions/count", mqtt_trie_count(br->subs) + share__count(br));
    publish_u(lp, "$SYS/broker/retained messages/count", mqtt_retain_count(br->retained));
    if (lp->sys)
        publish_load(lp, lp->sys, now);
}

static void sys_cb(uv_timer_t *t) { sys__publish(t->data); }

void sys__loop_init(bloop *lp)
{
    uv_timer_init(net_loop_uv(lp->nl), &lp->sys_timer);
    lp->sys_timer.data = lp;
    uint64_t every = (uint64_t)lp->br->o.sys_interval_s * 1000u;
    if (!every || net_loop_index(lp->nl) != 0)
        return;
    lp->sys = calloc(1, sizeof *lp->sys);
    if (!lp->sys) {
        log_warn("mqtt: out of memory: $SYS topics are not published");
        return;
    }
    /* The first values right away, so a subscriber does not wait a whole interval. */
    uv_timer_start(&lp->sys_timer, sys_cb, 0, every);
    uv_unref((uv_handle_t *)&lp->sys_timer);
}

void sys__loop_fini(bloop *lp)
{
    uv_close((uv_handle_t *)&lp->sys_timer, NULL);
    free(lp->sys);
    lp->sys = NULL;
}
