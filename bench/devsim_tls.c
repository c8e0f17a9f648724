/* devsim: the client TLS engine. OpenSSL never sees the socket: received ciphertext is
 * written into rbio, SSL_read/SSL_write run over it, and whatever lands in wbio is sent
 * by devsim_conn.c. Like the server's engine (net/tls.c), only the client side. */
#include "bench/devsim.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

static const unsigned char alpn_mqtt[] = "\x04mqtt";

SSL_CTX *devsim__tls_ctx(const char *cafile)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* idle devices do not keep 2 x 16 KiB of record buffers each */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* returns 0 on success, unlike the rest of OpenSSL */
    if (SSL_CTX_set_alpn_protos(ctx, alpn_mqtt, sizeof alpn_mqtt - 1) != 0)
        goto fail;
    if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
        fprintf(stderr, "devsim: cannot load CA file %s\n", cafile);
        goto fail;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
fail:
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(ctx);
    return NULL;
}

/* The server certificate must name the host we dialled: an IP SAN for a numeric host,
 * a DNS name (and SNI) otherwise. */
static int set_peer_name(SSL *ssl, const char *host)
{
    unsigned char tmp[16];

    if (inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
    if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
        return -1;
    return 0;
}

int devsim__tls_start(devsim_dev *d)
{
    devsim *sim = d->sim;

    d->ssl = SSL_new(sim->ctx);
    d->rbio = BIO_new(BIO_s_mem());
    d->wbio = BIO_new(BIO_s_mem());
    if (!d->ssl || !d->rbio || !d->wbio)
        goto fail;
    /* an empty memory BIO means "try again later", not end of file */
    BIO_set_mem_eof_return(d->rbio, -1);
    BIO_set_mem_eof_return(d->wbio, -1);
    SSL_set_bio(d->ssl, d->rbio, d->wbio); /* the SSL owns both from here */
    if (set_peer_name(d->ssl, sim->o.host) < 0)
        goto fail_ssl;
    if (d->cert &&
        (SSL_use_certificate(d->ssl, d->cert) != 1 || SSL_use_PrivateKey(d->ssl, d->key) != 1))
        goto fail_ssl;
    SSL_set_connect_state(d->ssl);
    return 0;
fail:
    BIO_free(d->rbio);
    BIO_free(d->wbio);
fail_ssl:
    SSL_free(d->ssl);
    d->ssl = NULL;
    d->rbio = d->wbio = NULL;
    ERR_clear_error();
    return UV_ENOMEM;
}

void devsim__tls_free(devsim_dev *d)
{
    SSL_free(d->ssl); /* frees rbio and wbio */
    d->ssl = NULL;
    d->rbio = d->wbio = NULL;
}
