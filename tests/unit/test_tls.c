/*
 * net over TLS: a throwaway CA, server and client certificates are made with the openssl
 * CLI in a temp dir; the client is a blocking socket driven by OpenSSL in the test
 * thread, the server runs net_server_run on another thread.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_util.h"
#include "net/net.h"

static char dir[64];
static char path_buf[8][128];

static const char *pth(int slot, const char *name)
{
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
    return path_buf[slot];
}

/* CA + server (CN localhost) + client (CN device-42); a second CA with its own client. */
static void make_certs(void)
{
    snprintf(dir, sizeof dir, "/tmp/net_tls_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && exec >/dev/null 2>&1 && "
             "K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
             "openssl req -x509 $K -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca && "
             "openssl req -x509 $K -keyout ca2.key -out ca2.pem -days 2 -subj /CN=evil-ca && "
             "openssl req $K -keyout srv.key -out srv.csr -subj /CN=localhost && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out srv.pem -days 2 && "
             "openssl req $K -keyout cli.key -out cli.csr -subj /CN=device-42 && "
             "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out cli.pem -days 2 && "
             "openssl req $K -keyout evil.key -out evil.csr -subj /CN=device-42 && "
             "openssl x509 -req -in evil.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial "
             "-out evil.pem -days 2",
             dir);
    cr_assert_eq(system(cmd), 0, "openssl CLI failed");
}

static void rm_certs(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

TestSuite(tls, .init = make_certs, .fini = rm_certs);

/* ---- server side ------------------------------------------------------------------ */

static atomic_int n_open, n_close;
static atomic_int reasons[6];

typedef struct sess {
    net_conn *c;
} sess;

/* Greets with "<proto name>:<peer CN or ->\n", then echoes. */
static void *greet_open(net_conn *c, void *arg)
{
    sess *s = calloc(1, sizeof *s);
    s->c = c;
    const char *cn = net_conn_peer_cn(c);
    char g[128];
    int n = snprintf(g, sizeof g, "%s:%s\n", (const char *)arg, cn ? cn : "-");
    net_conn_write(c, g, (size_t)n);
    if (!net_conn_is_tls(c))
        net_conn_write(c, "PLAIN?", 6);
    n_open++;
    return s;
}

static int echo_data(void *st, const uint8_t *p, size_t n)
{
    sess *s = st;
    return net_conn_write(s->c, p, n) < 0 ? -1 : 0;
}

static void echo_close(void *st, enum net_close_reason why)
{
    reasons[why]++;
    n_close++;
    free(st);
}

static const net_proto proto_mqtt = {"mqtt", greet_open, echo_data, echo_close, NULL, NULL};
static const net_proto proto_http = {"http/1.1", greet_open, echo_data, echo_close, NULL, NULL};

typedef struct srv {
    net_server *s;
    uv_thread_t th;
    uint16_t port;
} srv;

static void run_thread(void *arg) { net_server_run(arg); }

static const char *srv_cert = "srv.pem"; /* the server's certificate (chain) file */

static srv start(unsigned workers, bool with_ca, unsigned hs_ms)
{
    srv h = {0};
    char err[256] = "";
    net_server_opts o = {.workers = workers};
    net_tls_opts t = {.cert_file = pth(0, srv_cert),
                      .key_file = pth(1, "srv.key"),
                      .ca_file = with_ca ? pth(2, "ca.pem") : NULL,
                      .handshake_timeout_ms = hs_ms};
    h.s = net_server_new(&o, &t, err, sizeof err);
    cr_assert_not_null(h.s, "%s", err);
    net_listener_opts lo = {.host = "127.0.0.1",
                            .tls = true,
                            .protos = {&proto_mqtt, &proto_http},
                            .proto_args = {"A", "B"},
                            .n_protos = 2};
    cr_assert_eq(net_server_listen(h.s, &lo, err, sizeof err), 0, "%s", err);
    h.port = net_server_listener_port(h.s, 0);
    cr_assert_eq(uv_thread_create(&h.th, run_thread, h.s), 0);
    return h;
}

static void stop(srv *h)
{
    net_server_stop(h->s);
    uv_thread_join(&h->th);
    net_server_free(h->s);
}

/* ---- client side ------------------------------------------------------------------ */

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    return fd;
}

typedef struct cli_opts {
    const char *alpn; /* wire format, e.g. "\4mqtt" */
    const char *cert, *key;
    int max_version; /* 0 = default */
    SSL_SESSION *resume;
} cli_opts;

typedef struct cli {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    int ok;            /* SSL_connect result */
    unsigned long err; /* first queued OpenSSL error on failure */
} cli;

static cli connect_tls(uint16_t port, const cli_opts *o)
{
    cli c = {0};
    c.ctx = SSL_CTX_new(TLS_client_method());
    cr_assert_eq(SSL_CTX_load_verify_locations(c.ctx, pth(3, "ca.pem"), NULL), 1);
    SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, NULL);
    if (o->max_version) {
        /* Old versions need security level 0 on the client, or it would refuse itself. */
        SSL_CTX_set_cipher_list(c.ctx, "DEFAULT:@SECLEVEL=0");
        SSL_CTX_set_min_proto_version(c.ctx, 0);
        SSL_CTX_set_max_proto_version(c.ctx, o->max_version);
    }
    if (o->cert) {
        cr_assert_eq(SSL_CTX_use_certificate_file(c.ctx, o->cert, SSL_FILETYPE_PEM), 1);
        cr_assert_eq(SSL_CTX_use_PrivateKey_file(c.ctx, o->key, SSL_FILETYPE_PEM), 1);
    }
    c.ssl = SSL_new(c.ctx);
    SSL_set1_host(c.ssl, "localhost");
    if (o->alpn)
        SSL_set_alpn_protos(c.ssl, (const unsigned char *)o->alpn, (unsigned)strlen(o->alpn));
    if (o->resume)
        SSL_set_session(c.ssl, o->resume);
    c.fd = dial(port);
    SSL_set_fd(c.ssl, c.fd);
    ERR_clear_error();
    c.ok = SSL_connect(c.ssl) == 1;
    if (!c.ok)
        c.err = ERR_peek_error();
    return c;
}

static void cli_free(cli *c)
{
    /* Without close_notify OpenSSL marks the session unresumable. */
    if (c->ok)
        SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
}

/* Reads one '\n'-terminated line; returns its length or -1. */
static int read_line(cli *c, char *out, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        int r = SSL_read(c->ssl, out + n, 1);
        if (r <= 0)
            return -1;
        if (out[n++] == '\n')
            break;
    }
    out[n] = '\0';
    return (int)n;
}

static void expect_greeting(cli *c, const char *want)
{
    char line[128];
    cr_assert_gt(read_line(c, line, sizeof line), 0, "no greeting");
    cr_assert_str_eq(line, want);
}

/* ---- tests ------------------------------------------------------------------------ */

static void echo_over_tls(unsigned workers)
{
    srv h = start(workers, false, 0);
    for (int i = 0; i < 4; i++) {
        cli c = connect_tls(h.port, &(cli_opts){0});
        cr_assert(c.ok, "handshake failed: %s", ERR_reason_error_string(c.err));
        expect_greeting(&c, "A:-\n"); /* no ALPN: the listener's first protocol */
        static char msg[100000], back[100000];
        for (size_t k = 0; k < sizeof msg; k++)
            msg[k] = (char)(k * 31 + i);
        cr_assert_eq(SSL_write(c.ssl, msg, sizeof msg), (int)sizeof msg);
        size_t got = 0;
        while (got < sizeof back) {
            int r = SSL_read(c.ssl, back + got, (int)(sizeof back - got));
            cr_assert_gt(r, 0);
            got += (size_t)r;
        }
        cr_assert_arr_eq(back, msg, sizeof msg);
        cli_free(&c);
    }
    WAIT_FOR(n_close == 4, 2000);
    cr_assert_eq(n_close, 4);
    stop(&h);
}

Test(tls, echo_one_worker) { echo_over_tls(1); }

Test(tls, echo_two_workers) { echo_over_tls(2); }

Test(tls, alpn_selects_protocol)
{
    srv h = start(1, false, 0);
    struct {
        const char *offer, *greeting, *selected;
    } cases[] = {
        {"\4mqtt", "A:-\n", "mqtt"},
        {"\x08http/1.1", "B:-\n", "http/1.1"},
        {"\x0ex-amzn-mqtt-ca", "A:-\n", "x-amzn-mqtt-ca"},
        /* server preference: mqtt is listed first on the listener */
        {"\x08http/1.1\4mqtt", "A:-\n", "mqtt"},
        {"\3foo\4mqtt", "A:-\n", "mqtt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli c = connect_tls(h.port, &(cli_opts){.alpn = cases[i].offer});
        cr_assert(c.ok, "case %zu: handshake failed", i);
        const unsigned char *sel;
        unsigned len;
        SSL_get0_alpn_selected(c.ssl, &sel, &len);
        cr_assert_eq(len, strlen(cases[i].selected), "case %zu", i);
        cr_assert_arr_eq(sel, cases[i].selected, len);
        expect_greeting(&c, cases[i].greeting);
        cli_free(&c);
    }
    stop(&h);
}

Test(tls, alpn_without_match_fails_handshake)
{
    srv h = start(1, false, 0);
    cli c = connect_tls(h.port, &(cli_opts){.alpn = "\3foo"});
    cr_assert(!c.ok, "handshake must fail when no offered protocol is served");
    cr_assert_eq(ERR_GET_REASON(c.err), SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL, "got: %s",
                 ERR_reason_error_string(c.err));
    cli_free(&c);
    usleep(100000);
    cr_assert_eq(n_open, 0);
    stop(&h);
}

Test(tls, client_cert_cn_visible_when_verified)
{
    srv h = start(1, true, 0);
    cli c = connect_tls(h.port, &(cli_opts){.cert = pth(4, "cli.pem"), .key = pth(5, "cli.key")});
    cr_assert(c.ok);
    expect_greeting(&c, "A:device-42\n");
    cli_free(&c);

    cli anon = connect_tls(h.port, &(cli_opts){0});
    cr_assert(anon.ok, "a certificate is optional");
    expect_greeting(&anon, "A:-\n");
    cli_free(&anon);
    stop(&h);
}

Test(tls, client_cert_from_other_ca_fails)
{
    srv h = start(1, true, 0);
    cli c = connect_tls(h.port, &(cli_opts){.cert = pth(4, "evil.pem"), .key = pth(5, "evil.key")});
    /* TLS 1.3 lets the client finish before the server has judged its certificate, so
     * the rejection may only show on the first read. */
    char line[64];
    unsigned long e = c.err;
    if (c.ok) {
        ERR_clear_error();
        cr_assert_lt(read_line(&c, line, sizeof line), 0, "server must reject the cert");
        e = ERR_peek_error();
    }
    cr_assert_eq(ERR_GET_REASON(e), SSL_R_TLSV1_ALERT_UNKNOWN_CA, "got: %s",
                 ERR_reason_error_string(e));
    cli_free(&c);
    usleep(100000);
    cr_assert_eq(n_open, 0, "the protocol must never see an unverified client");
    stop(&h);
}

Test(tls, client_cert_ignored_without_ca)
{
    srv h = start(1, false, 0);
    cli c = connect_tls(h.port, &(cli_opts){.cert = pth(4, "cli.pem"), .key = pth(5, "cli.key")});
    cr_assert(c.ok);
    expect_greeting(&c, "A:-\n"); /* not requested, so never verified, so no CN */
    cli_free(&c);
    stop(&h);
}

Test(tls, tls11_refused_tls12_accepted)
{
    srv h = start(1, false, 0);
    cli old = connect_tls(h.port, &(cli_opts){.max_version = TLS1_1_VERSION});
    cr_assert(!old.ok);
    cr_assert_eq(ERR_GET_REASON(old.err), SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, "got: %s",
                 ERR_reason_error_string(old.err));
    cli_free(&old);
    cli v12 = connect_tls(h.port, &(cli_opts){.max_version = TLS1_2_VERSION});
    cr_assert(v12.ok);
    cr_assert_str_eq(SSL_get_version(v12.ssl), "TLSv1.2");
    const char *cipher = SSL_get_cipher_name(v12.ssl);
    cr_assert(strstr(cipher, "ECDHE") && (strstr(cipher, "GCM") || strstr(cipher, "CHACHA")),
              "cipher %s", cipher);
    expect_greeting(&v12, "A:-\n");
    cli_free(&v12);
    stop(&h);
}

Test(tls, handshake_timeout_closes_silent_client)
{
    srv h = start(1, false, 200);
    int fd = dial(h.port);
    uint64_t t0 = now_ms();
    char b;
    cr_assert_eq(recv(fd, &b, 1, 0), 0, "server must close a client that never says hello");
    uint64_t dt = now_ms() - t0;
    cr_assert_geq(dt, 150, "closed after %llu ms", (unsigned long long)dt);
    cr_assert_lt(dt, 3000);
    cr_assert_eq(n_open, 0);
    close(fd);
    stop(&h);
}

Test(tls, session_ticket_resumes)
{
    srv h = start(1, false, 0);
    cli a = connect_tls(h.port, &(cli_opts){0});
    cr_assert(a.ok);
    expect_greeting(&a, "A:-\n"); /* TLS 1.3 tickets arrive after the handshake */
    SSL_SESSION *ticket = SSL_get1_session(a.ssl);
    cr_assert_not_null(ticket);
    cr_assert(SSL_SESSION_is_resumable(ticket));
    cli_free(&a);
    cli b = connect_tls(h.port, &(cli_opts){.resume = ticket});
    cr_assert(b.ok);
    cr_assert(SSL_session_reused(b.ssl), "stateless ticket must resume");
    expect_greeting(&b, "A:-\n");
    cli_free(&b);
    SSL_SESSION_free(ticket);
    stop(&h);
}

/* The chain a client receives: subject CNs, leaf first. The server settles it once per
 * context (net/tls.c ctx_chain) instead of OpenSSL building it in every handshake. */
static int peer_chain(uint16_t port, char cns[4][32])
{
    cli a = connect_tls(port, &(cli_opts){0});
    cr_assert(a.ok);
    STACK_OF(X509) *sk = SSL_get_peer_cert_chain(a.ssl);
    int n = sk ? sk_X509_num(sk) : 0;
    for (int i = 0; i < n && i < 4; i++)
        X509_NAME_get_text_by_NID(X509_get_subject_name(sk_X509_value(sk, i)), NID_commonName,
                                  cns[i], 32);
    cli_free(&a);
    return n;
}

Test(tls, chain_is_built_from_the_ca_file_once_and_sent)
{
    char cns[4][32] = {{0}};
    for (int round = 0; round < 2; round++) { /* the same chain in every handshake */
        srv h = start(1, true, 0);
        cr_assert_eq(peer_chain(h.port, cns), 2, "leaf and the CA that issued it");
        cr_assert_str_eq(cns[0], "localhost");
        cr_assert_str_eq(cns[1], "test-ca");
        cr_assert_eq(peer_chain(h.port, cns), 2);
        stop(&h);
    }
}

Test(tls, chain_without_ca_is_the_leaf_alone)
{
    char cns[4][32] = {{0}};
    srv h = start(1, false, 0);
    cr_assert_eq(peer_chain(h.port, cns), 1);
    cr_assert_str_eq(cns[0], "localhost");
    stop(&h);
}

Test(tls, chain_file_certificates_are_sent_as_given)
{
    char cmd[256], cns[4][32] = {{0}};
    snprintf(cmd, sizeof cmd, "cat %s/srv.pem %s/ca2.pem > %s/bundle.pem", dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    srv_cert = "bundle.pem"; /* an extra certificate the CA file did not issue */
    srv h = start(1, true, 0);
    srv_cert = "srv.pem";
    cr_assert_eq(peer_chain(h.port, cns), 2);
    cr_assert_str_eq(cns[1], "evil-ca", "the file's chain, not one built from the CA file");
    stop(&h);
}

Test(tls, graceful_close_sends_close_notify)
{
    srv h = start(1, false, 0);
    cli c = connect_tls(h.port, &(cli_opts){0});
    cr_assert(c.ok);
    expect_greeting(&c, "A:-\n");
    SSL_shutdown(c.ssl); /* our close_notify: the server sees a peer close */
    WAIT_FOR(n_close == 1, 2000);
    cr_assert_eq(reasons[NET_CLOSE_PEER], 1);
    cli_free(&c);
    stop(&h);
}

Test(tls, bad_cert_path_fails_server_new)
{
    char err[256] = "";
    net_server_opts o = {.workers = 1};
    net_tls_opts t = {.cert_file = pth(0, "missing.pem"), .key_file = pth(1, "srv.key")};
    cr_assert_null(net_server_new(&o, &t, err, sizeof err));
    cr_assert_neq(strstr(err, "missing.pem"), NULL, "err: %s", err);
    net_tls_opts mismatch = {.cert_file = pth(0, "srv.pem"), .key_file = pth(1, "cli.key")};
    cr_assert_null(net_server_new(&o, &mismatch, err, sizeof err), "key must match cert");
}
