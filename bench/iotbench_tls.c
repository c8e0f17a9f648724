/* iotbench_tls: client TLS over memory BIOs. See iotbench_tls.h for the contract. */
#include "bench/iotbench_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

struct iotbench_tls {
    SSL *ssl;
    BIO *rbio; /* ciphertext in; owned by ssl */
    BIO *wbio; /* ciphertext out; owned by ssl */
};

/* The certificate must name the host we dialled: IP SAN for a numeric host. */
static int set_peer_name(SSL_CTX *ctx, const char *host)
{
    unsigned char tmp[16];

    if (inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), host) == 1 ? 0 : -1;
    return X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx), host, 0) == 1 ? 0 : -1;
}

static int set_alpn(SSL_CTX *ctx, const char *alpn)
{
    unsigned char wire[256];
    size_t n = strlen(alpn);

    if (n == 0 || n > 255)
        return -1;
    wire[0] = (unsigned char)n; /* one protocol, length-prefixed (RFC 7301 3.1) */
    memcpy(wire + 1, alpn, n);
    /* returns 0 on success, unlike the rest of OpenSSL */
    return SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)n + 1) == 0 ? 0 : -1;
}

SSL_CTX *iotbench_tls_ctx(const char *cafile, const char *host, const char *alpn)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (alpn && set_alpn(ctx, alpn) < 0) {
        fprintf(stderr, "iotbench: bad ALPN protocol %s\n", alpn);
        goto fail;
    }
    if (cafile) {
        if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1 || set_peer_name(ctx, host) < 0) {
            fprintf(stderr, "iotbench: cannot load CA %s\n", cafile);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
fail:
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(ctx);
    return NULL;
}

iotbench_tls *iotbench_tls_new(SSL_CTX *ctx)
{
    iotbench_tls *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return NULL;
    }
    /* an empty memory BIO means "try again later", not end of file */
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* the SSL owns both from here */
    SSL_set_connect_state(t->ssl);
    return t;
}

void iotbench_tls_free(iotbench_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl); /* frees both BIOs */
    free(t);
}

int iotbench_tls_feed(iotbench_tls *t, const void *p, size_t n)
{
    return n == 0 || BIO_write(t->rbio, p, (int)n) == (int)n ? 0 : -1;
}

static void print_failure(iotbench_tls *t, int sslerr)
{
    long v = SSL_get_verify_result(t->ssl);
    unsigned long e = ERR_peek_error();

    if (v != X509_V_OK)
        fprintf(stderr, "iotbench: TLS: certificate: %s\n", X509_verify_cert_error_string(v));
    else if (e)
        fprintf(stderr, "iotbench: TLS: %s\n", ERR_reason_error_string(e));
    else
        fprintf(stderr, "iotbench: TLS: handshake failed (SSL error %d)\n", sslerr);
    ERR_clear_error();
}

int iotbench_tls_handshake(iotbench_tls *t)
{
    int rc = SSL_do_handshake(t->ssl);
    int e;

    if (rc == 1)
        return 1;
    e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    print_failure(t, e);
    return -1;
}

long iotbench_tls_read(iotbench_tls *t, void *out, size_t cap)
{
    int n = SSL_read(t->ssl, out, cap > 0x40000000 ? 0x40000000 : (int)cap);

    if (n > 0)
        return n;
    switch (SSL_get_error(t->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    default:
        ERR_clear_error();
        return -1; /* close_notify or a broken record */
    }
}

int iotbench_tls_write(iotbench_tls *t, const void *p, size_t n)
{
    /* The memory BIO takes everything: without partial writes SSL_write is all or error. */
    if (n == 0 || SSL_write(t->ssl, p, (int)n) == (int)n)
        return 0;
    ERR_clear_error();
    return -1;
}

size_t iotbench_tls_pending(const iotbench_tls *t) { return BIO_ctrl_pending(t->wbio); }

size_t iotbench_tls_take(iotbench_tls *t, void *out, size_t cap)
{
    int n = BIO_read(t->wbio, out, cap > 0x40000000 ? 0x40000000 : (int)cap);

    return n > 0 ? (size_t)n : 0;
}
