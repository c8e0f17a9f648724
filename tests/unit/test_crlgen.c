/*
 * The coalescing CRL builder: the first CRL at start, many revocations folded into one
 * build per interval, the CRL signed by the root and listing the revset, and the refresh
 * that prunes expired certificates from both.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "ca/crlgen.h"
#include "ca/revset.h"

static char tmpdir[64];
static ca *the_ca;
static revset *rs;
static X509 *root;

static void setup(void)
{
    char err[1024];
    ca_paths paths;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_crlgen_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
    cr_assert_eq(ca_bootstrap(tmpdir, &paths, err, sizeof err), 0, "%s", err);
    the_ca = ca_open(&paths, err, sizeof err);
    cr_assert(the_ca, "%s", err);
    BIO *b = BIO_new_mem_buf(ca_cert_pem(the_ca), -1);
    root = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    rs = revset_new();
    cr_assert(root && rs);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void teardown(void)
{
    revset_free(rs);
    X509_free(root);
    ca_free(the_ca);
    nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(crlgen, .init = setup, .fini = teardown, .timeout = 60);

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put(const char *serial, int64_t not_after)
{
    revset_entry e = {
        .serial = serial, .revoked_at = wall_ms(), .not_after = not_after, .reason = 4};
    cr_assert_eq(revset_put(rs, &e), 0);
}

/* The served CRL, checked against the root; the caller frees it. */
static X509_CRL *current(crlgen *g, uint64_t *number)
{
    char *pem = crlgen_pem(g, number);
    cr_assert(pem);
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_CRL *crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    cr_assert(crl);
    cr_assert_eq(X509_CRL_verify(crl, X509_get0_pubkey(root)), 1, "signed by the root");
    return crl;
}

static bool lists(X509_CRL *crl, const char *hex)
{
    BIGNUM *bn = NULL;
    cr_assert(BN_hex2bn(&bn, hex) > 0);
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    X509_REVOKED *rev = NULL;
    bool found = X509_CRL_get0_by_serial(crl, &rev, ai) == 1;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return found;
}

static int entries(X509_CRL *crl)
{
    STACK_OF(X509_REVOKED) *st = X509_CRL_get_REVOKED(crl);
    return st ? sk_X509_REVOKED_num(st) : 0;
}

static const int64_t YEAR_MS = 365LL * 86400 * 1000;

Test(crlgen, first_crl_at_start_lists_the_set)
{
    put("a1", wall_ms() + YEAR_MS);
    put("b2", wall_ms() + YEAR_MS);
    crlgen_opts o = {.ca = the_ca, .rs = rs, .interval_ms = 60000};
    crlgen *g = crlgen_new(&o);
    cr_assert(g);
    cr_assert_eq(crlgen_builds(g), 1);
    X509_CRL *crl = current(g, NULL);
    cr_assert_eq(entries(crl), 2);
    cr_assert(lists(crl, "a1") && lists(crl, "b2"));
    X509_CRL_free(crl);
    crlgen_free(g);
}

Test(crlgen, bad_options_refused)
{
    crlgen_opts o = {.ca = NULL, .rs = rs};
    cr_assert_null(crlgen_new(&o));
    o = (crlgen_opts){.ca = the_ca, .rs = NULL};
    cr_assert_null(crlgen_new(&o));
    cr_assert_null(crlgen_new(NULL));
    crlgen_kick(NULL); /* no-op */
    crlgen_free(NULL);
}

/* Polls until @g has built @n times or 10 s passed. */
static void wait_builds(crlgen *g, uint64_t n)
{
    for (int i = 0; i < 1000 && crlgen_builds(g) < n; i++)
        usleep(10000);
}

Test(crlgen, kicks_within_an_interval_make_one_build)
{
    crlgen_opts o = {.ca = the_ca, .rs = rs, .interval_ms = 1500};
    crlgen *g = crlgen_new(&o);
    cr_assert(g);
    uint64_t first = 0, second = 0;
    X509_CRL *crl = current(g, &first);
    cr_assert_eq(entries(crl), 0);
    X509_CRL_free(crl);
    char sn[32];
    for (int i = 0; i < 50; i++) {
        snprintf(sn, sizeof sn, "c0ffee%02x", i);
        put(sn, wall_ms() + YEAR_MS);
        crlgen_kick(g);
    }
    cr_assert_eq(crlgen_builds(g), 1, "the start-up build was just now: nothing yet");
    wait_builds(g, 2);
    usleep(300000); /* a second build, if the kicks were not coalesced, would be here */
    cr_assert_eq(crlgen_builds(g), 2, "50 revocations, one build");
    crl = current(g, &second);
    cr_assert_eq(entries(crl), 50);
    cr_assert(lists(crl, "c0ffee00") && lists(crl, "c0ffee31"));
    cr_assert_gt(second, first, "crlNumber increases");
    X509_CRL_free(crl);
    crlgen_free(g);
}

static atomic_int refreshes;
static _Atomic int64_t refreshed_at;

static void on_refresh(void *arg, int64_t now)
{
    (void)arg;
    atomic_store(&refreshed_at, now);
    atomic_fetch_add(&refreshes, 1);
}

Test(crlgen, refresh_prunes_expired_certificates)
{
    put("5ee", wall_ms() + YEAR_MS);
    put("dead", wall_ms() + 400); /* expires before the first refresh */
    crlgen_opts o = {.ca = the_ca, .rs = rs, .refresh_s = 1, .on_refresh = on_refresh};
    crlgen *g = crlgen_new(&o);
    cr_assert(g);
    X509_CRL *crl = current(g, NULL);
    cr_assert(lists(crl, "dead"), "not expired at start");
    X509_CRL_free(crl);
    wait_builds(g, 2);
    for (int i = 0; i < 500 && atomic_load(&refreshes) == 0; i++)
        usleep(10000);
    cr_assert_gt(atomic_load(&refreshes), 0, "the refresh hook ran");
    cr_assert_gt(atomic_load(&refreshed_at), wall_ms() - 60000, "with the wall clock");
    cr_assert_not(revset_has(rs, "dead"), "pruned from the set");
    cr_assert(revset_has(rs, "5ee"));
    crl = current(g, NULL);
    cr_assert_not(lists(crl, "dead"), "an expired certificate leaves the CRL");
    cr_assert(lists(crl, "5ee"));
    X509_CRL_free(crl);
    crlgen_free(g);
}

Test(crlgen, stopped_builder_keeps_serving_and_ignores_kicks)
{
    crlgen_opts o = {.ca = the_ca, .rs = rs, .interval_ms = 1};
    crlgen *g = crlgen_new(&o);
    cr_assert(g);
    crlgen_stop(g);
    crlgen_stop(g); /* idempotent */
    put("ab", wall_ms() + YEAR_MS);
    crlgen_kick(g);
    usleep(200000);
    cr_assert_eq(crlgen_builds(g), 1, "no build after stop");
    X509_CRL *crl = current(g, NULL);
    cr_assert_eq(entries(crl), 0, "the last CRL is still served");
    X509_CRL_free(crl);
    crlgen_free(g);
}
