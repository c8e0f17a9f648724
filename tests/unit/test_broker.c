/*
 * Session state and the connection state machine, driven through the in-memory
 * transport: real codec, real trie, real sessions; no sockets.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/mconn.h"
#include "broker/registry.h"
#include "broker/route.h"
#include "broker/session.h"
#include "mqtt/mqtt_codec.h"
#include "net/memio.h"
#include "net/net_int.h"

typedef struct client {
    net_memio io;
    mconn *c;
} client;

static broker *br;
static bloop *lp;

static void setup_with(uint32_t max_inflight, uint32_t queued, bool anon)
{
    broker_opts o = {
        .allow_anonymous = anon,
        .max_packet_size = 1u << 20,
        .max_inflight = max_inflight,
        .max_queued = queued,
        .max_keepalive = 65535,
        .connect_timeout_ms = 10000,
    };
    br = broker_new(&o);
    cr_assert_not_null(br);
    lp = bloop__new(br, NULL);
}

static void setup(void) { setup_with(32, 1000, true); }

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

static void send_connect(client *k, const char *id, bool clean, const char *will_topic,
                         uint16_t keepalive)
{
    mqtt_connect m = {.level = 4, .clean_session = clean, .keepalive = keepalive};
    m.client_id = (mqtt_str){(const uint8_t *)id, (uint16_t)strlen(id)};
    if (will_topic) {
        m.will = true;
        m.will_qos = 1;
        m.will_topic = (mqtt_str){(const uint8_t *)will_topic, (uint16_t)strlen(will_topic)};
        m.will_payload = (const uint8_t *)"gone";
        m.will_payload_len = 4;
    }
    uint8_t out[512];
    int n = mqtt_encode_connect(out, sizeof out, &m);
    cr_assert_gt(n, 0);
    feed(k, out, (size_t)n);
}

/* Pops the next whole packet from the captured output. */
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
    cr_assert_eq(len, 2);
    cr_assert_eq(body[0], present ? 1 : 0);
    cr_assert_eq(body[1], rc);
}

static void connect_ok(client *k, const char *id, bool clean)
{
    cl_open(k);
    send_connect(k, id, clean, NULL, 60);
    expect_connack(k, false, 0);
}

static void subscribe(client *k, const char *filter, uint8_t qos)
{
    mqtt_str f = {(const uint8_t *)filter, (uint16_t)strlen(filter)};
    uint8_t out[256];
    int n = mqtt_encode_subscribe(out, sizeof out, 7, &f, &qos, 1);
    cr_assert_gt(n, 0);
    feed(k, out, (size_t)n);
    uint8_t type, flags, body[16];
    size_t len;
    cr_assert(next_pkt(k, &type, &flags, body, &len), "no SUBACK");
    cr_assert_eq(type, MQTT_SUBACK);
    cr_assert_eq(len, 3);
    cr_assert_eq(body[2], qos);
}

static void publish(client *k, const char *topic, const char *payload, uint8_t qos, bool retain,
                    uint16_t pid)
{
    uint8_t out[512];
    size_t pl = strlen(payload);
    int n = mqtt_encode_publish_header(out, sizeof out, (const uint8_t *)topic, strlen(topic), qos,
                                       false, retain, pid, pl);
    cr_assert_gt(n, 0);
    memcpy(out + n, payload, pl);
    feed(k, out, (size_t)n + pl);
}

static void ack(client *k, uint8_t type, uint16_t pid)
{
    uint8_t out[4];
    feed(k, out, mqtt_encode_ack(out, type, pid));
}

static mqtt_publish expect_publish(client *k, uint8_t *rstore)
{
    uint8_t type, flags;
    size_t len;
    cr_assert(next_pkt(k, &type, &flags, rstore, &len), "no PUBLISH");
    cr_assert_eq(type, MQTT_PUBLISH, "got type %u", type);
    mqtt_publish p;
    cr_assert_eq(mqtt_decode_publish(rstore, len, flags, &p), 0);
    return p;
}

static void expect_ack(client *k, uint8_t want, uint16_t pid)
{
    uint8_t type, flags, body[8];
    size_t len;
    cr_assert(next_pkt(k, &type, &flags, body, &len), "no ack");
    cr_assert_eq(type, want);
    cr_assert_eq((body[0] << 8) | body[1], pid);
}

static void expect_nothing(client *k) { cr_assert_eq(k->io.len, 0, "unexpected output"); }

TestSuite(broker, .init = setup, .fini = teardown);
/* Tests that need other limits call setup_with() themselves. */
TestSuite(broker_limits, .fini = teardown);

Test(broker, connect_accepted_and_keepalive_armed)
{
    client a;
    cl_open(&a);
    cr_assert_eq(a.io.timeout_ms, 10000, "connect timeout armed before CONNECT");
    send_connect(&a, "a", true, NULL, 30);
    expect_connack(&a, false, 0);
    cr_assert_eq(a.io.timeout_ms, 45000, "1.5 x keepalive");
    cl_gone(&a);
}

Test(broker, first_packet_must_be_connect)
{
    client a;
    cl_open(&a);
    uint8_t ping[2] = {0xc0, 0};
    feed(&a, ping, 2);
    cr_assert(a.io.closed);
    expect_nothing(&a);
    cl_gone(&a);
}

Test(broker, second_connect_closes)
{
    client a;
    connect_ok(&a, "a", true);
    send_connect(&a, "a", true, NULL, 30);
    cr_assert(a.io.closed);
    cl_gone(&a);
}

Test(broker, bad_level_gets_connack_1)
{
    client a;
    cl_open(&a);
    uint8_t pkt[] = {0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 3, 2, 0, 60, 0, 0};
    feed(&a, pkt, sizeof pkt);
    expect_connack(&a, false, 1);
    cr_assert(a.io.closed);
    cl_gone(&a);
}

Test(broker, oversized_first_packet_closes_without_buffering)
{
    client a;
    cl_open(&a);
    uint8_t hdr[] = {0x10, 0xff, 0xff, 0x7f}; /* 2 MiB CONNECT */
    feed(&a, hdr, sizeof hdr);
    cr_assert(a.io.closed);
    cr_assert_eq(a.c->in_cap < 64, 1, "nothing allocated for the body");
    cl_gone(&a);
}

Test(broker, byte_by_byte_framing)
{
    client a, b;
    connect_ok(&a, "a", true);
    subscribe(&a, "t/#", 0);
    cl_open(&b);
    mqtt_connect m = {.level = 4, .clean_session = true, .keepalive = 10};
    m.client_id = (mqtt_str){(const uint8_t *)"b", 1};
    uint8_t out[600];
    int n = mqtt_encode_connect(out, sizeof out, &m);
    int p = mqtt_encode_publish_header(out + n, sizeof out - (size_t)n, (const uint8_t *)"t/x", 3,
                                       0, false, false, 0, 3);
    memcpy(out + n + p, "abc", 3);
    for (int i = 0; i < n + p + 3; i++)
        feed(&b, out + i, 1);
    expect_connack(&b, false, 0);
    uint8_t rstore[64];
    mqtt_publish got = expect_publish(&a, rstore);
    cr_assert_eq(got.payload_len, 3);
    cr_assert_eq(memcmp(got.payload, "abc", 3), 0);
    cl_gone(&a);
    cl_gone(&b);
}

Test(broker, qos_is_min_of_publish_and_subscription)
{
    client a, b;
    connect_ok(&a, "a", true);
    connect_ok(&b, "b", true);
    for (uint8_t sq = 0; sq <= 2; sq++) {
        char filter[16];
        snprintf(filter, sizeof filter, "q%u/+", sq);
        subscribe(&a, filter, sq);
    }
    uint16_t pid = 1;
    for (uint8_t pq = 0; pq <= 2; pq++) {
        for (uint8_t sq = 0; sq <= 2; sq++) {
            char topic[16];
            snprintf(topic, sizeof topic, "q%u/x", sq);
            publish(&b, topic, "hi", pq, false, pq ? pid : 0);
            if (pq == 1)
                expect_ack(&b, MQTT_PUBACK, pid);
            if (pq == 2) {
                expect_ack(&b, MQTT_PUBREC, pid);
                ack(&b, MQTT_PUBREL, pid);
                expect_ack(&b, MQTT_PUBCOMP, pid);
            }
            pid++;
            uint8_t rstore[64];
            mqtt_publish got = expect_publish(&a, rstore);
            uint8_t want = pq < sq ? pq : sq;
            cr_assert_eq(got.qos, want, "pub %u sub %u", pq, sq);
            cr_assert_not(got.retain);
            if (want == 1)
                ack(&a, MQTT_PUBACK, got.packet_id);
            if (want == 2) {
                ack(&a, MQTT_PUBREC, got.packet_id);
                expect_ack(&a, MQTT_PUBREL, got.packet_id);
                ack(&a, MQTT_PUBCOMP, got.packet_id);
            }
            cr_assert_eq(a.c->s->n_inf, 0);
            cr_assert_eq(atomic_load(&a.c->s->backlog), 0, "every routed message counted out");
        }
    }
    cl_gone(&a);
    cl_gone(&b);
}

Test(broker, qos2_duplicate_publish_routed_once)
{
    client a, b;
    connect_ok(&a, "a", true);
    subscribe(&a, "d", 0);
    connect_ok(&b, "b", true);
    publish(&b, "d", "x", 2, false, 9);
    expect_ack(&b, MQTT_PUBREC, 9);
    publish(&b, "d", "x", 2, false, 9);
    expect_ack(&b, MQTT_PUBREC, 9);
    uint8_t rstore[64];
    expect_publish(&a, rstore);
    expect_nothing(&a);
    ack(&b, MQTT_PUBREL, 9);
    expect_ack(&b, MQTT_PUBCOMP, 9);
    cl_gone(&a);
    cl_gone(&b);
}

Test(broker_limits, inflight_window_holds_back_until_ack)
{
    setup_with(2, 100, true);
    client a, b;
    connect_ok(&a, "a", true);
    subscribe(&a, "w", 1);
    connect_ok(&b, "b", true);
    for (int i = 0; i < 3; i++)
        publish(&b, "w", "m", 1, false, (uint16_t)(i + 1));
    uint8_t s1[64], s2[64], s3[64];
    mqtt_publish p1 = expect_publish(&a, s1);
    expect_publish(&a, s2);
    expect_nothing(&a);
    ack(&a, MQTT_PUBACK, p1.packet_id);
    expect_publish(&a, s3);
    cl_gone(&a);
    cl_gone(&b);
}

Test(broker_limits, offline_queue_keeps_newest_and_resumes)
{
    setup_with(32, 3, true);
    client a, b;
    connect_ok(&a, "keep", false);
    subscribe(&a, "q", 1);
    cl_gone(&a);
    connect_ok(&b, "b", true);
    for (int i = 0; i < 5; i++) {
        char payload[4] = {(char)('0' + i), 0};
        publish(&b, "q", payload, 1, false, (uint16_t)(i + 1));
    }
    broker_stats st;
    broker_stats_get(br, &st);
    cr_assert_eq(st.dropped_queue_full, 2);
    session *off = registry__find(br, (const uint8_t *)"keep", 4);
    cr_assert_eq(atomic_load(&off->backlog), 3, "backlog = what is still queued");
    cr_assert_not(atomic_load(&off->congested), "offline sessions never hold publishers");
    cl_open(&a);
    send_connect(&a, "keep", false, NULL, 60);
    expect_connack(&a, true, 0);
    for (int i = 2; i < 5; i++) {
        uint8_t rstore[64];
        mqtt_publish p = expect_publish(&a, rstore);
        cr_assert_eq(p.payload[0], '0' + i, "oldest dropped, order kept");
        cr_assert_eq(p.qos, 1);
    }
    cl_gone(&a);
    cl_gone(&b);
}

Test(broker, unacked_message_resent_with_dup)
{
    client a, b;
    connect_ok(&a, "p", false);
    subscribe(&a, "r", 1);
    connect_ok(&b, "b", true);
    publish(&b, "r", "once", 1, false, 1);
    uint8_t s1[64], s2[64];
    mqtt_publish first = expect_publish(&a, s1);
    cr_assert_not(first.dup);
    cl_gone(&a);
    cl_open(&a);
    send_connect(&a, "p", false, NULL, 60);
    expect_connack(&a, true, 0);
    mqtt_publish again = expect_publish(&a, s2);
    cr_assert(again.dup);
    cr_assert_eq(again.packet_id, first.packet_id);
    cl_gone(&a);
    cl_gone(&b);
}

Test(broker, clean_session_discards_state)
{
    client a, b;
    connect_ok(&a, "c", false);
    subscribe(&a, "z", 1);
    cl_gone(&a);
    connect_ok(&a, "c", true); /* session present 0 */
    cl_gone(&a);
    connect_ok(&b, "b", true);
    publish(&b, "z", "x", 0, false, 0);
    cr_assert_eq(mqtt_trie_count(br->subs), 0);
    cl_gone(&b);
}

Test(broker, will_on_abrupt_close_not_on_disconnect)
{
    client a, w;
    connect_ok(&a, "a", true);
    subscribe(&a, "will/#", 1);
    cl_open(&w);
    send_connect(&w, "w", true, "will/w", 60);
    expect_connack(&w, false, 0);
    cl_gone(&w);
    uint8_t rstore[64];
    mqtt_publish p = expect_publish(&a, rstore);
    cr_assert_eq(p.payload_len, 4);
    cr_assert_eq(memcmp(p.payload, "gone", 4), 0);
    ack(&a, MQTT_PUBACK, p.packet_id);

    cl_open(&w);
    send_connect(&w, "w", true, "will/w", 60);
    expect_connack(&w, false, 0);
    uint8_t disc[2] = {0xe0, 0};
    feed(&w, disc, 2);
    cr_assert(w.io.closed);
    cl_gone(&w);
    expect_nothing(&a);
    cl_gone(&a);
}

Test(broker, takeover_closes_first_connection)
{
    client a1, a2, s;
    connect_ok(&s, "s", true);
    subscribe(&s, "will/#", 0);
    cl_open(&a1);
    send_connect(&a1, "dup", false, "will/dup", 60);
    expect_connack(&a1, false, 0);
    cl_open(&a2);
    send_connect(&a2, "dup", false, NULL, 60);
    cr_assert(a1.io.closed, "first connection closed");
    expect_connack(&a2, true, 0);
    uint8_t rstore[64];
    expect_publish(&s, rstore); /* the first connection's will */
    cl_gone(&a1);
    cl_gone(&a2);
    cl_gone(&s);
}

Test(broker, retained_set_deliver_delete)
{
    client a, b;
    connect_ok(&b, "b", true);
    publish(&b, "r/1", "keep", 1, true, 1);
    expect_ack(&b, MQTT_PUBACK, 1);
    connect_ok(&a, "a", true);
    subscribe(&a, "r/+", 1);
    uint8_t rstore[64];
    mqtt_publish p = expect_publish(&a, rstore);
    cr_assert(p.retain, "retained delivery carries retain=1");
    ack(&a, MQTT_PUBACK, p.packet_id);
    publish(&b, "r/1", "", 0, true, 0); /* delete */
    p = expect_publish(&a, rstore);     /* still forwarded to live subscribers */
    cr_assert_not(p.retain);
    cr_assert_eq(mqtt_retain_count(br->retained), 0);
    cl_gone(&a);
    cl_gone(&b);
}

Test(broker_limits, anonymous_refused_by_default)
{
    setup_with(32, 100, false);
    client a;
    cl_open(&a);
    send_connect(&a, "a", true, NULL, 60);
    expect_connack(&a, false, 5);
    cr_assert(a.io.closed);
    cl_gone(&a);
}

Test(broker, empty_client_id_gets_assigned_one)
{
    client a;
    connect_ok(&a, "", true);
    cr_assert_gt(a.c->s->id_len, 0);
    cl_gone(&a);
}

Test(broker, unsubscribe_stops_delivery)
{
    client a, b;
    connect_ok(&a, "a", true);
    subscribe(&a, "u", 0);
    uint8_t out[32];
    mqtt_str f = {(const uint8_t *)"u", 1};
    int n = mqtt_encode_unsubscribe(out, sizeof out, 5, &f, 1);
    feed(&a, out, (size_t)n);
    expect_ack(&a, MQTT_UNSUBACK, 5);
    connect_ok(&b, "b", true);
    publish(&b, "u", "x", 0, false, 0);
    expect_nothing(&a);
    cl_gone(&a);
    cl_gone(&b);
}

Test(broker, connect_trickled_past_deadline_closes)
{
    client a;
    cl_open(&a);
    uint8_t first[2] = {0x10, 12};
    feed(&a, first, 2);
    cr_assert_not(a.io.closed, "early bytes are fine");
    a.io.now_ms += 10000; /* connect-timeout later, the CONNECT is still not complete */
    uint8_t more[2] = {0, 4};
    feed(&a, more, 2);
    cr_assert(a.io.closed, "a slowloris CONNECT is cut at the deadline");
    expect_nothing(&a);
    cl_gone(&a);
}

Test(broker, longest_client_id_accepted)
{
    /* [MQTT-3.1.3-5] servers may accept ids longer than 23 bytes; we take what the wire
     * can carry, which must fit the pre-CONNECT buffering limit. */
    static char id[65536];
    memset(id, 'x', 65535);
    id[65535] = '\0';
    client a;
    cl_open(&a);
    mqtt_connect m = {.level = 4, .clean_session = true, .keepalive = 60};
    m.client_id = (mqtt_str){(const uint8_t *)id, 65535};
    static uint8_t out[70000];
    int n = mqtt_encode_connect(out, sizeof out, &m);
    cr_assert_gt(n, 65535);
    feed(&a, out, (size_t)n);
    expect_connack(&a, false, 0);
    cr_assert_eq(a.c->s->id_len, 65535);
    cl_gone(&a);
}

/* route__publish says what happened: how many sessions, which one is congested. */
Test(broker_limits, route_publish_reports_routed_and_congested)
{
    setup_with(1, 2, true);
    client a, b;
    connect_ok(&a, "ra", true);
    subscribe(&a, "r/#", 1);
    connect_ok(&b, "rb", true);
    subscribe(&b, "r/x", 0);

    bmsg *none = bmsg__new((const uint8_t *)"q/x", 3, (const uint8_t *)"m", 1, 1, false);
    route_result r = route__publish(lp, none);
    cr_assert_eq(r.routed, 0);
    cr_assert_null(r.congested);
    cr_assert(!r.durable && !r.lost, "no store: nothing durable, nothing lost");
    bmsg__unref(none);

    session *want = registry__find(br, (const uint8_t *)"ra", 2);
    session *congested = NULL;
    for (int i = 0; i < 3 && !congested; i++) {
        bmsg *m = bmsg__new((const uint8_t *)"r/x", 3, (const uint8_t *)"m", 1, 1, false);
        r = route__publish(lp, m);
        bmsg__unref(m);
        cr_assert_eq(r.routed, 2, "both subscribers");
        cr_assert(!r.durable);
        congested = r.congested;
    }
    /* a's window holds one, its queue max_queued (2): the third message congests it */
    cr_assert_eq(congested, want);
    session__unref(congested);
    cl_gone(&a);
    cl_gone(&b);
}

#ifndef NDEBUG
/* Debug builds check the contracts the comments state; release builds compile them out. */

Test(broker_debug, message_ref_after_release_aborts, .init = setup, .fini = teardown,
     .signal = SIGABRT)
{
    bmsg *m = bmsg__new((const uint8_t *)"d/x", 3, (const uint8_t *)"m", 1, 0, false);
    atomic_store(&m->refs, 0); /* as if its last reference had been dropped */
    bmsg__ref(m);
}

Test(broker_debug, session_unref_below_zero_aborts, .init = setup, .fini = teardown,
     .signal = SIGABRT)
{
    session *s = session__new(br, lp, (const uint8_t *)"d", 1, true);
    atomic_store(&s->refs, 0);
    session__unref(s);
}

Test(broker_debug, connection_touched_off_its_loop_aborts, .init = setup, .fini = teardown,
     .signal = SIGABRT)
{
    char err[128];
    net_server_opts so = {.workers = 2};
    net_server *ns = net_server_new(&so, NULL, err, sizeof err);
    cr_assert_not_null(ns, "%s", err);
    bloop *own = bloop__new(br, net_server_loop(ns, 0));
    net_memio io = {0};
    mconn *c = mconn__new(br, own, &net_memio_ops, &io);
    cr_assert_not_null(c);
    net__loop_set_current(net_server_loop(ns, 1)); /* this thread now runs loop 1 */
    mconn__write(c, "x", 1);
}
#endif

/* [MQTT-4.8.0-1] an acknowledgement of the wrong kind closes the connection (issue #16). */
Test(broker, wrong_kind_ack_closes)
{
    static const uint8_t wrong[][2] = {{1, MQTT_PUBREC}, {1, MQTT_PUBCOMP}, {2, MQTT_PUBACK}};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        client a, b;
        uint8_t rs[64];
        char topic[8] = {'w', (char)('0' + i), 0};
        connect_ok(&a, "wa", true);
        subscribe(&a, topic, wrong[i][0]);
        connect_ok(&b, "wb", true);
        publish(&b, topic, "x", wrong[i][0], false, 7);
        expect_ack(&b, wrong[i][0] == 1 ? MQTT_PUBACK : MQTT_PUBREC, 7);
        mqtt_publish p = expect_publish(&a, rs);
        cr_assert_eq(p.packet_id, 1, "a fresh session's first id is 1");
        ack(&a, wrong[i][1], p.packet_id);
        cr_assert(a.io.closed, "case %zu", i);
        cl_gone(&a);
        cl_gone(&b);
    }
}

Test(broker, pubrel_for_id_not_awaiting_closes)
{
    client a;
    connect_ok(&a, "r", true);
    ack(&a, MQTT_PUBREL, 3);
    cr_assert(a.io.closed);
    cl_gone(&a);
}

Test(broker, shared_subscription_round_robin_and_redelivery)
{
    client a, b, p;
    uint8_t rs[64];
    connect_ok(&a, "sa", true);
    subscribe(&a, "$share/g/s/#", 1);
    connect_ok(&b, "sb", true);
    subscribe(&b, "$share/g/s/#", 1);
    connect_ok(&p, "sp", true);
    publish(&p, "s/1", "one", 1, false, 1);
    publish(&p, "s/2", "two", 1, false, 2);
    mqtt_publish pa = expect_publish(&a, rs);
    cr_assert_eq(pa.payload_len, 3);
    mqtt_publish pb = expect_publish(&b, rs);
    cr_assert_eq(pb.payload_len, 3);
    ack(&b, MQTT_PUBACK, pb.packet_id);
    expect_nothing(&a);
    /* a leaves without its PUBACK: its message goes to b */
    cl_gone(&a);
    mqtt_publish again = expect_publish(&b, rs);
    cr_assert_eq(again.topic.len, 3);
    cr_assert_eq(memcmp(again.topic.p, "s/1", 3), 0);
    cl_gone(&b);
    cl_gone(&p);
}
