/*
 * Authentication (broker_opts.auth), the topic policy as enforced on live connections,
 * broker_purge_client and the principal of restored sessions, driven through the
 * in-memory transport like test_broker.c: real codec, sessions, trie, retained index and
 * (for restore and the retained purge) a real SQLite store.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/bloop.h"
#include "broker/creds.h"
#include "broker/mconn.h"
#include "broker/persist.h"
#include "broker/registry.h"
#include "broker/restore.h"
#include "broker/session.h"
#include "broker_srv_util.h"
#include "mqtt/mqtt_codec.h"
#include "net/memio.h"

/* ---- a hook with scripted answers ------------------------------------------------------ */

typedef struct hook {
    bool async;            /* answer later (from the test) instead of inside connect() */
    uint8_t rc;            /* the answer */
    broker_principal p;    /* principal when rc == 0 */
    int calls;             /* connect() calls */
    char username[64];     /* last request */
    char cert_cn[64];      /* "" when none */
    char client_id[64];    /* last request */
    bool had_password;     /* last request */
    broker_auth_ticket *t; /* async: the pending ticket */
    bool u1_owns_d2;       /* owns(): u1 owns d1 (and d2 while this is set), u2 owns d3 */
} hook;

static hook hk;

static void copy_str(char *dst, size_t cap, const char *src, size_t n)
{
    n = n < cap - 1 ? n : cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void on_connect(void *arg, const broker_auth_req *q, broker_auth_ticket *t)
{
    hook *h = arg;
    h->calls++;
    copy_str(h->username, sizeof h->username, q->username ? q->username : "",
             q->username ? strlen(q->username) : 0);
    copy_str(h->cert_cn, sizeof h->cert_cn, q->cert_cn ? q->cert_cn : "",
             q->cert_cn ? strlen(q->cert_cn) : 0);
    copy_str(h->client_id, sizeof h->client_id, (const char *)q->client_id, q->client_id_len);
    h->had_password = q->password != NULL;
    if (h->async)
        h->t = t;
    else
        broker_auth_done(t, h->rc, h->rc == 0 ? &h->p : NULL);
}

static bool owns(void *arg, const char *user_id, const uint8_t *dev, size_t len)
{
    hook *h = arg;
    const char *d = NULL;
    if (strcmp(user_id, "u1") == 0 && len == 2 && memcmp(dev, "d1", 2) == 0)
        d = "d1";
    if (strcmp(user_id, "u1") == 0 && len == 2 && memcmp(dev, "d2", 2) == 0 && h->u1_owns_d2)
        d = "d2";
    if (strcmp(user_id, "u2") == 0 && len == 2 && memcmp(dev, "d3", 2) == 0)
        d = "d3";
    return d != NULL;
}

static const broker_auth hook_ops = {.connect = on_connect, .owns = owns, .arg = &hk};

static void answer(uint8_t rc, enum broker_who who, const char *id)
{
    hk.rc = rc;
    hk.p = (broker_principal){.who = who};
    copy_str(hk.p.id, sizeof hk.p.id, id, strlen(id));
}

/* ---- broker and clients over net_memio ------------------------------------------------------ */

typedef struct client {
    net_memio io;
    mconn *c;
} client;

static broker *br;
static bloop *lp;

static void setup_anon(bool anon, store *st)
{
    memset(&hk, 0, sizeof hk);
    hk.u1_owns_d2 = true;
    broker_opts o = {
        .allow_anonymous = anon,
        .max_packet_size = 1u << 20,
        .max_inflight = 32,
        .max_queued = 1000,
        .max_keepalive = 65535,
        .connect_timeout_ms = 10000,
        .auth = &hook_ops,
        .st = st,
    };
    br = broker_new(&o);
    cr_assert_not_null(br);
    lp = bloop__new(br, NULL);
}

static void setup(void) { setup_anon(false, NULL); }

static void teardown(void)
{
    broker_free(br);
    bloop__free(lp);
}

static void cl_open(client *k)
{
    memset(&k->io, 0, sizeof k->io);
    k->c = mconn__new(br, lp, &net_memio_ops, &k->io);
    cr_assert_not_null(k->c);
}

static void cl_gone(client *k)
{
    mconn__closed(k->c, false);
    net_memio_free(&k->io);
}

static void feed(client *k, const uint8_t *p, size_t n)
{
    cr_assert_eq(mconn__feed(k->c, p, n), 0);
}

typedef struct conn_args {
    const char *id;
    const char *user; /* NULL: none */
    bool clean;
    const char *will; /* NULL: none */
} conn_args;

static size_t encode_connect(uint8_t *out, size_t cap, const conn_args *a)
{
    mqtt_connect m = {.level = 4, .clean_session = a->clean, .keepalive = 60};
    m.client_id = (mqtt_str){(const uint8_t *)a->id, (uint16_t)strlen(a->id)};
    if (a->user) {
        m.has_username = m.has_password = true;
        m.username = (mqtt_str){(const uint8_t *)a->user, (uint16_t)strlen(a->user)};
        m.password = (const uint8_t *)"secret";
        m.password_len = 6;
    }
    if (a->will) {
        m.will = true;
        m.will_qos = 0;
        m.will_topic = (mqtt_str){(const uint8_t *)a->will, (uint16_t)strlen(a->will)};
        m.will_payload = (const uint8_t *)"gone";
        m.will_payload_len = 4;
    }
    int n = mqtt_encode_connect(out, cap, &m);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

static void send_connect(client *k, const conn_args *a)
{
    uint8_t out[512];
    feed(k, out, encode_connect(out, sizeof out, a));
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

static void expect_connack(client *k, bool present, uint8_t rc)
{
    uint8_t type, flags, body[8];
    size_t len;
    cr_assert(next_pkt(k, &type, &flags, body, &len), "no CONNACK");
    cr_assert_eq(type, MQTT_CONNACK);
    cr_assert_eq(body[0], present ? 1 : 0);
    cr_assert_eq(body[1], rc, "CONNACK %u, expected %u", body[1], rc);
}

static void expect_nothing(client *k) { cr_assert_eq(k->io.len, 0, "unexpected output"); }

static void connect_as(client *k, const char *id, enum broker_who who, const char *pid)
{
    answer(0, who, pid);
    cl_open(k);
    send_connect(k, &(conn_args){.id = id, .user = pid[0] ? pid : NULL, .clean = true});
    expect_connack(k, false, 0);
}

static size_t encode_subscribe(uint8_t *out, size_t cap, const char *filter, uint8_t qos)
{
    mqtt_str f = {(const uint8_t *)filter, (uint16_t)strlen(filter)};
    int n = mqtt_encode_subscribe(out, cap, 7, &f, &qos, 1);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

/* SUBSCRIBE one filter; returns the SUBACK code. */
static uint8_t subscribe(client *k, const char *filter, uint8_t qos)
{
    uint8_t out[256];
    feed(k, out, encode_subscribe(out, sizeof out, filter, qos));
    uint8_t type, flags, body[16];
    size_t len;
    cr_assert(next_pkt(k, &type, &flags, body, &len), "no SUBACK");
    cr_assert_eq(type, MQTT_SUBACK);
    return body[2];
}

static void publish(client *k, const char *topic, uint8_t qos, bool retain, uint16_t pid)
{
    uint8_t out[512];
    int n = mqtt_encode_publish_header(out, sizeof out, (const uint8_t *)topic, strlen(topic), qos,
                                       false, retain, pid, 1);
    cr_assert_gt(n, 0);
    out[n] = 'x';
    feed(k, out, (size_t)n + 1);
}

static void expect_ack(client *k, uint8_t want, uint16_t pid)
{
    uint8_t type, flags, body[8];
    size_t len;
    cr_assert(next_pkt(k, &type, &flags, body, &len), "no ack");
    cr_assert_eq(type, want);
    cr_assert_eq((body[0] << 8) | body[1], pid);
}

static void expect_publish_on(client *k, const char *topic)
{
    uint8_t type, flags, body[512];
    size_t len;
    cr_assert(next_pkt(k, &type, &flags, body, &len), "no PUBLISH");
    cr_assert_eq(type, MQTT_PUBLISH);
    mqtt_publish p;
    cr_assert_eq(mqtt_decode_publish(body, len, flags, &p), 0);
    cr_assert_eq(p.topic.len, strlen(topic));
    cr_assert_eq(memcmp(p.topic.p, topic, p.topic.len), 0);
}

static broker_stats stats(void)
{
    broker_stats s;
    broker_stats_get(br, &s);
    return s;
}

TestSuite(auth, .init = setup, .fini = teardown);

/* ---- the decision ----------------------------------------------------------------------- */

Test(auth, sync_accept_passes_the_request)
{
    client a;
    connect_as(&a, "d1", BROKER_WHO_DEVICE, "d1");
    cr_assert_eq(hk.calls, 1);
    cr_assert_str_eq(hk.username, "d1");
    cr_assert_str_eq(hk.client_id, "d1");
    cr_assert_str_eq(hk.cert_cn, "");
    cr_assert(hk.had_password);
    cr_assert_not(a.io.paused, "reading resumed once connected");
    cr_assert_eq(a.c->s->who.who, BROKER_WHO_DEVICE);
    cr_assert_str_eq(a.c->s->who.id, "d1");
    cl_gone(&a);
}

Test(auth, client_certificate_alone_calls_the_hook)
{
    client a;
    answer(0, BROKER_WHO_DEVICE, "d1");
    cl_open(&a);
    a.io.cert_cn = "d1";
    send_connect(&a, &(conn_args){.id = "d1", .clean = true});
    expect_connack(&a, false, 0);
    cr_assert_eq(hk.calls, 1);
    cr_assert_str_eq(hk.cert_cn, "d1");
    cr_assert_str_eq(hk.username, "");
    cl_gone(&a);
}

Test(auth, refusal_codes_close_and_count)
{
    static const uint8_t codes[] = {2, 4, 5};
    for (size_t i = 0; i < 3; i++) {
        client a;
        answer(codes[i], BROKER_WHO_DEVICE, "d1");
        cl_open(&a);
        send_connect(&a, &(conn_args){.id = "d1", .user = "d1", .clean = true});
        expect_connack(&a, false, codes[i]);
        cr_assert(a.io.closed);
        cr_assert_null(registry__find(br, (const uint8_t *)"d1", 2));
        cl_gone(&a);
    }
    cr_assert_eq(stats().auth_refused, 3);
}

Test(auth, no_credentials_refused_without_calling_the_hook)
{
    client a;
    cl_open(&a);
    send_connect(&a, &(conn_args){.id = "x", .clean = true});
    expect_connack(&a, false, 5);
    cr_assert(a.io.closed);
    cr_assert_eq(hk.calls, 0);
    cl_gone(&a);
}

Test(auth, no_credentials_anonymous_when_allowed)
{
    teardown();
    setup_anon(true, NULL);
    client a;
    cl_open(&a);
    send_connect(&a, &(conn_args){.id = "x", .clean = true});
    expect_connack(&a, false, 0);
    cr_assert_eq(hk.calls, 0);
    cr_assert_eq(a.c->s->who.who, BROKER_WHO_ANON);
    cr_assert_eq(subscribe(&a, "#", 0), 0, "ANON has no topic policy");
    cl_gone(&a);
}

Test(auth, async_decision_then_pipelined_packets)
{
    hk.async = true;
    client a;
    cl_open(&a);
    uint8_t out[1024];
    size_t n =
        encode_connect(out, sizeof out, &(conn_args){.id = "d1", .user = "d1", .clean = true});
    n += encode_subscribe(out + n, sizeof out - n, "d1/#", 1);
    n += encode_subscribe(out + n, sizeof out - n, "d2/#", 1);
    feed(&a, out, n); /* CONNECT and two SUBSCRIBEs in one read */
    cr_assert_eq(hk.calls, 1);
    cr_assert_not_null(hk.t);
    cr_assert(a.io.paused, "reads nothing further while waiting");
    expect_nothing(&a);
    cr_assert_eq(a.c->state, MC_WAIT_AUTH);
    answer(0, BROKER_WHO_DEVICE, "d1");
    broker_auth_done(hk.t, 0, &hk.p);
    expect_connack(&a, false, 0);
    uint8_t type, flags, body[16];
    size_t len;
    cr_assert(next_pkt(&a, &type, &flags, body, &len), "held SUBSCRIBE not handled");
    cr_assert_eq(type, MQTT_SUBACK);
    cr_assert_eq(body[2], 1);
    cr_assert(next_pkt(&a, &type, &flags, body, &len), "second SUBSCRIBE not handled");
    cr_assert_eq(body[2], 0x80);
    cr_assert_not(a.io.paused);
    cl_gone(&a);
}

Test(auth, async_refusal)
{
    hk.async = true;
    client a;
    cl_open(&a);
    send_connect(&a, &(conn_args){.id = "d1", .user = "d1", .clean = true});
    expect_nothing(&a);
    broker_auth_done(hk.t, 4, NULL);
    expect_connack(&a, false, 4);
    cr_assert(a.io.closed);
    cr_assert_eq(stats().auth_refused, 1);
    cl_gone(&a);
}

Test(auth, accepted_without_principal_is_refused)
{
    client a;
    cl_open(&a);
    hk.async = true;
    send_connect(&a, &(conn_args){.id = "d1", .user = "d1", .clean = true});
    broker_auth_done(hk.t, 0, NULL);
    expect_connack(&a, false, 5);
    cl_gone(&a);
}

Test(auth, connection_closed_while_waiting)
{
    hk.async = true;
    client a;
    cl_open(&a);
    send_connect(&a, &(conn_args){.id = "d1", .user = "d1", .clean = true});
    cl_gone(&a); /* the mconn is freed here */
    answer(0, BROKER_WHO_DEVICE, "d1");
    broker_auth_done(hk.t, 0, &hk.p); /* only frees the ticket (ASan checks) */
    cr_assert_null(registry__find(br, (const uint8_t *)"d1", 2));
}

/* ---- the policy on live connections ------------------------------------------------------ */

Test(auth, device_refused_subscribe_and_publish)
{
    teardown();
    setup_anon(true, NULL);
    client spy, d;
    cl_open(&spy); /* anonymous: sees everything */
    send_connect(&spy, &(conn_args){.id = "spy", .clean = true});
    expect_connack(&spy, false, 0);
    cr_assert_eq(subscribe(&spy, "#", 1), 1);
    connect_as(&d, "d1", BROKER_WHO_DEVICE, "d1");
    cr_assert_eq(subscribe(&d, "d1/#", 1), 1);
    cr_assert_eq(subscribe(&d, "#", 1), 0x80);
    cr_assert_eq(subscribe(&d, "+/get_gpio", 1), 0x80);
    cr_assert_eq(subscribe(&d, "server/d1/#", 1), 0x80);
    cr_assert_eq(stats().denied_subscribe, 3);

    publish(&d, "d2/cmd", 1, true, 5); /* not its topic: acknowledged, dropped */
    expect_ack(&d, MQTT_PUBACK, 5);
    expect_nothing(&spy);
    cr_assert_eq(mqtt_retain_count(br->retained), 0, "a refused PUBLISH is not retained");
    publish(&d, "server/d2/status", 2, false, 6);
    expect_ack(&d, MQTT_PUBREC, 6);
    uint8_t rel[4];
    feed(&d, rel, mqtt_encode_ack(rel, MQTT_PUBREL, 6));
    expect_ack(&d, MQTT_PUBCOMP, 6);
    expect_nothing(&spy);
    cr_assert_eq(stats().denied_publish, 2);

    publish(&d, "server/d1/status", 1, false, 7); /* its own uplink */
    expect_ack(&d, MQTT_PUBACK, 7);
    expect_publish_on(&spy, "server/d1/status");
    cl_gone(&d);
    cl_gone(&spy);
}

Test(auth, user_topics_follow_ownership)
{
    client dev, u;
    connect_as(&dev, "d1", BROKER_WHO_DEVICE, "d1");
    cr_assert_eq(subscribe(&dev, "d1/#", 0), 0);
    connect_as(&u, "app", BROKER_WHO_USER, "u1");
    cr_assert_eq(subscribe(&u, "server/d1/#", 0), 0);
    cr_assert_eq(subscribe(&u, "server/d3/#", 0), 0x80);
    cr_assert_eq(subscribe(&u, "server/+/#", 0), 0x80);
    publish(&u, "d1/get_gpio", 0, false, 0);
    expect_publish_on(&dev, "d1/get_gpio");
    publish(&u, "d3/get_gpio", 1, false, 9); /* u2's device */
    expect_ack(&u, MQTT_PUBACK, 9);
    publish(&dev, "server/d1/gpio", 0, false, 0);
    expect_publish_on(&u, "server/d1/gpio");
    expect_nothing(&dev);
    cr_assert_eq(stats().denied_publish, 1);
    cl_gone(&u);
    cl_gone(&dev);
}

Test(auth, will_topic_must_be_allowed)
{
    client a, b;
    answer(0, BROKER_WHO_DEVICE, "d1");
    cl_open(&a);
    send_connect(&a, &(conn_args){.id = "d1", .user = "d1", .clean = true, .will = "d2/x"});
    expect_connack(&a, false, 5);
    cr_assert(a.io.closed);
    cl_gone(&a);
    cl_open(&b);
    send_connect(&b,
                 &(conn_args){.id = "d1", .user = "d1", .clean = true, .will = "server/d1/state"});
    expect_connack(&b, false, 0);
    cl_gone(&b);
}

Test(auth, client_id_of_another_principal_refused)
{
    client a, b, c;
    answer(0, BROKER_WHO_USER, "u1");
    cl_open(&a);
    send_connect(&a, &(conn_args){.id = "shared", .user = "u1", .clean = false});
    expect_connack(&a, false, 0);
    answer(0, BROKER_WHO_USER, "u2");
    cl_open(&b);
    send_connect(&b, &(conn_args){.id = "shared", .user = "u2", .clean = true});
    expect_connack(&b, false, 2);
    cr_assert(b.io.closed);
    cr_assert_not(a.io.closed, "the first session is left alone");
    session *s = registry__find(br, (const uint8_t *)"shared", 6);
    cr_assert_eq(s, a.c->s);
    cl_gone(&b);
    /* offline but persistent: still u1's */
    cl_gone(&a);
    cl_open(&b);
    send_connect(&b, &(conn_args){.id = "shared", .user = "u2", .clean = false});
    expect_connack(&b, false, 2);
    cl_gone(&b);
    /* the same principal resumes it */
    answer(0, BROKER_WHO_USER, "u1");
    cl_open(&c);
    send_connect(&c, &(conn_args){.id = "shared", .user = "u1", .clean = false});
    expect_connack(&c, true, 0);
    cl_gone(&c);
}

/* ---- purge ------------------------------------------------------------------------------ */

Test(auth, purge_closes_drops_session_and_retained)
{
    teardown();
    setup_anon(true, NULL);
    client spy, d, other;
    cl_open(&spy);
    send_connect(&spy, &(conn_args){.id = "spy", .clean = true});
    expect_connack(&spy, false, 0);
    cr_assert_eq(subscribe(&spy, "server/+/will", 0), 0);
    connect_as(&other, "d10", BROKER_WHO_DEVICE, "d10");
    publish(&other, "server/d10/status", 0, true, 0);
    answer(0, BROKER_WHO_DEVICE, "d1");
    cl_open(&d);
    send_connect(&d,
                 &(conn_args){.id = "d1", .user = "d1", .clean = false, .will = "server/d1/will"});
    expect_connack(&d, false, 0);
    cr_assert_eq(subscribe(&d, "d1/#", 1), 1);
    publish(&d, "server/d1/status", 0, true, 0);
    publish(&spy, "d1/config", 0, true, 0);
    publish(&spy, "d1", 0, true, 0);
    publish(&spy, "d1x/config", 0, true, 0);
    cr_assert_eq(mqtt_retain_count(br->retained), 5);

    broker_purge_client(br, "d1");
    cr_assert(d.io.closed, "live connection closed");
    cr_assert_null(registry__find(br, (const uint8_t *)"d1", 2));
    cr_assert_eq(mqtt_retain_count(br->retained), 2, "d10's and d1x's retained stay");
    cr_assert_eq(stats().purged, 1);
    cl_gone(&d); /* the transport reports the close: no will */
    expect_nothing(&spy);
    publish(&spy, "d1/cmd", 0, false, 0); /* nobody subscribed any more */
    cr_assert_eq(mqtt_trie_count(br->subs), 1, "only the spy's subscription is left");

    broker_purge_client(br, "nobody");
    broker_purge_client(br, "server"); /* must not take every device's uplink */
    broker_purge_client(br, "+");
    cr_assert_eq(mqtt_retain_count(br->retained), 2);
    cr_assert_eq(stats().purged, 1);
    cl_gone(&other);
    cl_gone(&spy);
}

/* ---- credentials: revocation and expiry of live connections (creds.c) ------------------ */

static void connect_cred(client *k, const conn_args *a, enum broker_who who, const char *id,
                         const char *cred, int64_t expires_ms)
{
    answer(0, who, id);
    copy_str(hk.p.cred, sizeof hk.p.cred, cred, strlen(cred));
    hk.p.expires_ms = expires_ms;
    cl_open(k);
    send_connect(k, a);
    expect_connack(k, false, 0);
}

Test(auth, creds_match_only_their_principal_and_tag)
{
    broker_principal p = {.who = BROKER_WHO_USER, .id = "u1", .cred = "famA"};
    cr_assert(creds__matches(&p, BROKER_WHO_USER, "u1", "famA"));
    cr_assert(creds__matches(&p, BROKER_WHO_USER, "u1", NULL), "NULL: any credential");
    cr_assert_not(creds__matches(&p, BROKER_WHO_USER, "u1", "famB"));
    cr_assert_not(creds__matches(&p, BROKER_WHO_USER, "u2", "famA"));
    cr_assert_not(creds__matches(&p, BROKER_WHO_DEVICE, "u1", "famA"));
    broker_principal cert = {.who = BROKER_WHO_DEVICE, .id = "d1"};
    cr_assert_not(creds__matches(&cert, BROKER_WHO_DEVICE, "d1", "secret"),
                  "a certificate connection has no secret to revoke");
    cr_assert(creds__matches(&cert, BROKER_WHO_DEVICE, "d1", NULL));
    broker_principal anon = {.who = BROKER_WHO_ANON};
    cr_assert_not(creds__matches(&anon, BROKER_WHO_ANON, "", NULL));
}

Test(auth, revoked_credential_closes_its_connections_only)
{
    teardown();
    setup_anon(true, NULL);
    client spy, a, b, other, dev, cert;
    cl_open(&spy);
    send_connect(&spy, &(conn_args){.id = "spy", .clean = true});
    expect_connack(&spy, false, 0);
    cr_assert_eq(subscribe(&spy, "d1/#", 0), 0);
    connect_cred(&a, &(conn_args){.id = "app-a", .user = "u1", .clean = false, .will = "d1/gone"},
                 BROKER_WHO_USER, "u1", "famA", 0);
    cr_assert_eq(subscribe(&a, "server/d1/#", 1), 1);
    connect_cred(&b, &(conn_args){.id = "app-b", .user = "u1", .clean = true}, BROKER_WHO_USER,
                 "u1", "famB", 0);
    connect_cred(&other, &(conn_args){.id = "app-o", .user = "u2", .clean = true}, BROKER_WHO_USER,
                 "u2", "famA", 0);
    connect_cred(&dev, &(conn_args){.id = "d1", .user = "d1", .clean = true}, BROKER_WHO_DEVICE,
                 "d1", "secret", 0);
    connect_cred(&cert, &(conn_args){.id = "d3", .clean = true}, BROKER_WHO_DEVICE, "d3", "", 0);

    cr_assert_eq(creds__close_matching(lp, BROKER_WHO_USER, "u1", "famA"), 1);
    cr_assert(a.io.closed);
    cr_assert_not(b.io.closed || other.io.closed || dev.io.closed || cert.io.closed);
    cl_gone(&a);
    expect_nothing(&spy); /* no will: the client no longer speaks for the user */
    session *s = registry__find(br, (const uint8_t *)"app-a", 5);
    cr_assert_not_null(s, "the persistent session stays for the next login");
    cr_assert_not_null(s->subs, "with its subscriptions");
    cr_assert_eq(stats().cred_closed, 1);

    cr_assert_eq(creds__close_matching(lp, BROKER_WHO_USER, "u1", NULL), 1, "all of u1's");
    cr_assert(b.io.closed);
    cr_assert_eq(creds__close_matching(lp, BROKER_WHO_DEVICE, "d1", "secret"), 1);
    cr_assert(dev.io.closed);
    cr_assert_eq(creds__close_matching(lp, BROKER_WHO_DEVICE, "d3", "secret"), 0);
    cr_assert_not(cert.io.closed || other.io.closed);
    cl_gone(&b);
    cl_gone(&dev);
    cl_gone(&cert);
    cl_gone(&other);
    cr_assert_null(lp->creds, "every closed connection left the list");
    cl_gone(&spy);
}

Test(auth, expired_credential_closes_at_its_expiry)
{
    client early, late, forever;
    connect_cred(&early, &(conn_args){.id = "e", .user = "u1", .clean = true}, BROKER_WHO_USER,
                 "u1", "f1", 1000);
    connect_cred(&late, &(conn_args){.id = "l", .user = "u1", .clean = true}, BROKER_WHO_USER, "u1",
                 "f2", 5000);
    connect_cred(&forever, &(conn_args){.id = "f", .user = "d1", .clean = true}, BROKER_WHO_DEVICE,
                 "d1", "secret", 0);
    int64_t next = -1;
    cr_assert_eq(creds__close_expired(lp, 999, &next), 0);
    cr_assert_eq(next, 1000);
    cr_assert_eq(creds__close_expired(lp, 1000, &next), 1);
    cr_assert(early.io.closed);
    cr_assert_not(late.io.closed || forever.io.closed);
    cr_assert_eq(next, 5000, "the timer is re-armed for the next expiry");
    cl_gone(&late); /* gone first: nothing left to expire */
    cr_assert_eq(creds__close_expired(lp, 9000, &next), 0);
    cr_assert_eq(next, 0);
    cr_assert_not(forever.io.closed);
    cl_gone(&early);
    cl_gone(&forever);
}

/* ---- store: retained purge, principal of restored sessions ------------------------------ */

static int put_rows(store_tx *tx, void *arg)
{
    static const char *const topics[] = {"d1/a", "server/d1", "server/d1/b/c", "d1x", "d2/a"};
    for (size_t i = 0; i < 5; i++) {
        store_retained r = {(const uint8_t *)topics[i], (uint16_t)strlen(topics[i]), 0,
                            (const uint8_t *)"v", 1};
        int rc = store_retained_put(tx, &r);
        if (rc < 0)
            return rc;
    }
    bson_t *doc = arg;
    return store_session_put(tx, "app", doc);
}

static bson_t *user_session_doc(void)
{
    session *s = session__new(br, NULL, (const uint8_t *)"app", 3, false);
    s->who = (broker_principal){.who = BROKER_WHO_USER, .id = "u1"};
    cr_assert_eq(session__sub_list_add(s, (const uint8_t *)"server/d1/#", 11, 1), 0);
    cr_assert_eq(session__sub_list_add(s, (const uint8_t *)"server/d2/#", 11, 1), 0);
    bson_t *doc = persist__session_doc(s, 1);
    session__unref(s);
    return doc;
}

Test(auth_store, retained_purge_reaches_the_store, .init = tmp_setup, .fini = tmp_teardown)
{
    store *st = open_store();
    setup_anon(false, st);
    bson_t *doc = user_session_doc();
    cr_assert_eq(store_sync(st, put_rows, doc), 0);
    bson_destroy(doc);
    cr_assert_eq(store_start(st), 0);
    broker_purge_client(br, "d1"); /* no session: the retained purge alone */
    store_close(st);
    teardown();
    cr_assert_eq(raw_int("SELECT count(*) FROM retained"), 2);
}

Test(auth_store, restored_session_keeps_principal_and_loses_refused_subs, .init = tmp_setup,
     .fini = tmp_teardown)
{
    store *st = open_store();
    setup_anon(false, st);
    bson_t *doc = user_session_doc();
    cr_assert_eq(store_sync(st, put_rows, doc), 0);
    bson_destroy(doc);
    teardown();

    setup_anon(false, st);
    char err[128];
    cr_assert_eq(broker_restore(br, err, sizeof err), 0, "%s", err);
    restore__adopt(lp);
    session *s = registry__find(br, (const uint8_t *)"app", 3);
    cr_assert_not_null(s);
    cr_assert_eq(s->who.who, BROKER_WHO_USER);
    cr_assert_str_eq(s->who.id, "u1");
    /* From here on memory only: a loop-less bloop cannot take store completions. */
    br->o.st = NULL;
    client b, a;
    answer(0, BROKER_WHO_USER, "u2");
    cl_open(&b);
    send_connect(&b, &(conn_args){.id = "app", .user = "u2", .clean = false});
    expect_connack(&b, false, 2);
    cl_gone(&b);
    hk.u1_owns_d2 = false; /* u1 lost d2 while the session was offline */
    answer(0, BROKER_WHO_USER, "u1");
    cl_open(&a);
    send_connect(&a, &(conn_args){.id = "app", .user = "u1", .clean = false});
    expect_connack(&a, true, 0);
    cr_assert_not_null(s->subs);
    cr_assert_eq(s->subs->len, 11);
    cr_assert_eq(memcmp(s->subs->filter, "server/d1/#", 11), 0);
    cr_assert_null(s->subs->next, "server/d2/# dropped on resume");
    cr_assert_eq(mqtt_trie_count(br->subs), 1);
    cl_gone(&a);
    teardown();
    store_close(st);
}

/* ---- on real loops: a hook answering from a timer, a purge from another thread ---------- */

typedef struct later {
    uv_timer_t timer;
    broker_auth_ticket *t;
} later;

static void later_closed(uv_handle_t *h) { free(h->data); }

static void later_fire(uv_timer_t *tm)
{
    later *l = tm->data;
    broker_auth_done(l->t, hk.rc, hk.rc == 0 ? &hk.p : NULL);
    uv_close((uv_handle_t *)&l->timer, later_closed);
}

static void on_connect_timer(void *arg, const broker_auth_req *q, broker_auth_ticket *t)
{
    later *l = calloc(1, sizeof *l);
    cr_assert_not_null(l);
    cr_assert_not_null(q->loop, "a real connection names its loop");
    ((hook *)arg)->calls++;
    l->t = t;
    uv_timer_init(net_loop_uv(q->loop), &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, later_fire, 20, 0);
}

static const broker_auth timer_ops = {.connect = on_connect_timer, .owns = owns, .arg = &hk};

static size_t encode_publish(uint8_t *out, size_t cap, const char *topic, uint8_t qos, bool retain,
                             uint16_t pid)
{
    int n = mqtt_encode_publish_header(out, cap, (const uint8_t *)topic, strlen(topic), qos, false,
                                       retain, pid, 1);
    cr_assert_gt(n, 0);
    out[n] = 'x';
    return (size_t)n + 1;
}

Test(auth_loop, timer_answer_pipelined_input_then_purge, .init = tmp_setup, .fini = tmp_teardown)
{
    memset(&hk, 0, sizeof hk);
    answer(0, BROKER_WHO_DEVICE, "d1");
    srv h = {0};
    srv_start(&h, &timer_ops, NULL);
    static const uint8_t connack[] = {0x20, 2, 0, 0}, suback1[] = {0x90, 3, 0, 7, 1},
                         suback0[] = {0x90, 3, 0, 7, 0}, puback3[] = {0x40, 2, 0, 3};

    int spy = dial(h.port); /* anonymous: no credentials, no hook */
    uint8_t out[1024];
    size_t n = encode_connect(out, sizeof out, &(conn_args){.id = "spy", .clean = true});
    n += encode_subscribe(out + n, sizeof out - n, "server/+/will", 0);
    send_all(spy, out, n);
    expect_bytes(spy, connack, 4);
    expect_bytes(spy, suback0, 5);

    int dev = dial(h.port);
    n = encode_connect(
        out, sizeof out,
        &(conn_args){.id = "d1", .user = "d1", .clean = false, .will = "server/d1/will"});
    n += encode_subscribe(out + n, sizeof out - n, "d1/#", 1);
    n += encode_publish(out + n, sizeof out - n, "server/d1/status", 1, true, 3);
    send_all(dev, out, n); /* all in one write: held until the timer answers */
    expect_bytes(dev, connack, 4);
    expect_bytes(dev, suback1, 5);
    expect_bytes(dev, puback3, 4);

    /* an unacknowledged QoS 1 delivery in flight, and a retained one under d1/ */
    n = encode_publish(out, sizeof out, "d1/cmd", 1, false, 4);
    n += encode_publish(out + n, sizeof out - n, "d1/cfg", 0, true, 0);
    send_all(spy, out, n);
    static const uint8_t puback4[] = {0x40, 2, 0, 4};
    expect_bytes(spy, puback4, 4);
    uint8_t first[2];
    cr_assert_eq(recv(dev, first, 2, 0), 2);
    cr_assert_eq(first[0] >> 4, MQTT_PUBLISH, "the device got its command");

    broker_purge_client(h.b, "d1"); /* from this (non-loop) thread */
    uint8_t sink[256];
    ssize_t r;
    while ((r = recv(dev, sink, sizeof sink, 0)) > 0)
        ;
    cr_assert_eq(r, 0, "the device's connection is closed (EOF, not a timeout)");
    close(dev);
    struct timeval tv = {0, 300000};
    setsockopt(spy, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_lt(recv(spy, sink, sizeof sink, 0), 0, "no will was published");
    close(spy);
    broker_stats s;
    broker_stats_get(h.b, &s);
    cr_assert_eq(s.purged, 1);
    cr_assert_eq(hk.calls, 1);
    srv_stop(&h);
    cr_assert_eq(raw_int("SELECT count(*) FROM sessions"), 0);
    cr_assert_eq(raw_int("SELECT count(*) FROM session_msgs"), 0);
    cr_assert_eq(raw_int("SELECT count(*) FROM retained"), 0);
}
