/*
 * auth_secret — the server secret that keys the HMAC of stored one-time codes.
 *
 *   DATA_DIR/code-hmac.key   64 lower-case hex digits (32 random bytes) and a newline,
 *                            mode 0600, created once on the first start, then only read
 *
 * A code has 20 bits of entropy: a plain hash in the database would give every live code
 * to whoever copies the database, after 10^6 guesses offline. Keyed by a secret that is
 * not in the database, the stored value is useless without the file as well. The file is
 * created like the CA keys (O_EXCL, 0600, fsync, then the directory) and its bytes are
 * never logged; a file readable by others is used with a warning; a malformed one stops
 * the server (a silently new key would invalidate every live code on each start).
 * auth_key_file_load does the same for other keys of the kind (firmware-hmac.key, the key
 * of signed firmware download URLs).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "ident/auth_int.h"

#define SECRET_FILE "code-hmac.key"
#define HEX_LEN     (2 * AUTH_SECRET_LEN)

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* @n bytes of text: exactly HEX_LEN hex digits, then at most one newline. */
static int decode(const char *text, size_t n, uint8_t key[AUTH_SECRET_LEN])
{
    if (n < HEX_LEN || n > HEX_LEN + 1 || (n == HEX_LEN + 1 && text[HEX_LEN] != '\n'))
        return -1;
    for (size_t i = 0; i < AUTH_SECRET_LEN; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: the file itself is on disk */
        close(fd);
    }
}

/* Creates @path with a fresh key. 0, 1 when another process created it first, -1. */
static int create(const char *path, const char *dir, const char *what, uint8_t key[AUTH_SECRET_LEN],
                  char *err, size_t errlen)
{
    static const char hex[] = "0123456789abcdef";
    char text[HEX_LEN + 1];
    int rc = -1;
    if (RAND_bytes(key, AUTH_SECRET_LEN) != 1) {
        snprintf(err, errlen, "%s: no random bytes", path);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return 1;
    if (fd < 0 || fchmod(fd, 0600) < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < AUTH_SECRET_LEN; i++) {
        text[2 * i] = hex[key[i] >> 4];
        text[2 * i + 1] = hex[key[i] & 15];
    }
    text[HEX_LEN] = '\n';
    if (write(fd, text, sizeof text) != (ssize_t)sizeof text || fsync(fd) < 0) {
        snprintf(err, errlen, "%s: write failed", path);
        (void)unlink(path);
        goto out;
    }
    sync_dir(dir);
    log_info("auth: created %s (0600): the key of %s; copy it to every node that "
             "shares this store",
             path, what);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

static int read_key(const char *path, const char *what, uint8_t key[AUTH_SECRET_LEN], char *err,
                    size_t errlen)
{
    char text[HEX_LEN + 2];
    struct stat st;
    int rc = -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        log_warn("auth: %s is readable by other users; it should be mode 0600", path);
    ssize_t n = read(fd, text, sizeof text);
    if (n < 0 || decode(text, (size_t)n, key) < 0)
        snprintf(err, errlen,
                 "%s: not %d hex digits (remove it to make a new key; live "
                 "%s are then refused)",
                 path, HEX_LEN, what);
    else
        rc = 0;
    close(fd);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

int auth_secret_load(const char *data_dir, uint8_t key[AUTH_SECRET_LEN], char *err, size_t errlen)
{
    return auth_key_file_load(data_dir, SECRET_FILE, "stored codes", key, err, errlen);
}

int auth_key_file_load(const char *data_dir, const char *file, const char *what,
                       uint8_t key[AUTH_SECRET_LEN], char *err, size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, file) >= sizeof path) {
        snprintf(err, errlen, "%s: path too long", data_dir);
        return -1;
    }
    int rc = create(path, data_dir, what, key, err, errlen);
    if (rc == 1)
        rc = read_key(path, what, key, err, errlen);
    return rc;
}
