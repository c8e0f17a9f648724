/*
 * ca_open — the root pair in memory, for issuing device certificates and CRLs.
 *
 * The files are the ones ca_bootstrap wrote; they are read once, checked to belong
 * together, and never written here. Messages name the files, never their bytes.
 */
#include "ca/ca.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"

char *ca__bio_string(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        return NULL;
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

char *ca__cert_pem(X509 *x)
{
    char *s = NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (b && PEM_write_bio_X509(b, x) == 1)
        s = ca__bio_string(b);
    BIO_free(b);
    return s;
}

/* Every check that writes into the X509 (the extension cache) happens here, on one
 * thread, so the issuing calls only ever read it. */
static int check_root(const ca_paths *p, ca *c, char *err, size_t errlen)
{
    if (X509_check_private_key(c->root, c->key) != 1) {
        snprintf(err, errlen, "%s does not belong to %s", p->ca_key, p->ca_cert);
        return -1;
    }
    if (X509_check_ca(c->root) == 0) {
        snprintf(err, errlen, "%s is not a CA certificate", p->ca_cert);
        return -1;
    }
    if (!X509_get0_subject_key_id(c->root)) {
        snprintf(err, errlen, "%s has no subject key identifier", p->ca_cert);
        return -1;
    }
    return 0;
}

ca *ca_open(const ca_paths *p, char *err, size_t errlen)
{
    ca *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (ca__read_cert(p->ca_cert, &c->root, err, errlen) < 0 ||
        ca__read_key(p->ca_key, &c->key, err, errlen) < 0 || check_root(p, c, err, errlen) < 0)
        goto fail;
    c->root_pem = ca__cert_pem(c->root);
    if (!c->root_pem) {
        snprintf(err, errlen, "%s: cannot encode the certificate", p->ca_cert);
        goto fail;
    }
    ERR_clear_error();
    return c;
fail:
    ERR_clear_error();
    ca_free(c);
    return NULL;
}

void ca_free(ca *c)
{
    if (!c)
        return;
    X509_free(c->root);
    EVP_PKEY_free(c->key);
    free(c->root_pem);
    free(c);
}

const char *ca_cert_pem(const ca *c) { return c->root_pem; }
