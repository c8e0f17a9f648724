#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "ca/ca_int.h"

static char tmpdir[64];
static char data_dir[128];
static ca_paths paths;
static char err[1024];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_ca_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
    snprintf(data_dir, sizeof data_dir, "%s/nested/data", tmpdir);
    err[0] = '\0';
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void teardown(void) { nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS); }

TestSuite(root, .init = setup, .fini = teardown, .timeout = 60);

static void bootstrap_ok(void)
{
    cr_assert_eq(ca_bootstrap(data_dir, &paths, err, sizeof err), 0, "%s", err);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "open %s", path);
    char *buf = malloc(65537);
    *len = fread(buf, 1, 65536, f);
    buf[*len] = '\0'; /* callers may treat PEM text as a string */
    fclose(f);
    return buf;
}

static bool same_bytes(const char *path, const char *old, size_t oldlen)
{
    size_t n;
    char *now = slurp(path, &n);
    bool same = n == oldlen && memcmp(now, old, n) == 0;
    free(now);
    return same;
}

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert(x, "parse %s", path);
    return x;
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert(k, "parse %s", path);
    return k;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_mode & 07777;
}

static int verify_server(X509 *root, X509 *srv, const char *host, const char *ip)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(store, root);
    X509_STORE_CTX_init(ctx, store, srv, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    if (host)
        X509_VERIFY_PARAM_set1_host(vp, host, 0);
    if (ip)
        X509_VERIFY_PARAM_set1_ip_asc(vp, ip);
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

static void assert_cn(X509 *x, const char *want)
{
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    cr_assert_str_eq(cn, want);
}

static void assert_p256(const char *key_path)
{
    EVP_PKEY *k = load_key(key_path);
    char group[64];
    size_t glen;
    cr_assert(EVP_PKEY_is_a(k, "EC"));
    cr_assert_eq(EVP_PKEY_get_group_name(k, group, sizeof group, &glen), 1);
    cr_assert_str_eq(group, "prime256v1");
    EVP_PKEY_free(k);
}

static void assert_serial_random(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    cr_assert(!BN_is_negative(bn));
    cr_assert_geq(BN_num_bits(bn), 64);
    BN_free(bn);
}

/* notAfter - now, in whole days. */
static int days_left(X509 *x)
{
    int days, secs;
    cr_assert(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)));
    return days;
}

Test(root, first_run_creates_files_with_modes)
{
    bootstrap_ok();
    char want[256];
    snprintf(want, sizeof want, "%s/ca/ca.crt", data_dir);
    cr_assert_str_eq(paths.ca_cert, want);
    snprintf(want, sizeof want, "%s/ca/server.key", data_dir);
    cr_assert_str_eq(paths.server_key, want);
    cr_assert_eq(mode_of(paths.ca_key), 0600);
    cr_assert_eq(mode_of(paths.server_key), 0600);
    cr_assert_eq(mode_of(paths.ca_cert), 0644);
    cr_assert_eq(mode_of(paths.server_cert), 0644);
    snprintf(want, sizeof want, "%s/ca", data_dir);
    cr_assert_eq(mode_of(want), 0700);
    cr_assert_eq(mode_of(data_dir), 0700);
    snprintf(want, sizeof want, "%s/ca/ca.key.tmp", data_dir);
    cr_assert_eq(access(want, F_OK), -1, "no temp file left behind");
}

Test(root, root_certificate_profile)
{
    bootstrap_ok();
    X509 *root = load_cert(paths.ca_cert);
    assert_cn(root, "iotcloud root CA");
    cr_assert_eq(X509_check_ca(root), 1);
    cr_assert(ext_critical(root, NID_basic_constraints));
    cr_assert(ext_critical(root, NID_key_usage));
    cr_assert_eq(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    cr_assert(X509_get0_subject_key_id(root));
    cr_assert_eq(X509_get_signature_nid(root), NID_ecdsa_with_SHA256);
    cr_assert_eq(X509_verify(root, X509_get0_pubkey(root)), 1, "self-signed");
    assert_serial_random(root);
    int d = days_left(root);
    cr_assert(d >= 3649 && d <= 3650, "root valid %d days", d);
    assert_p256(paths.ca_key);
    X509_free(root);
}

Test(root, server_certificate_verifies_and_has_profile)
{
    bootstrap_ok();
    X509 *root = load_cert(paths.ca_cert), *srv = load_cert(paths.server_cert);
    cr_assert_eq(verify_server(root, srv, "localhost", NULL), 1);
    cr_assert_eq(verify_server(root, srv, NULL, "127.0.0.1"), 1);
    cr_assert_eq(verify_server(root, srv, NULL, "::1"), 1);
    char host[256] = "";
    gethostname(host, sizeof host);
    if (host[0] && strcmp(host, "localhost") != 0)
        cr_assert_eq(verify_server(root, srv, host, NULL), 1, "host name %s in SAN", host);
    cr_assert_neq(verify_server(root, srv, "example.com", NULL), 1, "foreign name rejected");
    cr_assert_neq(verify_server(root, srv, NULL, "10.0.0.1"), 1, "foreign IP rejected");

    assert_cn(srv, "iotcloud server");
    cr_assert_eq(X509_check_ca(srv), 0);
    cr_assert(X509_get_extended_key_usage(srv) & XKU_SSL_SERVER);
    cr_assert(X509_get_key_usage(srv) & KU_DIGITAL_SIGNATURE);
    cr_assert(X509_get0_authority_key_id(srv));
    cr_assert_eq(
        ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(srv), X509_get0_subject_key_id(root)), 0);
    cr_assert_eq(X509_get_signature_nid(srv), NID_ecdsa_with_SHA256);
    assert_serial_random(srv);
    int d = days_left(srv);
    cr_assert(d >= 364 && d <= 365, "server valid %d days", d);
    assert_p256(paths.server_key);
    EVP_PKEY *sk = load_key(paths.server_key);
    cr_assert_eq(X509_check_private_key(srv, sk), 1);
    EVP_PKEY_free(sk);
    X509_free(root);
    X509_free(srv);
}

Test(root, second_run_reuses_everything)
{
    bootstrap_ok();
    const char *files[] = {paths.ca_cert, paths.ca_key, paths.server_cert, paths.server_key};
    char *before[4];
    size_t len[4];
    for (int i = 0; i < 4; i++)
        before[i] = slurp(files[i], &len[i]);
    bootstrap_ok();
    for (int i = 0; i < 4; i++) {
        cr_assert(same_bytes(files[i], before[i], len[i]), "%s changed", files[i]);
        free(before[i]);
    }
}

Test(root, missing_server_cert_is_reissued_by_same_ca)
{
    bootstrap_ok();
    size_t calen, sklen;
    char *ca_bytes = slurp(paths.ca_cert, &calen), *sk_bytes = slurp(paths.server_key, &sklen);
    cr_assert_eq(unlink(paths.server_cert), 0);
    bootstrap_ok();
    cr_assert(same_bytes(paths.ca_cert, ca_bytes, calen), "CA kept");
    cr_assert(!same_bytes(paths.server_key, sk_bytes, sklen), "new server key");
    X509 *root = load_cert(paths.ca_cert), *srv = load_cert(paths.server_cert);
    cr_assert_eq(verify_server(root, srv, "localhost", NULL), 1);
    cr_assert_eq(mode_of(paths.server_key), 0600);
    X509_free(root);
    X509_free(srv);
    free(ca_bytes);
    free(sk_bytes);
}

Test(root, missing_server_key_is_reissued)
{
    bootstrap_ok();
    cr_assert_eq(unlink(paths.server_key), 0);
    bootstrap_ok();
    X509 *srv = load_cert(paths.server_cert);
    EVP_PKEY *sk = load_key(paths.server_key);
    cr_assert_eq(X509_check_private_key(srv, sk), 1);
    EVP_PKEY_free(sk);
    X509_free(srv);
}

/* Replaces the server pair with one signed by the CA but valid for only @days. */
static void forge_server(int days)
{
    X509 *root = load_cert(paths.ca_cert), *srv = NULL;
    EVP_PKEY *cak = load_key(paths.ca_key), *k = ca__keygen();
    cr_assert_eq(ca__make_server(root, cak, k, days, &srv), 0);
    cr_assert_eq(ca__write_key(paths.server_key, k, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ca__write_cert(paths.server_cert, srv, err, sizeof err), 0, "%s", err);
    X509_free(root);
    X509_free(srv);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(k);
}

Test(root, server_cert_expiring_within_30_days_is_reissued)
{
    bootstrap_ok();
    forge_server(29);
    bootstrap_ok();
    X509 *srv = load_cert(paths.server_cert);
    cr_assert_geq(days_left(srv), 364);
    X509_free(srv);
}

Test(root, server_cert_with_31_days_left_is_kept)
{
    bootstrap_ok();
    forge_server(31);
    size_t n;
    char *before = slurp(paths.server_cert, &n);
    bootstrap_ok();
    cr_assert(same_bytes(paths.server_cert, before, n));
    free(before);
}

Test(root, server_pair_mismatch_is_reissued)
{
    bootstrap_ok();
    EVP_PKEY *other = ca__keygen();
    cr_assert_eq(ca__write_key(paths.server_key, other, err, sizeof err), 0);
    EVP_PKEY_free(other);
    bootstrap_ok();
    X509 *srv = load_cert(paths.server_cert);
    EVP_PKEY *sk = load_key(paths.server_key);
    cr_assert_eq(X509_check_private_key(srv, sk), 1);
    EVP_PKEY_free(sk);
    X509_free(srv);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

Test(root, corrupt_ca_key_fails_without_echoing_it)
{
    bootstrap_ok();
    write_text(paths.ca_key, "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n"
                             "-----END PRIVATE KEY-----\n");
    err[0] = '\0';
    cr_assert_eq(ca_bootstrap(data_dir, &paths, err, sizeof err), -1);
    cr_assert(strstr(err, "ca.key"), "%s", err);
    cr_assert(strstr(err, "private key"), "%s", err);
    cr_assert_null(strstr(err, "SECRET"));
}

Test(root, corrupt_ca_cert_fails)
{
    bootstrap_ok();
    write_text(paths.ca_cert, "garbage\n");
    cr_assert_eq(ca_bootstrap(data_dir, &paths, err, sizeof err), -1);
    cr_assert(strstr(err, "ca.crt: not a readable PEM certificate"), "%s", err);
}

Test(root, mismatched_ca_key_fails)
{
    bootstrap_ok();
    size_t n;
    char *before = slurp(paths.server_cert, &n);
    EVP_PKEY *other = ca__keygen();
    cr_assert_eq(ca__write_key(paths.ca_key, other, err, sizeof err), 0);
    EVP_PKEY_free(other);
    cr_assert_eq(ca_bootstrap(data_dir, &paths, err, sizeof err), -1);
    cr_assert(strstr(err, "does not belong to"), "%s", err);
    cr_assert(same_bytes(paths.server_cert, before, n), "nothing re-issued");
    free(before);
}

Test(root, half_a_ca_fails)
{
    bootstrap_ok();
    cr_assert_eq(unlink(paths.ca_key), 0);
    cr_assert_eq(ca_bootstrap(data_dir, &paths, err, sizeof err), -1);
    cr_assert(strstr(err, "ca.key does not"), "%s", err);
    cr_assert_eq(access(paths.ca_key, F_OK), -1, "no new key made for the old cert");
}

Test(root, not_a_ca_certificate_fails)
{
    bootstrap_ok();
    /* The server pair matches itself but is not a CA. */
    size_t n;
    char *crt = slurp(paths.server_cert, &n), *key;
    write_text(paths.ca_cert, crt);
    free(crt);
    key = slurp(paths.server_key, &n);
    write_text(paths.ca_key, key);
    free(key);
    cr_assert_eq(ca_bootstrap(data_dir, &paths, err, sizeof err), -1);
    cr_assert(strstr(err, "is not a CA certificate"), "%s", err);
}

Test(root, stale_temp_file_is_replaced)
{
    char dir[256], tmp[300];
    snprintf(dir, sizeof dir, "%s/nested", tmpdir);
    mkdir(dir, 0700);
    mkdir(data_dir, 0700);
    snprintf(dir, sizeof dir, "%s/ca", data_dir);
    mkdir(dir, 0700);
    snprintf(tmp, sizeof tmp, "%s/ca.key.tmp", dir);
    write_text(tmp, "leftover");
    chmod(tmp, 0644);
    bootstrap_ok();
    cr_assert_eq(mode_of(paths.ca_key), 0600);
    cr_assert_eq(access(tmp, F_OK), -1);
}

Test(root, bad_data_dirs_fail)
{
    char big[CA_PATH_MAX];
    memset(big, 'd', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(ca_bootstrap(big, &paths, err, sizeof err), -1);
    cr_assert(strstr(err, "too long"), "%s", err);
    cr_assert_eq(ca_bootstrap("", &paths, err, sizeof err), -1);
    char file[256];
    snprintf(file, sizeof file, "%s/plainfile", tmpdir);
    write_text(file, "x");
    cr_assert_eq(ca_bootstrap(file, &paths, err, sizeof err), -1);
    cr_assert(strstr(err, "not a directory"), "%s", err);
}
