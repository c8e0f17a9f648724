/**
 * iotbench_https — a minimal HTTPS/1.1 keep-alive client connection for the bench
 * (`iotbench rtt`, `iotbench register`).
 *
 * OpenSSL drives the socket directly (SSL_set_fd), polled with uv_poll, as in
 * iotbench_connect.c. Requests are raw bytes built by the caller; they may be pipelined
 * (the server answers strictly in order). Responses are parsed with llhttp; each complete
 * response is handed to on_response with its status and body (the body is cut at
 * IOTBENCH_HTTPS_BODY_CAP bytes, @truncated says so).
 *
 * Threading: everything on the loop's thread. Ownership: the caller owns the context and
 * must outlive its connections; a connection is freed by iotbench_https_close (or after
 * it failed: on_closed is called once, then the memory is released by the library once
 * its poll handle is closed — the caller must not touch it after on_closed).
 */
#ifndef IOT_BENCH_IOTBENCH_HTTPS_H
#define IOT_BENCH_IOTBENCH_HTTPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include <openssl/ssl.h>

#define IOTBENCH_HTTPS_BODY_CAP 16384     /* response body bytes kept per response */
#define IOTBENCH_HTTPS_TX_CAP   (1 << 20) /* plaintext queued but not written, bytes */

typedef struct iotbench_https iotbench_https;

typedef struct iotbench_https_ctx {
    uv_loop_t *loop;
    SSL_CTX *ssl;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[64]; /* for the Host header and certificate (IP) verification */
} iotbench_https_ctx;

typedef struct iotbench_https_cbs {
    /** TLS handshake done: requests sent before are already queued. */
    void (*on_ready)(iotbench_https *c, void *arg);
    /** One complete response, in request order. @body is valid during the call only. */
    void (*on_response)(iotbench_https *c, int status, const char *body, size_t len, bool truncated,
                        void *arg);
    /** The connection ended (@err: negative libuv error, UV_EOF for a close by the peer,
     *  UV_EPROTO for TLS or HTTP errors; @why: text). Called once; not after close(). */
    void (*on_closed)(iotbench_https *c, int err, const char *why, void *arg);
} iotbench_https_cbs;

/** Loads @cafile (NULL: no verification) and resolves the numeric @host. 0 or < 0. */
int iotbench_https_ctx_init(iotbench_https_ctx *x, uv_loop_t *loop, const char *host, int port,
                            const char *cafile);
void iotbench_https_ctx_free(iotbench_https_ctx *x);

/** Starts a connection (TCP + TLS). NULL on a local failure (errno-like @err set). */
iotbench_https *iotbench_https_open(iotbench_https_ctx *x, const iotbench_https_cbs *cbs, void *arg,
                                    int *err);
/** Queues @n bytes of request(s) and writes what the socket takes. 0, or UV_ENOBUFS when
 *  more than IOTBENCH_HTTPS_TX_CAP would be queued. A write that finds the connection
 *  broken calls on_closed before this returns (with 0): check your own state after. */
int iotbench_https_send(iotbench_https *c, const char *req, size_t n);
/** Closes without calling on_closed. @reset: SO_LINGER 0 (no TIME_WAIT). */
void iotbench_https_close(iotbench_https *c, bool reset);

#endif
