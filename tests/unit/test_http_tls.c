/*
 * http over TLS: the same http_proto behind a TLS listener (ALPN "http/1.1"); a
 * throwaway certificate made with the openssl CLI, as in test_tls.c.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tests/unit/http_test_srv.h"

static char dir[64];
static char cert[128], key[128];

static void make_cert(void)
{
    snprintf(dir, sizeof dir, "/tmp/http_tls_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cd %s && exec >/dev/null 2>&1 && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.pem -days 2 "
             "-subj /CN=localhost",
             dir);
    cr_assert_eq(system(cmd), 0, "openssl CLI failed");
    snprintf(cert, sizeof cert, "%s/srv.pem", dir);
    snprintf(key, sizeof key, "%s/srv.key", dir);
}

static void rm_cert(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

TestSuite(http_tls, .init = make_cert, .fini = rm_cert);

static void h_hello(http_req *r) { http_respond_raw(r, 200, "text/plain", "hello tls", 9); }

static const http_route routes[] = {{HTTP_GET, "/hello", h_hello, HTTP_AUTH_NONE}};

/* Reads until @want bytes or EOF. */
static size_t tls_read(SSL *ssl, char *out, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        int r = SSL_read(ssl, out + n, (int)(cap - 1 - n));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    return n;
}

Test(http_tls, keep_alive_then_close_over_tls)
{
    net_tls_opts t = {.cert_file = cert, .key_file = key};
    http_opts o = {.no_access_log = true};
    hsrv h = hsrv_start(&o, routes, 1, &t);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    cr_assert_eq(SSL_CTX_load_verify_locations(ctx, cert, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL *ssl = SSL_new(ctx);
    SSL_set1_host(ssl, "localhost");
    SSL_set_alpn_protos(ssl, (const unsigned char *)"\x08http/1.1", 9);
    int fd = hdial(h.port);
    SSL_set_fd(ssl, fd);
    cr_assert_eq(SSL_connect(ssl), 1, "handshake: %s", ERR_reason_error_string(ERR_peek_error()));
    const unsigned char *alpn = NULL;
    unsigned alen = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alen);
    cr_assert_eq(alen, 8);
    cr_assert_arr_eq(alpn, "http/1.1", 8);
    static const char req[] = "GET /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n"
                              "Connection: close\r\n\r\n";
    cr_assert_eq(SSL_write(ssl, req, sizeof req - 1), (int)sizeof req - 1);
    char out[2048];
    tls_read(ssl, out, sizeof out); /* to EOF: the second request closes */
    const char *first = strstr(out, "hello tls");
    cr_assert_not_null(first, "%s", out);
    cr_assert_not_null(strstr(first + 9, "Connection: close\r\n"));
    cr_assert_not_null(strstr(first + 9, "hello tls"), "two answers on one TLS connection");
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    hsrv_stop(&h);
}
