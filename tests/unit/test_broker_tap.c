/*
 * The in-process client contract of broker.h (broker_tap.c, inject.c): the tap hears
 * devices publishing under "server/{id}/" and coming and going; broker_publish routes as
 * the server; broker_client_online. Driven through the in-memory transport like
 * test_broker_auth.c (real codec, sessions, trie), plus one test on real loops (TCP, a
 * SQLite store) where the server publishes from another loop than the device's.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/bloop.h"
#include "broker/mconn.h"
#include "broker/session.h"
#include "broker_srv_util.h"
#include "mqtt/mqtt_codec.h"
#include "net/memio.h"

/* ---- the tap: a recorder ------------------------------------------------------------------ */

typedef struct ev {
    char kind; /* 'p' publish, '+' online, '-' offline */
    char dev[BROKER_PRINCIPAL_ID_MAX + 1];
    char api[128];
    char payload[64];
    size_t len;
    int64_t at;
    int loop;        /* net_loop_index, -1 without net */
    char reason[32]; /* offline: the tap's reason */
} ev;

#define MAX_EV 64

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static ev evs[MAX_EV];
static int n_ev;

static void copy_str(char *dst, size_t cap, const char *src, size_t n)
{
    n = n < cap - 1 ? n : cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static ev *add_ev(char kind, net_loop *l, const char *dev)
{
    cr_assert_lt(n_ev, MAX_EV);
    ev *e = &evs[n_ev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->loop = l ? (int)net_loop_index(l) : -1;
    copy_str(e->dev, sizeof e->dev, dev, strlen(dev));
    return e;
}

static void on_pub(void *arg, net_loop *l, const char *dev, const char *api, const uint8_t *payload,
                   size_t len)
{
    (void)arg;
    pthread_mutex_lock(&ev_lock);
    ev *e = add_ev('p', l, dev);
    copy_str(e->api, sizeof e->api, api, strlen(api));
    copy_str(e->payload, sizeof e->payload, (const char *)payload, len);
    e->len = len;
    pthread_mutex_unlock(&ev_lock);
}

static void on_presence(void *arg, net_loop *l, const char *dev, bool online, int64_t at_ms,
                        const char *reason)
{
    (void)arg;
    cr_assert_eq(online, reason == NULL, "a reason for offline only");
    pthread_mutex_lock(&ev_lock);
    ev *e = add_ev(online ? '+' : '-', l, dev);
    e->at = at_ms;
    if (reason)
        copy_str(e->reason, sizeof e->reason, reason, strlen(reason));
    pthread_mutex_unlock(&ev_lock);
}

static const broker_tap tap = {.on_device_publish = on_pub, .on_presence = on_presence};

static int events(void)
{
    pthread_mutex_lock(&ev_lock);
    int n = n_ev;
    pthread_mutex_unlock(&ev_lock);
    return n;
}

/* The kinds of the events so far, e.g. "+-+". */
static const char *kinds(void)
{
    static char k[MAX_EV + 1];
    pthread_mutex_lock(&ev_lock);
    for (int i = 0; i < n_ev; i++)
        k[i] = evs[i].kind;
    k[n_ev] = '\0';
    pthread_mutex_unlock(&ev_lock);
    return k;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- authentication: the username names the principal ----------------------------------
 * "d..." is a DEVICE of that id, "u..." a USER of that id (u1 owns d1); no username is
 * ANON (allow_anonymous). */

static void on_connect(void *arg, const broker_auth_req *q, broker_auth_ticket *t)
{
    (void)arg;
    broker_principal p = {.who = q->username[0] == 'u' ? BROKER_WHO_USER : BROKER_WHO_DEVICE};
    copy_str(p.id, sizeof p.id, q->username, strlen(q->username));
    broker_auth_done(t, 0, &p);
}

static bool owns(void *arg, const char *user_id, const uint8_t *dev, size_t len)
{
    (void)arg;
    return strcmp(user_id, "u1") == 0 && len == 2 && memcmp(dev, "d1", 2) == 0;
}

static const broker_auth auth_ops = {.connect = on_connect, .owns = owns};

/* ---- broker and clients over net_memio -------------------------------------------------------- */

typedef struct client {
    net_memio io;
    mconn *c;
} client;

static broker *br;
static bloop *lp;

static void setup(void)
{
    n_ev = 0;
    broker_opts o = {
        .allow_anonymous = true,
        .max_packet_size = 1u << 20,
        .max_inflight = 32,
        .max_queued = 1000,
        .max_keepalive = 65535,
        .connect_timeout_ms = 10000,
        .auth = &auth_ops,
    };
    br = broker_new(&o);
    cr_assert_not_null(br);
    broker_set_tap(br, &tap);
    lp = bloop__new(br, NULL);
}

static void teardown(void)
{
    broker_free(br);
    bloop__free(lp);
}

TestSuite(tap, .init = setup, .fini = teardown);

static void feed(client *k, const uint8_t *p, size_t n)
{
    cr_assert_eq(mconn__feed(k->c, p, n), 0);
}

static size_t encode_connect(uint8_t *out, size_t cap, const char *id, const char *user, bool clean,
                             uint16_t keepalive)
{
    mqtt_connect m = {.level = 4, .clean_session = clean, .keepalive = keepalive};
    m.client_id = (mqtt_str){(const uint8_t *)id, (uint16_t)strlen(id)};
    if (user) {
        m.has_username = m.has_password = true;
        m.username = (mqtt_str){(const uint8_t *)user, (uint16_t)strlen(user)};
        m.password = (const uint8_t *)"secret";
        m.password_len = 6;
    }
    int n = mqtt_encode_connect(out, cap, &m);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

static size_t encode_publish(uint8_t *out, size_t cap, const char *topic, uint8_t qos, bool retain,
                             uint16_t pid, const char *payload)
{
    size_t pl = strlen(payload);
    int n = mqtt_encode_publish_header(out, cap, (const uint8_t *)topic, strlen(topic), qos, false,
                                       retain, pid, pl);
    cr_assert_gt(n, 0);
    cr_assert_leq((size_t)n + pl, cap);
    memcpy(out + n, payload, pl);
    return (size_t)n + pl;
}

static size_t encode_subscribe(uint8_t *out, size_t cap, const char *filter, uint8_t qos)
{
    mqtt_str f = {(const uint8_t *)filter, (uint16_t)strlen(filter)};
    int n = mqtt_encode_subscribe(out, cap, 7, &f, &qos, 1);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

static bool next_pkt(client *k, uint8_t *type, uint8_t *flags, uint8_t *body, size_t *len)
{
    uint32_t rem;
    size_t hl;
    if (mqtt_fixed_header(k->io.out, k->io.len, 1u << 24, type, flags, &rem, &hl) != MQTT_OK)
        return false;
    cr_assert_leq(hl + rem, k->io.len, "partial packet in output");
    memcpy(body, k->io.out + hl, rem);
    *len = rem;
    net_memio_consume(&k->io, hl + rem);
    return true;
}

static void expect_type(client *k, uint8_t want, uint8_t *body, size_t *len)
{
    uint8_t type, flags;
    cr_assert(next_pkt(k, &type, &flags, body, len), "no packet (wanted type %u)", want);
    cr_assert_eq(type, want, "packet type %u, expected %u", type, want);
}

static void expect_ack(client *k, uint8_t want, uint16_t pid)
{
    uint8_t body[8];
    size_t len;
    expect_type(k, want, body, &len);
    cr_assert_eq((body[0] << 8) | body[1], pid);
}

/* Connects @id as @user (NULL: ANON) and checks the CONNACK 0. */
static void cl_connect(client *k, const char *id, const char *user, bool clean)
{
    memset(&k->io, 0, sizeof k->io);
    k->c = mconn__new(br, lp, &net_memio_ops, &k->io);
    cr_assert_not_null(k->c);
    uint8_t out[256];
    feed(k, out, encode_connect(out, sizeof out, id, user, clean, 60));
    uint8_t body[8];
    size_t len;
    expect_type(k, MQTT_CONNACK, body, &len);
    cr_assert_eq(body[1], 0);
}

static void cl_gone(client *k)
{
    mconn__closed(k->c, false);
    net_memio_free(&k->io);
}

static void publish(client *k, const char *topic, uint8_t qos, uint16_t pid, const char *payload)
{
    uint8_t out[512];
    feed(k, out, encode_publish(out, sizeof out, topic, qos, false, pid, payload));
}

static void subscribe(client *k, const char *filter, uint8_t qos)
{
    uint8_t out[256], body[16];
    size_t len;
    feed(k, out, encode_subscribe(out, sizeof out, filter, qos));
    expect_type(k, MQTT_SUBACK, body, &len);
    cr_assert_eq(body[2], qos);
}

static void expect_pub_ev(int i, const char *dev, const char *api, const char *payload)
{
    cr_assert_gt(n_ev, i);
    cr_assert_eq(evs[i].kind, 'p');
    cr_assert_str_eq(evs[i].dev, dev);
    cr_assert_str_eq(evs[i].api, api);
    cr_assert_eq(evs[i].len, strlen(payload));
    cr_assert_str_eq(evs[i].payload, payload);
    cr_assert_eq(evs[i].loop, -1);
}

/* ---- device publishes ----------------------------------------------------------------------- */

Test(tap, device_publish_qos0_and_qos1_reported_once)
{
    client d;
    cl_connect(&d, "d1", "d1", true);
    n_ev = 0;
    publish(&d, "server/d1/get_gpio", 0, 0, "pin=3");
    cr_assert_eq(n_ev, 1);
    expect_pub_ev(0, "d1", "get_gpio", "pin=3");
    publish(&d, "server/d1/get_gpio", 1, 5, "pin=4");
    expect_ack(&d, MQTT_PUBACK, 5);
    cr_assert_eq(n_ev, 2);
    expect_pub_ev(1, "d1", "get_gpio", "pin=4");
    publish(&d, "server/d1/a/b", 1, 6, "");
    expect_ack(&d, MQTT_PUBACK, 6);
    expect_pub_ev(2, "d1", "a/b", "");
    /* no api: "server/{id}" and "server/{id}/" */
    publish(&d, "server/d1", 1, 7, "x");
    expect_ack(&d, MQTT_PUBACK, 7);
    publish(&d, "server/d1/", 0, 0, "x");
    /* refused by the policy: another device's topic */
    publish(&d, "server/d2/get_gpio", 1, 8, "x");
    expect_ack(&d, MQTT_PUBACK, 8);
    cr_assert_eq(n_ev, 3);
    cl_gone(&d);
}

Test(tap, device_aws_shadow_publish_reported_with_whole_topic)
{
    client d;
    cl_connect(&d, "d1", "d1", true);
    n_ev = 0;
    publish(&d, "$aws/things/d1/shadow/update", 1, 5, "{}");
    expect_ack(&d, MQTT_PUBACK, 5);
    cr_assert_eq(n_ev, 1);
    expect_pub_ev(0, "d1", "$aws/things/d1/shadow/update", "{}");
    publish(&d, "$aws/things/d1/shadow/name/cfg/get", 0, 0, "");
    cr_assert_eq(n_ev, 2);
    expect_pub_ev(1, "d1", "$aws/things/d1/shadow/name/cfg/get", "");
    /* another thing, or not a shadow / jobs request: refused by the policy, never reported */
    publish(&d, "$aws/things/d2/shadow/update", 1, 6, "{}");
    expect_ack(&d, MQTT_PUBACK, 6);
    publish(&d, "$aws/things/d1/other/get", 1, 7, "{}");
    expect_ack(&d, MQTT_PUBACK, 7);
    publish(&d, "$aws/things/d2/jobs/get", 1, 8, "{}");
    expect_ack(&d, MQTT_PUBACK, 8);
    cr_assert_eq(n_ev, 2);
    /* its own AWS IoT Jobs requests are reported whole (docs/jobs.md) */
    publish(&d, "$aws/things/d1/jobs/get", 1, 9, "{}");
    expect_ack(&d, MQTT_PUBACK, 9);
    cr_assert_eq(n_ev, 3);
    expect_pub_ev(2, "d1", "$aws/things/d1/jobs/get", "{}");
    cl_gone(&d);
}

Test(tap, device_publish_routed_before_report)
{
    client spy, d;
    cl_connect(&spy, "spy", NULL, true);
    subscribe(&spy, "server/#", 0);
    cl_connect(&d, "d1", "d1", true);
    publish(&d, "server/d1/status", 0, 0, "up");
    uint8_t body[64];
    size_t len;
    expect_type(&spy, MQTT_PUBLISH, body, &len); /* MQTT subscribers still get it */
    cr_assert_eq(events(), 2);                   /* online, publish */
    cr_assert_str_eq(kinds(), "+p");
    cl_gone(&d);
    cl_gone(&spy);
}

Test(tap, qos2_reported_once)
{
    client d;
    cl_connect(&d, "d1", "d1", true);
    n_ev = 0;
    publish(&d, "server/d1/get_gpio", 2, 9, "q2");
    expect_ack(&d, MQTT_PUBREC, 9);
    cr_assert_eq(n_ev, 1);
    expect_pub_ev(0, "d1", "get_gpio", "q2");
    publish(&d, "server/d1/get_gpio", 2, 9, "q2"); /* re-sent before PUBREL */
    expect_ack(&d, MQTT_PUBREC, 9);
    uint8_t rel[4];
    feed(&d, rel, (size_t)mqtt_encode_ack(rel, MQTT_PUBREL, 9));
    expect_ack(&d, MQTT_PUBCOMP, 9);
    cr_assert_eq(n_ev, 1);
    cl_gone(&d);
}

Test(tap, user_and_anon_not_reported)
{
    client u, a;
    cl_connect(&u, "u1-phone", "u1", true);
    cl_connect(&a, "anon", NULL, true);
    cr_assert_eq(n_ev, 0, "no presence for users and anonymous clients");
    publish(&u, "d1/set_gpio", 1, 1, "x");
    expect_ack(&u, MQTT_PUBACK, 1);
    publish(&u, "server/d1/get_gpio", 1, 2, "x"); /* refused by the policy */
    expect_ack(&u, MQTT_PUBACK, 2);
    publish(&a, "server/d1/get_gpio", 1, 3, "x"); /* ANON: no policy, still no tap */
    expect_ack(&a, MQTT_PUBACK, 3);
    publish(&a, "server/anon/get_gpio", 0, 0, "x");
    cr_assert_eq(n_ev, 0);
    cl_gone(&u);
    cl_gone(&a);
    cr_assert_eq(n_ev, 0);
}

/* ---- presence ------------------------------------------------------------------------------- */

Test(tap, presence_on_connect_and_socket_close)
{
    client d;
    int64_t t0 = wall_ms();
    cl_connect(&d, "d1", "d1", true);
    int64_t t1 = wall_ms();
    cr_assert_str_eq(kinds(), "+");
    cr_assert_str_eq(evs[0].dev, "d1");
    cr_assert(evs[0].at >= t0 && evs[0].at <= t1);
    cl_gone(&d);
    cr_assert_str_eq(kinds(), "+-");
    cr_assert_str_eq(evs[1].dev, "d1");
    cr_assert_geq(evs[1].at, evs[0].at);
}

Test(tap, presence_on_clean_disconnect_once)
{
    client d;
    cl_connect(&d, "d1", "d1", false);
    uint8_t disc[2] = {0xe0, 0};
    feed(&d, disc, 2);
    cr_assert(d.io.closed);
    cl_gone(&d);
    cr_assert_str_eq(kinds(), "+-");
}

Test(tap, presence_on_protocol_error)
{
    client d;
    cl_connect(&d, "d1", "d1", true);
    uint8_t out[256];
    feed(&d, out, encode_connect(out, sizeof out, "d1", "d1", true, 60)); /* second CONNECT */
    cr_assert(d.io.closed);
    cl_gone(&d);
    cr_assert_str_eq(kinds(), "+-");
    broker_stats s;
    broker_stats_get(br, &s);
    cr_assert_eq(s.protocol_errors, 1);
}

Test(tap, connect_and_disconnect_pipelined)
{
    /* a DISCONNECT held behind the CONNECT still comes after the online */
    client d;
    memset(&d.io, 0, sizeof d.io);
    d.c = mconn__new(br, lp, &net_memio_ops, &d.io);
    uint8_t out[256];
    size_t n = encode_connect(out, sizeof out, "d1", "d1", true, 60);
    out[n++] = 0xe0;
    out[n++] = 0;
    feed(&d, out, n);
    cl_gone(&d);
    cr_assert_str_eq(kinds(), "+-");
}

static void takeover(bool clean)
{
    client a, b;
    cl_connect(&a, "d1", "d1", clean);
    cl_connect(&b, "d1", "d1", clean);
    cr_assert(a.io.closed, "the old connection is closed");
    cr_assert_str_eq(kinds(), "+-+", "old offline before new online");
    cl_gone(&a);
    cr_assert_str_eq(kinds(), "+-+");
    cr_assert(broker_client_online(br, "d1", NULL));
    cl_gone(&b);
    cr_assert_str_eq(kinds(), "+-+-");
    cr_assert_not(broker_client_online(br, "d1", NULL));
}

Test(tap, takeover_clean) { takeover(true); }

Test(tap, takeover_persistent) { takeover(false); }

Test(tap, purge_reports_offline)
{
    client d;
    cl_connect(&d, "d1", "d1", false);
    broker_purge_client(br, "d1");
    cr_assert(d.io.closed);
    cr_assert_str_eq(kinds(), "+-");
    cr_assert_not(broker_client_online(br, "d1", NULL));
    cl_gone(&d);
    cr_assert_str_eq(kinds(), "+-");
}

Test(tap, client_online_and_since)
{
    int64_t since = -1;
    cr_assert_not(broker_client_online(br, "d1", &since));
    cr_assert_eq(since, -1, "untouched when offline");
    client d;
    int64_t t0 = wall_ms();
    cl_connect(&d, "d1", "d1", false);
    int64_t t1 = wall_ms();
    cr_assert(broker_client_online(br, "d1", &since));
    cr_assert(since >= t0 && since <= t1);
    cr_assert_eq(since, evs[0].at, "the same instant as the online report");
    cr_assert_not(broker_client_online(br, "d2", NULL));
    cl_gone(&d);
    cr_assert_not(broker_client_online(br, "d1", &since), "persistent session, offline");
}

Test(tap, no_tap_no_reports)
{
    broker_set_tap(br, NULL);
    client d;
    cl_connect(&d, "d1", "d1", true);
    publish(&d, "server/d1/get_gpio", 1, 1, "x");
    expect_ack(&d, MQTT_PUBACK, 1);
    cl_gone(&d);
    cr_assert_eq(n_ev, 0);
}

/* ---- broker_publish --------------------------------------------------------------------------- */

Test(tap, server_publish_qos1_to_subscribed_device)
{
    client d;
    cl_connect(&d, "d1", "d1", true);
    subscribe(&d, "d1/#", 1);
    broker_stats s0;
    broker_stats_get(br, &s0);
    cr_assert_eq(broker_publish(br, "d1/set_gpio", (const uint8_t *)"on", 2, 1), 1);
    uint8_t type, flags, body[64];
    size_t len;
    cr_assert(next_pkt(&d, &type, &flags, body, &len), "the device got the request");
    cr_assert_eq(type, MQTT_PUBLISH);
    mqtt_publish p;
    cr_assert_eq(mqtt_decode_publish(body, len, flags, &p), 0);
    cr_assert_eq(p.qos, 1);
    cr_assert_not(p.retain);
    cr_assert_neq(p.packet_id, 0);
    cr_assert_eq(p.topic.len, strlen("d1/set_gpio"));
    cr_assert_eq(memcmp(p.topic.p, "d1/set_gpio", p.topic.len), 0);
    cr_assert_eq(p.payload_len, 2);
    cr_assert_eq(memcmp(p.payload, "on", 2), 0);
    cr_assert_eq(d.c->s->n_inf, 1);
    uint8_t ack[4];
    feed(&d, ack, (size_t)mqtt_encode_ack(ack, MQTT_PUBACK, p.packet_id));
    cr_assert_eq(d.c->s->n_inf, 0, "the PUBACK completed the delivery");
    broker_stats s1;
    broker_stats_get(br, &s1);
    cr_assert_eq(s1.msgs_in, s0.msgs_in + 1);
    cr_assert_eq(s1.msgs_out, s0.msgs_out + 1);
    cl_gone(&d);
}

Test(tap, server_publish_to_aws_shadow_reply_topic)
{
    client d;
    cl_connect(&d, "d1", "d1", true);
    subscribe(&d, "$aws/things/d1/shadow/#", 1);
    const char *t = "$aws/things/d1/shadow/update/accepted";
    cr_assert_eq(broker_publish(br, t, (const uint8_t *)"{}", 2, 0), 1);
    uint8_t type, flags, body[128];
    size_t len;
    cr_assert(next_pkt(&d, &type, &flags, body, &len));
    cr_assert_eq(type, MQTT_PUBLISH);
    mqtt_publish p;
    cr_assert_eq(mqtt_decode_publish(body, len, flags, &p), 0);
    cr_assert_eq(p.topic.len, strlen(t));
    cr_assert_eq(memcmp(p.topic.p, t, p.topic.len), 0);
    cl_gone(&d);
}

Test(tap, server_publish_qos0_and_nobody)
{
    client d;
    cl_connect(&d, "d1", "d1", true);
    subscribe(&d, "d1/#", 1);
    cr_assert_eq(broker_publish(br, "d2/set_gpio", (const uint8_t *)"on", 2, 1), 0);
    cr_assert_eq(broker_publish(br, "d1/set_gpio", NULL, 0, 0), 1);
    uint8_t type, flags, body[64];
    size_t len;
    cr_assert(next_pkt(&d, &type, &flags, body, &len));
    cr_assert_eq(type, MQTT_PUBLISH);
    cr_assert_eq(flags, 0, "QoS 0, not retained");
    cr_assert_eq(d.io.len, 0);
    cl_gone(&d);
    /* clean session gone: nobody subscribes any more */
    cr_assert_eq(broker_publish(br, "d1/set_gpio", (const uint8_t *)"on", 2, 1), 0);
}

Test(tap, server_publish_refuses_bad_topics)
{
    static const char *const bad[] = {"",    "$x", "$SYS/a", "$aws/other",     "a/+/b",
                                      "a/#", "+",  "#",      "$aws/things/+/x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_lt(broker_publish(br, bad[i], (const uint8_t *)"x", 1, 0), 0, "%s", bad[i]);
    cr_assert_lt(broker_publish(br, "d1/x", (const uint8_t *)"x", 1, 2), 0, "QoS 2");
    broker_stats s;
    broker_stats_get(br, &s);
    cr_assert_eq(s.msgs_in, 0, "refused ones are not counted");
}

Test(tap, server_publish_from_tap_callback_reaches_device)
{
    /* the device-control round trip: a device request answered from the tap callback */
    client d;
    cl_connect(&d, "d1", "d1", true);
    subscribe(&d, "d1/#", 0);
    cr_assert_eq(broker_publish(br, "d1/ping", (const uint8_t *)"1", 1, 0), 1);
    uint8_t body[64];
    size_t len;
    expect_type(&d, MQTT_PUBLISH, body, &len);
    publish(&d, "server/d1/pong", 0, 0, "1");
    cr_assert_str_eq(kinds(), "+p");
    expect_pub_ev(1, "d1", "pong", "1");
    cl_gone(&d);
}

/* ---- on real loops: the server publishes on one loop to a device on another ----------- */

/* Waits (up to 5 s) for an event of @kind for @dev; returns its index. */
static int wait_ev(char kind, const char *dev)
{
    for (int tries = 0; tries < 500; tries++) {
        pthread_mutex_lock(&ev_lock);
        for (int i = 0; i < n_ev; i++) {
            if (evs[i].kind == kind && strcmp(evs[i].dev, dev) == 0) {
                pthread_mutex_unlock(&ev_lock);
                return i;
            }
        }
        pthread_mutex_unlock(&ev_lock);
        usleep(10000);
    }
    cr_assert_fail("no '%c' event for %s", kind, dev);
    return -1;
}

/* broker_publish run on a chosen loop, as an HTTP handler would. */
typedef struct xpub {
    net_msg nm;
    broker *b;
    atomic_int rc;
    atomic_int loop; /* where it ran; -1 until then */
} xpub;

static void xpub_run(net_loop *l, net_msg *nm)
{
    xpub *x = (xpub *)nm;
    int rc = broker_publish(x->b, "d1/set_gpio", (const uint8_t *)"on", 2, 1);
    atomic_store(&x->rc, rc);
    atomic_store(&x->loop, (int)net_loop_index(l));
}

Test(tap_loop, publish_across_loops_presence_keepalive, .init = tmp_setup, .fini = tmp_teardown)
{
    n_ev = 0;
    srv h = {0};
    srv_start(&h, &auth_ops, &tap);
    static const uint8_t connack[] = {0x20, 2, 0, 0}, suback1[] = {0x90, 3, 0, 7, 1};
    int dev = dial(h.port);
    uint8_t out[512];
    size_t n = encode_connect(out, sizeof out, "d1", "d1", false, 60);
    n += encode_subscribe(out + n, sizeof out - n, "d1/#", 1);
    send_all(dev, out, n);
    expect_bytes(dev, connack, 4);
    expect_bytes(dev, suback1, 5);
    int on = wait_ev('+', "d1");
    int dev_loop = evs[on].loop;
    cr_assert_geq(dev_loop, 0);
    int64_t since = 0;
    cr_assert(broker_client_online(h.b, "d1", &since));
    cr_assert_eq(since, evs[on].at);

    static xpub x;
    x.nm = (net_msg){.fn = xpub_run};
    x.b = h.b;
    atomic_init(&x.rc, -100);
    atomic_init(&x.loop, -1);
    unsigned other = (unsigned)(dev_loop + 1) % 2;
    net_loop_post(net_server_loop(h.s, other), &x.nm);
    uint8_t got[19];
    recv_all(dev, got, sizeof got); /* PUBLISH QoS 1 "d1/set_gpio" pid "on" */
    cr_assert_eq(atomic_load(&x.loop), (int)other);
    cr_assert_eq(atomic_load(&x.rc), 1);
    cr_assert_eq(got[0], 0x32);
    cr_assert_eq(got[1], 17);
    cr_assert_eq(memcmp(got + 4, "d1/set_gpio", 11), 0);
    cr_assert_eq(memcmp(got + 17, "on", 2), 0);
    uint8_t ack[4];
    send_all(dev, ack,
             (size_t)mqtt_encode_ack(ack, MQTT_PUBACK, (uint16_t)(got[15] << 8 | got[16])));

    /* retained QoS 1: acknowledged (and reported) after the store commit */
    n = encode_publish(out, sizeof out, "server/d1/state", 1, true, 3, "ok");
    send_all(dev, out, n);
    static const uint8_t puback3[] = {0x40, 2, 0, 3};
    expect_bytes(dev, puback3, 4);
    int p = wait_ev('p', "d1");
    cr_assert_str_eq(evs[p].api, "state");
    cr_assert_str_eq(evs[p].payload, "ok");
    cr_assert_eq(evs[p].loop, dev_loop, "reported on the publisher's loop");

    /* a device that goes silent: keepalive 1 s, closed after 1.5 s */
    int quiet = dial(h.port);
    n = encode_connect(out, sizeof out, "d2", "d2", true, 1);
    send_all(quiet, out, n);
    expect_bytes(quiet, connack, 4);
    wait_ev('+', "d2");
    cr_assert_str_eq(evs[wait_ev('-', "d2")].reason, "keepalive");
    close(quiet);

    /* clean takeovers, new connections landing on either loop (accept order): each
     * old connection's offline comes before the next one's online */
    int fds[6];
    n = encode_connect(out, sizeof out, "d3", "d3", true, 60);
    for (int r = 0; r < 6; r++) {
        fds[r] = dial(h.port);
        send_all(fds[r], out, n);
        expect_bytes(fds[r], connack, 4);
    }
    char seq[16] = "";
    int loops_seen = 0;
    for (int tries = 0; tries < 500 && strlen(seq) < 11; tries++) {
        usleep(10000);
        pthread_mutex_lock(&ev_lock);
        size_t k = 0;
        for (int i = 0; i < n_ev && k < sizeof seq - 1; i++) {
            if (strcmp(evs[i].dev, "d3") == 0) {
                seq[k++] = evs[i].kind;
                loops_seen |= 1 << evs[i].loop;
            }
        }
        seq[k] = '\0';
        pthread_mutex_unlock(&ev_lock);
    }
    cr_assert_str_eq(seq, "+-+-+-+-+-+", "old offline before new online");
    cr_assert_str_eq(evs[wait_ev('-', "d3")].reason, "takeover");
    cr_log_info("takeovers on loops mask %d", loops_seen);
    for (int r = 0; r < 6; r++)
        close(fds[r]);

    close(dev);
    int off = wait_ev('-', "d1");
    cr_assert_eq(evs[off].loop, dev_loop);
    cr_assert_str_eq(evs[off].reason, "connection_lost");
    cr_assert_not(broker_client_online(h.b, "d1", NULL));
    srv_stop(&h);
}
