/* Shared by the HTTP socket tests: a net_server running http_proto on its own thread, a
 * small route table, and a blocking client that reads one response at a time. */
#ifndef IOT_TESTS_UNIT_HTTP_TEST_SRV_H
#define IOT_TESTS_UNIT_HTTP_TEST_SRV_H

#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"
#include "net/net.h"
#include "tests/unit/test_util.h"

typedef struct hsrv {
    net_server *ns;
    http_server *hs;
    uv_thread_t th;
    uint16_t port;
} hsrv;

static inline void hsrv_thread(void *arg) { net_server_run(arg); }

static inline hsrv hsrv_start(const http_opts *o, const http_route *routes, size_t n,
                              const net_tls_opts *tls)
{
    hsrv h = {0};
    char err[256] = "";
    h.hs = http_server_new(o);
    cr_assert_not_null(h.hs);
    cr_assert_eq(http_server_add_routes(h.hs, routes, n), 0);
    net_server_opts no = {.workers = 1};
    h.ns = net_server_new(&no, tls, err, sizeof err);
    cr_assert_not_null(h.ns, "%s", err);
    net_listener_opts lo = {.host = "127.0.0.1",
                            .tls = tls != NULL,
                            .protos = {&http_proto},
                            .proto_args = {h.hs},
                            .n_protos = 1};
    cr_assert_eq(net_server_listen(h.ns, &lo, err, sizeof err), 0, "%s", err);
    h.port = net_server_listener_port(h.ns, 0);
    cr_assert_eq(uv_thread_create(&h.th, hsrv_thread, h.ns), 0);
    return h;
}

static inline void hsrv_stop(hsrv *h)
{
    net_server_stop(h->ns);
    uv_thread_join(&h->th);
    net_server_free(h->ns);
    http_server_free(h->hs);
}

static inline int hdial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    return fd;
}

static inline void hsend(int fd, const char *s)
{
    size_t n = strlen(s);
    cr_assert_eq(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

typedef struct hresp {
    int status; /* 0: nothing (EOF/timeout) */
    char head[4096];
    char body[8192];
    size_t body_len;
} hresp;

/* Reads one response; @no_body for HEAD. Bytes after it stay in the socket. */
static inline hresp hread(int fd, bool no_body)
{
    hresp r = {0};
    size_t n = 0;
    while (n + 1 < sizeof r.head) {
        ssize_t k = recv(fd, r.head + n, 1, 0);
        if (k <= 0)
            return r;
        n++;
        if (n >= 4 && memcmp(r.head + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    r.head[n] = '\0';
    sscanf(r.head, "HTTP/1.1 %d", &r.status);
    const char *cl = strcasestr(r.head, "\r\nContent-Length: ");
    size_t len = cl ? strtoul(cl + 18, NULL, 10) : 0;
    if (no_body || len >= sizeof r.body)
        return r;
    while (r.body_len < len) {
        ssize_t k = recv(fd, r.body + r.body_len, len - r.body_len, 0);
        if (k <= 0)
            break;
        r.body_len += (size_t)k;
    }
    r.body[r.body_len] = '\0';
    return r;
}

/* True when the peer closed (EOF or reset) within the receive timeout. */
static inline bool hclosed(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, 0);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static inline bool has_header(const hresp *r, const char *line)
{
    return strcasestr(r->head, line) != NULL;
}

#endif
