/*
 * conn — one HTTP/1.1 connection: feeding bytes to the parser, the limits and timeouts,
 * keep-alive and pipelining. Reaches the transport only through net_transport, so unit tests
 * and the fuzz target drive it from bytes (net/memio.c); conn_net.c plugs it into net.
 *
 * Pipelining: one request at a time. The parser pauses at the end of each message; the
 * request is dispatched and input that arrives (or was left over) while it waits for its
 * answer is kept in c->pend, up to max_pipeline KiB, then reading pauses. Once the answer
 * is queued, parsing resumes from c->pend — so answers go out strictly in order.
 *
 * Timeouts (one timer, re-armed at each phase change):
 *   idle  between requests, from the previous answer      -> close silently
 *   head  from the first byte of a request, never re-armed -> 408 (slowloris)
 *   body  from the end of the headers                      -> 408
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "http/http_int.h"

static http_opts *opts(hconn *c) { return &c->s->o; }

static int refuse(hconn *c, int status, const char *code, const char *msg)
{
    c->err_status = status;
    c->err_code = code;
    c->err_msg = msg;
    return -1;
}

/* ---- parser callbacks ------------------------------------------------------------- */

static int on_begin(void *u)
{
    hconn *c = u;
    if (!c->req)
        c->req = http__req_new(c);
    return c->req ? 0 : refuse(c, 503, "unavailable", "out of memory");
}

/* The raw header block is bounded by max_header_bytes (counted in process()), and the
 * arena holds less than the raw bytes, so this cap only guards against a bug. */
static int add(hconn *c, const char *p, size_t n)
{
    if (http__req_append(c->req, p, n, 2 * opts(c)->max_header_bytes + 64) < 0)
        return refuse(c, 431, "headers_too_large", "request header block too large");
    return 0;
}

static int on_url(void *u, const char *p, size_t n) { return add(u, p, n); }

static int on_url_done(void *u) { return add(u, "", 1); }

static int on_field(void *u, const char *p, size_t n)
{
    hconn *c = u;
    http_req *r = c->req;
    if (!r->in_field) {
        if (r->nhdr == HTTP_MAX_REQ_HEADERS)
            return refuse(c, 431, "headers_too_large", "too many request headers");
        r->hdr[r->nhdr].k = (uint32_t)r->alen;
        r->in_field = true;
    }
    return add(c, p, n);
}

static int on_field_done(void *u)
{
    hconn *c = u;
    if (!c->req->in_field) /* an empty name cannot happen with llhttp; be safe */
        return refuse(c, 400, "bad_request", "empty header name");
    c->req->in_field = false;
    return add(c, "", 1);
}

static int on_value(void *u, const char *p, size_t n)
{
    hconn *c = u;
    http_req *r = c->req;
    if (!r->in_value) {
        r->hdr[r->nhdr].v = (uint32_t)r->alen;
        r->in_value = true;
    }
    return add(c, p, n);
}

static int on_value_done(void *u)
{
    hconn *c = u;
    http_req *r = c->req;
    if (!r->in_value) /* empty value: no on_value call */
        r->hdr[r->nhdr].v = (uint32_t)r->alen;
    r->in_value = false;
    if (add(c, "", 1) < 0)
        return -1;
    r->nhdr++;
    return 0;
}

static void maybe_continue(hconn *c)
{
    http_req *r = c->req;
    const char *expect = http_req_header(r, "Expect");
    bool body = hparse__chunked(c->p) || (hparse__has_length(c->p) && hparse__length(c->p) > 0);
    /* RFC 9110 10.1.1: 100 only for HTTP/1.1 clients that asked, before the body. */
    if (expect && strcasecmp(expect, "100-continue") == 0 && r->http_minor >= 1 && body) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        c->io->write(c->t, cont, sizeof cont - 1);
    }
}

static int on_headers_done(void *u)
{
    hconn *c = u;
    http_req *r = c->req;
    r->method = http__method_from_name(hparse__method(c->p));
    r->head = r->method == HTTP_HEAD;
    r->http_minor = (uint8_t)hparse__minor(c->p);
    r->start_us = clock_mono_us();
    http__req_set_id(r);
    if (hparse__major(c->p) != 1)
        return refuse(c, 505, "http_version_not_supported", "only HTTP/1.x is served");
    if (http__req_parse_target(r) < 0)
        return refuse(c, 400, "bad_request", "malformed request target");
    /* [RFC 9110 5.3] Authorization is a singleton field: with two, which one a proxy and
     * we each honour is ambiguous, so refuse rather than pick the first. */
    if (http__req_header_count(r, "Authorization") > 1)
        return refuse(c, 400, "bad_request", "more than one Authorization header");
    /* Refuse an announced oversized body before reading (or inviting) any of it. */
    if (hparse__has_length(c->p) && hparse__length(c->p) > opts(c)->max_body_bytes)
        return refuse(c, 413, "payload_too_large", "request body too large");
    maybe_continue(c);
    c->phase = HC_BODY;
    c->io->set_timer(c->t, opts(c)->body_timeout_ms);
    return 0;
}

static int on_body(void *u, const char *p, size_t n)
{
    hconn *c = u;
    http_req *r = c->req;
    if (n > opts(c)->max_body_bytes - r->body_len) /* chunked bodies are checked here */
        return refuse(c, 413, "payload_too_large", "request body too large");
    if (r->body_len + n > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < r->body_len + n)
            cap *= 2;
        if (cap > opts(c)->max_body_bytes)
            cap = opts(c)->max_body_bytes;
        uint8_t *b = realloc(r->body, cap);
        if (!b)
            return refuse(c, 503, "unavailable", "out of memory");
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return 0;
}

static int on_complete(void *u)
{
    hconn *c = u;
    c->req->keep_alive = hparse__keep_alive(c->p);
    c->phase = HC_WAIT;
    c->io->set_timer(c->t, 0);
    return HP_PAUSE; /* one request at a time: dispatch before parsing the next */
}

static const hparse_cb parse_cb = {
    .begin = on_begin,
    .url = on_url,
    .url_done = on_url_done,
    .field = on_field,
    .field_done = on_field_done,
    .value = on_value,
    .value_done = on_value_done,
    .headers_done = on_headers_done,
    .body = on_body,
    .complete = on_complete,
};

/* ---- the connection ------------------------------------------------------------------ */

/* Answers @status with a JSON error and closes; no handler runs. */
static void fail(hconn *c, int status, const char *code, const char *msg)
{
    if (!c->req)
        c->req = http__req_new(c);
    if (!c->req) {
        c->phase = HC_CLOSING;
        c->io->close(c->t);
        return;
    }
    log_debug("http %s: %d %s", c->req->peer, status, msg);
    c->phase = HC_WAIT; /* the answer below closes: see hconn__answered */
    http__respond_fatal(c->req, status, code, msg);
}

static void parse_failed(hconn *c, int rc)
{
    HTTP_STAT_ADD(c->s, parse_errors, 1);
    if (c->err_status)
        fail(c, c->err_status, c->err_code, c->err_msg);
    else if (rc == HP_EVERSION)
        fail(c, 505, "http_version_not_supported", "only HTTP/1.x is served");
    else if (rc == HP_EMETHOD)
        fail(c, 501, "not_implemented", "unknown method");
    else
        fail(c, 400, "bad_request", "malformed request");
}

static size_t pipeline_cap(hconn *c) { return (size_t)opts(c)->max_pipeline * 1024u; }

/* Keeps input that arrived while a request waits for its answer. */
static void stash(hconn *c, const uint8_t *p, size_t n)
{
    if (c->pend_len + n > c->pend_cap) {
        size_t cap = c->pend_cap ? c->pend_cap : 1024;
        while (cap < c->pend_len + n)
            cap *= 2;
        uint8_t *b = realloc(c->pend, cap);
        if (!b) {
            c->phase = HC_CLOSING;
            c->io->close(c->t);
            return;
        }
        c->pend = b;
        c->pend_cap = cap;
    }
    memcpy(c->pend + c->pend_len, p, n);
    c->pend_len += n;
    if (c->pend_len >= pipeline_cap(c) && !c->paused) {
        c->paused = true;
        c->io->pause(c->t);
    }
}

static void start_request(hconn *c)
{
    c->phase = HC_HEAD;
    c->hdr_bytes = 0;
    c->err_status = 0;
    c->io->set_timer(c->t, opts(c)->header_timeout_ms);
}

/* Parses as much of @p as the current phase allows; dispatches complete requests. */
static void process(hconn *c, const uint8_t *p, size_t n)
{
    c->in_process = true;
    while (n > 0 && c->phase != HC_CLOSING) {
        if (c->phase == HC_WAIT) {
            stash(c, p, n);
            break;
        }
        if (c->phase == HC_IDLE)
            start_request(c);
        size_t chunk = n, used = 0;
        bool in_head = c->phase == HC_HEAD;
        if (in_head) {
            size_t room = opts(c)->max_header_bytes - c->hdr_bytes;
            if (room == 0) {
                HTTP_STAT_ADD(c->s, parse_errors, 1);
                fail(c, 431, "headers_too_large", "request header block too large");
                break;
            }
            chunk = chunk < room ? chunk : room;
        }
        int rc = hparse__execute(c->p, p, chunk, &used);
        if (in_head && c->phase == HC_HEAD)
            c->hdr_bytes += used;
        if (rc < 0) {
            parse_failed(c, rc);
            break;
        }
        p += used;
        n -= used;
        if (rc == HP_PAUSED) {
            c->req->dispatched = true;
            int up = http__upgrade(c, p, n);
            if (up == HTTP__UP_SWITCHED)
                break; /* the bytes left belong to the new protocol */
            if (up == HTTP__UP_NONE)
                http__dispatch(c->req); /* may answer at once: hconn__answered */
        }
    }
    c->in_process = false;
}

int hconn__feed(hconn *c, const uint8_t *p, size_t n)
{
    if (c->phase == HC_CLOSING || c->phase == HC_STREAM)
        return 0; /* a stream's client has nothing more to say: read only to see it close */
    if (c->phase == HC_WAIT)
        stash(c, p, n);
    else
        process(c, p, n);
    return 0;
}

/* Parses input kept while the previous request waited, then reads again. */
static void drain_pending(hconn *c)
{
    if (c->pend_len) {
        uint8_t *b = c->pend;
        size_t n = c->pend_len;
        c->pend = NULL;
        c->pend_len = c->pend_cap = 0;
        process(c, b, n); /* may stash a remainder again, in a fresh buffer */
        free(b);
    }
    if (c->paused && c->phase != HC_CLOSING && c->pend_len < pipeline_cap(c)) {
        c->paused = false;
        c->io->resume(c->t);
    }
}

void hconn__answered(hconn *c, bool keep_alive)
{
    if (!keep_alive) {
        c->phase = HC_CLOSING;
        c->io->set_timer(c->t, 0);
        c->io->close(c->t);
        return;
    }
    c->phase = HC_IDLE;
    c->io->set_timer(c->t, opts(c)->idle_timeout_ms);
    if (!c->in_process) /* else process() goes on with the bytes it holds */
        drain_pending(c);
}

void hconn__timeout(hconn *c)
{
    switch (c->phase) {
    case HC_IDLE: /* keep-alive idle: close without a word */
        HTTP_STAT_ADD(c->s, timeouts, 1);
        c->phase = HC_CLOSING;
        c->io->close(c->t);
        break;
    case HC_HEAD:
    case HC_BODY:
        HTTP_STAT_ADD(c->s, timeouts, 1);
        fail(c, 408, "request_timeout", "request not received in time");
        break;
    case HC_STREAM:
        http__stream_tick(c);
        break;
    default:
        break;
    }
}

hconn *hconn__new(http_server *s, const net_transport *io, void *t)
{
    hconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s = s;
    c->io = io;
    c->t = t;
    c->p = hparse__new(&parse_cb, c);
    if (!c->p) {
        free(c);
        return NULL;
    }
    const char *peer = io->peer(t);
    http__peer_ip(peer ? peer : "?", c->peer_ip, sizeof c->peer_ip);
    HTTP_STAT_ADD(s, conns, 1);
    if (iptab_acquire(&s->ips, c->peer_ip, s->o.max_conns_per_ip) < 0) {
        HTTP_STAT_ADD(s, refused_ip, 1);
        c->req = http__req_new(c);
        if (c->req)
            http_req_add_header(c->req, "Retry-After", "5");
        fail(c, 503, "too_many_connections", "too many connections from this address");
        return c;
    }
    c->ip_counted = true;
    io->set_timer(t, s->o.idle_timeout_ms);
    return c;
}

void hconn__closed(hconn *c)
{
    if (c->ip_counted)
        iptab_release(&c->s->ips, c->peer_ip);
    http__stream_gone(c);
    if (c->req) {
        if (c->req->dispatched) {
            http_req *r = c->req;
            r->c = NULL; /* its late respond call just frees it */
            void (*gone)(void *) = r->gone_fn;
            r->gone_fn = NULL;
            if (gone)
                gone(r->gone_arg); /* may answer (free) r */
        } else
            http__req_free(c->req);
    }
    free(c->pend);
    hparse__free(c->p);
    free(c);
}
