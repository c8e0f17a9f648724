/*
 * ca_crl — the certificate revocation list of the root (RFC 5280 section 5).
 *
 *   field            value
 *   version          v2 (needed for extensions)
 *   issuer           the root's subject
 *   thisUpdate       @now
 *   nextUpdate       @now + @next_update_s
 *   crlNumber        @number (5.2.3: monotonically increasing, at most 20 octets)
 *   AKI              the root's SKI (5.2.1: MUST be included)
 *   entries          serial, revocationDate, reasonCode unless 0 (5.3.1: SHOULD be
 *                    absent rather than unspecified); sorted by serial
 *   signature        the root key with SHA-256
 */
#include "ca/ca.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"

/* RFC 5280 CRLReason values: 0..10 without 7, which is unused. */
static bool valid_reason(int r) { return r >= 0 && r <= 10 && r != 7; }

static int set_time(X509_CRL *crl, int64_t secs, int (*set)(X509_CRL *, const ASN1_TIME *))
{
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)secs);
    int rc = t && set(crl, t) == 1 ? 0 : -1;
    ASN1_TIME_free(t);
    return rc;
}

static ASN1_INTEGER *serial_from_hex(const char *hex)
{
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    size_t n = hex ? strnlen(hex, CA_SERIAL_HEX + 1) : 0;
    if (n == 0 || n > CA_SERIAL_HEX || hex[0] == '-' || BN_hex2bn(&bn, hex) != (int)n)
        goto out;
    ai = BN_to_ASN1_INTEGER(bn, NULL);
out:
    BN_free(bn);
    return ai;
}

static int add_reason(X509_REVOKED *rev, int reason)
{
    if (reason == 0)
        return 0;
    ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
    int rc = e && ASN1_ENUMERATED_set(e, reason) == 1 &&
                     X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e, 0, 0) == 1
                 ? 0
                 : -1;
    ASN1_ENUMERATED_free(e);
    return rc;
}

/* CA_EINVAL for a bad serial or reason, CA_EINTERNAL for OpenSSL failures. */
static int add_entry(X509_CRL *crl, const ca_revoked *r)
{
    int rc = CA_EINTERNAL;
    ASN1_INTEGER *serial = serial_from_hex(r->serial);
    ASN1_TIME *when = ASN1_TIME_set(NULL, (time_t)(r->revoked_at / 1000));
    X509_REVOKED *rev = X509_REVOKED_new();
    if (!serial || !valid_reason(r->reason)) {
        rc = CA_EINVAL;
        goto out;
    }
    if (!when || !rev || X509_REVOKED_set_serialNumber(rev, serial) != 1 ||
        X509_REVOKED_set_revocationDate(rev, when) != 1 || add_reason(rev, r->reason) < 0 ||
        X509_CRL_add0_revoked(crl, rev) != 1)
        goto out;
    rev = NULL; /* owned by the CRL */
    rc = 0;
out:
    X509_REVOKED_free(rev);
    ASN1_TIME_free(when);
    ASN1_INTEGER_free(serial);
    return rc;
}

static int add_number_and_aki(ca *c, X509_CRL *crl, uint64_t number)
{
    X509V3_CTX ctx;
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509_EXTENSION *aki = NULL;
    int rc = -1;
    if (!num || ASN1_INTEGER_set_uint64(num, number) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
        goto out;
    X509V3_set_ctx(&ctx, c->root, NULL, NULL, crl, 0);
    aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    if (aki && X509_CRL_add_ext(crl, aki, -1) == 1)
        rc = 0;
out:
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(num);
    return rc;
}

static int build(ca *c, X509_CRL *crl, const ca_revoked *list, size_t n, int64_t now,
                 uint32_t next_update_s, uint64_t number)
{
    int64_t secs = now / 1000;
    if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(c->root)) != 1 ||
        set_time(crl, secs, X509_CRL_set1_lastUpdate) < 0 ||
        set_time(crl, secs + next_update_s, X509_CRL_set1_nextUpdate) < 0)
        return CA_EINTERNAL;
    for (size_t i = 0; i < n; i++) {
        int rc = add_entry(crl, &list[i]);
        if (rc < 0)
            return rc;
    }
    if (X509_CRL_sort(crl) != 1 || add_number_and_aki(c, crl, number) < 0 ||
        X509_CRL_sign(crl, c->key, EVP_sha256()) <= 0)
        return CA_EINTERNAL;
    return 0;
}

int ca_crl_pem(ca *c, const ca_revoked *list, size_t n, int64_t now, uint32_t next_update_s,
               uint64_t number, char **out)
{
    BIO *b = NULL;
    X509_CRL *crl = X509_CRL_new();
    int rc = crl ? build(c, crl, list, n, now, next_update_s, number) : CA_EINTERNAL;
    *out = NULL;
    if (rc == 0) {
        b = BIO_new(BIO_s_mem());
        if (b && PEM_write_bio_X509_CRL(b, crl) == 1)
            *out = ca__bio_string(b);
        if (!*out)
            rc = CA_EINTERNAL;
    }
    BIO_free(b);
    X509_CRL_free(crl);
    ERR_clear_error();
    return rc;
}
