/*
 * The revoked-serial set: normalisation, X509 lookups, growth and concurrent use.
 */
#include <criterion/criterion.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ca/ca.h"
#include "ca/revset.h"

static revset *rs;

static void setup(void)
{
    rs = revset_new();
    cr_assert(rs);
}

static void teardown(void) { revset_free(rs); }

TestSuite(revset, .init = setup, .fini = teardown, .timeout = 60);

Test(revset, add_and_has)
{
    cr_assert_eq(revset_count(rs), 0);
    cr_assert_not(revset_has(rs, "abc"));
    cr_assert_eq(revset_add(rs, "abc"), 0);
    cr_assert(revset_has(rs, "abc"));
    cr_assert_not(revset_has(rs, "abd"));
    cr_assert_not(revset_has(rs, "ab"));
    cr_assert_not(revset_has(rs, "abc0"));
    cr_assert_eq(revset_count(rs), 1);
}

Test(revset, normalises_case_and_leading_zeros)
{
    cr_assert_eq(revset_add(rs, "00AbCdEf"), 0);
    cr_assert(revset_has(rs, "abcdef"));
    cr_assert(revset_has(rs, "ABCDEF"));
    cr_assert(revset_has(rs, "0000abcdef"));
    cr_assert_eq(revset_add(rs, "abcdef"), 0, "adding again is fine");
    cr_assert_eq(revset_add(rs, "0ABCDEF"), 0);
    cr_assert_eq(revset_count(rs), 1, "one serial, however written");
    cr_assert_eq(revset_add(rs, "000"), 0);
    cr_assert(revset_has(rs, "0"));
    cr_assert_eq(revset_count(rs), 2);
}

Test(revset, bad_serials_refused)
{
    char too_long[CA_SERIAL_HEX + 2];
    memset(too_long, 'f', CA_SERIAL_HEX + 1);
    too_long[CA_SERIAL_HEX + 1] = '\0';
    const char *bad[] = {"", "xyz", "0x12", "12 34", "-1", "abc\n", too_long, NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_lt(revset_add(rs, bad[i]), 0, "#%zu", i);
        cr_assert_not(revset_has(rs, bad[i]));
    }
    cr_assert_eq(revset_count(rs), 0);
    /* 40 digits after leading zeros is the longest */
    char longest[CA_SERIAL_HEX + 4] = "000";
    memset(longest + 3, 'e', CA_SERIAL_HEX);
    longest[CA_SERIAL_HEX + 3] = '\0';
    cr_assert_eq(revset_add(rs, longest), 0);
    cr_assert(revset_has(rs, longest + 3));
}

static X509 *cert_with_serial(const char *hex)
{
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    cr_assert(BN_hex2bn(&bn, hex) > 0);
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    cr_assert_eq(X509_set_serialNumber(x, ai), 1);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return x;
}

Test(revset, x509_serials)
{
    /* 0x00ff...: the DER integer gets a leading zero byte, the text form does not */
    X509 *a = cert_with_serial("ff00000000000000000000000000000001");
    X509 *b = cert_with_serial("0a");
    X509 *c = cert_with_serial("1234");
    cr_assert_not(revset_has_x509(rs, a));
    revset_add(rs, "FF00000000000000000000000000000001");
    revset_add(rs, "a");
    cr_assert(revset_has_x509(rs, a));
    cr_assert(revset_has_x509(rs, b));
    cr_assert_not(revset_has_x509(rs, c));
    cr_assert_not(revset_has_x509(rs, NULL));
    X509_free(a);
    X509_free(b);
    X509_free(c);
}

Test(revset, issued_certificate_by_its_serial)
{
    X509 *x = cert_with_serial("4c1d2e3f00aa");
    char serial[CA_SERIAL_HEX + 1];
    BIO *bio = BIO_new(BIO_s_mem());
    X509_set_version(x, X509_VERSION_3);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 60);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    cr_assert_eq(PEM_write_bio_X509(bio, x), 1);
    char *pem;
    long n = BIO_get_mem_data(bio, &pem);
    cr_assert_eq(ca_cert_serial(pem, (size_t)n, serial), 0);
    cr_assert_str_eq(serial, "4c1d2e3f00aa");
    revset_add(rs, serial);
    cr_assert(revset_has_x509(rs, x));
    BIO_free(bio);
    EVP_PKEY_free(k);
    X509_free(x);
}

Test(revset, grows_and_keeps_everything)
{
    char s[32];
    for (unsigned i = 1; i <= 20000; i++) {
        snprintf(s, sizeof s, "%x%08x", i, i * 2654435761u);
        cr_assert_eq(revset_add(rs, s), 0);
    }
    cr_assert_eq(revset_count(rs), 20000);
    for (unsigned i = 1; i <= 20000; i++) {
        snprintf(s, sizeof s, "%x%08x", i, i * 2654435761u);
        cr_assert(revset_has(rs, s), "%s", s);
        snprintf(s, sizeof s, "%x%08x", i + 20000, i);
        cr_assert_not(revset_has(rs, s));
    }
}

#define WRITERS    4
#define READERS    4
#define PER_WRITER 5000

static void *writer(void *arg)
{
    unsigned base = (unsigned)(uintptr_t)arg * PER_WRITER;
    char s[32];
    for (unsigned i = 0; i < PER_WRITER; i++) {
        snprintf(s, sizeof s, "c0de%x", base + i);
        if (revset_add(rs, s) != 0)
            return (void *)1;
    }
    return NULL;
}

/* Readers look up serials that are never added, and the set's first serial, which is. */
static void *reader(void *arg)
{
    char s[32];
    for (unsigned i = 0; i < 20000; i++) {
        snprintf(s, sizeof s, "dead%x", i);
        if (revset_has(rs, s) || !revset_has(rs, "1"))
            return (void *)1;
        (void)revset_count(rs);
    }
    return NULL;
}

Test(revset, concurrent_adds_and_lookups)
{
    pthread_t w[WRITERS], r[READERS];
    cr_assert_eq(revset_add(rs, "1"), 0);
    for (uintptr_t i = 0; i < WRITERS; i++)
        cr_assert_eq(pthread_create(&w[i], NULL, writer, (void *)i), 0);
    for (int i = 0; i < READERS; i++)
        cr_assert_eq(pthread_create(&r[i], NULL, reader, NULL), 0);
    for (int i = 0; i < WRITERS; i++) {
        void *rc;
        pthread_join(w[i], &rc);
        cr_assert_null(rc);
    }
    for (int i = 0; i < READERS; i++) {
        void *rc;
        pthread_join(r[i], &rc);
        cr_assert_null(rc, "reader saw a wrong answer");
    }
    cr_assert_eq(revset_count(rs), 1 + WRITERS * PER_WRITER);
    char s[32];
    for (unsigned i = 0; i < WRITERS * PER_WRITER; i++) {
        snprintf(s, sizeof s, "c0de%x", i);
        cr_assert(revset_has(rs, s), "%s", s);
    }
}

/* ---- CRL data, pruning and snapshots ------------------------------------------------ */

Test(revset, put_keeps_crl_data_and_snapshot_copies_it)
{
    revset_entry a = {.serial = "0AbC", .revoked_at = 1000, .not_after = 5000, .reason = 4};
    revset_entry b = {.serial = "def", .revoked_at = 2000, .not_after = 9000, .reason = 5};
    cr_assert_eq(revset_put(rs, &a), 0);
    cr_assert_eq(revset_put(rs, &b), 0);
    revset_entry again = {.serial = "abc", .revoked_at = 3000, .not_after = 99999, .reason = 1};
    cr_assert_eq(revset_put(rs, &again), 0, "a serial held keeps its first entry");
    revset_snap s;
    cr_assert_eq(revset_snapshot(rs, 0, &s), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.version, revset_version(rs));
    for (size_t i = 0; i < s.n; i++) {
        bool is_a = !strcmp(s.v[i].serial, "abc");
        cr_assert(is_a || !strcmp(s.v[i].serial, "def"), "%s", s.v[i].serial);
        cr_assert_eq(s.v[i].revoked_at, is_a ? 1000 : 2000);
        cr_assert_eq(s.v[i].reason, is_a ? 4 : 5);
    }
    revset_snap_free(&s);
    /* the snapshot leaves out what has expired at its @now */
    cr_assert_eq(revset_snapshot(rs, 5000, &s), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.v[0].serial, "def");
    revset_snap_free(&s);
}

Test(revset, prune_drops_expired_only_and_lookups_still_work)
{
    char sn[32];
    /* many entries so the probes cross what the prune removes */
    for (unsigned i = 0; i < 3000; i++) {
        snprintf(sn, sizeof sn, "%x%06x", i, i * 2654435761u & 0xffffff);
        revset_entry e = {.serial = sn, .revoked_at = 1, .not_after = i % 2 ? 100 : 200};
        cr_assert_eq(revset_put(rs, &e), 0);
    }
    uint64_t v = revset_version(rs);
    cr_assert_eq(revset_prune(rs, 99), 0, "nothing has expired yet");
    cr_assert_eq(revset_version(rs), v, "an empty prune changes nothing");
    cr_assert_eq(revset_prune(rs, 100), 1500, "not_after <= now is expired");
    cr_assert_gt(revset_version(rs), v);
    cr_assert_eq(revset_count(rs), 1500);
    for (unsigned i = 0; i < 3000; i++) {
        snprintf(sn, sizeof sn, "%x%06x", i, i * 2654435761u & 0xffffff);
        cr_assert_eq(revset_has(rs, sn), i % 2 == 0, "%s", sn);
    }
    cr_assert_eq(revset_add(rs, "feed"), 0, "adds work after a prune");
    cr_assert(revset_has(rs, "feed"));
    cr_assert_eq(revset_prune(rs, 200), 1500, "revset_add entries never expire");
    cr_assert_eq(revset_count(rs), 1);
    cr_assert(revset_has(rs, "feed"));
}

Test(revset, empty_snapshot)
{
    revset_snap s;
    cr_assert_eq(revset_snapshot(rs, 0, &s), 0);
    cr_assert_eq(s.n, 0);
    revset_snap_free(&s);
    revset_snap_free(&s); /* twice is fine: freed means zeroed */
}
