/*
 * response — serialising a response, the access log line and the counters. Every
 * response carries Date, Server, X-Request-Id and Content-Length (except 1xx/204/304,
 * which must not, RFC 9110 8.6); JSON ones also Cache-Control: no-store unless the
 * handler set its own. HEAD gets the headers of the GET answer and no body.
 *
 *   HTTP/1.1 <status> <reason>\r\n
 *   Date: <IMF-fixdate>\r\n  Server: iotcloud\r\n  X-Request-Id: <id>\r\n
 *   [Content-Type: ..\r\n] [Content-Length: n\r\n] [Cache-Control: no-store\r\n]
 *   [Connection: close | keep-alive (HTTP/1.0 only)\r\n]
 *   [Strict-Transport-Security: max-age=N\r\n (over TLS only)]  <handler headers>  \r\n
 *
 * HSTS [RFC 6797 7.2]: a host must not send the header over plain HTTP, where an
 * attacker could forge or strip it; over TLS it tells browsers to use https from now on.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "http/http_int.h"

/* Room for the fixed headers; the handler's (<= 16) are added on top. */
#define HEAD_FIXED_BYTES 512u

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

static bool has_xhdr(const http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nxhdr; i++)
        if (strncasecmp(r->xhdr[i], name, n) == 0 && r->xhdr[i][n] == ':')
            return true;
    return false;
}

/* Appends printf output to @b (cap @cap, length *@len); truncation is impossible as the
 * caller sized @b for the worst case, but is still checked. */
static void put(char *b, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *b, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len = (size_t)k < cap - *len ? *len + (size_t)k : cap - 1;
}

/* @body_len SIZE_MAX: a stream, no Content-Length (@keep: chunked, else it ends by close). */
static char *build_head(const http_req *r, int status, const char *ctype, size_t body_len,
                        bool keep, bool json, size_t *out_len)
{
    size_t cap = HEAD_FIXED_BYTES + (ctype ? strlen(ctype) : 0);
    for (size_t i = 0; i < r->nxhdr; i++)
        cap += strlen(r->xhdr[i]) + 2;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    size_t n = 0;
    put(b, cap, &n, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: iotcloud\r\nX-Request-Id: %s\r\n",
        status, reason(status), http__date(), r->id);
    if (ctype)
        put(b, cap, &n, "Content-Type: %s\r\n", ctype);
    if (body_len == SIZE_MAX) /* [RFC 9112 7.1] chunked; without it, close ends the body */
        put(b, cap, &n, "%s", keep ? "Transfer-Encoding: chunked\r\n" : "");
    else if (status >= 200 && status != 204 && status != 304)
        put(b, cap, &n, "Content-Length: %zu\r\n", body_len);
    if (json && !has_xhdr(r, "Cache-Control"))
        put(b, cap, &n, "Cache-Control: no-store\r\n");
    if (!keep)
        put(b, cap, &n, "Connection: close\r\n");
    else if (r->http_minor == 0)
        put(b, cap, &n, "Connection: keep-alive\r\n");
    if (r->c && r->c->tls && r->s->o.hsts_max_age_s)
        put(b, cap, &n, "Strict-Transport-Security: max-age=%lu\r\n",
            (unsigned long)r->s->o.hsts_max_age_s);
    for (size_t i = 0; i < r->nxhdr; i++)
        put(b, cap, &n, "%s\r\n", r->xhdr[i]);
    put(b, cap, &n, "\r\n");
    *out_len = n;
    return b;
}

/* The path for the log: printable ASCII only, so a request cannot forge log lines. */
static void log_path(const http_req *r, char *out, size_t cap)
{
    const char *p = r->path_off == UINT32_MAX ? "-" : http_req_path(r);
    size_t i = 0;
    for (; p[i] && i + 1 < cap; i++)
        out[i] = (p[i] > 0x20 && p[i] < 0x7f) ? p[i] : '?';
    out[i] = '\0';
}

static void access_log(const http_req *r, int status, size_t bytes)
{
    if (r->s->o.no_access_log)
        return;
    char path[256];
    log_path(r, path, sizeof path);
    uint64_t us = r->start_us ? clock_mono_us() - r->start_us : 0;
    const log_field f[] = {
        {"component", "http"}, {"request_id", r->id[0] ? r->id : NULL}, {"peer", r->peer}};
    log_kv(LOG_INFO, f, 3, "http %s %s %d %zu %lluus", http_method_name(r->method), path, status,
           bytes, (unsigned long long)us);
}

static void count(const http_req *r, int status)
{
    http_server *s = r->s;
    uint64_t us = r->start_us ? uv_hrtime() / 1000 - r->start_us : 0;
    size_t b = 0;
    while (b < HTTP_LAT_BUCKETS && us > http_latency_bounds_us[b])
        b++;
    HTTP_STAT_ADD(s, lat_bucket[b], 1);
    HTTP_STAT_ADD(s, lat_sum_us, us);
    HTTP_STAT_ADD(s, requests, 1);
    if (r->route && status >= 100 && status < 600) /* the array is fixed once loops run */
        HTTP_STAT_ADD(&s->routes[r->route - s->routes], by_class[status / 100 - 1], 1);
    if (status >= 200 && status < 300)
        HTTP_STAT_ADD(s, status_2xx, 1);
    else if (status >= 300 && status < 400)
        HTTP_STAT_ADD(s, status_3xx, 1);
    else if (status >= 400 && status < 500)
        HTTP_STAT_ADD(s, status_4xx, 1);
    else if (status >= 500)
        HTTP_STAT_ADD(s, status_5xx, 1);
}

static void tell_answer(http_req *r, int status, const char *ctype, const void *body, size_t len)
{
    void (*fn)(void *, const http_answer *) = r->answer_fn;
    r->answer_fn = NULL;
    if (!fn)
        return;
    http_answer a = {status, ctype, body, len, (const char *const *)r->xhdr, r->nxhdr};
    fn(r->answer_arg, &a);
}

static void respond(http_req *r, int status, const char *ctype, const void *body, size_t len,
                    bool json)
{
    tell_answer(r, status, ctype, body, len);
    hconn *c = r->c;
    if (!c) { /* the connection closed while the handler worked: nobody to answer */
        count(r, status);
        access_log(r, status, 0);
        http__req_free(r);
        return;
    }
    bool keep = r->keep_alive && c->phase == HC_WAIT;
    size_t hlen = 0, sent = 0;
    char *head = build_head(r, status, ctype, len, keep, json, &hlen);
    if (!head || c->io->write(c->t, head, hlen) < 0) {
        keep = false;
    } else {
        sent = hlen;
        if (!r->head && len && c->io->write(c->t, body, len) == 0)
            sent += len;
    }
    free(head);
    count(r, status);
    access_log(r, status, sent);
    c->req = NULL;
    http__req_free(r);
    hconn__answered(c, keep);
}

char *http__stream_head(http_req *r, const char *ctype, bool chunked, size_t *len)
{
    tell_answer(r, 200, ctype, NULL, 0);
    char *head = build_head(r, 200, ctype, SIZE_MAX, chunked, false, len);
    count(r, 200);
    access_log(r, 200, head ? *len : 0);
    return head;
}

void http_respond_raw(http_req *r, int status, const char *content_type, const void *body,
                      size_t len)
{
    respond(r, status, content_type, body, len, false);
}

void http_respond_json(http_req *r, int status, const bson_t *doc)
{
    if (!doc) {
        respond(r, status, NULL, NULL, 0, true);
        return;
    }
    size_t len = 0;
    char *json = json_text(doc, &len);
    if (!json) {
        http_respond_error(r, 500, "internal", "response could not be encoded");
        return;
    }
    respond(r, status, "application/json", json, len, true);
    bson_free(json);
}

void http_respond_error(http_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bson_t doc, err;
    bson_init(&doc);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "error", &err);
    BSON_APPEND_UTF8(&err, "code", code);
    BSON_APPEND_UTF8(&err, "message", msg);
    bson_append_document_end(&doc, &err);
    http_respond_json(r, status, &doc);
    bson_destroy(&doc);
}

void http__respond_fatal(http_req *r, int status, const char *code, const char *msg)
{
    r->keep_alive = false;
    if (!r->id[0])
        http__req_set_id(r);
    http_respond_error(r, status, code, "%s", msg);
}

void http_respond_field(http_req *r, const char *field, const char *why)
{
    bson_t doc = BSON_INITIALIZER, err;
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", field, why);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "error", &err);
    BSON_APPEND_UTF8(&err, "code", "invalid_field");
    BSON_APPEND_UTF8(&err, "message", msg);
    BSON_APPEND_UTF8(&err, "field", field);
    bson_append_document_end(&doc, &err);
    http_respond_json(r, 400, &doc);
    bson_destroy(&doc);
}
