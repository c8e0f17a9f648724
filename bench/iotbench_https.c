/* iotbench_https: HTTPS/1.1 keep-alive client connection; see iotbench_https.h.
 *
 * States (what the uv_poll handle waits for):
 *
 *   ST_TCP   non-blocking connect()              -> writable, then SO_ERROR
 *   ST_TLS   SSL_connect on the fd               -> readable / writable as OpenSSL asks
 *   ST_UP    requests out, responses in          -> readable (+ writable while tx queued)
 *   ST_DONE  closed; memory freed in the poll's close callback
 *
 * Callbacks may send, or close the connection; after each callback the state is checked,
 * and a closed connection is left alone (its memory lives until the close callback). */
#include "bench/iotbench_https.h"

#include <errno.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RX_CHUNK 16384

enum state { ST_TCP, ST_TLS, ST_UP, ST_DONE };

struct iotbench_https {
    iotbench_https_ctx *x;
    iotbench_https_cbs cbs;
    void *arg;
    uv_poll_t poll;
    int fd;
    SSL *ssl;
    enum state st;
    bool polling;
    int events;
    llhttp_t parser;
    llhttp_settings_t settings;
    char *tx; /* plaintext not yet taken by SSL_write: tx[tx_off .. tx_len) */
    size_t tx_len, tx_off, tx_cap;
    char body[IOTBENCH_HTTPS_BODY_CAP];
    size_t body_len;
    bool truncated;
};

int iotbench_https_ctx_init(iotbench_https_ctx *x, uv_loop_t *loop, const char *host, int port,
                            const char *cafile)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)&x->addr;

    memset(x, 0, sizeof *x);
    x->loop = loop;
    snprintf(x->host, sizeof x->host, "%s", host);
    if (uv_ip4_addr(host, port, a4) == 0) {
        x->addrlen = sizeof *a4;
    } else if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&x->addr) == 0) {
        x->addrlen = sizeof(struct sockaddr_in6);
    } else {
        return UV_EINVAL;
    }
    x->ssl = SSL_CTX_new(TLS_client_method());
    if (!x->ssl)
        return UV_ENOMEM;
    SSL_CTX_set_min_proto_version(x->ssl, TLS1_2_VERSION);
    SSL_CTX_set_mode(x->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (cafile) {
        if (SSL_CTX_load_verify_locations(x->ssl, cafile, NULL) != 1 ||
            X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(x->ssl), host) != 1) {
            fprintf(stderr, "iotbench: cannot load CA %s\n", cafile);
            iotbench_https_ctx_free(x);
            return UV_EINVAL;
        }
        SSL_CTX_set_verify(x->ssl, SSL_VERIFY_PEER, NULL);
    }
    return 0;
}

void iotbench_https_ctx_free(iotbench_https_ctx *x)
{
    SSL_CTX_free(x->ssl);
    x->ssl = NULL;
}

/* ---- closing ------------------------------------------------------------------------ */

static void on_poll_closed(uv_handle_t *h)
{
    iotbench_https *c = h->data;

    close(c->fd); /* only now: libuv must not poll a reused descriptor */
    free(c->tx);
    free(c);
}

void iotbench_https_close(iotbench_https *c, bool reset)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    if (c->st == ST_DONE)
        return;
    c->st = ST_DONE;
    if (reset)
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (c->ssl) {
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl); /* SSL_set_fd's BIO does not own the fd */
        c->ssl = NULL;
    }
    if (c->polling) {
        uv_close((uv_handle_t *)&c->poll, on_poll_closed);
        return;
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->tx);
    free(c);
}

static void fail(iotbench_https *c, int err, const char *why)
{
    if (c->st == ST_DONE)
        return;
    iotbench_https_close(c, false);
    c->cbs.on_closed(c, err, why, c->arg);
}

static void tls_fail(iotbench_https *c, int sslerr)
{
    char why[128];
    long v = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
    unsigned long e = ERR_peek_error();

    if (v != X509_V_OK)
        snprintf(why, sizeof why, "certificate: %s", X509_verify_cert_error_string(v));
    else if (e)
        ERR_error_string_n(e, why, sizeof why);
    else if (sslerr == SSL_ERROR_SYSCALL && errno)
        snprintf(why, sizeof why, "%s", strerror(errno));
    else if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN)
        snprintf(why, sizeof why, "closed by the server");
    else
        snprintf(why, sizeof why, "SSL error %d", sslerr);
    fail(c,
         sslerr == SSL_ERROR_ZERO_RETURN || (sslerr == SSL_ERROR_SYSCALL && !e) ? UV_EOF
                                                                                : UV_EPROTO,
         why);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void want(iotbench_https *c, int events)
{
    int rc;

    if (c->st == ST_DONE || events == c->events)
        return;
    rc = uv_poll_start(&c->poll, events, on_poll);
    if (rc < 0) {
        fail(c, rc, uv_strerror(rc));
        return;
    }
    c->events = events;
}

/* ---- HTTP responses ----------------------------------------------------------------- */

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    iotbench_https *c = p->data;
    size_t room = sizeof c->body - c->body_len;

    if (n > room) {
        n = room;
        c->truncated = true;
    }
    memcpy(c->body + c->body_len, at, n);
    c->body_len += n;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    iotbench_https *c = p->data;
    int status = llhttp_get_status_code(p);

    c->cbs.on_response(c, status, c->body, c->body_len, c->truncated, c->arg);
    c->body_len = 0;
    c->truncated = false;
    return c->st == ST_DONE ? -1 : 0; /* closed in the callback: stop parsing */
}

/* ---- I/O ------------------------------------------------------------------------------- */

static void flush(iotbench_https *c)
{
    while (c->st == ST_UP && c->tx_off < c->tx_len) {
        int n, e;

        ERR_clear_error();
        n = SSL_write(c->ssl, c->tx + c->tx_off, (int)(c->tx_len - c->tx_off));
        if (n > 0) {
            c->tx_off += (size_t)n;
            continue;
        }
        e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            want(c, UV_READABLE | UV_WRITABLE);
            return;
        }
        tls_fail(c, e);
        return;
    }
    if (c->st != ST_UP)
        return;
    c->tx_off = c->tx_len = 0;
    want(c, UV_READABLE);
}

static void take(iotbench_https *c, const char *buf, size_t n)
{
    llhttp_errno_t e = llhttp_execute(&c->parser, buf, n);
    char why[128];

    if (e == HPE_OK || c->st == ST_DONE)
        return;
    snprintf(why, sizeof why, "bad HTTP response: %s", llhttp_errno_name(e));
    fail(c, UV_EPROTO, why);
}

static void read_some(iotbench_https *c)
{
    char buf[RX_CHUNK];

    while (c->st == ST_UP) {
        int n, e;

        ERR_clear_error();
        n = SSL_read(c->ssl, buf, sizeof buf);
        if (n > 0) {
            take(c, buf, (size_t)n);
            continue;
        }
        e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return;
        tls_fail(c, e);
        return;
    }
}

static void tls_step(iotbench_https *c)
{
    int rc, e;

    ERR_clear_error();
    rc = SSL_connect(c->ssl);
    if (rc == 1) {
        c->st = ST_UP;
        c->cbs.on_ready(c, c->arg);
        flush(c);
        return;
    }
    e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        want(c, UV_READABLE);
    else if (e == SSL_ERROR_WANT_WRITE)
        want(c, UV_WRITABLE);
    else
        tls_fail(c, e);
}

static void tcp_done(iotbench_https *c, int status)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err || status < 0) {
        fail(c, err ? -err : status, err ? strerror(err) : uv_strerror(status));
        return;
    }
    c->ssl = SSL_new(c->x->ssl);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        fail(c, UV_ENOMEM, "SSL_new failed");
        return;
    }
    c->st = ST_TLS;
    tls_step(c);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    iotbench_https *c = h->data;

    if (c->st == ST_TCP) {
        tcp_done(c, status);
        return;
    }
    if (status < 0) {
        fail(c, status, uv_strerror(status));
        return;
    }
    if (c->st == ST_TLS) {
        tls_step(c);
        return;
    }
    if (events & UV_READABLE)
        read_some(c);
    flush(c);
}

/* ---- opening and sending --------------------------------------------------------------- */

static int tcp_open(iotbench_https *c)
{
    int one = 1, rc;

    c->fd = socket(c->x->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rc = uv_poll_init_socket(c->x->loop, &c->poll, c->fd);
    if (rc < 0)
        return rc;
    c->poll.data = c;
    c->polling = true;
    if (connect(c->fd, (struct sockaddr *)&c->x->addr, c->x->addrlen) < 0 && errno != EINPROGRESS)
        return -errno;
    c->st = ST_TCP;
    rc = uv_poll_start(&c->poll, UV_WRITABLE, on_poll);
    c->events = UV_WRITABLE;
    return rc;
}

iotbench_https *iotbench_https_open(iotbench_https_ctx *x, const iotbench_https_cbs *cbs, void *arg,
                                    int *err)
{
    iotbench_https *c = calloc(1, sizeof *c);

    if (!c) {
        *err = UV_ENOMEM;
        return NULL;
    }
    c->x = x;
    c->cbs = *cbs;
    c->arg = arg;
    c->fd = -1;
    c->st = ST_TCP;
    llhttp_settings_init(&c->settings);
    c->settings.on_body = on_body;
    c->settings.on_message_complete = on_message_complete;
    llhttp_init(&c->parser, HTTP_RESPONSE, &c->settings);
    c->parser.data = c;
    *err = tcp_open(c);
    if (*err < 0) {
        iotbench_https_close(c, false);
        return NULL;
    }
    return c;
}

static int reserve(iotbench_https *c, size_t n)
{
    size_t need = c->tx_len + n, cap = c->tx_cap ? c->tx_cap : 4096;
    char *p;

    if (need <= c->tx_cap)
        return 0;
    if (c->tx_off > 0) { /* compact first: what was written is gone */
        memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
        c->tx_len -= c->tx_off;
        c->tx_off = 0;
        need = c->tx_len + n;
        if (need <= c->tx_cap)
            return 0;
    }
    if (need > IOTBENCH_HTTPS_TX_CAP)
        return UV_ENOBUFS;
    while (cap < need)
        cap *= 2;
    p = realloc(c->tx, cap);
    if (!p)
        return UV_ENOMEM;
    c->tx = p;
    c->tx_cap = cap;
    return 0;
}

int iotbench_https_send(iotbench_https *c, const char *req, size_t n)
{
    int rc;

    if (c->st == ST_DONE)
        return UV_ECANCELED;
    rc = reserve(c, n);
    if (rc < 0)
        return rc;
    memcpy(c->tx + c->tx_len, req, n);
    c->tx_len += n;
    flush(c); /* before the handshake is done, on_ready's flush sends it */
    return 0;
}
