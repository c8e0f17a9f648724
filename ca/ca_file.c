/*
 * ca_file — PEM files that are never half written and never briefly readable by others.
 *
 * A file is written to "PATH.tmp" created with O_EXCL and its final mode (0600 for keys),
 * flushed, fsync'ed and renamed over PATH; then the directory is fsync'ed so the rename
 * survives a power cut. A crash leaves either the old file or the new one, plus at worst a
 * stale ".tmp" that the next write removes. Error messages name the file, never its bytes.
 */
#include "ca/ca_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define KEY_MODE  0600
#define CERT_MODE 0644

typedef int (*pem_writer)(FILE *f, void *obj);

static int write_key_pem(FILE *f, void *obj)
{
    return PEM_write_PrivateKey(f, obj, NULL, NULL, 0, NULL, NULL) == 1 ? 0 : -1;
}

static int write_cert_pem(FILE *f, void *obj) { return PEM_write_X509(f, obj) == 1 ? 0 : -1; }

static void sync_dir(const char *path)
{
    char copy[CA_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: the data itself is already on disk */
        close(fd);
    }
}

static int write_atomic(const char *path, mode_t mode, pem_writer w, void *obj, char *err,
                        size_t errlen)
{
    char tmp[CA_PATH_MAX + 8];
    int rc = -1;
    FILE *f = NULL;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    (void)unlink(tmp); /* stale from a crash; ours, in our 0700 directory */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    /* fchmod: the umask may have removed bits from 0644; it can never add any to 0600. */
    if (fd < 0 || fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1; /* now owned by f */
    if (w(f, obj) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0) {
        snprintf(err, errlen, "%s: write failed", tmp);
        goto out;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0 || rename(tmp, path) < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    sync_dir(path);
    rc = 0;
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        (void)unlink(tmp);
    return rc;
}

int ca__write_key(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
    return write_atomic(path, KEY_MODE, write_key_pem, key, err, errlen);
}

int ca__write_cert(const char *path, X509 *x, char *err, size_t errlen)
{
    return write_atomic(path, CERT_MODE, write_cert_pem, x, err, errlen);
}

bool ca__exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Never prompt on the terminal for a passphrase: an encrypted key is simply unusable. */
static int no_password(char *buf, int size, int rwflag, void *u) { return -1; }

int ca__read_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
    struct stat st;
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        log_warn("ca: %s is readable by other users; it should be mode 0600", path);
    *out = PEM_read_PrivateKey(f, NULL, no_password, NULL);
    fclose(f);
    ERR_clear_error();
    if (!*out) {
        snprintf(err, errlen, "%s: not a readable unencrypted PEM private key", path);
        return -1;
    }
    return 0;
}

int ca__read_cert(const char *path, X509 **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    *out = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    if (!*out) {
        snprintf(err, errlen, "%s: not a readable PEM certificate", path);
        return -1;
    }
    return 0;
}
