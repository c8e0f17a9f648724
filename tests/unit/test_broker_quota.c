/*
 * Per-user quotas of the broker (broker/quota.c): persistent sessions per account (a user,
 * or a device's owner) and the messages queued for an account's offline persistent
 * sessions, driven through the in-memory transport like test_broker_auth.c: real codec,
 * sessions, registry and trie.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "broker/mconn.h"
#include "broker/quota.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "mqtt/mqtt_codec.h"
#include "net/memio.h"

/* ---- a hook that accepts everyone as the principal the test names ---------------------- */

static broker_principal next_who;

static void on_connect(void *arg, const broker_auth_req *q, broker_auth_ticket *t)
{
    (void)arg;
    (void)q;
    broker_auth_done(t, 0, &next_who);
}

static bool owns(void *arg, const char *user_id, const uint8_t *dev, size_t len)
{
    (void)arg;
    return strcmp(user_id, "u1") == 0 && len == 2 && memcmp(dev, "d1", 2) == 0;
}

/* d1 and d2 belong to u1, d3 to u2; anything else has no owner. */
static bool account_of(void *arg, const char *dev, char out[BROKER_PRINCIPAL_ID_MAX + 1])
{
    (void)arg;
    const char *owner = !strcmp(dev, "d1") || !strcmp(dev, "d2") ? "u1"
                        : !strcmp(dev, "d3")                     ? "u2"
                                                                 : NULL;
    if (owner)
        memcpy(out, owner, strlen(owner) + 1);
    return owner != NULL;
}

static const broker_auth hook_ops = {.connect = on_connect, .owns = owns};

typedef struct client {
    net_memio io;
    mconn *c;
} client;

static broker *br;
static bloop *lp;

static void setup_with(uint32_t sessions, uint32_t queued)
{
    broker_opts o = {
        .max_packet_size = 1u << 20,
        .max_inflight = 32,
        .max_queued = 1000,
        .max_keepalive = 65535,
        .connect_timeout_ms = 10000,
        .auth = &hook_ops,
        .max_sessions_per_user = sessions,
        .max_queued_per_user = queued,
        .account_of = account_of,
    };
    br = broker_new(&o);
    cr_assert_not_null(br);
    lp = bloop__new(br, NULL);
}

static void teardown(void)
{
    broker_free(br);
    bloop__free(lp);
}

static void feed(client *k, const uint8_t *p, size_t n)
{
    cr_assert_eq(mconn__feed(k->c, p, n), 0);
}

static bool next_pkt(client *k, uint8_t *type, uint8_t *body, size_t *len)
{
    uint32_t rem;
    size_t hl;
    uint8_t flags;
    if (mqtt_fixed_header(k->io.out, k->io.len, 1u << 24, type, &flags, &rem, &hl) != MQTT_OK)
        return false;
    memcpy(body, k->io.out + hl, rem);
    *len = rem;
    net_memio_consume(&k->io, hl + rem);
    return true;
}

/* Connects as @who/@pid with client id @id; returns the CONNACK return code. */
static uint8_t connect_as(client *k, const char *id, enum broker_who who, const char *pid,
                          bool clean)
{
    next_who = (broker_principal){.who = who};
    memcpy(next_who.id, pid, strlen(pid) + 1);
    memset(&k->io, 0, sizeof k->io);
    k->c = mconn__new(br, lp, &net_memio_ops, &k->io);
    cr_assert_not_null(k->c);
    mqtt_connect m = {.level = 4, .clean_session = clean, .keepalive = 60};
    m.client_id = (mqtt_str){(const uint8_t *)id, (uint16_t)strlen(id)};
    m.has_username = m.has_password = true;
    m.username = (mqtt_str){(const uint8_t *)pid, (uint16_t)strlen(pid)};
    m.password = (const uint8_t *)"pw";
    m.password_len = 2;
    uint8_t out[256], type, body[512];
    size_t len;
    int n = mqtt_encode_connect(out, sizeof out, &m);
    cr_assert_gt(n, 0);
    feed(k, out, (size_t)n);
    cr_assert(next_pkt(k, &type, body, &len) && type == MQTT_CONNACK, "no CONNACK");
    return body[1];
}

static void gone(client *k)
{
    mconn__closed(k->c, false);
    net_memio_free(&k->io);
}

static void subscribe(client *k, const char *filter)
{
    mqtt_str f = {(const uint8_t *)filter, (uint16_t)strlen(filter)};
    uint8_t out[256], qos = 1, type, body[16];
    size_t len;
    int n = mqtt_encode_subscribe(out, sizeof out, 7, &f, &qos, 1);
    cr_assert_gt(n, 0);
    feed(k, out, (size_t)n);
    cr_assert(next_pkt(k, &type, body, &len) && type == MQTT_SUBACK && body[2] == 1);
}

static void publish_qos1(client *k, const char *topic, uint16_t pid)
{
    uint8_t out[256], type, body[16];
    size_t len;
    int n = mqtt_encode_publish_header(out, sizeof out, (const uint8_t *)topic, strlen(topic), 1,
                                       false, false, pid, 1);
    cr_assert_gt(n, 0);
    out[n] = 'x';
    feed(k, out, (size_t)n + 1);
    cr_assert(next_pkt(k, &type, body, &len) && type == MQTT_PUBACK);
}

static unsigned count_publishes(client *k)
{
    uint8_t type, body[512];
    size_t len;
    unsigned n = 0;
    while (next_pkt(k, &type, body, &len))
        n += type == MQTT_PUBLISH;
    return n;
}

static void usage(const char *account, uint32_t *sessions, uint32_t *queued)
{
    broker_quota_usage(br, account, sessions, queued);
}

static broker_stats stats(void)
{
    broker_stats s;
    broker_stats_get(br, &s);
    return s;
}

TestSuite(quota, .fini = teardown);

Test(quota, persistent_sessions_per_user_refused_with_0x05)
{
    setup_with(2, 0);
    client a, b, c, d, e, f;
    cr_assert_eq(connect_as(&a, "c1", BROKER_WHO_USER, "u1", false), 0);
    cr_assert_eq(connect_as(&b, "c2", BROKER_WHO_USER, "u1", false), 0);
    /* the third: an app login, or one of the user's devices */
    cr_assert_eq(connect_as(&c, "c3", BROKER_WHO_USER, "u1", false), MQTT_CONNACK_NOT_AUTHORIZED);
    gone(&c);
    cr_assert_eq(connect_as(&c, "d1", BROKER_WHO_DEVICE, "d1", false), MQTT_CONNACK_NOT_AUTHORIZED);
    gone(&c);
    cr_assert_eq(stats().quota_sessions, 2);
    /* clean sessions, other users' sessions and unowned devices are not limited by u1's */
    cr_assert_eq(connect_as(&d, "c4", BROKER_WHO_USER, "u1", true), 0);
    cr_assert_eq(connect_as(&e, "d3", BROKER_WHO_DEVICE, "d3", false), 0);
    cr_assert_eq(connect_as(&f, "d9", BROKER_WHO_DEVICE, "d9", false), 0);
    uint32_t s, q;
    usage("u1", &s, &q);
    cr_assert_eq(s, 2);
    usage("u2", &s, &q);
    cr_assert_eq(s, 1);
    gone(&d);
    gone(&e);
    gone(&f);
    /* resuming is not creating: c1 comes back while u1 is at the limit */
    gone(&a);
    cr_assert_eq(connect_as(&a, "c1", BROKER_WHO_USER, "u1", false), 0);
    /* a clean session replacing c2 gives its place back */
    gone(&b);
    cr_assert_eq(connect_as(&b, "c2", BROKER_WHO_USER, "u1", true), 0);
    usage("u1", &s, &q);
    cr_assert_eq(s, 1);
    cr_assert_eq(connect_as(&c, "c3", BROKER_WHO_USER, "u1", false), 0);
    usage("u1", &s, &q);
    cr_assert_eq(s, 2);
    gone(&a);
    gone(&b);
    gone(&c);
}

Test(quota, offline_queues_summed_per_user_and_oldest_dropped)
{
    setup_with(0, 3);
    client s1, s2, dev;
    cr_assert_eq(connect_as(&s1, "s1", BROKER_WHO_USER, "u1", false), 0);
    subscribe(&s1, "server/d1/#");
    cr_assert_eq(connect_as(&s2, "s2", BROKER_WHO_USER, "u1", false), 0);
    subscribe(&s2, "server/d1/#");
    gone(&s1);
    gone(&s2);
    cr_assert_eq(connect_as(&dev, "d1", BROKER_WHO_DEVICE, "d1", true), 0);
    for (uint16_t i = 1; i <= 4; i++)
        publish_qos1(&dev, "server/d1/t", i);
    uint32_t s, q;
    usage("u1", &s, &q);
    cr_assert_eq(q, 3, "queued %u", q);
    cr_assert_eq(stats().quota_dropped, 8 - 3);
    cr_assert_eq(stats().dropped_queue_full, 0);
    /* online, a session's queue drains and stops counting: the others may queue again */
    cr_assert_eq(connect_as(&s1, "s1", BROKER_WHO_USER, "u1", false), 0);
    unsigned got = count_publishes(&s1);
    usage("u1", &s, &q);
    cr_assert_eq(q, 3 - got, "s1 got %u, still queued %u", got, q);
    cr_assert_gt(got, 0);
    gone(&s1);
    gone(&dev);
}

Test(quota, limits_of_zero_count_but_never_refuse)
{
    setup_with(0, 0);
    client a, b, dev;
    cr_assert_eq(connect_as(&a, "a", BROKER_WHO_USER, "u1", false), 0);
    subscribe(&a, "server/d1/#");
    cr_assert_eq(connect_as(&b, "b", BROKER_WHO_USER, "u1", false), 0);
    gone(&a);
    gone(&b);
    cr_assert_eq(connect_as(&dev, "d1", BROKER_WHO_DEVICE, "d1", true), 0);
    for (uint16_t i = 1; i <= 5; i++)
        publish_qos1(&dev, "server/d1/t", i);
    uint32_t s, q;
    usage("u1", &s, &q);
    cr_assert_eq(s, 2);
    cr_assert_eq(q, 5);
    cr_assert_eq(stats().quota_dropped, 0);
    gone(&dev);
}
