/*
 * ca_x509 — building the two certificates the bootstrap needs.
 *
 *   field             root CA                          server
 *   subject CN        iotcloud root CA                 iotcloud server
 *   basicConstraints  critical, CA:TRUE                CA:FALSE
 *   keyUsage          critical, keyCertSign, cRLSign   critical, digitalSignature
 *   extendedKeyUsage  -                                serverAuth
 *   subjectAltName    -                                localhost, 127.0.0.1, ::1, host name
 *   key identifiers   SKI                              SKI, AKI
 *   serial            127 random bits (RFC 5280 4.1.2.2: positive, at most 20 octets)
 *   signature         ECDSA with SHA-256
 *
 * notBefore is one hour in the past so a client whose clock lags a little still accepts a
 * certificate issued a moment ago.
 */
#include "ca/ca_int.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"

#define BACKDATE_SECONDS 3600

EVP_PKEY *ca__keygen(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); }

static int set_serial(X509 *x)
{
    unsigned char b[16];
    int rc = -1;
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    if (RAND_bytes(b, sizeof b) != 1)
        goto out;
    b[0] = (b[0] & 0x7f) | 0x40; /* positive, and always the full 127 bits long */
    bn = BN_bin2bn(b, sizeof b, NULL);
    ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    if (ai && X509_set_serialNumber(x, ai) == 1)
        rc = 0;
out:
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return rc;
}

int ca__set_cn(X509_NAME *name, const char *cn)
{
    const unsigned char *v = (const unsigned char *)cn;
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, v, -1, -1, 0) == 1 ? 0 : -1;
}

/* Version, serial, validity, subject and public key: what every certificate needs. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, long days)
{
    X509 *x = X509_new();
    if (!x || X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_SECONDS) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) ||
        ca__set_cn(X509_get_subject_name(x), cn) < 0 || X509_set_pubkey(x, key) != 1) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int ca__add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int rc = e && X509_add_ext(x, e, -1) == 1 ? 0 : -1;
    X509_EXTENSION_free(e);
    return rc;
}

int ca__make_root(EVP_PKEY *key, long days, X509 **out)
{
    X509 *x = new_cert(key, "iotcloud root CA", days);
    if (!x || X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
        ca__add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        ca__add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        ca__add_ext(x, x, NID_subject_key_identifier, "hash") < 0 ||
        X509_sign(x, key, EVP_sha256()) <= 0) {
        X509_free(x);
        return -1;
    }
    *out = x;
    return 0;
}

static int push_name(GENERAL_NAMES *names, int type, ASN1_STRING *value)
{
    GENERAL_NAME *gn = value ? GENERAL_NAME_new() : NULL;
    if (!gn) {
        ASN1_STRING_free(value);
        return -1;
    }
    GENERAL_NAME_set0_value(gn, type, value);
    if (sk_GENERAL_NAME_push(names, gn) <= 0) {
        GENERAL_NAME_free(gn);
        return -1;
    }
    return 0;
}

static int push_dns(GENERAL_NAMES *names, const char *dns)
{
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    if (s && ASN1_STRING_set(s, dns, -1) != 1) {
        ASN1_IA5STRING_free(s);
        s = NULL;
    }
    return push_name(names, GEN_DNS, s);
}

/* The host name goes in only if it is a plausible DNS name; a SAN is not a place to guess. */
static bool host_name(char *buf, size_t n)
{
    if (gethostname(buf, n) < 0)
        return false;
    buf[n - 1] = '\0';
    if (buf[0] == '\0' || strcasecmp(buf, "localhost") == 0)
        return false;
    for (const char *p = buf; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.';
        if (!ok) {
            log_warn("ca: host name is not a DNS name; leaving it out of the certificate");
            return false;
        }
    }
    return true;
}

/* Built as GENERAL_NAMES rather than a "DNS:a,IP:b" string so that no host name can inject
 * extra entries through a comma. */
static int add_san(X509 *x)
{
    char host[256];
    int rc = -1;
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    if (!names || push_dns(names, "localhost") < 0 ||
        push_name(names, GEN_IPADD, a2i_IPADDRESS("127.0.0.1")) < 0 ||
        push_name(names, GEN_IPADD, a2i_IPADDRESS("::1")) < 0)
        goto out;
    if (host_name(host, sizeof host) && push_dns(names, host) < 0)
        goto out;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1)
        rc = 0;
out:
    GENERAL_NAMES_free(names);
    return rc;
}

int ca__make_server(X509 *issuer, EVP_PKEY *ca_key, EVP_PKEY *key, long days, X509 **out)
{
    X509 *x = new_cert(key, "iotcloud server", days);
    if (!x || X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1 ||
        ca__add_ext(x, issuer, NID_basic_constraints, "CA:FALSE") < 0 ||
        ca__add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") < 0 ||
        ca__add_ext(x, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
        ca__add_ext(x, issuer, NID_subject_key_identifier, "hash") < 0 ||
        ca__add_ext(x, issuer, NID_authority_key_identifier, "keyid,issuer") < 0 ||
        add_san(x) < 0 || X509_sign(x, ca_key, EVP_sha256()) <= 0) {
        X509_free(x);
        return -1;
    }
    *out = x;
    return 0;
}
