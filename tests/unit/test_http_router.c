/*
 * http router and connection logic without sockets: route tables (malformed patterns,
 * duplicates, matching precedence) and hconn driven through the in-memory transport.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "http/http_int.h"
#include "net/memio.h"

static void h_ok(http_req *r)
{
    const char *id = http_req_param(r, "id");
    http_respond_raw(r, 200, "text/plain", id ? id : "ok", strlen(id ? id : "ok"));
}

static void h_search(http_req *r) { http_respond_raw(r, 200, "text/plain", "search", 6); }

static http_req *held; /* answered later by the test */
static void h_hold(http_req *r) { held = r; }

static void h_body(http_req *r)
{
    size_t n;
    const uint8_t *b = http_req_body(r, &n);
    http_respond_raw(r, 200, "text/plain", b, n);
}

static int add_one(http_server *s, enum http_method m, const char *pat)
{
    static http_route rows[64];
    static size_t used;
    cr_assert_lt(used, 64);
    rows[used] = (http_route){m, pat, h_ok, HTTP_AUTH_NONE};
    return http_server_add_routes(s, &rows[used++], 1);
}

Test(http_router, malformed_patterns_refused)
{
    http_server *s = http_server_new(NULL);
    static const char *const bad[] = {"",       "x",      "/a//b", "/a/",      "/{",
                                      "/{}",    "/{a-b}", "/a{b}", "/{a}/{a}", "/a?b",
                                      "/a%20b", "/a b",   "/{a}x", "//"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_lt(add_one(s, HTTP_GET, bad[i]), 0, "accepted %s", bad[i]);
    cr_assert_lt(add_one(s, HTTP_OTHER, "/a"), 0, "HTTP_OTHER is not a route method");
    http_route nofn = {HTTP_GET, "/a", NULL, HTTP_AUTH_NONE};
    cr_assert_lt(http_server_add_routes(s, &nofn, 1), 0);
    const http_route *out[4];
    cr_assert_eq(http_server_routes(s, out, 4), 0);
    cr_assert_eq(add_one(s, HTTP_GET, "/"), 0);
    cr_assert_eq(add_one(s, HTTP_GET, "/v1/devices/{id}/gpio/{n}"), 0);
    cr_assert_eq(http_server_routes(s, out, 4), 2);
    http_server_free(s);
}

Test(http_router, duplicates_refused_all_or_nothing)
{
    http_server *s = http_server_new(NULL);
    cr_assert_eq(add_one(s, HTTP_GET, "/a/{x}"), 0);
    cr_assert_lt(add_one(s, HTTP_GET, "/a/{y}"), 0, "same shape, other name: ambiguous");
    cr_assert_eq(add_one(s, HTTP_POST, "/a/{y}"), 0, "other method is fine");
    cr_assert_eq(add_one(s, HTTP_GET, "/a/b"), 0, "literal beside a parameter is fine");
    static const http_route table[] = {
        {HTTP_GET, "/t/1", h_ok, HTTP_AUTH_NONE},
        {HTTP_GET, "/t/1", h_ok, HTTP_AUTH_NONE}, /* duplicate inside one table */
    };
    cr_assert_lt(http_server_add_routes(s, table, 2), 0);
    const http_route *out[8];
    cr_assert_eq(http_server_routes(s, out, 8), 3, "the bad table added nothing");
    http_server_free(s);
}

Test(http_router, literal_beats_parameter)
{
    http_server *s = http_server_new(NULL);
    cr_assert_eq(add_one(s, HTTP_GET, "/d/{id}"), 0);
    cr_assert_eq(add_one(s, HTTP_GET, "/d/search"), 0);
    cr_assert_eq(add_one(s, HTTP_PUT, "/d/{id}/x"), 0);
    const char *p1[] = {"d", "search"}, *p2[] = {"d", "42"}, *p3[] = {"d", "42", "x"},
               *p4[] = {"d", ""}, *p5[] = {"e"};
    unsigned allow;
    const http__route *r = http__route_find(s, HTTP_GET, p1, 2, &allow);
    cr_assert_str_eq(r->row->pattern, "/d/search");
    r = http__route_find(s, HTTP_GET, p2, 2, &allow);
    cr_assert_str_eq(r->row->pattern, "/d/{id}");
    r = http__route_find(s, HTTP_HEAD, p2, 2, &allow);
    cr_assert_str_eq(r->row->pattern, "/d/{id}", "HEAD uses the GET route");
    cr_assert_null(http__route_find(s, HTTP_GET, p3, 3, &allow));
    cr_assert_eq(allow, 1u << HTTP_PUT);
    cr_assert_null(http__route_find(s, HTTP_GET, p4, 2, &allow), "empty parameter");
    cr_assert_eq(allow, 0);
    cr_assert_null(http__route_find(s, HTTP_GET, p5, 1, &allow));
    cr_assert_eq(allow, 0);
    http_server_free(s);
}

Test(http_router, percent_decoding)
{
    char out[32];
    cr_assert_eq(http__pct_decode("a%20b", 5, out, false), 3);
    cr_assert_str_eq(out, "a b");
    cr_assert_eq(http__pct_decode("a+b", 3, out, true), 3);
    cr_assert_str_eq(out, "a b");
    cr_assert_eq(http__pct_decode("a+b", 3, out, false), 3);
    cr_assert_str_eq(out, "a+b");
    cr_assert_lt(http__pct_decode("%00", 3, out, false), 0);
    cr_assert_lt(http__pct_decode("%4", 2, out, false), 0);
    cr_assert_lt(http__pct_decode("%", 1, out, false), 0);
    cr_assert_lt(http__pct_decode("%g0", 3, out, false), 0);
}

/* ---- hconn through the in-memory transport ------------------------------------------ */

static const http_route conn_routes[] = {
    {HTTP_GET, "/d/{id}", h_ok, HTTP_AUTH_NONE},
    {HTTP_GET, "/d/search", h_search, HTTP_AUTH_NONE},
    {HTTP_GET, "/hold", h_hold, HTTP_AUTH_NONE},
    {HTTP_POST, "/body", h_body, HTTP_AUTH_NONE},
};

typedef struct fx {
    http_server *s;
    net_memio io;
    hconn *c;
} fx;

/* In place: the connection keeps a pointer to f->io. */
static void fx_init(fx *f, const http_opts *o)
{
    memset(f, 0, sizeof *f);
    http_opts d = {.no_access_log = true};
    f->s = http_server_new(o ? o : &d);
    cr_assert_eq(http_server_add_routes(f->s, conn_routes, 4), 0);
    f->c = hconn__new(f->s, &net_memio_ops, &f->io);
    cr_assert_not_null(f->c);
}

static void fx_free(fx *f)
{
    if (f->c)
        hconn__closed(f->c);
    net_memio_free(&f->io);
    http_server_free(f->s);
}

static void feed(fx *f, const char *s) { hconn__feed(f->c, (const uint8_t *)s, strlen(s)); }

static size_t count(const fx *f, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (size_t i = 0; i + k <= f->io.len; i++)
        if (memcmp(f->io.out + i, needle, k) == 0)
            n++;
    return n;
}

Test(http_conn, pipelined_in_order_while_one_waits)
{
    fx f;
    fx_init(&f, NULL);
    feed(&f, "GET /hold HTTP/1.1\r\n\r\nGET /d/search HTTP/1.1\r\n\r\nGET /d/7 HTTP/1.1\r\n\r\n");
    cr_assert_not_null(held);
    cr_assert_eq(f.io.len, 0, "nothing may overtake the waiting request");
    http_respond_raw(held, 200, "text/plain", "first", 5);
    held = NULL;
    const char *out = (const char *)f.io.out;
    const char *a = memmem(out, f.io.len, "first", 5), *b = memmem(out, f.io.len, "search", 6),
               *c = memmem(out, f.io.len, "\r\n\r\n7", 5);
    cr_assert(a && b && c && a < b && b < c, "answers out of order");
    cr_assert_not(f.io.closed);
    fx_free(&f);
}

Test(http_conn, reading_pauses_when_pipeline_buffer_full)
{
    http_opts o = {.max_pipeline = 1, .no_access_log = true}; /* 1 KiB buffered */
    fx f;
    fx_init(&f, &o);
    feed(&f, "GET /hold HTTP/1.1\r\n\r\n");
    cr_assert_not_null(held);
    static const char one[] = "GET /d/1 HTTP/1.1\r\n\r\n";
    char junk[20 * sizeof one];
    for (int i = 0; i < 20; i++)
        memcpy(junk + i * (sizeof one - 1), one, sizeof one);
    for (int i = 0; i < 3; i++) /* 1260 bytes */
        feed(&f, junk);
    cr_assert(f.io.paused, "reading must pause");
    http_respond_raw(held, 200, "text/plain", "x", 1);
    held = NULL;
    cr_assert_not(f.io.paused, "resumed once the buffer is parsed");
    cr_assert_eq(count(&f, "HTTP/1.1 200"), 61);
    fx_free(&f);
}

Test(http_conn, detached_request_freed_by_late_answer)
{
    fx f;
    fx_init(&f, NULL);
    feed(&f, "POST /body HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /hold HTTP/1.1\r\n\r\n");
    cr_assert_not_null(held);
    hconn__closed(f.c); /* transport gone while the handler holds the request */
    f.c = NULL;
    cr_assert_str_eq(http_req_path(held), "/hold", "still valid after the close");
    http_respond_raw(held, 200, "text/plain", "late", 4); /* frees it; ASan checks */
    held = NULL;
    fx_free(&f);
}

Test(http_conn, timeouts_by_phase)
{
    http_opts o = {.header_timeout_ms = 1000,
                   .body_timeout_ms = 2000,
                   .idle_timeout_ms = 3000,
                   .no_access_log = true};
    fx f;
    fx_init(&f, &o);
    cr_assert_eq(f.io.timer_ms, 3000, "idle at first");
    feed(&f, "GET /d/1 HT");
    cr_assert_eq(f.io.timer_ms, 1000, "header timer from the first byte");
    f.io.timer_ms = 0;
    feed(&f, "TP/1.1\r\n");
    cr_assert_eq(f.io.timer_ms, 0, "more bytes do not re-arm it");
    feed(&f, "\r\n");
    cr_assert_eq(f.io.timer_ms, 3000, "answered: idle again");
    feed(&f, "POST /body HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
    cr_assert_eq(f.io.timer_ms, 2000);
    hconn__timeout(f.c);
    cr_assert(count(&f, "HTTP/1.1 408") == 1);
    cr_assert(f.io.closed);
    fx_free(&f);
}

Test(http_conn, header_limit_is_exact)
{
    http_opts o = {.max_header_bytes = 64, .no_access_log = true};
    const char *fits = "GET /d/1 HTTP/1.1\r\nX: 01234567890123456789012345678901234567\r\n\r\n";
    cr_assert_eq(strlen(fits), 64);
    fx f;
    fx_init(&f, &o);
    feed(&f, fits);
    cr_assert_eq(count(&f, "HTTP/1.1 200"), 1);
    fx_free(&f);
    const char *over = "GET /d/1 HTTP/1.1\r\nX: 012345678901234567890123456789012345678\r\n\r\n";
    fx_init(&f, &o);
    feed(&f, over);
    cr_assert_eq(count(&f, "HTTP/1.1 431"), 1);
    cr_assert(f.io.closed);
    fx_free(&f);
}

Test(http_conn, per_ip_counter_released_on_close)
{
    http_opts o = {.max_conns_per_ip = 1, .no_access_log = true};
    fx f;
    fx_init(&f, &o);
    net_memio io2 = {0};
    hconn *c2 = hconn__new(f.s, &net_memio_ops, &io2);
    cr_assert(io2.closed, "second connection from the same IP refused");
    cr_assert(memmem(io2.out, io2.len, "HTTP/1.1 503", 12));
    hconn__closed(c2);
    net_memio_free(&io2);
    hconn__closed(f.c);
    f.c = NULL;
    c2 = hconn__new(f.s, &net_memio_ops, &io2);
    cr_assert_not(io2.closed, "slot freed by the close");
    hconn__closed(c2);
    net_memio_free(&io2);
    fx_free(&f);
}

static void h_fallback(http_req *r) { http_respond_raw(r, 200, "text/plain", "fallback", 8); }

Test(http_conn, fallback_takes_get_and_head_without_a_route)
{
    fx f;
    http_opts o = {.no_access_log = true, .fallback = h_fallback};
    fx_init(&f, &o);
    feed(&f, "GET /no/such/path HTTP/1.1\r\n\r\n");
    cr_assert_eq(count(&f, "HTTP/1.1 200"), 1);
    cr_assert_eq(count(&f, "fallback"), 1);
    feed(&f, "HEAD /other HTTP/1.1\r\n\r\n");
    cr_assert_eq(count(&f, "HTTP/1.1 200"), 2);
    cr_assert_eq(count(&f, "fallback"), 1, "HEAD: headers only");
    /* a route still wins; other methods and paths with routes keep 404/405 */
    feed(&f, "GET /d/search HTTP/1.1\r\n\r\n");
    cr_assert_eq(count(&f, "search"), 1);
    feed(&f, "POST /no/such/path HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    cr_assert_eq(count(&f, "HTTP/1.1 404"), 1);
    feed(&f, "GET /body HTTP/1.1\r\n\r\n");
    cr_assert_eq(count(&f, "HTTP/1.1 405"), 1);
    fx_free(&f);
}

Test(http_conn, no_fallback_is_404)
{
    fx f;
    fx_init(&f, NULL);
    feed(&f, "GET /no/such/path HTTP/1.1\r\n\r\n");
    cr_assert_eq(count(&f, "HTTP/1.1 404"), 1);
    fx_free(&f);
}
