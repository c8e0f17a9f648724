/**
 * http — HTTP/1.1 server on the net worker loops (llhttp), with a table-driven router.
 *
 * Layers: net (TCP/TLS, ALPN) → http_proto (this module: llhttp parsing, limits, timeouts,
 * keep-alive, pipelining, responses) → router (route table: method + path pattern + auth
 * requirement) → handlers (accounts, devices, ...). The server knows nothing about
 * accounts: authentication is a hook (http_opts.authenticate) the application supplies.
 *
 * Threading: one http_server per process, created and configured on the main thread before
 * the loops run, then read-only (except the per-IP connection counters, which have their
 * own lock). Every request lives on the loop of its connection; every http_req_* and
 * http_respond_* function must be called on that loop (net_loop_current() ==
 * http_req_loop(r)). A handler that needs the store or the thread pool keeps the request
 * and answers later from a completion that runs on the request's loop (see api/job.h).
 *
 * Request lifetime: the router calls exactly one handler per request and the handler (or
 * whatever it hands the request to) calls exactly one http_respond_* on it, now or later.
 * The respond call frees the request. If the connection closes before that, the request
 * stays valid (detached): the late respond call just frees it. Pipelined requests on one
 * connection are handled one at a time, in order: the next is parsed after the previous
 * response was queued.
 */
#ifndef IOT_HTTP_HTTP_H
#define IOT_HTTP_HTTP_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

typedef struct http_server http_server;
typedef struct http_req http_req;

enum http_method {
    HTTP_GET = 0,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_PATCH,
    HTTP_DELETE,
    HTTP_OPTIONS,
    HTTP_OTHER, /* any other method: always 405 (or 501 when no route has the path) */
};

/** What a route requires before its handler runs. */
enum http_auth {
    HTTP_AUTH_NONE = 0,  /* public */
    HTTP_AUTH_USER = 1,  /* a valid access token ("Authorization: Bearer ...") */
    HTTP_AUTH_ADMIN = 2, /* a valid access token of an administrator (else 403) */
};

typedef void (*http_handler)(http_req *r);

/** One row of a route table. @pattern is a path such as "/v1/devices/{id}/gpio/{n}": literal
 *  segments and "{name}" parameters (a parameter matches one non-empty segment). HEAD is
 *  served by the GET route (body dropped). A path with routes but not for the method gets
 *  405 with Allow; no route at all gets 404. */
typedef struct http_route {
    enum http_method method;
    const char *pattern;
    http_handler fn;
    enum http_auth auth;
} http_route;

/** The authenticated caller, set by the authenticate hook. */
typedef struct http_principal {
    char user_id[65];
    char username[257];
    bool admin;
} http_principal;

typedef struct http_opts {
    size_t max_header_bytes;    /* request line + headers; default 16384 → 431 */
    size_t max_body_bytes;      /* default 1 MiB → 413 */
    uint32_t header_timeout_ms; /* whole header block from its first byte; default 10000 */
    uint32_t body_timeout_ms;   /* whole body after the headers; default 30000 */
    uint32_t idle_timeout_ms;   /* keep-alive idle between requests; default 60000 */
    uint32_t max_conns_per_ip;  /* concurrent HTTP connections per peer IP; default 256 */
    uint32_t max_pipeline;      /* parsed-but-unanswered requests before reading pauses;
                                   * default 16 */
    void *app;                  /* for handlers (http_req_app) */
    bool no_access_log;         /* default false: one log line per request */
    uint32_t hsts_max_age_s;    /* Strict-Transport-Security max-age on answers over TLS;
                                 * 0: no header */
    /** Called for routes with auth != HTTP_AUTH_NONE, before the handler. It must either
     *  call http_req_set_principal() then next(r) (now or later, on r's loop), or answer
     *  r itself (401/403/429...). NULL: such routes answer 401. */
    void (*authenticate)(http_req *r, enum http_auth need, void (*next)(http_req *r));
    /** A GET or HEAD whose path no route has goes here instead of the 404 (the dashboard's
     *  static files, api/web/). It answers like a public handler. NULL: 404. */
    http_handler fallback;
    /* streamed responses (http_stream_open) */
    uint32_t max_streams;          /* open streams in all; default 1000 -> 503 */
    uint32_t max_streams_per_user; /* open streams per principal; default 8 -> 429 */
    uint32_t stream_buffer_bytes;  /* unsent bytes per stream before writes are dropped;
                                    * default 262144 */
    uint32_t stream_heartbeat_ms;  /* heartbeat chunk interval; default 15000 */
} http_opts;

/** Creates the server. Routes are added with http_server_add_routes before the loops run. */
http_server *http_server_new(const http_opts *o);
void http_server_free(http_server *s);
/** Adds a route table (kept by reference: it must outlive the server). 0 or <0 (a pattern
 *  that is malformed or duplicates a (method, pattern) already added). */
int http_server_add_routes(http_server *s, const http_route *routes, size_t n);
/** Every route added, in order of addition, for `iotcloud routes` and the OpenAPI test. */
size_t http_server_routes(const http_server *s, const http_route **out, size_t max);
const char *http_method_name(enum http_method m);
/** Answers of route @i (the order of http_server_routes) by status class: out[0] 1xx ..
 *  out[4] 5xx. Any thread (relaxed reads). 0, or -1 for a bad @i. */
int http_server_route_stats(const http_server *s, size_t i, unsigned long long out[5]);

/** A protocol switch (RFC 9110 7.8) on one path, e.g. WebSocket on "/mqtt". The HTTP core
 *  knows only the path and the Upgrade token; @accept decides the rest. */
typedef struct http_upgrade {
    const char *path;  /* decoded path served ("/mqtt"); other paths route as usual */
    const char *token; /* Upgrade token ("websocket"); a request to @path without it: 426 */
    /** Runs on the request's loop for a GET to @path asking to upgrade to @token. Either
     *  adds the 101 answer's headers (http_req_add_header) and returns the protocol the
     *  connection switches to, with its open() argument in *@arg; or answers @r itself
     *  (http_respond_*: 400, 403, 426...) and returns NULL. */
    const net_proto *(*accept)(void *ctx, http_req *r, void **arg);
    void *ctx;
} http_upgrade;

#define HTTP_MAX_UPGRADES 4

/** Adds an upgrade (kept by reference: it must outlive the server). Main thread, before
 *  the loops run. 0, or <0 when HTTP_MAX_UPGRADES are set already. */
int http_server_add_upgrade(http_server *s, const http_upgrade *u);

/** RFC 6455 opening handshake as an http_upgrade accept function (http/ws_upgrade.c):
 *  @ctx is a const http_ws_opts * that outlives the server. */
typedef struct http_ws_opts {
    const char *const *protocols; /* subprotocols served, e.g. {"mqtt", "mqttv3.1"} */
    size_t n_protocols;
    const char *origins;    /* comma-separated allowed Origin values; NULL or "": any */
    const net_proto *proto; /* what runs on the connection after the 101 */
    void *proto_arg;
} http_ws_opts;
const net_proto *http_ws_accept(void *ctx, http_req *r, void **arg);

/** The HTTP protocol for net listeners: ALPN id "http/1.1"; proto_arg = http_server *. */
extern const net_proto http_proto;

/* ---- the request (handler side) ------------------------------------------------------- */

enum http_method http_req_method(const http_req *r);
/** The decoded path without the query ("/v1/me"). */
const char *http_req_path(const http_req *r);
/** The request target as sent: path and query, not decoded ("/v1/me?x=1"). */
const char *http_req_target(const http_req *r);
/** A path parameter of the matched route ("id"), or NULL. */
const char *http_req_param(const http_req *r, const char *name);
/** A query parameter, percent-decoded ("timeout_ms"), or NULL when absent. */
const char *http_req_query(const http_req *r, const char *name);
/** A request header by name, case-insensitive, or NULL. Repeated headers: the first. */
const char *http_req_header(const http_req *r, const char *name);
/** The request body (after chunked decoding); NULL/0 when none. Valid until respond. */
const uint8_t *http_req_body(const http_req *r, size_t *len);
/** Peer IP address without the port ("127.0.0.1", "::1"). */
const char *http_req_peer_ip(const http_req *r);
/** This request's id (also sent as X-Request-Id): the client's X-Request-Id when it is
 *  1..64 characters of [A-Za-z0-9._-], else a fresh random one. */
const char *http_req_id(const http_req *r);
net_loop *http_req_loop(const http_req *r);
void *http_req_app(const http_req *r);
/** Monotonic µs when the request's headers were complete (for latency figures). */
uint64_t http_req_start_us(const http_req *r);

/** The caller, once authenticated (NULL on public routes and before authenticate). */
const http_principal *http_req_principal(const http_req *r);
void http_req_set_principal(http_req *r, const http_principal *p);

/** Query parameter @name as a decimal integer in [@lo, @hi] (no sign, no junk) into *@out,
 *  @def when absent. 0, or -1 after answering 400 invalid_field naming it with @why (NULL:
 *  "an integer from lo to hi expected"). */
int http_query_int(http_req *r, const char *name, int64_t lo, int64_t hi, int64_t def,
                   const char *why, int64_t *out);

/** Per-request scratch slot for a handler's continuation state (not freed by http). */
void http_req_set_ctx(http_req *r, void *ctx);
void *http_req_ctx(const http_req *r);

/** @fn(@arg) runs once, on @r's loop, if the connection closes while @r waits for its
 *  answer — work nobody will read can stop (device calls are cancelled). The handler still
 *  answers @r (that call just frees it), and may do so from inside @fn. One per request. */
void http_req_on_gone(http_req *r, void (*fn)(void *arg), void *arg);

/** What a respond call answers, for http_req_on_answer. @headers: the "Name: value" lines
 *  added with http_req_add_header. Valid during the callback only. */
typedef struct http_answer {
    int status;
    const char *ctype; /* NULL: no body */
    const void *body;
    size_t len;
    const char *const *headers;
    size_t nheaders;
} http_answer;

/** @fn(@arg, answer) runs inside @r's respond call, before @r is freed — also when the
 *  connection is gone (for api/idem.c, which stores answers). One per request. */
void http_req_on_answer(http_req *r, void (*fn)(void *arg, const http_answer *a), void *arg);

/* ---- responses (exactly one per request; frees the request) --------------------------- */

/** Adds a response header (e.g. Retry-After, Allow, Location, Cache-Control) before the
 *  respond call. Name and value are copied; CR/LF in either is refused (<0). At most 16. */
int http_req_add_header(http_req *r, const char *name, const char *value);
/** Answers with @doc as JSON (relaxed extended JSON: plain numbers), or with no body when
 *  @doc is NULL (use 204 for that). Content-Type: application/json. */
void http_respond_json(http_req *r, int status, const bson_t *doc);
/** Answers with raw bytes and a content type. */
void http_respond_raw(http_req *r, int status, const char *content_type, const void *body,
                      size_t len);
/** Answers {"error":{"code":@code,"message":<formatted>}}. */
void http_respond_error(http_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** 400 {"error":{"code":"invalid_field","message":"@field: @why","field":@field}}. */
void http_respond_field(http_req *r, const char *field, const char *why);

/* ---- streamed responses (http/stream.c) --------------------------------------------- */

/** A response that stays open: 200 with the head sent at once, then chunks written as the
 *  handler has them (Transfer-Encoding: chunked over HTTP/1.1; HTTP/1.0: raw bytes until
 *  the connection closes). The connection serves nothing else afterwards and ends with
 *  the stream. Lives on the request's loop: every call on that loop.
 *
 *  Back-pressure: a write finding stream_buffer_bytes or more unsent on the connection
 *  is dropped and counted (HTTP_STREAM_DROPPED) instead of buffered, so at most the cap
 *  plus one write waits; a slow reader loses messages, never the server's memory. Heartbeats: the @heartbeat bytes are written every
 *  stream_heartbeat_ms the stream is open (keeps proxies and the client's timeout quiet).
 *  Caps: max_streams in all (503) and max_streams_per_user per principal (429). */
typedef struct http_stream http_stream;

typedef struct http_stream_def {
    const char *ctype;     /* Content-Type of the stream ("text/event-stream") */
    const char *heartbeat; /* bytes written at each heartbeat (NULL: none) */
    /** The stream ended without http_stream_end: the client went away, the connection was
     *  refused more output, or the server stops. Runs on the loop, once; the stream is
     *  freed when it returns (no http_stream_* call on it from then on, this one included). */
    void (*on_close)(void *arg);
    void *arg;
} http_stream_def;

#define HTTP_STREAM_DROPPED (-1) /* http_stream_write: over the buffer cap, counted */
#define HTTP_STREAM_CLOSED  (-2) /* http_stream_write: the connection is closing */

/** Answers @r (which it frees) with the stream's head and returns the stream; or answers
 *  @r with an error (503 over max_streams, 429 over max_streams_per_user; a HEAD request
 *  gets the head alone) and returns NULL. @d is copied. */
http_stream *http_stream_open(http_req *r, const http_stream_def *d);
/** Writes @n bytes as one chunk. 0, HTTP_STREAM_DROPPED or HTTP_STREAM_CLOSED. */
int http_stream_write(http_stream *st, const void *p, size_t n);
/** Ends the stream (the last chunk) and closes its connection once flushed; on_close is
 *  not called, and @st must not be used again. */
void http_stream_end(http_stream *st);
/** Writes dropped so far on @st. */
unsigned long long http_stream_dropped(const http_stream *st);

/* ---- counters ------------------------------------------------------------------------- */

/** Upper bounds (µs) of the request latency histogram's buckets, ascending. Latency runs
 *  from the complete request headers to the response being queued. */
#define HTTP_LAT_BUCKETS 12
extern const uint64_t http_latency_bounds_us[HTTP_LAT_BUCKETS];

typedef struct http_stats {
    unsigned long long requests;     /* responses sent (all statuses) */
    unsigned long long status_2xx;   /* of which 2xx (1xx-3xx: requests minus the others) */
    unsigned long long status_3xx;   /* of which 3xx */
    unsigned long long status_4xx;   /* of which 4xx */
    unsigned long long status_5xx;   /* of which 5xx */
    unsigned long long conns;        /* connections accepted by http_proto */
    unsigned long long refused_ip;   /* connections refused by max_conns_per_ip */
    unsigned long long parse_errors; /* malformed requests (400/413/431/...) */
    unsigned long long timeouts;     /* 408 or silent idle closes */
    /** Responses per latency bucket (http_latency_bounds_us; [HTTP_LAT_BUCKETS]: slower than
     *  every bound), not cumulative, and their summed latency in µs. */
    unsigned long long lat_bucket[HTTP_LAT_BUCKETS + 1];
    unsigned long long lat_sum_us;
    unsigned long long streams_open;    /* streamed responses open now */
    unsigned long long streams_refused; /* refused by max_streams / max_streams_per_user */
    unsigned long long stream_drops;    /* stream writes dropped (slow readers) */
} http_stats;

void http_server_stats(const http_server *s, http_stats *out);

#endif
