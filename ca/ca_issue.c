/*
 * ca_issue — device certificates signed by the root.
 *
 *   field             device certificate
 *   version           v3
 *   serial            128 bits from RAND_bytes, top bit cleared (RFC 5280 4.1.2.2:
 *                     positive, at most 20 octets; CA/B BR 7.1: >= 64 random bits)
 *   issuer            the root's subject
 *   subject           CN = device id, nothing else
 *   validity          now - 1 h .. now + days
 *   basicConstraints  critical, CA:FALSE
 *   keyUsage          critical, digitalSignature
 *   extendedKeyUsage  clientAuth
 *   key identifiers   SKI (hash of the key), AKI (the root's SKI)
 *   signature         the root key with SHA-256
 *
 * Nothing from a CSR but its public key is used (see ca_csr.c). Each call builds its own
 * objects and only reads the shared root, so threads may issue at the same time.
 */
#include "ca/ca.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca_int.h"

#define BACKDATE_SECONDS 3600
#define DEVICE_ID_MAX    64

/* 1..64 printable ASCII; never '/', '+' or '#', which would widen an MQTT topic policy
 * built from the id (docs/device-identity.md). */
static int check_args(const char *id, uint32_t days, char *why, size_t whylen)
{
    size_t n = id ? strnlen(id, DEVICE_ID_MAX + 1) : 0;
    if (n == 0 || n > DEVICE_ID_MAX) {
        ca__why(why, whylen, "device id must be 1..%d characters", DEVICE_ID_MAX);
        return CA_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (ch < 0x20 || ch > 0x7e || ch == '/' || ch == '+' || ch == '#') {
            ca__why(why, whylen, "device id must be printable ASCII without '/', '+' or '#'");
            return CA_EINVAL;
        }
    }
    if (days < 1 || days > CA_MAX_DAYS) {
        ca__why(why, whylen, "validity must be 1..%d days", CA_MAX_DAYS);
        return CA_EINVAL;
    }
    return 0;
}

static int set_serial(X509 *x, char out[CA_SERIAL_HEX + 1])
{
    unsigned char b[16];
    int rc = -1;
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    if (RAND_bytes(b, sizeof b) != 1)
        goto out;
    b[0] &= 0x7f; /* positive as a DER INTEGER */
    bn = BN_bin2bn(b, sizeof b, NULL);
    ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    if (ai && X509_set_serialNumber(x, ai) == 1 && ca__serial_hex(ai, out) == 0)
        rc = 0;
out:
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return rc;
}

static int set_validity(X509 *x, uint32_t days, ca_issued *out)
{
    time_t now = time(NULL);
    if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE_SECONDS, &now) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now))
        return -1;
    out->not_before = ((int64_t)now - BACKDATE_SECONDS) * 1000;
    out->not_after = ((int64_t)now + (int64_t)days * 86400) * 1000;
    return 0;
}

static X509 *build(ca *c, EVP_PKEY *pub, const char *id, uint32_t days, ca_issued *out)
{
    X509 *x = X509_new();
    if (!x || X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x, out->serial) < 0 ||
        X509_set_issuer_name(x, X509_get_subject_name(c->root)) != 1 ||
        ca__set_cn(X509_get_subject_name(x), id) < 0 || set_validity(x, days, out) < 0 ||
        X509_set_pubkey(x, pub) != 1 ||
        ca__add_ext(x, c->root, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        ca__add_ext(x, c->root, NID_key_usage, "critical,digitalSignature") < 0 ||
        ca__add_ext(x, c->root, NID_ext_key_usage, "clientAuth") < 0 ||
        ca__add_ext(x, c->root, NID_subject_key_identifier, "hash") < 0 ||
        ca__add_ext(x, c->root, NID_authority_key_identifier, "keyid:always") < 0 ||
        X509_sign(x, c->key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Signs @pub into *@out (left zeroed on failure). */
static int issue(ca *c, EVP_PKEY *pub, const char *id, uint32_t days, ca_issued *out, char *why,
                 size_t whylen)
{
    X509 *x = build(c, pub, id, days, out);
    out->cert_pem = x ? ca__cert_pem(x) : NULL;
    X509_free(x);
    ERR_clear_error();
    if (!out->cert_pem) {
        memset(out, 0, sizeof *out);
        ca__why(why, whylen, "internal error while signing the certificate");
        return CA_EINTERNAL;
    }
    return 0;
}

int ca_issue_csr(ca *c, const char *csr_pem, size_t len, const char *device_id, uint32_t days,
                 ca_issued *out, char *why, size_t whylen)
{
    void *pub = NULL;
    memset(out, 0, sizeof *out);
    int rc = check_args(device_id, days, why, whylen);
    if (rc == 0)
        rc = ca_csr_check(csr_pem, len, &pub, why, whylen);
    if (rc == 0)
        rc = issue(c, pub, device_id, days, out, why, whylen);
    EVP_PKEY_free(pub);
    return rc;
}

/* PKCS#8 PEM of @key in a secure-heap BIO, which wipes its buffer when freed. */
static char *key_pem(EVP_PKEY *key)
{
    char *s = NULL;
    BIO *b = BIO_new(BIO_s_secmem());
    if (b && PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1)
        s = ca__bio_string(b);
    BIO_free(b);
    return s;
}

int ca_issue_keygen(ca *c, const char *device_id, uint32_t days, ca_issued *out, char *why,
                    size_t whylen)
{
    EVP_PKEY *key = NULL;
    memset(out, 0, sizeof *out);
    int rc = check_args(device_id, days, why, whylen);
    if (rc < 0)
        return rc;
    key = ca__keygen();
    if (!key) {
        ERR_clear_error();
        ca__why(why, whylen, "internal error while generating a key");
        return CA_EINTERNAL;
    }
    rc = issue(c, key, device_id, days, out, why, whylen);
    if (rc == 0 && !(out->key_pem = key_pem(key))) {
        ca_issued_clear(out);
        ca__why(why, whylen, "internal error while encoding the key");
        rc = CA_EINTERNAL;
    }
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

void ca_issued_clear(ca_issued *x)
{
    if (!x)
        return;
    if (x->key_pem) {
        OPENSSL_cleanse(x->key_pem, strlen(x->key_pem));
        free(x->key_pem);
    }
    free(x->cert_pem);
    memset(x, 0, sizeof *x);
}
