/*
 * ca — bootstrap policy: which files to create, reuse or re-issue.
 *
 *   DATA_DIR/ca/ (0700)
 *     ca.crt      root certificate, 0644   created once, then only ever read
 *     ca.key      root key, 0600           created once, then only ever read
 *     server.crt  server certificate, 0644 re-issued when missing, unreadable, not ours,
 *     server.key  server key, 0600         not matching its key or expiring within 30 days
 *
 * The root pair is precious (every issued certificate chains to it), so any doubt about it
 * is a hard error for the operator to resolve. The server pair is derived from it and is
 * simply re-issued; the key is written before the certificate, so a crash between the two
 * leaves a mismatch that the next start repairs.
 */
#include "ca/ca.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ca/ca_int.h"
#include "common/log.h"

/* The reason of OpenSSL's last error, for messages; never NULL. */
static const char *ossl_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_last_error());
    return r ? r : "unknown OpenSSL error";
}

static int fill_paths(const char *data_dir, char *dir, ca_paths *p, char *err, size_t errlen)
{
    struct {
        char *dst;
        const char *name;
    } files[] = {{p->ca_cert, "ca.crt"},
                 {p->ca_key, "ca.key"},
                 {p->server_cert, "server.crt"},
                 {p->server_key, "server.key"}};
    if ((size_t)snprintf(dir, CA_PATH_MAX, "%s/ca", data_dir) >= CA_PATH_MAX)
        goto too_long;
    for (size_t i = 0; i < 4; i++)
        if ((size_t)snprintf(files[i].dst, CA_PATH_MAX, "%s/%s", dir, files[i].name) >= CA_PATH_MAX)
            goto too_long;
    return 0;
too_long:
    snprintf(err, errlen, "data dir path is too long (max %d bytes)", CA_PATH_MAX - 16);
    return -1;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
        return -1;
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", path);
        return -1;
    }
    return 0;
}

/* mkdir -p: every missing component of @path is created 0700; existing ones are left. */
static int make_dirs(const char *path, char *err, size_t errlen)
{
    char buf[CA_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path); /* fits: fill_paths checked longer strings */
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    return make_dir(buf, err, errlen);
}

static int create_ca(const ca_paths *p, X509 **crt, EVP_PKEY **key, char *err, size_t errlen)
{
    *key = ca__keygen();
    if (!*key || ca__make_root(*key, CA__ROOT_DAYS, crt) < 0) {
        snprintf(err, errlen, "cannot generate the root CA: %s", ossl_reason());
        return -1;
    }
    if (ca__write_key(p->ca_key, *key, err, errlen) < 0 ||
        ca__write_cert(p->ca_cert, *crt, err, errlen) < 0)
        return -1;
    log_info("ca: created root CA %s", p->ca_cert);
    return 0;
}

static int load_ca(const ca_paths *p, X509 **crt, EVP_PKEY **key, char *err, size_t errlen)
{
    if (ca__read_cert(p->ca_cert, crt, err, errlen) < 0 ||
        ca__read_key(p->ca_key, key, err, errlen) < 0)
        return -1;
    if (X509_check_private_key(*crt, *key) != 1) {
        snprintf(err, errlen, "%s does not belong to %s", p->ca_key, p->ca_cert);
        return -1;
    }
    if (X509_check_ca(*crt) == 0) {
        snprintf(err, errlen, "%s is not a CA certificate", p->ca_cert);
        return -1;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(*crt)) <= 0) {
        snprintf(err, errlen, "%s has expired; move the ca directory away to create a new CA",
                 p->ca_cert);
        return -1;
    }
    return 0;
}

static int load_or_create_ca(const ca_paths *p, X509 **crt, EVP_PKEY **key, bool *created,
                             char *err, size_t errlen)
{
    bool have_crt = ca__exists(p->ca_cert), have_key = ca__exists(p->ca_key);
    *created = false;
    if (have_crt != have_key) {
        snprintf(err, errlen, "%s exists but %s does not; restore it or remove both",
                 have_crt ? p->ca_cert : p->ca_key, have_crt ? p->ca_key : p->ca_cert);
        return -1;
    }
    if (have_crt)
        return load_ca(p, crt, key, err, errlen);
    *created = true;
    return create_ca(p, crt, key, err, errlen);
}

/* NULL when the current server pair can be kept, else why it must be re-issued. */
static const char *server_problem(const ca_paths *p, X509 *root)
{
    char ignored[CA_PATH_MAX + 64];
    const char *why = NULL;
    X509 *crt = NULL;
    EVP_PKEY *key = NULL;
    time_t renew = time(NULL) + (time_t)CA__RENEW_DAYS * 86400;
    if (!ca__exists(p->server_cert) || !ca__exists(p->server_key))
        why = "missing";
    else if (ca__read_cert(p->server_cert, &crt, ignored, sizeof ignored) < 0 ||
             ca__read_key(p->server_key, &key, ignored, sizeof ignored) < 0)
        why = "unreadable";
    else if (X509_check_private_key(crt, key) != 1)
        why = "not matching its key";
    else if (X509_check_issued(root, crt) != X509_V_OK ||
             X509_verify(crt, X509_get0_pubkey(root)) != 1)
        why = "not issued by this CA";
    else if (X509_cmp_time(X509_get0_notAfter(crt), &renew) <= 0)
        why = "expiring within 30 days";
    X509_free(crt);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return why;
}

static int issue_server(const ca_paths *p, X509 *root, EVP_PKEY *ca_key, char *err, size_t errlen)
{
    int rc = -1;
    X509 *crt = NULL;
    EVP_PKEY *key = ca__keygen();
    if (!key || ca__make_server(root, ca_key, key, CA__SERVER_DAYS, &crt) < 0) {
        snprintf(err, errlen, "cannot issue the server certificate: %s", ossl_reason());
        goto out;
    }
    if (ca__write_key(p->server_key, key, err, errlen) < 0 ||
        ca__write_cert(p->server_cert, crt, err, errlen) < 0)
        goto out;
    log_info("ca: issued server certificate %s (valid %d days)", p->server_cert, CA__SERVER_DAYS);
    rc = 0;
out:
    X509_free(crt);
    EVP_PKEY_free(key);
    return rc;
}

int ca_bootstrap(const char *data_dir, ca_paths *out, char *err, size_t errlen)
{
    int rc = -1;
    char dir[CA_PATH_MAX];
    X509 *root = NULL;
    EVP_PKEY *ca_key = NULL;
    bool created;
    const char *why;
    if (!data_dir || !data_dir[0]) {
        snprintf(err, errlen, "data dir is empty");
        return -1;
    }
    if (fill_paths(data_dir, dir, out, err, errlen) < 0 || make_dirs(data_dir, err, errlen) < 0 ||
        make_dir(dir, err, errlen) < 0 ||
        load_or_create_ca(out, &root, &ca_key, &created, err, errlen) < 0)
        goto out;
    why = created ? "new CA" : server_problem(out, root);
    if (why) {
        log_info("ca: server certificate %s: %s", out->server_cert, why);
        if (issue_server(out, root, ca_key, err, errlen) < 0)
            goto out;
    }
    rc = 0;
out:
    X509_free(root);
    EVP_PKEY_free(ca_key);
    ERR_clear_error();
    return rc;
}
