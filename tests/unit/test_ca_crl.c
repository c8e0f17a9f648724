/*
 * The root's CRL: signature, v2 fields, entries with reasons, and that a chain check with
 * CRL checking on refuses exactly the revoked device certificates.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"

static char tmpdir[64];
static ca_paths paths;
static ca *the_ca;
static X509 *root;

static void setup(void)
{
    char err[1024];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_ca_crl_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
    cr_assert_eq(ca_bootstrap(tmpdir, &paths, err, sizeof err), 0, "%s", err);
    the_ca = ca_open(&paths, err, sizeof err);
    cr_assert(the_ca, "%s", err);
    BIO *b = BIO_new_mem_buf(ca_cert_pem(the_ca), -1);
    root = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    cr_assert(root);
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

TestSuite(crl, .init = setup, .fini = teardown, .timeout = 60);

static X509_CRL *parse_crl(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_CRL *crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
    BIO_free(b);
    cr_assert(crl, "CRL PEM parses");
    return crl;
}

static X509 *parse_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    cr_assert(x);
    return x;
}

static X509 *issue(ca_issued *out)
{
    char why[256];
    cr_assert_eq(ca_issue_keygen(the_ca, "dev", 30, out, why, sizeof why), 0, "%s", why);
    return parse_cert(out->cert_pem);
}

static int64_t time_of(const ASN1_TIME *t)
{
    struct tm tm;
    cr_assert(ASN1_TIME_to_tm(t, &tm));
    return (int64_t)timegm(&tm);
}

/* The entry of @crl for @serial (lower-case hex), or NULL. */
static X509_REVOKED *entry(X509_CRL *crl, const char *serial)
{
    BIGNUM *bn = NULL;
    cr_assert(BN_hex2bn(&bn, serial) > 0);
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    X509_REVOKED *rev = NULL;
    int found = X509_CRL_get0_by_serial(crl, &rev, ai);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return found == 1 ? rev : NULL;
}

/* The reasonCode of @rev, or -1 when the extension is absent. */
static int reason_of(X509_REVOKED *rev)
{
    int crit;
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
    if (!e)
        return -1;
    int r = (int)ASN1_ENUMERATED_get(e);
    ASN1_ENUMERATED_free(e);
    return r;
}

/* X509_verify_cert of @x with @crl and CRL checking on (what a TLS peer with the CRL does). */
static int verify_with_crl(X509 *x, X509_CRL *crl)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, root);
    X509_STORE_add_crl(store, crl);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, x, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    int rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

Test(crl, lists_revoked_serials_with_reasons_and_verifies)
{
    ca_issued a, b, c;
    X509 *xa = issue(&a), *xb = issue(&b), *xc = issue(&c);
    int64_t now = (int64_t)time(NULL) * 1000;
    ca_revoked list[] = {
        {a.serial, now - 5000, 1},  /* keyCompromise */
        {b.serial, now - 60000, 0}, /* unspecified: no reasonCode */
        {"00ABCDEF0123", now - 1000, 5},
    };
    char *pem = NULL;
    cr_assert_eq(ca_crl_pem(the_ca, list, 3, now, 86400, (uint64_t)now, &pem), 0);
    cr_assert(pem);
    cr_assert_eq(strncmp(pem, "-----BEGIN X509 CRL-----\n", 25), 0);
    X509_CRL *crl = parse_crl(pem);

    cr_assert_eq(X509_CRL_verify(crl, X509_get0_pubkey(root)), 1, "signed by the root");
    cr_assert_eq(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
    cr_assert_eq(X509_CRL_get_signature_nid(crl), NID_ecdsa_with_SHA256);
    cr_assert_eq(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(root)), 0);
    cr_assert_eq(time_of(X509_CRL_get0_lastUpdate(crl)), now / 1000);
    cr_assert_eq(time_of(X509_CRL_get0_nextUpdate(crl)), now / 1000 + 86400);

    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    uint64_t got;
    cr_assert(num);
    cr_assert_eq(ASN1_INTEGER_get_uint64(&got, num), 1);
    cr_assert_eq(got, (uint64_t)now);
    ASN1_INTEGER_free(num);
    AUTHORITY_KEYID *aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    cr_assert(aki && aki->keyid);
    cr_assert_eq(ASN1_OCTET_STRING_cmp(aki->keyid, X509_get0_subject_key_id(root)), 0);
    AUTHORITY_KEYID_free(aki);

    cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
    X509_REVOKED *ra = entry(crl, a.serial), *rb = entry(crl, b.serial),
                 *rx = entry(crl, "abcdef0123");
    cr_assert(ra && rb && rx);
    cr_assert_null(entry(crl, c.serial));
    cr_assert_eq(reason_of(ra), 1);
    cr_assert_eq(reason_of(rb), -1, "reason 0 is left out");
    cr_assert_eq(reason_of(rx), 5);
    cr_assert_eq(time_of(X509_REVOKED_get0_revocationDate(ra)), (now - 5000) / 1000);
    cr_assert_eq(time_of(X509_REVOKED_get0_revocationDate(rb)), (now - 60000) / 1000);

    cr_assert_eq(verify_with_crl(xa, crl), X509_V_ERR_CERT_REVOKED);
    cr_assert_eq(verify_with_crl(xb, crl), X509_V_ERR_CERT_REVOKED);
    cr_assert_eq(verify_with_crl(xc, crl), X509_V_OK, "not revoked: still good");

    X509_CRL_free(crl);
    free(pem);
    X509_free(xa);
    X509_free(xb);
    X509_free(xc);
    ca_issued_clear(&a);
    ca_issued_clear(&b);
    ca_issued_clear(&c);
}

Test(crl, empty_list_is_a_valid_crl)
{
    ca_issued a;
    X509 *xa = issue(&a);
    int64_t now = (int64_t)time(NULL) * 1000;
    char *pem = NULL;
    cr_assert_eq(ca_crl_pem(the_ca, NULL, 0, now, 3600, UINT64_MAX, &pem), 0);
    X509_CRL *crl = parse_crl(pem);
    cr_assert_eq(X509_CRL_verify(crl, X509_get0_pubkey(root)), 1);
    cr_assert_null(X509_CRL_get_REVOKED(crl), "no revokedCertificates");
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    uint64_t got;
    cr_assert_eq(ASN1_INTEGER_get_uint64(&got, num), 1);
    cr_assert_eq(got, UINT64_MAX);
    ASN1_INTEGER_free(num);
    cr_assert_eq(verify_with_crl(xa, crl), X509_V_OK);
    X509_CRL_free(crl);
    free(pem);
    X509_free(xa);
    ca_issued_clear(&a);
}

Test(crl, entries_are_sorted_by_serial)
{
    int64_t now = (int64_t)time(NULL) * 1000;
    ca_revoked list[] = {{"ff", now, 0}, {"1", now, 0}, {"7a", now, 4}};
    char *pem = NULL;
    cr_assert_eq(ca_crl_pem(the_ca, list, 3, now, 60, 1, &pem), 0);
    X509_CRL *crl = parse_crl(pem);
    STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
    long want[] = {1, 0x7a, 0xff};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(
            ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revs, i))),
            want[i]);
    cr_assert_eq(X509_CRL_verify(crl, X509_get0_pubkey(root)), 1);
    X509_CRL_free(crl);
    free(pem);
}

Test(crl, bad_serials_and_reasons_refused)
{
    int64_t now = (int64_t)time(NULL) * 1000;
    const char *bad_serials[] = {
        "", "xyz", "0x12", "-5", "12 34", "0123456789abcdef0123456789abcdef012345678", NULL};
    for (size_t i = 0; i < sizeof bad_serials / sizeof bad_serials[0]; i++) {
        ca_revoked r = {bad_serials[i], now, 0};
        char *pem = (char *)1;
        cr_assert_eq(ca_crl_pem(the_ca, &r, 1, now, 60, 1, &pem), CA_EINVAL, "serial #%zu", i);
        cr_assert_null(pem);
    }
    int bad_reasons[] = {-1, 7, 11, 1000};
    for (size_t i = 0; i < 4; i++) {
        ca_revoked r = {"abc", now, bad_reasons[i]};
        char *pem = (char *)1;
        cr_assert_eq(ca_crl_pem(the_ca, &r, 1, now, 60, 1, &pem), CA_EINVAL);
        cr_assert_null(pem);
    }
    /* the longest serial is fine, as is every defined reason */
    ca_revoked ok[] = {{"7fffffffffffffffffffffffffffffffffffffff", now, 10}, {"1", now, 6}};
    char *pem = NULL;
    cr_assert_eq(ca_crl_pem(the_ca, ok, 2, now, 60, 1, &pem), 0);
    free(pem);
}
