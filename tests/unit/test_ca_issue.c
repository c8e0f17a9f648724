/*
 * Device certificates: the CSR policy (ca_csr_check), issuing from a CSR or a fresh key,
 * what the certificates contain and that they chain to the bootstrapped root as client
 * certificates. CSRs are made here with OpenSSL, the way a device or openssl req would.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"

static char tmpdir[64];
static ca_paths paths;
static ca *the_ca;
static X509 *root;
static char why[256];

static void setup(void)
{
    char err[1024];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_ca_issue_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
    cr_assert_eq(ca_bootstrap(tmpdir, &paths, err, sizeof err), 0, "%s", err);
    the_ca = ca_open(&paths, err, sizeof err);
    cr_assert(the_ca, "%s", err);
    const char *pem = ca_cert_pem(the_ca);
    BIO *b = BIO_new_mem_buf(pem, -1);
    root = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    cr_assert(root);
    why[0] = '\0';
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void teardown(void)
{
    X509_free(root);
    ca_free(the_ca);
    nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(issue, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ---------------------------------------------------------------------------- */

static EVP_PKEY *ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    cr_assert(k, "keygen %s", curve);
    return k;
}

static EVP_PKEY *rsa_key(size_t bits)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    cr_assert(k, "keygen RSA %zu", bits);
    return k;
}

static char *bio_text(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)n + 1);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

/* PEM armour around @der with @label. */
static char *pem_wrap(const char *label, const unsigned char *der, long len)
{
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert_gt(PEM_write_bio(b, label, "", der, len), 0);
    char *s = bio_text(b);
    BIO_free(b);
    return s;
}

static void add_req_ext(STACK_OF(X509_EXTENSION) * exts, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
    cr_assert(e, "extension %d", nid);
    sk_X509_EXTENSION_push(exts, e);
}

typedef struct csr_opts {
    const char *cn;  /* subject CN; NULL = empty subject */
    const char *org; /* an extra subject attribute */
    bool greedy;     /* asks for CA:TRUE, certSign and a SAN */
} csr_opts;

static X509_REQ *make_req(EVP_PKEY *k, const csr_opts *o)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_REQ_get_subject_name(req);
    cr_assert_eq(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
    if (o && o->cn)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)o->cn, -1, -1,
                                   0);
    if (o && o->org)
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)o->org, -1, -1,
                                   0);
    if (o && o->greedy) {
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        add_req_ext(exts, NID_basic_constraints, "critical,CA:TRUE");
        add_req_ext(exts, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
        add_req_ext(exts, NID_subject_alt_name, "DNS:evil.example,IP:10.0.0.1");
        add_req_ext(exts, NID_ext_key_usage, "serverAuth,codeSigning");
        cr_assert_eq(X509_REQ_add_extensions(req, exts), 1);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
    cr_assert_eq(X509_REQ_set_pubkey(req, k), 1);
    /* Ed25519 signs without a separate digest. */
    const EVP_MD *md = EVP_PKEY_is_a(k, "ED25519") ? NULL : EVP_sha256();
    cr_assert_gt(X509_REQ_sign(req, k, md), 0);
    return req;
}

static char *csr_pem_opts(EVP_PKEY *k, const csr_opts *o)
{
    X509_REQ *req = make_req(k, o);
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert_eq(PEM_write_bio_X509_REQ(b, req), 1);
    char *s = bio_text(b);
    BIO_free(b);
    X509_REQ_free(req);
    return s;
}

static char *csr_pem(EVP_PKEY *k)
{
    csr_opts o = {.cn = "from-the-csr"};
    return csr_pem_opts(k, &o);
}

static X509 *parse_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    cr_assert(x, "issued PEM parses");
    return x;
}

/* Chains @x to the root as a TLS client certificate. */
static int verify_client(X509 *x)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(store, root);
    X509_STORE_CTX_init(ctx, store, x, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    int rc = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

static bool ext_critical(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);
    cr_assert(i >= 0, "extension %d missing", nid);
    return X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
}

/* The whole device profile of ca.h, for @x issued to @id for @days. */
static void assert_device_cert(X509 *x, const ca_issued *out, const char *id, uint32_t days)
{
    char cn[128] = "";
    X509_NAME *subj = X509_get_subject_name(x);
    cr_assert_eq(X509_verify(x, X509_get0_pubkey(root)), 1, "signed by the root");
    cr_assert_eq(verify_client(x), 1, "chains as a client certificate");
    cr_assert_eq(X509_get_version(x), X509_VERSION_3);
    cr_assert_eq(X509_NAME_entry_count(subj), 1, "subject is CN only");
    X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof cn);
    cr_assert_str_eq(cn, id);
    cr_assert_eq(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(root)), 0);
    cr_assert_eq(X509_check_ca(x), 0, "CA:FALSE");
    cr_assert(ext_critical(x, NID_basic_constraints));
    cr_assert(ext_critical(x, NID_key_usage));
    cr_assert_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    cr_assert_eq(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
    cr_assert_lt(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), 0, "no SAN");
    cr_assert(X509_get0_subject_key_id(x));
    cr_assert_eq(
        ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(root)), 0,
        "AKI is the root's SKI");
    cr_assert_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);

    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    cr_assert(!BN_is_negative(bn));
    cr_assert_geq(BN_num_bits(bn), 64);
    cr_assert_leq(BN_num_bits(bn), 127);
    char *hex = BN_bn2hex(bn);
    cr_assert_eq(strcasecmp(hex + (hex[0] == '0'), out->serial), 0, "%s vs %s", hex, out->serial);
    OPENSSL_free(hex);
    BN_free(bn);
    for (const char *p = out->serial; *p; p++)
        cr_assert(strchr("0123456789abcdef", *p), "lower-case hex: %s", out->serial);
    cr_assert_neq(out->serial[0], '0');

    int d, s;
    cr_assert(ASN1_TIME_diff(&d, &s, X509_get0_notBefore(x), X509_get0_notAfter(x)));
    cr_assert_eq((int64_t)d * 86400 + s, (int64_t)days * 86400 + 3600, "validity");
    cr_assert_eq(out->not_after - out->not_before, ((int64_t)days * 86400 + 3600) * 1000);
    cr_assert(ASN1_TIME_diff(&d, &s, NULL, X509_get0_notBefore(x)));
    cr_assert(d == 0 && s <= -3590 && s >= -3700, "notBefore an hour back (%d s)", s);
    int64_t nb_ms = 0;
    struct tm tm;
    cr_assert(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm));
    nb_ms = (int64_t)timegm(&tm) * 1000;
    cr_assert_eq(nb_ms, out->not_before);
}

static void issue_and_check(EVP_PKEY *k, const char *id, uint32_t days)
{
    char *pem = csr_pem(k);
    ca_issued out;
    int rc = ca_issue_csr(the_ca, pem, strlen(pem), id, days, &out, why, sizeof why);
    cr_assert_eq(rc, 0, "issue: %d %s", rc, why);
    cr_assert_null(out.key_pem);
    X509 *x = parse_cert(out.cert_pem);
    assert_device_cert(x, &out, id, days);
    EVP_PKEY *certkey = X509_get0_pubkey(x);
    cr_assert_eq(EVP_PKEY_eq(certkey, k), 1, "the certificate carries the CSR's key");
    X509_free(x);
    ca_issued_clear(&out);
    free(pem);
}

static int check(const char *pem) { return ca_csr_check(pem, strlen(pem), NULL, why, sizeof why); }

/* ---- accepted keys ---------------------------------------------------------------------- */

Test(issue, p256_csr)
{
    EVP_PKEY *k = ec_key("P-256");
    issue_and_check(k, "sensor-1", CA_DEFAULT_DAYS);
    EVP_PKEY_free(k);
}

Test(issue, p384_csr)
{
    EVP_PKEY *k = ec_key("P-384");
    issue_and_check(k, "sensor-384", 30);
    EVP_PKEY_free(k);
}

Test(issue, rsa2048_csr)
{
    EVP_PKEY *k = rsa_key(2048);
    issue_and_check(k, "rsa device", 1);
    EVP_PKEY_free(k);
}

Test(issue, longest_id_and_longest_validity)
{
    char id[65];
    memset(id, 'x', 64);
    id[64] = '\0';
    EVP_PKEY *k = ec_key("P-256");
    issue_and_check(k, id, CA_MAX_DAYS);
    EVP_PKEY_free(k);
}

Test(issue, check_returns_the_public_key)
{
    EVP_PKEY *k = ec_key("P-256");
    char *pem = csr_pem(k);
    void *pub = (void *)1;
    cr_assert_eq(ca_csr_check(pem, strlen(pem), &pub, why, sizeof why), 0, "%s", why);
    cr_assert(pub);
    cr_assert_eq(EVP_PKEY_eq(pub, k), 1);
    EVP_PKEY_free(pub);
    /* not NUL-terminated: the length is what counts */
    char *copy = malloc(strlen(pem));
    memcpy(copy, pem, strlen(pem));
    cr_assert_eq(ca_csr_check(copy, strlen(pem), NULL, why, sizeof why), 0, "%s", why);
    free(copy);
    free(pem);
    EVP_PKEY_free(k);
}

Test(issue, legacy_new_certificate_request_label)
{
    EVP_PKEY *k = ec_key("P-256");
    X509_REQ *req = make_req(k, NULL);
    unsigned char *der = NULL;
    int n = i2d_X509_REQ(req, &der);
    char *pem = pem_wrap("NEW CERTIFICATE REQUEST", der, n);
    cr_assert_eq(check(pem), 0, "%s", why);
    OPENSSL_free(der);
    free(pem);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
}

Test(issue, text_around_the_block_is_fine)
{
    EVP_PKEY *k = ec_key("P-256");
    char *pem = csr_pem(k);
    size_t n = strlen(pem) + 64;
    char *s = malloc(n);
    snprintf(s, n, "made by openssl req\n%s\n\n", pem);
    cr_assert_eq(check(s), 0, "%s", why);
    free(s);
    free(pem);
    EVP_PKEY_free(k);
}

/* ---- refused keys ----------------------------------------------------------------------- */

static void assert_key_refused(EVP_PKEY *k, const char *want_in_why)
{
    char *pem = csr_pem(k);
    cr_assert_eq(check(pem), CA_EKEY, "%s", why);
    cr_assert(strstr(why, want_in_why), "why: %s", why);
    ca_issued out;
    cr_assert_eq(ca_issue_csr(the_ca, pem, strlen(pem), "d", 30, &out, why, sizeof why), CA_EKEY);
    cr_assert_null(out.cert_pem);
    free(pem);
    EVP_PKEY_free(k);
}

Test(issue, rsa1024_refused)
{
    assert_key_refused(rsa_key(1024), "RSA 1024-bit key: need >= 2048");
}

Test(issue, secp256k1_refused)
{
    assert_key_refused(ec_key("secp256k1"), "EC curve secp256k1 not allowed: P-256 or P-384");
}

Test(issue, p521_refused) { assert_key_refused(ec_key("P-521"), "secp521r1"); }

Test(issue, ed25519_refused)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    cr_assert(k);
    assert_key_refused(k, "ED25519 key not allowed");
}

/* ---- refused encodings and signatures ---------------------------------------------------- */

/* @pem's DER with its last byte (inside the signature) flipped, re-armoured. */
static char *tampered(EVP_PKEY *k)
{
    X509_REQ *req = make_req(k, NULL);
    unsigned char *der = NULL;
    int n = i2d_X509_REQ(req, &der);
    der[n - 1] ^= 0x55;
    char *pem = pem_wrap("CERTIFICATE REQUEST", der, n);
    OPENSSL_free(der);
    X509_REQ_free(req);
    return pem;
}

Test(issue, tampered_signature_refused)
{
    EVP_PKEY *keys[] = {ec_key("P-256"), ec_key("P-384"), rsa_key(2048)};
    for (size_t i = 0; i < 3; i++) {
        char *pem = tampered(keys[i]);
        cr_assert_eq(check(pem), CA_ESIG, "key %zu: %s", i, why);
        cr_assert_str_eq(why, "CSR signature does not verify");
        free(pem);
        EVP_PKEY_free(keys[i]);
    }
}

Test(issue, signed_by_another_key_refused)
{
    EVP_PKEY *k = ec_key("P-256"), *other = ec_key("P-256");
    X509_REQ *req = make_req(k, NULL);
    cr_assert_eq(X509_REQ_set_pubkey(req, other), 1); /* claims a key it does not hold */
    unsigned char *der = NULL;
    X509_REQ_sign(req, k, EVP_sha256());
    int n = i2d_X509_REQ(req, &der);
    char *pem = pem_wrap("CERTIFICATE REQUEST", der, n);
    cr_assert_eq(check(pem), CA_ESIG, "%s", why);
    free(pem);
    OPENSSL_free(der);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

Test(issue, garbage_refused)
{
    cr_assert_eq(check(""), CA_EFORMAT);
    cr_assert_eq(check("hello, I am a certificate request"), CA_EFORMAT);
    cr_assert(strstr(why, "no PEM block"), "%s", why);
    cr_assert_eq(check("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
                       "REQUEST-----\n"),
                 CA_EFORMAT);
    cr_assert_eq(check("-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE "
                       "REQUEST-----\n"),
                 CA_EFORMAT);
    cr_assert_eq(ca_csr_check(NULL, 0, NULL, why, sizeof why), CA_EFORMAT);
    cr_assert_eq(ca_csr_check("x", 1, NULL, NULL, 0), CA_EFORMAT, "why may be NULL");
}

Test(issue, truncated_refused)
{
    EVP_PKEY *k = ec_key("P-256");
    char *pem = csr_pem(k);
    cr_assert_eq(ca_csr_check(pem, strlen(pem) / 2, NULL, why, sizeof why), CA_EFORMAT);
    /* whole armour, half the DER */
    X509_REQ *req = make_req(k, NULL);
    unsigned char *der = NULL;
    int n = i2d_X509_REQ(req, &der);
    char *half = pem_wrap("CERTIFICATE REQUEST", der, n / 2);
    cr_assert_eq(check(half), CA_EFORMAT, "%s", why);
    /* DER followed by extra bytes */
    unsigned char *longer = malloc((size_t)n + 4);
    memcpy(longer, der, (size_t)n);
    memset(longer + n, 0, 4);
    char *trail = pem_wrap("CERTIFICATE REQUEST", longer, n + 4);
    cr_assert_eq(check(trail), CA_EFORMAT, "%s", why);
    free(trail);
    free(longer);
    free(half);
    OPENSSL_free(der);
    X509_REQ_free(req);
    free(pem);
    EVP_PKEY_free(k);
}

Test(issue, two_blocks_refused)
{
    EVP_PKEY *k = ec_key("P-256");
    char *a = csr_pem(k), *b = csr_pem(k);
    size_t n = strlen(a) + strlen(b) + 1;
    char *both = malloc(n);
    snprintf(both, n, "%s%s", a, b);
    cr_assert_eq(check(both), CA_EFORMAT);
    cr_assert(strstr(why, "2 PEM blocks"), "%s", why);
    snprintf(both, n, "%s%s", ca_cert_pem(the_ca), a);
    cr_assert_eq(check(both), CA_EFORMAT, "a certificate before the CSR");
    free(both);
    free(a);
    free(b);
    EVP_PKEY_free(k);
}

Test(issue, certificate_instead_of_csr_refused)
{
    cr_assert_eq(check(ca_cert_pem(the_ca)), CA_EFORMAT);
    cr_assert(strstr(why, "not a CERTIFICATE REQUEST"), "%s", why);
    /* a certificate's DER under a CSR label */
    unsigned char *der = NULL;
    int n = i2d_X509(root, &der);
    char *pem = pem_wrap("CERTIFICATE REQUEST", der, n);
    cr_assert_eq(check(pem), CA_EFORMAT, "%s", why);
    free(pem);
    OPENSSL_free(der);
}

Test(issue, encrypted_headers_refused)
{
    EVP_PKEY *k = ec_key("P-256");
    X509_REQ *req = make_req(k, NULL);
    unsigned char *der = NULL;
    int n = i2d_X509_REQ(req, &der);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio(b, "CERTIFICATE REQUEST", "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n",
                  der, n);
    char *pem = bio_text(b);
    cr_assert_eq(check(pem), CA_EFORMAT, "%s", why);
    free(pem);
    BIO_free(b);
    OPENSSL_free(der);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
}

Test(issue, too_big_refused)
{
    char *big = malloc(CA_CSR_MAX + 1);
    memset(big, 'A', CA_CSR_MAX + 1);
    cr_assert_eq(ca_csr_check(big, CA_CSR_MAX + 1, NULL, why, sizeof why), CA_ETOOBIG);
    cr_assert(strstr(why, "8192"), "%s", why);
    ca_issued out;
    cr_assert_eq(ca_issue_csr(the_ca, big, CA_CSR_MAX + 1, "d", 1, &out, why, sizeof why),
                 CA_ETOOBIG);
    /* a valid CSR padded with text past the limit */
    EVP_PKEY *k = ec_key("P-256");
    char *pem = csr_pem(k);
    memcpy(big, pem, strlen(pem));
    cr_assert_eq(ca_csr_check(big, CA_CSR_MAX + 1, NULL, why, sizeof why), CA_ETOOBIG);
    cr_assert_eq(ca_csr_check(big, CA_CSR_MAX, NULL, why, sizeof why), 0, "%s", why);
    free(pem);
    free(big);
    EVP_PKEY_free(k);
}

/* ---- what the CSR asks for is ignored ---------------------------------------------------- */

Test(issue, requested_extensions_and_names_ignored)
{
    EVP_PKEY *k = ec_key("P-256");
    csr_opts o = {.cn = "admin", .org = "Root Authority", .greedy = true};
    char *pem = csr_pem_opts(k, &o);
    ca_issued out;
    cr_assert_eq(ca_issue_csr(the_ca, pem, strlen(pem), "dev-7", 30, &out, why, sizeof why), 0,
                 "%s", why);
    X509 *x = parse_cert(out.cert_pem);
    assert_device_cert(x, &out, "dev-7", 30); /* CA:FALSE, CN only, no SAN, clientAuth only */
    cr_assert_eq(X509_get_ext_count(x), 5, "exactly our five extensions");
    X509_free(x);
    ca_issued_clear(&out);
    free(pem);
    EVP_PKEY_free(k);
}

Test(issue, id_with_dn_syntax_is_one_cn)
{
    EVP_PKEY *k = ec_key("P-256");
    issue_and_check(k, "a,O=evil, CN=x;\"q\"=", 7);
    EVP_PKEY_free(k);
}

/* ---- arguments --------------------------------------------------------------------------- */

Test(issue, bad_ids_and_days_refused)
{
    EVP_PKEY *k = ec_key("P-256");
    char *pem = csr_pem(k);
    char long_id[66];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    const char *bad[] = {"",          long_id,     "a/b",         "a+b", "a#b",
                         "tab\there", "new\nline", "caf\xc3\xa9", "\x7f"};
    ca_issued out;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(ca_issue_csr(the_ca, pem, strlen(pem), bad[i], 30, &out, why, sizeof why),
                     CA_EINVAL, "id #%zu", i);
        cr_assert_eq(ca_issue_keygen(the_ca, bad[i], 30, &out, why, sizeof why), CA_EINVAL);
        cr_assert_null(out.cert_pem);
        cr_assert_null(out.key_pem);
    }
    cr_assert_eq(ca_issue_csr(the_ca, pem, strlen(pem), NULL, 30, &out, why, sizeof why),
                 CA_EINVAL);
    uint32_t bad_days[] = {0, CA_MAX_DAYS + 1, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(
            ca_issue_csr(the_ca, pem, strlen(pem), "d", bad_days[i], &out, why, sizeof why),
            CA_EINVAL);
        cr_assert(strstr(why, "days"), "%s", why);
        cr_assert_eq(ca_issue_keygen(the_ca, "d", bad_days[i], &out, why, sizeof why), CA_EINVAL);
    }
    free(pem);
    EVP_PKEY_free(k);
}

/* ---- keygen ------------------------------------------------------------------------------ */

Test(issue, keygen_key_matches_certificate)
{
    ca_issued out;
    cr_assert_eq(ca_issue_keygen(the_ca, "gen-1", 90, &out, why, sizeof why), 0, "%s", why);
    cr_assert(out.key_pem);
    cr_assert_eq(strncmp(out.key_pem, "-----BEGIN PRIVATE KEY-----\n", 28), 0, "PKCS#8");
    X509 *x = parse_cert(out.cert_pem);
    assert_device_cert(x, &out, "gen-1", 90);
    BIO *b = BIO_new_mem_buf(out.key_pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    cr_assert(k);
    cr_assert_eq(X509_check_private_key(x, k), 1);
    char group[64];
    size_t glen;
    cr_assert_eq(EVP_PKEY_get_group_name(k, group, sizeof group, &glen), 1);
    cr_assert_str_eq(group, "prime256v1");
    EVP_PKEY_free(k);
    X509_free(x);

    ca_issued_clear(&out);
    ca_issued zero;
    memset(&zero, 0, sizeof zero);
    cr_assert_eq(memcmp(&out, &zero, sizeof out), 0, "struct wiped");
    ca_issued_clear(&out); /* twice is harmless */
    ca_issued_clear(NULL);
}

Test(issue, keygen_keys_are_fresh)
{
    ca_issued a, b;
    cr_assert_eq(ca_issue_keygen(the_ca, "g", 1, &a, why, sizeof why), 0);
    cr_assert_eq(ca_issue_keygen(the_ca, "g", 1, &b, why, sizeof why), 0);
    cr_assert_str_neq(a.key_pem, b.key_pem);
    cr_assert_str_neq(a.serial, b.serial);
    ca_issued_clear(&a);
    ca_issued_clear(&b);
}

/* ---- serials ----------------------------------------------------------------------------- */

Test(issue, cert_serial_matches_issued_serial)
{
    ca_issued out;
    char serial[CA_SERIAL_HEX + 1];
    cr_assert_eq(ca_issue_keygen(the_ca, "s", 1, &out, why, sizeof why), 0);
    cr_assert_eq(ca_cert_serial(out.cert_pem, strlen(out.cert_pem), serial), 0);
    cr_assert_str_eq(serial, out.serial);
    cr_assert_eq(ca_cert_serial("nope", 4, serial), CA_EFORMAT);
    cr_assert_eq(ca_cert_serial(out.cert_pem, strlen(out.cert_pem) / 2, serial), CA_EFORMAT);
    ca_issued_clear(&out);
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

#define THREADS    4
#define PER_THREAD 50

typedef struct worker {
    EVP_PKEY *key;
    char *csr;
    char serials[PER_THREAD][CA_SERIAL_HEX + 1];
    char *certs[PER_THREAD];
    int failures;
} worker;

static void *issue_many(void *arg)
{
    worker *w = arg;
    char mywhy[256];
    for (int i = 0; i < PER_THREAD; i++) {
        ca_issued out;
        char id[32];
        snprintf(id, sizeof id, "t%p-%d", arg, i);
        int rc = i % 5 == 0 ? ca_issue_keygen(the_ca, id, 10, &out, mywhy, sizeof mywhy)
                            : ca_issue_csr(the_ca, w->csr, strlen(w->csr), id, 10, &out, mywhy,
                                           sizeof mywhy);
        if (rc != 0) {
            w->failures++;
            continue;
        }
        memcpy(w->serials[i], out.serial, sizeof out.serial);
        w->certs[i] = out.cert_pem;
        out.cert_pem = NULL;
        ca_issued_clear(&out);
    }
    return NULL;
}

Test(issue, threads_issue_at_once_with_distinct_serials)
{
    static worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].key = ec_key("P-256");
        w[i].csr = csr_pem(w[i].key);
        cr_assert_eq(pthread_create(&t[i], NULL, issue_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    static char all[THREADS * PER_THREAD][CA_SERIAL_HEX + 1];
    size_t n = 0;
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(w[i].failures, 0);
        for (int j = 0; j < PER_THREAD; j++) {
            X509 *x = parse_cert(w[i].certs[j]);
            cr_assert_eq(X509_verify(x, X509_get0_pubkey(root)), 1);
            cr_assert_eq(verify_client(x), 1);
            X509_free(x);
            free(w[i].certs[j]);
            memcpy(all[n++], w[i].serials[j], CA_SERIAL_HEX + 1);
        }
        free(w[i].csr);
        EVP_PKEY_free(w[i].key);
    }
    qsort(all, n, sizeof all[0], cmp_str);
    for (size_t i = 1; i < n; i++)
        cr_assert_str_neq(all[i - 1], all[i], "serials are distinct");
}

/* ---- ca_open ----------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    char *buf = calloc(1, 65537);
    size_t n = fread(buf, 1, 65536, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(issue, root_pem_is_the_file)
{
    char *file = slurp(paths.ca_cert);
    cr_assert_str_eq(ca_cert_pem(the_ca), file);
    free(file);
}

/* No line of the key file may show up in an error message. */
static void assert_no_key_in(const char *err, const char *key_path)
{
    char *key = slurp(key_path);
    for (char *line = strtok(key, "\n"); line; line = strtok(NULL, "\n"))
        if (strlen(line) > 8 && line[0] != '-')
            cr_assert_null(strstr(err, line), "key material in: %s", err);
    cr_assert_null(strstr(err, "PRIVATE KEY-----"), "%s", err);
    free(key);
}

Test(issue, open_refuses_a_key_of_another_pair)
{
    char err[1024] = "";
    ca_paths p = paths;
    memcpy(p.ca_key, paths.server_key, sizeof p.ca_key);
    cr_assert_null(ca_open(&p, err, sizeof err));
    cr_assert(strstr(err, "does not belong"), "%s", err);
    assert_no_key_in(err, paths.server_key);
}

Test(issue, open_reports_missing_and_broken_files)
{
    char err[1024] = "";
    ca_paths p = paths;
    snprintf(p.ca_cert, sizeof p.ca_cert, "%s/none.crt", tmpdir);
    cr_assert_null(ca_open(&p, err, sizeof err));
    cr_assert(strstr(err, "none.crt"), "%s", err);

    p = paths;
    memcpy(p.ca_cert, paths.ca_key, sizeof p.ca_cert); /* the key where the cert should be */
    cr_assert_null(ca_open(&p, err, sizeof err));
    assert_no_key_in(err, paths.ca_key);

    p = paths;
    memcpy(p.ca_cert, paths.server_cert, sizeof p.ca_cert);
    memcpy(p.ca_key, paths.server_key, sizeof p.ca_key);
    cr_assert_null(ca_open(&p, err, sizeof err));
    cr_assert(strstr(err, "not a CA"), "%s", err);
    assert_no_key_in(err, paths.server_key);
    ca_free(NULL);
}
