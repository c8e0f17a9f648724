/*
 * tlshs — the server side of TLS handshakes in isolation: the net/ TLS engine
 * (net/tls.c, the SSL_CTX the server builds) against an OpenSSL client in the same
 * process, over memory, no sockets. Reports the server's CPU per full and per resumed
 * handshake (thread CPU time around the server's calls only) and the heap the server
 * keeps per established idle session (mallinfo2 in-use bytes over K held sessions,
 * after one small record each way, the shape of an MQTT PINGREQ/PINGRESP).
 *
 * Usage: tlshs CERT KEY [CA] [N] [K]   (N handshakes per kind, default 2000; K held, 2000)
 * e.g. with the files iotcloud makes in its data dir:
 *   build/release/tlshs DATA/ca/server.crt DATA/ca/server.key DATA/ca/ca.crt
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/net.h"
#include "net/tls.h"

static const net_tls_alpn alpn = {.names = {"mqtt"}, .n = 1};
static double server_ns; /* server CPU spent so far */

static double thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Client output -> server; server output -> client. Server calls are timed. */
static int pump(SSL *cl, BIO *c_in, BIO *c_out, net_tls *t, int *done)
{
    char tmp[16384];
    int n;
    while ((n = BIO_read(c_out, tmp, sizeof tmp)) > 0) {
        double t0 = thread_ns();
        net__tls_feed(t, (const uint8_t *)tmp, (size_t)n);
        int r = *done ? 0 : net__tls_handshake(t);
        if (r == 1)
            *done = 1;
        uint8_t plain[64];
        while (*done && net__tls_read(t, plain, sizeof plain) > 0)
            net__tls_write(t, plain, 2); /* echo a PINGRESP-sized record */
        const uint8_t *p;
        size_t m = net__tls_out(t, &p);
        if (m)
            BIO_write(c_in, p, (int)m);
        net__tls_out_clear(t);
        server_ns += thread_ns() - t0;
        if (r < 0)
            return -1;
    }
    (void)cl;
    return 0;
}

/* One connection: handshake, one 2-byte record each way. Returns the server engine. */
static net_tls *connect_one(net_tls_ctx *sx, SSL_CTX *cx, SSL_SESSION *resume, SSL_SESSION **keep)
{
    double t0 = thread_ns();
    net_tls *t = net__tls_new(sx, &alpn);
    server_ns += thread_ns() - t0;
    SSL *cl = SSL_new(cx);
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    SSL_set_bio(cl, c_in, c_out);
    SSL_set_connect_state(cl);
    SSL_set_alpn_protos(cl, (const unsigned char *)"\x04mqtt", 5);
    if (resume)
        SSL_set_session(cl, resume);
    int done = 0;
    for (int i = 0; i < 10 && !(done && SSL_is_init_finished(cl)); i++) {
        SSL_do_handshake(cl);
        if (pump(cl, c_in, c_out, t, &done) < 0)
            break;
    }
    char b[64];
    SSL_write(cl, "\xc0\x00", 2);
    pump(cl, c_in, c_out, t, &done);
    while (SSL_read(cl, b, sizeof b) > 0) /* takes the ticket and the echo */
        ;
    if (keep)
        *keep = SSL_get1_session(cl);
    /* as after a clean close: else SSL_free marks the session not resumable */
    SSL_set_shutdown(cl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(cl);
    ERR_clear_error();
    return done ? t : (net__tls_free(t), NULL);
}

/* @sess: resume it, and each connection's new ticket after it (a TLS 1.3 client uses
 * each session once); NULL: full handshakes. */
static void run(const char *what, net_tls_ctx *sx, SSL_CTX *cx, SSL_SESSION **sess, int n)
{
    server_ns = 0;
    int ok = 0, resumed = 0;
    for (int i = 0; i < n; i++) {
        SSL_SESSION *old = sess ? *sess : NULL;
        net_tls *t = connect_one(sx, cx, old, sess);
        SSL_SESSION_free(old);
        if (!t)
            continue;
        ok++;
        resumed += net__tls_resumed(t);
        double t0 = thread_ns();
        net__tls_free(t);
        server_ns += thread_ns() - t0;
    }
    printf("%-8s %d/%d handshakes (%d resumed): server CPU %.1f us per handshake\n", what, ok, n,
           resumed, ok ? server_ns / 1e3 / ok : 0.0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tlshs CERT KEY [CA] [N] [K]\n");
        return 2;
    }
    int n = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 2000;
    int k = argc > 5 ? (int)strtol(argv[5], NULL, 10) : 2000;
    char err[256];
    net_tls_opts o = {
        .cert_file = argv[1], .key_file = argv[2], .ca_file = argc > 3 ? argv[3] : NULL};
    net_tls_ctx *sx = net__tls_ctx_new(&o, err, sizeof err);
    SSL_CTX *cx = SSL_CTX_new(TLS_client_method());
    if (!sx || !cx || n <= 0 || k <= 0) {
        fprintf(stderr, "tlshs: %s\n", sx ? "bad arguments" : err);
        return 1;
    }
    SSL_CTX_set_min_proto_version(cx, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(cx, SSL_SESS_CACHE_OFF); /* heap: the server only */
    SSL_SESSION *sess = NULL;
    run("warm-up", sx, cx, NULL, 50);
    run("full", sx, cx, NULL, n);
    net__tls_free(connect_one(sx, cx, NULL, &sess));
    if (!sess || !SSL_SESSION_is_resumable(sess))
        fprintf(stderr, "tlshs: no resumable session from the server\n");
    run("resumed", sx, cx, &sess, n);
    net_tls **held = calloc((size_t)k, sizeof *held);
    struct mallinfo2 m0 = mallinfo2();
    for (int i = 0; i < k; i++)
        held[i] = connect_one(sx, cx, NULL, NULL);
    struct mallinfo2 m1 = mallinfo2();
    printf("held     %d idle sessions (full handshakes): %.0f bytes of heap each\n", k,
           (double)(m1.uordblks - m0.uordblks) / k);
    for (int i = 0; i < k; i++)
        net__tls_free(held[i]);
    free(held);
    SSL_SESSION_free(sess);
    SSL_CTX_free(cx);
    net__tls_ctx_free(sx);
    return 0;
}
