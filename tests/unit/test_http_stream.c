/*
 * http streamed responses (http/stream.c) over real sockets: chunks, heartbeats, the
 * per-stream buffer cap (drops counted, connection kept), the caps on open streams, the
 * owner told when the client goes away, and the end of a stream.
 */
#include <stdatomic.h>

#include "tests/unit/http_test_srv.h"

static atomic_int closes;

static void on_close(void *arg)
{
    (void)arg;
    atomic_fetch_add(&closes, 1);
}

static const http_stream_def def = {
    .ctype = "text/event-stream", .heartbeat = ": hb\n\n", .on_close = on_close};

static void h_stream(http_req *r)
{
    http_stream *st = http_stream_open(r, &def);
    if (st)
        http_stream_write(st, "data: hello\n\n", 13);
}

/* Far more than the buffer cap in one loop iteration: nothing is flushed meanwhile. */
static void h_flood(http_req *r)
{
    http_stream *st = http_stream_open(r, &def);
    static char big[4096];
    memset(big, 'x', sizeof big);
    for (int i = 0; st && i < 1000; i++)
        http_stream_write(st, big, sizeof big);
}

/* One write larger than the whole cap: it goes, as less than the cap waits (the head). */
static void h_big(http_req *r)
{
    http_stream *st = http_stream_open(r, &def);
    static char big[8192];
    memset(big, 'y', sizeof big);
    if (st && http_stream_write(st, big, sizeof big) == 0)
        http_stream_write(st, "z", 1); /* queued behind it, over the cap: dropped */
}

static void h_end(http_req *r)
{
    http_stream *st = http_stream_open(r, &def);
    if (!st)
        return;
    http_stream_write(st, "bye", 3);
    http_stream_end(st);
}

static void auth_hdr(http_req *r, enum http_auth need, void (*next)(http_req *r))
{
    (void)need;
    http_principal p = {0};
    const char *u = http_req_header(r, "X-User");
    snprintf(p.user_id, sizeof p.user_id, "%s", u ? u : "nobody");
    http_req_set_principal(r, &p);
    next(r);
}

static const http_route routes[] = {
    {HTTP_GET, "/stream", h_stream, HTTP_AUTH_USER},
    {HTTP_GET, "/flood", h_flood, HTTP_AUTH_NONE},
    {HTTP_GET, "/end", h_end, HTTP_AUTH_NONE},
    {HTTP_GET, "/big", h_big, HTTP_AUTH_NONE},
};

static hsrv start(http_opts *o)
{
    o->authenticate = auth_hdr;
    o->no_access_log = true;
    atomic_store(&closes, 0);
    return hsrv_start(o, routes, sizeof routes / sizeof routes[0], NULL);
}

/* Receives until @needle shows up in what was read (or the timeout): true when it did. */
static bool recv_until(int fd, const char *needle, char *got, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t k = recv(fd, got + n, cap - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
        got[n] = '\0';
        if (strstr(got, needle))
            return true;
    }
    got[n] = '\0';
    return false;
}

static int open_stream(uint16_t port, const char *user, hresp *out)
{
    int fd = hdial(port);
    char req[128];
    snprintf(req, sizeof req, "GET /stream HTTP/1.1\r\nX-User: %s\r\n\r\n", user);
    hsend(fd, req);
    *out = hread(fd, true);
    return fd;
}

Test(http_stream, chunks_and_heartbeat)
{
    http_opts o = {.stream_heartbeat_ms = 100};
    hsrv h = start(&o);
    hresp r;
    int fd = open_stream(h.port, "a", &r);
    cr_assert_eq(r.status, 200);
    cr_assert(has_header(&r, "\r\nTransfer-Encoding: chunked\r\n"));
    cr_assert(has_header(&r, "\r\nContent-Type: text/event-stream\r\n"));
    cr_assert(!has_header(&r, "Content-Length"));
    char got[4096];
    cr_assert(recv_until(fd, "d\r\ndata: hello\n\n\r\n", got, sizeof got), "got %s", got);
    cr_assert(recv_until(fd, "6\r\n: hb\n\n\r\n", got, sizeof got), "got %s", got);
    cr_assert(recv_until(fd, "6\r\n: hb\n\n\r\n", got, sizeof got), "a second heartbeat");
    close(fd);
    hsrv_stop(&h);
}

Test(http_stream, client_close_tells_owner_and_frees_slot)
{
    http_opts o = {.max_streams_per_user = 1};
    hsrv h = start(&o);
    hresp r;
    int fd = open_stream(h.port, "a", &r);
    cr_assert_eq(r.status, 200);
    http_stats st;
    http_server_stats(h.hs, &st);
    cr_assert_eq(st.streams_open, 1);
    close(fd);
    WAIT_FOR(atomic_load(&closes) == 1, 2000);
    cr_assert_eq(atomic_load(&closes), 1);
    http_server_stats(h.hs, &st);
    cr_assert_eq(st.streams_open, 0);
    fd = open_stream(h.port, "a", &r); /* the user's one slot is free again */
    cr_assert_eq(r.status, 200);
    close(fd);
    hsrv_stop(&h);
}

Test(http_stream, per_user_and_global_caps)
{
    http_opts o = {.max_streams_per_user = 2, .max_streams = 3};
    hsrv h = start(&o);
    hresp r;
    int a1 = open_stream(h.port, "alice", &r);
    cr_assert_eq(r.status, 200);
    int a2 = open_stream(h.port, "alice", &r);
    cr_assert_eq(r.status, 200);
    int a3 = open_stream(h.port, "alice", &r);
    cr_assert_eq(r.status, 429);
    cr_assert(has_header(&r, "\r\nRetry-After: "));
    int b1 = open_stream(h.port, "bob", &r);
    cr_assert_eq(r.status, 200, "another user has its own slots");
    int b2 = open_stream(h.port, "bob", &r);
    cr_assert_eq(r.status, 503, "over the server-wide cap");
    http_stats st;
    http_server_stats(h.hs, &st);
    cr_assert_eq(st.streams_refused, 2);
    cr_assert_eq(st.streams_open, 3);
    int fds[] = {a1, a2, a3, b1, b2};
    for (size_t i = 0; i < 5; i++)
        close(fds[i]);
    hsrv_stop(&h);
    cr_assert_eq(atomic_load(&closes), 3, "every open stream's owner was told at the end");
}

Test(http_stream, slow_reader_drops_are_counted_not_buffered)
{
    http_opts o = {.stream_buffer_bytes = 64 * 1024};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    hsend(fd, "GET /flood HTTP/1.1\r\n\r\n");
    hresp r = hread(fd, true);
    cr_assert_eq(r.status, 200);
    http_stats st;
    http_server_stats(h.hs, &st);
    /* 1000 x 4 KiB offered, 64 KiB held: 16 chunks (the head and framing below the cap
     * after 15, so the 16th still went) */
    cr_assert_eq(st.stream_drops, 1000 - 16);
    cr_assert_lt(st.stream_drops, 1000);
    char got[8192];
    cr_assert(recv_until(fd, "xxxx", got, sizeof got), "the kept chunks arrive");
    cr_assert_eq(atomic_load(&closes), 0, "the stream is still open");
    close(fd);
    hsrv_stop(&h);
}

Test(http_stream, write_larger_than_cap_goes_into_an_empty_queue)
{
    http_opts o = {.stream_buffer_bytes = 1024};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    hsend(fd, "GET /big HTTP/1.1\r\n\r\n");
    cr_assert_eq(hread(fd, true).status, 200);
    char got[16384];
    cr_assert(recv_until(fd, "yyyy\r\n", got, sizeof got), "the big chunk arrives whole");
    cr_assert(strstr(got, "2000\r\n") != NULL, "one chunk of 8192 bytes");
    cr_assert(strstr(got, "1\r\nz") == NULL);
    http_stats st;
    http_server_stats(h.hs, &st);
    cr_assert_eq(st.stream_drops, 1, "the write queued behind it was dropped");
    close(fd);
    hsrv_stop(&h);
}

Test(http_stream, end_sends_last_chunk_and_closes)
{
    http_opts o = {0};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    hsend(fd, "GET /end HTTP/1.1\r\n\r\n");
    hresp r = hread(fd, true);
    cr_assert_eq(r.status, 200);
    char got[256];
    cr_assert(recv_until(fd, "3\r\nbye\r\n0\r\n\r\n", got, sizeof got), "got %s", got);
    cr_assert(hclosed(fd));
    close(fd);
    hsrv_stop(&h);
    cr_assert_eq(atomic_load(&closes), 0, "an ended stream's owner is not called");
}

Test(http_stream, http10_gets_raw_bytes_until_close)
{
    http_opts o = {0};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    hsend(fd, "GET /end HTTP/1.0\r\n\r\n");
    hresp r = hread(fd, true);
    cr_assert_eq(r.status, 200);
    cr_assert(!has_header(&r, "Transfer-Encoding"));
    cr_assert(has_header(&r, "\r\nConnection: close\r\n"));
    char got[256];
    cr_assert(recv_until(fd, "bye", got, sizeof got));
    cr_assert_str_eq(got, "bye");
    cr_assert(hclosed(fd));
    close(fd);
    hsrv_stop(&h);
}
