/*
 * TLS engine: OpenSSL 3 server sessions driven entirely from memory.
 *
 * One small custom BIO serves both directions. Input: it reads straight out of the bytes
 * handed to net__tls_feed (the loop's shared read buffer), so an idle connection keeps no
 * input buffer. Output: it appends ciphertext to a heap area that net__tls_out_clear frees
 * once the transport took it, so an idle connection keeps no output buffer either. One
 * BIO instead of a custom one plus a memory BIO saves a BIO, its lock and its BUF_MEM
 * (about 700 bytes of RSS per connection, measured; see docs/benchmarks.md).
 */
#include "net/tls.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include "net/net.h"

/* TLS 1.2: forward secrecy and AEAD only. TLS 1.3 suites are all acceptable. */
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define SESSION_ID_CTX "iotcloud"
/* First size of the output area: a handshake flight with a short chain fits. */
#define OUT_MIN 2048
/* Cap on ciphertext waiting in one engine; the transport's max_output limits far below. */
#define OUT_MAX ((size_t)INT_MAX)

/* Refcounted: the server and each loop hold one reference to the context new connections
 * use, and every session holds one to the context it was made from, so a reload can swap
 * the loops' context while the old one lives on for the connections that use it. */
struct net_tls_ctx {
    SSL_CTX *ctx;
    atomic_uint refs;
    bool (*revoked)(void *arg, const void *x509);
    void *revoked_arg;
};

struct net_tls {
    SSL *ssl;
    net_tls_ctx *x; /* one reference, dropped in net__tls_free */
    const net_tls_alpn *alpn;
    const uint8_t *in;
    size_t in_len;
    uint8_t *out; /* ciphertext to send, NULL when none; out_len <= out_cap */
    size_t out_len, out_cap;
    int alpn_index;
};

/* Client ALPN ids that name one of our protocols under another id. AWS IoT devices
 * send "x-amzn-mqtt-ca" for MQTT over port 443. */
static const struct {
    const char *client;
    const char *server;
} alpn_aliases[] = {
    {"x-amzn-mqtt-ca", "mqtt"},
};

static BIO_METHOD *io_method;
static uv_once_t io_method_once = UV_ONCE_INIT;

static int io_read(BIO *b, char *out, int len)
{
    net_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (t->in_len == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = (size_t)len < t->in_len ? (size_t)len : t->in_len;
    memcpy(out, t->in, n);
    t->in += n;
    t->in_len -= n;
    return (int)n;
}

/* Appends to the output area; a memory BIO never refuses a write, nor does this one
 * short of OOM, so SSL_write never has to be retried. */
static int io_write(BIO *b, const char *p, int len)
{
    net_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    size_t need = t->out_len + (size_t)len;
    if (need > OUT_MAX)
        return -1;
    if (need > t->out_cap) {
        size_t cap = t->out_cap ? t->out_cap * 2 : OUT_MIN;
        if (cap < need)
            cap = need;
        uint8_t *a = realloc(t->out, cap);
        if (!a)
            return -1;
        t->out = a;
        t->out_cap = cap;
    }
    memcpy(t->out + t->out_len, p, (size_t)len);
    t->out_len = need;
    return len;
}

static long io_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    net_tls *t = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_PENDING:
        return t ? (long)t->in_len : 0;
    case BIO_CTRL_WPENDING:
        return t ? (long)t->out_len : 0;
    case BIO_CTRL_FLUSH:
        return 1;
    default:
        return 0;
    }
}

static int io_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void io_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "net_io");
    if (!m)
        return;
    BIO_meth_set_read(m, io_read);
    BIO_meth_set_write(m, io_write);
    BIO_meth_set_ctrl(m, io_ctrl);
    BIO_meth_set_create(m, io_create);
    io_method = m;
}

/* Does the client's id @p/@n name our protocol @ours, directly or through an alias? */
static int alpn_match(const char *ours, const unsigned char *p, size_t n)
{
    if (strlen(ours) == n && memcmp(ours, p, n) == 0)
        return 1;
    for (size_t i = 0; i < sizeof alpn_aliases / sizeof alpn_aliases[0]; i++) {
        const char *c = alpn_aliases[i].client;
        if (strlen(c) == n && memcmp(c, p, n) == 0 && strcmp(alpn_aliases[i].server, ours) == 0)
            return 1;
    }
    return 0;
}

/* Server preference: the first protocol of the listener's table that the client offers.
 * Returning ALERT_FATAL makes OpenSSL send no_application_protocol (RFC 7301 3.2). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    net_tls *t = SSL_get_app_data(ssl);
    for (size_t i = 0; i < t->alpn->n; i++) {
        for (unsigned off = 0; off < inlen;) {
            unsigned n = in[off];
            if (n == 0 || off + 1 + n > inlen)
                break; /* malformed list: stop looking */
            if (alpn_match(t->alpn->names[i], in + off + 1, n)) {
                *out = in + off + 1;
                *outlen = (unsigned char)n;
                t->alpn_index = (int)i;
                return SSL_TLSEXT_ERR_OK;
            }
            off += 1 + n;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
    char e[160];
    ERR_error_string_n(ERR_get_error(), e, sizeof e);
    snprintf(err, errlen, "%s %s: %s", what, file ? file : "", e);
    ERR_clear_error();
}

static int ctx_policy(SSL_CTX *ctx, char *err, size_t errlen)
{
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
        ssl_err(err, errlen, "tls policy", NULL);
        return -1;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* Stateless tickets carry the session, so no server-side cache grows with clients. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)SESSION_ID_CTX,
                                   sizeof SESSION_ID_CTX - 1);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    return 0;
}

/* OpenSSL's chain verification, plus the revocation list for the client certificate
 * itself (depth 0): a revoked certificate fails the handshake with certificate_revoked. */
static int verify_peer(int ok, X509_STORE_CTX *sx)
{
    if (!ok || X509_STORE_CTX_get_error_depth(sx) != 0)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(sx, SSL_get_ex_data_X509_STORE_CTX_idx());
    net_tls_ctx *x = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(sx);
    if (x && x->revoked && cert && x->revoked(x->revoked_arg, cert)) {
        X509_STORE_CTX_set_error(sx, X509_V_ERR_CERT_REVOKED);
        return 0;
    }
    return 1;
}

/* The chain sent after our certificate, settled once per context. A certificate file
 * without intermediates leaves it unset, and OpenSSL then builds it from the verify store
 * (our CA) in every handshake: an X509_verify_cert, signature check included, per
 * connection. Here it is built once (a failed build sends the leaf alone, as the
 * per-handshake build did) and kept as the context's extra certificates, which each SSL
 * shares, where a certificate's own chain would be copied into every SSL object. */
static int ctx_chain(SSL_CTX *ctx, char *err, size_t errlen)
{
    STACK_OF(X509) *chain = NULL;
    if ((SSL_CTX_get0_chain_certs(ctx, &chain) != 1 || !chain) &&
        SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
                                          SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR) <= 0)
        goto fail;
    if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1)
        goto fail;
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        if (!X509_up_ref(x))
            goto fail;
        if (!SSL_CTX_add_extra_chain_cert(ctx, x)) {
            X509_free(x);
            goto fail;
        }
    }
    SSL_CTX_clear_chain_certs(ctx);
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    return 0;
fail:
    ssl_err(err, errlen, "tls chain", NULL);
    return -1;
}

static int ctx_certs(SSL_CTX *ctx, const net_tls_opts *o, char *err, size_t errlen)
{
    if (!o->cert_file || !o->key_file) {
        snprintf(err, errlen, "tls: cert_file and key_file are required");
        return -1;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
        ssl_err(err, errlen, "tls cert", o->cert_file);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err(err, errlen, "tls key", o->key_file);
        return -1;
    }
    if (!o->ca_file)
        return ctx_chain(ctx, err, errlen);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_file);
    if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1 || !names) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        ssl_err(err, errlen, "tls ca", o->ca_file);
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    /* Certificates are optional (password logins exist), but a presented certificate
     * must verify: without FAIL_IF_NO_PEER_CERT only a missing one is tolerated. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_peer);
    return ctx_chain(ctx, err, errlen);
}

net_tls_ctx *net__tls_ctx_new(const net_tls_opts *o, char *err, size_t errlen)
{
    net_tls_ctx *x = NULL;
    uv_once(&io_method_once, io_method_init);
    if (!io_method) {
        snprintf(err, errlen, "tls: BIO method allocation failed");
        return NULL;
    }
    x = calloc(1, sizeof *x);
    if (!x || !(x->ctx = SSL_CTX_new(TLS_server_method()))) {
        snprintf(err, errlen, "tls: out of memory");
        goto fail;
    }
    atomic_init(&x->refs, 1);
    x->revoked = o->revoked;
    x->revoked_arg = o->revoked_arg;
    SSL_CTX_set_app_data(x->ctx, x);
    if (ctx_policy(x->ctx, err, errlen) < 0 || ctx_certs(x->ctx, o, err, errlen) < 0)
        goto fail;
    return x;
fail:
    net__tls_ctx_free(x);
    return NULL;
}

net_tls_ctx *net__tls_ctx_ref(net_tls_ctx *x)
{
    if (x)
        atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
    return x;
}

void net__tls_ctx_free(net_tls_ctx *x)
{
    if (!x || atomic_fetch_sub_explicit(&x->refs, 1, memory_order_acq_rel) != 1)
        return;
    SSL_CTX_free(x->ctx);
    free(x);
}

net_tls *net__tls_new(net_tls_ctx *x, const net_tls_alpn *alpn)
{
    net_tls *t = calloc(1, sizeof *t);
    BIO *io = NULL;
    if (!t)
        return NULL;
    t->alpn = alpn;
    t->alpn_index = -1;
    t->x = net__tls_ctx_ref(x);
    t->ssl = SSL_new(x->ctx);
    io = BIO_new(io_method);
    if (!t->ssl || !io)
        goto fail;
    BIO_set_data(io, t);
    SSL_set_bio(t->ssl, io, io); /* one reference, owned by the SSL from here */
    SSL_set_app_data(t->ssl, t);
    SSL_set_accept_state(t->ssl);
    return t;
fail:
    BIO_free(io);
    SSL_free(t->ssl);
    net__tls_ctx_free(t->x);
    free(t);
    ERR_clear_error();
    return NULL;
}

void net__tls_free(net_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    net__tls_ctx_free(t->x);
    free(t->out);
    free(t);
}

void net__tls_feed(net_tls *t, const uint8_t *p, size_t n)
{
    t->in = p;
    t->in_len = n;
}

static int map_error(net_tls *t, int r)
{
    int e = SSL_get_error(t->ssl, r);
    ERR_clear_error(); /* the error queue is per thread and shared by all connections */
    if (e == SSL_ERROR_WANT_READ)
        return NET_TLS_WANT;
    if (e == SSL_ERROR_ZERO_RETURN)
        return NET_TLS_EOF;
    return NET_TLS_ERR;
}

int net__tls_handshake(net_tls *t)
{
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    return r == 1 ? 1 : map_error(t, r);
}

bool net__tls_resumed(const net_tls *t) { return SSL_session_reused(t->ssl) == 1; }

long net__tls_read(net_tls *t, uint8_t *out, size_t cap)
{
    ERR_clear_error();
    int r = SSL_read(t->ssl, out, cap > INT_MAX ? INT_MAX : (int)cap);
    return r > 0 ? r : map_error(t, r);
}

int net__tls_write(net_tls *t, const uint8_t *p, size_t n)
{
    while (n > 0) {
        int chunk = n > 16384 ? 16384 : (int)n;
        ERR_clear_error();
        int r = SSL_write(t->ssl, p, chunk);
        if (r <= 0) {
            (void)map_error(t, r); /* a memory BIO never asks to retry a write */
            return NET_TLS_ERR;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void net__tls_shutdown(net_tls *t)
{
    ERR_clear_error();
    if (SSL_is_init_finished(t->ssl))
        SSL_shutdown(t->ssl);
    ERR_clear_error();
}

size_t net__tls_out(net_tls *t, const uint8_t **p)
{
    *p = t->out;
    return t->out_len;
}

/* Freed rather than kept: most connections are idle between short bursts, and one
 * malloc per flush is small next to the encryption that filled the area. */
void net__tls_out_clear(net_tls *t)
{
    free(t->out);
    t->out = NULL;
    t->out_len = t->out_cap = 0;
}

int net__tls_alpn_index(net_tls *t) { return t->alpn_index; }

bool net__tls_peer_revoked(net_tls *t)
{
    net_tls_ctx *x = SSL_CTX_get_app_data(SSL_get_SSL_CTX(t->ssl));
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    return cert && x && x->revoked && x->revoked(x->revoked_arg, cert);
}

char *net__tls_peer_cn(net_tls *t)
{
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (!cert || SSL_get_verify_result(t->ssl) != X509_V_OK)
        return NULL;
    X509_NAME *nm = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (i < 0)
        return NULL;
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)));
    char *cn = NULL;
    /* An embedded NUL would let "admin\0.evil" pass as "admin" in C string compares. */
    if (n > 0 && !memchr(u, 0, (size_t)n) && (cn = malloc((size_t)n + 1))) {
        memcpy(cn, u, (size_t)n);
        cn[n] = '\0';
    }
    OPENSSL_free(u);
    ERR_clear_error();
    return cn;
}

const char *net__tls_version(net_tls *t) { return SSL_get_version(t->ssl); }
