/*
 * The broker's durable effects (broker/persist.c) against a real store on real loops:
 * the out-of-memory contract — a PUBACK/PUBREC is never sent for a message that was not
 * stored; the publisher is disconnected instead (docs/architecture.md, "Out of memory").
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "broker/persist.h"
#include "broker_srv_util.h"
#include "mqtt/mqtt_codec.h"

static srv h;

static void setup(void)
{
    tmp_setup();
    srv_start(&h, NULL, NULL);
}

static void teardown(void)
{
    atomic_store(&persist__fail_allocs, 0);
    srv_stop(&h);
    tmp_teardown();
}

TestSuite(persist, .init = setup, .fini = teardown, .timeout = 30);

static int connect_as(const char *id, bool clean, bool present)
{
    int fd = dial(h.port);
    mqtt_connect m = {.level = 4, .clean_session = clean, .keepalive = 60};
    m.client_id = (mqtt_str){(const uint8_t *)id, (uint16_t)strlen(id)};
    uint8_t out[128];
    int n = mqtt_encode_connect(out, sizeof out, &m);
    cr_assert_gt(n, 0);
    send_all(fd, out, (size_t)n);
    expect_bytes(fd, (const uint8_t[]){0x20, 2, present ? 1 : 0, 0}, 4);
    return fd;
}

static int connect_client(const char *id) { return connect_as(id, true, false); }

/* A retained PUBLISH: its retained row is a durable effect the PUBACK/PUBREC promises. */
static void publish_retained_qos(int fd, uint8_t qos, bool dup, uint16_t pid)
{
    uint8_t out[64];
    int n = mqtt_encode_publish_header(out, sizeof out, (const uint8_t *)"oom/t", 5, qos, dup, true,
                                       pid, 2);
    cr_assert_gt(n, 0);
    memcpy(out + n, "hi", 2);
    send_all(fd, out, (size_t)n + 2);
}

static void publish_retained(int fd, uint16_t pid) { publish_retained_qos(fd, 1, false, pid); }

/* The next bytes from @fd, or 0 bytes when the server closed the connection. */
static ssize_t recv_some(int fd, uint8_t *p, size_t cap)
{
    ssize_t r;
    do
        r = recv(fd, p, cap, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

Test(persist, no_puback_for_a_message_not_stored)
{
    int fd = connect_client("oom-pub");
    atomic_store(&persist__fail_allocs, 1u << 30); /* every allocation in persist.c fails */
    publish_retained(fd, 7);
    uint8_t got[16];
    ssize_t r = recv_some(fd, got, sizeof got);
    /* [MQTT-4.3.2-2] the PUBACK says the message is taken care of: without it stored, the
     * only honest answer is no answer — the connection ends, the client publishes again. */
    cr_assert(r <= 0, "got %zd byte(s) (first 0x%02x) instead of a disconnect", r,
              r > 0 ? got[0] : 0);
    close(fd);

    atomic_store(&persist__fail_allocs, 0);
    fd = connect_client("oom-pub");
    publish_retained(fd, 8);
    expect_bytes(fd, (const uint8_t[]){0x40, 2, 0, 8}, 4);
    close(fd);
}

Test(persist, qos2_resend_after_oom_is_stored_before_pubrec)
{
    int fd = connect_as("oom-q2", false, false);
    atomic_store(&persist__fail_allocs, 1u << 30);
    publish_retained_qos(fd, 2, false, 9);
    uint8_t got[16];
    ssize_t r = recv_some(fd, got, sizeof got);
    cr_assert(r <= 0, "got %zd byte(s) (first 0x%02x) instead of a disconnect", r,
              r > 0 ? got[0] : 0);
    close(fd);

    atomic_store(&persist__fail_allocs, 0);
    fd = connect_as("oom-q2", false, true);
    /* [MQTT-4.3.3-2] the resend (DUP) of an id the broker forgot is a new message: routed,
     * stored, and only then PUBREC */
    publish_retained_qos(fd, 2, true, 9);
    expect_bytes(fd, (const uint8_t[]){0x50, 2, 0, 9}, 4);
    cr_assert_eq(raw_int("SELECT count(*) FROM retained"), 1, "PUBREC for a message not stored");
    close(fd);
}
