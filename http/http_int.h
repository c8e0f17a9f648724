/*
 * http_int — private to http/: the server, the connection state machine (hconn), the
 * request, the router and the per-IP counters.
 *
 * Ownership: net_glue.c owns one hnet per net connection (timer + hconn). The hconn owns
 * the request being parsed; once a request is dispatched the handler owns it until its
 * respond call. If the connection goes first, the request is detached (r->c == NULL) and
 * the respond call only frees it.
 */
#ifndef IOT_HTTP_HTTP_INT_H
#define IOT_HTTP_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "common/iptab.h"
#include "http/conn_parse.h"
#include "http/http.h"
#include "net/transport.h"

#define HTTP_MAX_RESP_HEADERS 16
#define HTTP_MAX_REQ_HEADERS  100
#define HTTP_MAX_PARAMS       8
#define HTTP_MAX_QUERY        32
#define HTTP_MAX_SEGMENTS     16

/* ---- router (router.c) ----------------------------------------------------------------- */

typedef struct http__route {
    const http_route *row;
    size_t nseg;
    const char *seg[HTTP_MAX_SEGMENTS]; /* into pat; NULL = a {param} */
    size_t seglen[HTTP_MAX_SEGMENTS];
    const char *pname[HTTP_MAX_SEGMENTS]; /* param names (into pat) */
    size_t pnamelen[HTTP_MAX_SEGMENTS];
    /* answers by status class 1xx..5xx (response.c; zero when added, before the loops) */
    atomic_ullong by_class[5];
} http__route;

/* ---- the server (server.c) ------------------------------------------------------------- */

struct http_server {
    http_opts o;
    http__route *routes;
    size_t nroutes, cap;
    iptab ips;
    const http_upgrade *up[HTTP_MAX_UPGRADES];
    size_t nup;
    atomic_ullong requests, status_4xx, status_5xx, conns, refused_ip, parse_errors, timeouts;
    atomic_ullong status_2xx, status_3xx;
    atomic_ullong streams_open, streams_refused, stream_drops;
    iptab users; /* open streams per principal (key: a hash of the user id, stream.c) */
    /* request latency: per bucket of http_latency_bounds_us (not cumulative), the last one
     * past every bound; and the sum in µs */
    atomic_ullong lat_bucket[HTTP_LAT_BUCKETS + 1], lat_sum_us;
};

#define HTTP_STAT_ADD(s, f, n) atomic_fetch_add_explicit(&(s)->f, (n), memory_order_relaxed)

/* Finds the route for @method and the decoded path segments. Returns the route, or NULL
 * with *@allow set to the bit set (1 << method) of methods that do match the path (0:
 * no route has this path at all). */
const http__route *http__route_find(const http_server *s, enum http_method m,
                                    const char *const *segs, size_t nseg, unsigned *allow);
int http__route_compile(http__route *out, const http_route *row);
bool http__route_same_shape(const http__route *a, const http__route *b);

/* ---- connections (transport: net/transport.h; timeouts through set_timer) ------------- */

enum hconn_phase {
    HC_IDLE = 0, /* between requests: idle timeout */
    HC_HEAD,     /* request line and headers: header timeout from the first byte */
    HC_BODY,     /* body: body timeout from the end of the headers */
    HC_WAIT,     /* dispatched, waiting for the respond call */
    HC_CLOSING,  /* answered with close (or refused): ignore input */
    HC_STREAM,   /* a streamed response is open (stream.c): input is ignored */
};

typedef struct hconn {
    http_server *s;
    const net_transport *io;
    void *t;
    hparse *p;
    enum hconn_phase phase;
    bool in_process; /* inside hconn__process: a respond call must not re-enter */
    bool paused;     /* reading paused (buffered input over its cap) */
    bool ip_counted;
    bool tls;         /* over TLS: answers carry Strict-Transport-Security */
    size_t hdr_bytes; /* raw bytes of this request's header block so far */
    http_req *req;    /* being parsed (HC_HEAD/HC_BODY) or dispatched (HC_WAIT) */
    uint8_t *pend;    /* input received while a request waits for its answer */
    size_t pend_len, pend_cap;
    int err_status; /* set by a parser callback that refused the request */
    const char *err_code;
    const char *err_msg;
    char peer_ip[48];
    http_stream *st; /* HC_STREAM: the open stream (freed in hconn__closed) */
} hconn;

hconn *hconn__new(http_server *s, const net_transport *io, void *t);
/* Bytes from the transport. Always 0: errors answer and close through io. */
int hconn__feed(hconn *c, const uint8_t *p, size_t n);
void hconn__timeout(hconn *c);
/* The transport is gone: frees @c (detaching a request that waits for its answer). */
void hconn__closed(hconn *c);
/* The response of the waiting request was queued (called by response.c). */
void hconn__answered(hconn *c, bool keep_alive);

/* stream.c: the heartbeat timer fired (HC_STREAM) / the connection is gone: on_close,
 * then the stream is freed. */
void http__stream_tick(hconn *c);
void http__stream_gone(hconn *c);

/* ---- the request (request.c) ----------------------------------------------------------- */

typedef struct http__kv {
    uint32_t k, v; /* offsets into the request's arena (NUL-terminated strings) */
} http__kv;

struct http_req {
    hconn *c; /* NULL once detached */
    http_server *s;
    net_loop *loop;
    enum http_method method;
    bool head;       /* HEAD served by the GET route: drop the body */
    bool keep_alive; /* from llhttp_should_keep_alive at the end of the message */
    bool dispatched; /* handed to a handler: it answers */
    uint8_t http_minor;
    char *arena; /* url, headers, decoded path/query/params: NUL-terminated strings */
    size_t alen, acap;
    uint32_t url_off;
    uint32_t path_off;    /* decoded path, or UINT32_MAX before parsing */
    uint32_t rawpath_len; /* bytes of the url before '?' */
    http__kv hdr[HTTP_MAX_REQ_HEADERS];
    size_t nhdr;
    bool in_field, in_value; /* the parser is inside a header name / value */
    http__kv query[HTTP_MAX_QUERY];
    size_t nquery;
    struct {
        const char *name; /* into the route pattern (outlives the server) */
        size_t nlen;
        uint32_t v;
    } param[HTTP_MAX_PARAMS];
    size_t nparam;
    uint8_t *body;
    size_t body_len, body_cap;
    const http__route *route;
    char id[65];
    char peer_ip[48];
    char peer[64];
    http_principal principal;
    bool has_principal;
    void *ctx;
    uint64_t start_us;
    char *xhdr[HTTP_MAX_RESP_HEADERS]; /* "Name: value" added by the handler */
    size_t nxhdr;
    void (*gone_fn)(void *arg); /* http_req_on_gone */
    void *gone_arg;
    void (*answer_fn)(void *arg, const http_answer *a); /* http_req_on_answer */
    void *answer_arg;
};

http_req *http__req_new(hconn *c);
void http__req_free(http_req *r);
/* Appends @n bytes to the arena; returns the offset or -1 (over @cap bytes in all). */
long http__req_append(http_req *r, const void *p, size_t n, size_t cap);
/* After the headers: decodes the path and the query. 0 or -1 (malformed: 400). */
int http__req_parse_target(http_req *r);
/* Splits the raw path at '/' and appends each decoded segment to the arena: their
 * offsets in @off. 0, -1 (malformed escape: 400) or -2 (more than @max segments). */
int http__req_segments(http_req *r, uint32_t *off, size_t max, size_t *n);
/* How many field lines named @name (case-insensitive) the request has. */
size_t http__req_header_count(const http_req *r, const char *name);
/* "ip:port" / "[ip]:port" -> "ip". */
void http__peer_ip(const char *peer, char *out, size_t cap);
void http__req_set_id(http_req *r);
int http__req_add_param(http_req *r, const char *name, size_t nlen, uint32_t val_off);
/* Percent-decodes @n bytes of @in into @out (room for n + 1). '+' becomes ' ' when
 * @plus. -1 on an invalid escape or %00. Returns the decoded length. */
long http__pct_decode(const char *in, size_t n, char *out, bool plus);

/* upgrade.c: a complete request to an upgrade path. HTTP__UP_NONE: not one (route it);
 * HTTP__UP_ANSWERED: answered (426 or the accept function's refusal); HTTP__UP_SWITCHED:
 * the connection now runs another protocol that was handed @rest, @c takes no input. */
enum { HTTP__UP_NONE = 0, HTTP__UP_ANSWERED = 1, HTTP__UP_SWITCHED = 2 };
int http__upgrade(hconn *c, const uint8_t *rest, size_t n);

/* Runs the router on a complete request (router.c): handler, auth hook, 404/405/501. */
void http__dispatch(http_req *r);

/* response.c: the head of a 200 answer without Content-Length for a stream (chunked:
 * Transfer-Encoding: chunked, else Connection: close). Logs and counts the answer. The
 * caller writes it, frees it and frees @r. NULL: out of memory. */
char *http__stream_head(http_req *r, const char *ctype, bool chunked, size_t *len);

/* Answers a connection-level error (no handler) with a JSON error and close. */
void http__respond_fatal(http_req *r, int status, const char *code, const char *msg);

/* date.c: the IMF-fixdate of now, cached per second per thread. */
const char *http__date(void);

enum http_method http__method_from_name(const char *name);

#endif
