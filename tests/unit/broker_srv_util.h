/* A broker on two real worker loops with a store, listening on a loopback port, and blocking
 * socket helpers to talk to it: for the broker unit tests that need real loops
 * (test_broker_auth.c, test_broker_tap.c). Needs store_util.h's temp dir set up. */
#ifndef IOT_TESTS_UNIT_BROKER_SRV_UTIL_H
#define IOT_TESTS_UNIT_BROKER_SRV_UTIL_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "broker/broker.h"
#include "net/net.h"
#include "store_util.h"

typedef struct srv {
    broker *b;
    store *st;
    net_server *s;
    uv_thread_t th;
    uint16_t port;
} srv;

static inline void srv_run_thread(void *arg) { net_server_run(arg); }

/* Starts the server with the auth hook @auth and the tap @tap (NULL: none). */
static inline void srv_start(srv *h, const broker_auth *auth, const broker_tap *tap)
{
    char err[256] = "";
    h->st = open_store();
    broker_opts o = {
        .allow_anonymous = true,
        .max_packet_size = 1u << 20,
        .max_inflight = 32,
        .max_queued = 1000,
        .max_keepalive = 65535,
        .connect_timeout_ms = 10000,
        .auth = auth,
        .st = h->st,
    };
    h->b = broker_new(&o);
    cr_assert_not_null(h->b);
    if (tap)
        broker_set_tap(h->b, tap);
    cr_assert_eq(broker_restore(h->b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_start(h->st), 0);
    net_server_opts so = {.workers = 2,
                          .loop_init = broker_loop_init,
                          .loop_fini = broker_loop_fini,
                          .loop_arg = h->b};
    h->s = net_server_new(&so, NULL, err, sizeof err);
    cr_assert_not_null(h->s, "%s", err);
    net_listener_opts lo = {
        .host = "127.0.0.1", .protos = {&broker_mqtt_proto}, .proto_args = {h->b}, .n_protos = 1};
    cr_assert_eq(net_server_listen(h->s, &lo, err, sizeof err), 0, "%s", err);
    h->port = net_server_listener_port(h->s, 0);
    cr_assert_eq(uv_thread_create(&h->th, srv_run_thread, h->s), 0);
}

static inline void srv_stop(srv *h)
{
    net_server_stop(h->s);
    uv_thread_join(&h->th);
    store_close(h->st);
    net_server_free(h->s);
    broker_free(h->b);
}

/* A blocking TCP connection to 127.0.0.1:@port with a 5 s receive timeout. */
static inline int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static inline void send_all(int fd, const uint8_t *p, size_t n)
{
    cr_assert_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static inline void recv_all(int fd, uint8_t *got, size_t n)
{
    size_t have = 0;
    while (have < n) {
        ssize_t r = recv(fd, got + have, n - have, 0);
        cr_assert_gt(r, 0, "connection ended early");
        have += (size_t)r;
    }
}

/* Reads exactly @n (<= 64) bytes and compares them with @want. */
static inline void expect_bytes(int fd, const uint8_t *want, size_t n)
{
    uint8_t got[64];
    cr_assert_leq(n, sizeof got);
    recv_all(fd, got, n);
    cr_assert_eq(memcmp(got, want, n), 0);
}

#endif
