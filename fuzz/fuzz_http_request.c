/*
 * HTTP connection fuzzer: bytes -> hconn (llhttp, limits, pipelining) -> router -> small
 * handlers, through the in-memory transport. No sockets, no loop.
 *
 * Input: repeated [control byte][chunk]. Bits 0-6: chunk length (0-127). Bit 7: before
 * the chunk, answer the request a /hold handler kept, or (none held) fire the timer.
 * At the end the connection closes first and a held request is answered afterwards,
 * the detached-request path. ASan/LSan catch what breaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/http_int.h"
#include "net/memio.h"

static http_req *held;

static void h_json(http_req *r)
{
    bson_t d = BSON_INITIALIZER;
    const char *id = http_req_param(r, "id"), *q = http_req_query(r, "q");
    BSON_APPEND_UTF8(&d, "id", id ? id : "");
    if (q)
        BSON_APPEND_UTF8(&d, "q", q);
    if (http_req_header(r, "X-Fail"))
        http_respond_error(r, 409, "conflict", "as asked: %s", http_req_path(r));
    else
        http_respond_json(r, 200, &d);
    bson_destroy(&d);
}

static void h_echo(http_req *r)
{
    size_t n;
    const uint8_t *b = http_req_body(r, &n);
    http_req_add_header(r, "X-Len", "1");
    http_respond_raw(r, 201, "application/octet-stream", b, n);
}

static void h_hold(http_req *r)
{
    if (held)
        http_respond_json(r, 204, NULL);
    else
        held = r;
}

static void authenticate(http_req *r, enum http_auth need, void (*next)(http_req *r))
{
    if (need == HTTP_AUTH_ADMIN) {
        http_respond_error(r, 403, "forbidden", "no");
        return;
    }
    http_principal p = {.admin = false};
    memcpy(p.user_id, "u1", 3);
    http_req_set_principal(r, &p);
    next(r);
}

static const http_route routes[] = {
    {HTTP_GET, "/", h_json, HTTP_AUTH_NONE},
    {HTTP_GET, "/v1/devices/{id}", h_json, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/search", h_json, HTTP_AUTH_NONE},
    {HTTP_DELETE, "/v1/devices/{id}", h_json, HTTP_AUTH_ADMIN},
    {HTTP_POST, "/echo", h_echo, HTTP_AUTH_NONE},
    {HTTP_PUT, "/echo/{a}/{b}", h_echo, HTTP_AUTH_NONE},
    {HTTP_GET, "/hold", h_hold, HTTP_AUTH_NONE},
};

static void answer_held(void)
{
    http_req *r = held;
    held = NULL;
    http_respond_raw(r, 200, "text/plain", "held", 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_opts o = {.max_header_bytes = 1024,
                   .max_body_bytes = 2048,
                   .max_pipeline = 2,
                   .max_conns_per_ip = 4,
                   .no_access_log = true,
                   .authenticate = authenticate};
    http_server *s = http_server_new(&o);
    http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
    net_memio io = {0};
    hconn *c = hconn__new(s, &net_memio_ops, &io);
    size_t pos = 0;
    while (c && pos < size) {
        uint8_t ctl = data[pos++];
        size_t len = ctl & 0x7f;
        if (len > size - pos)
            len = size - pos;
        if (ctl & 0x80) {
            if (held)
                answer_held();
            else if (!io.closed)
                hconn__timeout(c);
        }
        if (!io.closed)
            hconn__feed(c, data + pos, len);
        pos += len;
        io.len = 0; /* a client that never reads: keep memory flat */
    }
    if (c)
        hconn__closed(c);
    if (held)
        answer_held(); /* after the close: must only free */
    net_memio_free(&io);
    http_server_free(s);
    return 0;
}
