/*
 * http over real sockets: a net_server with http_proto on 127.0.0.1 (port 0), a test
 * route table, raw HTTP/1.1 from a blocking client in the test thread.
 */
#include <stdatomic.h>

#include "api/api.h"
#include "api/job.h"
#include "tests/unit/http_test_srv.h"
#include "tests/unit/store_util.h"

static atomic_int late_answered;

static void h_hello(http_req *r)
{
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&d, "msg", "hi");
    http_respond_json(r, 200, &d);
    bson_destroy(&d);
}

static void h_echo(http_req *r)
{
    size_t n;
    const uint8_t *b = http_req_body(r, &n);
    http_respond_raw(r, 200, "application/octet-stream", b, n);
}

static void h_device(http_req *r)
{
    const char *q = http_req_query(r, "q");
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&d, "id", http_req_param(r, "id"));
    BSON_APPEND_UTF8(&d, "q", q ? q : "-");
    http_respond_json(r, 200, &d);
    bson_destroy(&d);
}

static void h_delete(http_req *r) { http_respond_json(r, 204, NULL); }

static void late_work(http_work *w) { usleep(300 * 1000); }

static void late_after(http_work *w)
{
    http_respond_raw(w->req, 200, "text/plain", "late", 4);
    free(w);
    late_answered++;
}

static void h_late(http_req *r)
{
    http_work *w = calloc(1, sizeof *w);
    cr_assert_eq(http_work_submit(w, r, late_work, late_after), 0);
}

/* ---- http_job: put a session document, then count the sessions ---------------------- */

typedef struct count_job {
    http_job j;
    int n;
} count_job;

static int count_cb(void *arg, const char *id, const bson_t *doc)
{
    ((count_job *)arg)->n++;
    return 0;
}

static int put_run(store_tx *tx, http_job *j)
{
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_INT32(&d, "v", 1);
    int rc = store_session_put(tx, http_req_param(j->req, "id"), &d);
    bson_destroy(&d);
    if (rc == 0)
        rc = store_session_each(tx, count_cb, j);
    return rc;
}

static void put_done(http_job *j, int rc)
{
    count_job *c = (count_job *)j;
    cr_assert_eq(net_loop_current(), http_req_loop(j->req), "done() must run on the loop");
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_INT32(&d, "rc", rc);
    BSON_APPEND_INT32(&d, "sessions", c->n);
    http_respond_json(j->req, 200, &d);
    bson_destroy(&d);
    free(c);
}

static void h_job(http_req *r)
{
    count_job *c = calloc(1, sizeof *c);
    http_job_submit(&c->j, r, put_run, put_done);
}

static const http_route routes[] = {
    {HTTP_GET, "/hello", h_hello, HTTP_AUTH_NONE},
    {HTTP_POST, "/echo", h_echo, HTTP_AUTH_NONE},
    {HTTP_GET, "/devices/{id}", h_device, HTTP_AUTH_NONE},
    {HTTP_DELETE, "/devices/{id}", h_delete, HTTP_AUTH_NONE},
    {HTTP_GET, "/late", h_late, HTTP_AUTH_NONE},
    {HTTP_POST, "/job/{id}", h_job, HTTP_AUTH_NONE},
    {HTTP_GET, "/private", h_hello, HTTP_AUTH_USER},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static hsrv start(const http_opts *o)
{
    http_opts d = {.no_access_log = false};
    return hsrv_start(o ? o : &d, routes, NROUTES, NULL);
}

Test(http_server, keep_alive_two_requests)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    for (int i = 0; i < 2; i++) {
        hsend(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        hresp r = hread(fd, false);
        cr_assert_eq(r.status, 200);
        cr_assert_str_eq(r.body, "{ \"msg\" : \"hi\" }");
        cr_assert(has_header(&r, "\r\nContent-Type: application/json\r\n"));
        cr_assert(has_header(&r, "\r\nCache-Control: no-store\r\n"));
        cr_assert(has_header(&r, "\r\nServer: iotcloud\r\n"));
        cr_assert(has_header(&r, " GMT\r\n"), "Date: %s", r.head);
        cr_assert(has_header(&r, "\r\nX-Request-Id: "));
        cr_assert_not(has_header(&r, "Connection: close"));
    }
    close(fd);
    http_stats st;
    http_server_stats(h.hs, &st);
    cr_assert_eq(st.requests, 2);
    cr_assert_eq(st.conns, 1);
    hsrv_stop(&h);
}

Test(http_server, request_id_echoed_when_valid)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "GET /hello HTTP/1.1\r\nX-Request-Id: abc-123.x_y\r\n\r\n");
    hresp r = hread(fd, false);
    cr_assert(has_header(&r, "\r\nX-Request-Id: abc-123.x_y\r\n"));
    hsend(fd, "GET /hello HTTP/1.1\r\nX-Request-Id: bad id!\r\n\r\n");
    r = hread(fd, false);
    cr_assert_not(has_header(&r, "bad id"), "an invalid id is replaced");
    cr_assert(has_header(&r, "\r\nX-Request-Id: "));
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, pipelined_requests_answered_in_order)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "GET /devices/1 HTTP/1.1\r\n\r\n"
              "GET /late HTTP/1.1\r\n\r\n"
              "GET /devices/3 HTTP/1.1\r\n\r\n");
    hresp a = hread(fd, false), b = hread(fd, false), c = hread(fd, false);
    cr_assert_str_eq(a.body, "{ \"id\" : \"1\", \"q\" : \"-\" }");
    cr_assert_str_eq(b.body, "late", "the slow answer must come second");
    cr_assert_str_eq(c.body, "{ \"id\" : \"3\", \"q\" : \"-\" }");
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, chunked_body_echoed)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello world");
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, expect_100_continue)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "POST /echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    char line[64] = "";
    cr_assert_eq(recv(fd, line, 25, MSG_WAITALL), 25);
    cr_assert_str_eq(line, "HTTP/1.1 100 Continue\r\n\r\n");
    hsend(fd, "ping");
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ping");
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, expect_100_with_too_large_length_gets_413)
{
    http_opts o = {.max_body_bytes = 10};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    hsend(fd, "POST /echo HTTP/1.1\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 413, "no 100 Continue first: %s", r.head);
    cr_assert(strstr(r.body, "\"payload_too_large\""));
    cr_assert(hclosed(fd));
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, head_has_length_but_no_body)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "HEAD /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    hresp r = hread(fd, true);
    cr_assert_eq(r.status, 200);
    cr_assert(has_header(&r, "\r\nContent-Length: 16\r\n"), "%s", r.head);
    hresp g = hread(fd, false); /* a HEAD body would show up here */
    cr_assert_eq(g.status, 200);
    cr_assert_eq(g.body_len, 16);
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, http10_closes)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "GET /hello HTTP/1.0\r\n\r\n");
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 200);
    cr_assert(has_header(&r, "\r\nConnection: close\r\n"));
    cr_assert(hclosed(fd));
    close(fd);
    fd = hdial(h.port);
    hsend(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    r = hread(fd, false);
    cr_assert(has_header(&r, "\r\nConnection: keep-alive\r\n"));
    hsend(fd, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
    r = hread(fd, false);
    cr_assert_eq(r.status, 200);
    cr_assert(has_header(&r, "\r\nConnection: close\r\n"));
    cr_assert(hclosed(fd));
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, not_found_and_method_not_allowed)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "GET /nothing HTTP/1.1\r\n\r\n");
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 404);
    cr_assert_str_eq(r.body, "{ \"error\" : { \"code\" : \"not_found\", \"message\" : \"no such "
                             "resource\" } }");
    hsend(fd, "PUT /devices/7 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    r = hread(fd, false);
    cr_assert_eq(r.status, 405);
    cr_assert(has_header(&r, "\r\nAllow: GET, HEAD, DELETE\r\n"), "%s", r.head);
    cr_assert(strstr(r.body, "method_not_allowed"));
    hsend(fd, "DELETE /devices/7 HTTP/1.1\r\n\r\n");
    r = hread(fd, false);
    cr_assert_eq(r.status, 204);
    cr_assert_not(has_header(&r, "Content-Length"), "204 has no Content-Length");
    hsend(fd, "GET /private HTTP/1.1\r\n\r\n");
    r = hread(fd, false);
    cr_assert_eq(r.status, 401, "no authenticate hook: 401");
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, params_and_query_decoded)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "GET /devices/a%2Fb%20c?x=1&q=h%C3%A9llo+w HTTP/1.1\r\n\r\n");
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "{ \"id\" : \"a/b c\", \"q\" : \"h\xc3\xa9llo w\" }");
    hsend(fd, "GET /devices/x?q=%00 HTTP/1.1\r\n\r\n");
    r = hread(fd, false);
    cr_assert_eq(r.status, 400, "%%00 is refused");
    cr_assert(hclosed(fd));
    close(fd);
    fd = hdial(h.port);
    hsend(fd, "GET /devices/%zz HTTP/1.1\r\n\r\n");
    r = hread(fd, false);
    cr_assert_eq(r.status, 400, "invalid escape");
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, header_block_too_large_431)
{
    http_opts o = {.max_header_bytes = 256};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    char big[600];
    snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\nX-Pad: %0400d\r\n\r\n", 0);
    hsend(fd, big);
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 431);
    cr_assert(strstr(r.body, "headers_too_large"));
    cr_assert(hclosed(fd));
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, body_too_large_413_length_and_chunked)
{
    http_opts o = {.max_body_bytes = 8};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    hsend(fd, "POST /echo HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789");
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 413);
    cr_assert(hclosed(fd));
    close(fd);
    fd = hdial(h.port);
    hsend(fd, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n");
    r = hread(fd, false);
    cr_assert_eq(r.status, 413);
    cr_assert(hclosed(fd));
    close(fd);
    fd = hdial(h.port); /* exactly the limit passes */
    hsend(fd, "POST /echo HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678");
    r = hread(fd, false);
    cr_assert_eq(r.status, 200);
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, slow_headers_get_408)
{
    http_opts o = {.header_timeout_ms = 300};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    const char *req = "GET /hello HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
    uint64_t t0 = now_ms();
    /* One byte every 50 ms: a per-byte timer would never fire. */
    for (const char *p = req; *p && now_ms() - t0 < 600; p++) {
        send(fd, p, 1, MSG_NOSIGNAL);
        usleep(50 * 1000);
    }
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 408);
    cr_assert_lt(now_ms() - t0, 1500);
    cr_assert(hclosed(fd));
    close(fd);
    http_stats st;
    http_server_stats(h.hs, &st);
    cr_assert_eq(st.timeouts, 1);
    hsrv_stop(&h);
}

Test(http_server, idle_keep_alive_closes_silently)
{
    http_opts o = {.idle_timeout_ms = 200};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    hsend(fd, "GET /hello HTTP/1.1\r\n\r\n");
    cr_assert_eq(hread(fd, false).status, 200);
    char c;
    cr_assert_eq(recv(fd, &c, 1, 0), 0, "closed without a response");
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, per_ip_limit)
{
    http_opts o = {.max_conns_per_ip = 2};
    hsrv h = start(&o);
    int a = hdial(h.port), b = hdial(h.port);
    hsend(a, "GET /hello HTTP/1.1\r\n\r\n");
    cr_assert_eq(hread(a, false).status, 200);
    hsend(b, "GET /hello HTTP/1.1\r\n\r\n");
    cr_assert_eq(hread(b, false).status, 200);
    int c = hdial(h.port);
    hresp r = hread(c, false);
    cr_assert_eq(r.status, 503);
    cr_assert(has_header(&r, "\r\nRetry-After: 5\r\n"));
    cr_assert(hclosed(c));
    close(c);
    close(a); /* frees a slot */
    WAIT_FOR(false, 100);
    int d = hdial(h.port);
    hsend(d, "GET /hello HTTP/1.1\r\n\r\n");
    cr_assert_eq(hread(d, false).status, 200);
    close(b);
    close(d);
    http_stats st;
    http_server_stats(h.hs, &st);
    cr_assert_eq(st.refused_ip, 1);
    hsrv_stop(&h);
}

Test(http_server, late_answer_after_disconnect)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "GET /late HTTP/1.1\r\n\r\n");
    usleep(50 * 1000);
    close(fd); /* gone while the work runs */
    WAIT_FOR(late_answered == 1, 2000);
    cr_assert_eq(late_answered, 1);
    fd = hdial(h.port); /* the server is still fine */
    hsend(fd, "GET /hello HTTP/1.1\r\n\r\n");
    cr_assert_eq(hread(fd, false).status, 200);
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, malformed_and_h2_preface)
{
    hsrv h = start(NULL);
    int fd = hdial(h.port);
    hsend(fd, "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n");
    hresp r = hread(fd, false);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "bad_request"));
    cr_assert(hclosed(fd));
    close(fd);
    fd = hdial(h.port);
    hsend(fd, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    r = hread(fd, false);
    cr_assert(r.status == 505 || r.status == 400, "got %d", r.status);
    close(fd);
    fd = hdial(h.port);
    hsend(fd, "BREW /hello HTTP/1.1\r\n\r\n");
    r = hread(fd, false);
    cr_assert(r.status == 501 || r.status == 405, "got %d", r.status);
    close(fd);
    hsrv_stop(&h);
}

Test(http_server, job_round_trip_with_store)
{
    tmp_setup();
    store *st = open_store();
    cr_assert_eq(store_start(st), 0);
    api ap = {.st = st};
    http_opts o = {.app = &ap};
    hsrv h = start(&o);
    int fd = hdial(h.port);
    hsend(fd, "POST /job/dev1 HTTP/1.1\r\n\r\nPOST /job/dev2 HTTP/1.1\r\n\r\n");
    hresp a = hread(fd, false), b = hread(fd, false);
    cr_assert_str_eq(a.body, "{ \"rc\" : 0, \"sessions\" : 1 }");
    cr_assert_str_eq(b.body, "{ \"rc\" : 0, \"sessions\" : 2 }");
    close(fd);
    hsrv_stop(&h);
    store_close(st);
    tmp_teardown();
}
