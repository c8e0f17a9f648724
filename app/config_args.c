/*
 * config_args — the command line and the config file it names.
 *
 *   --config FILE            read first, wherever it stands (flags override the file)
 *   --KEY VALUE, --KEY=VALUE any key of the file; '_' may stand for '-'
 *   --BOOL                   a boolean alone means true; "--BOOL false" also works
 *   -h, --help               sets *help and stops: nothing else is applied
 */
#include "app/config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config file is a few hundred bytes; anything near this is a mistake (or /dev/zero). */
#define CONFIG__FILE_MAX (1024 * 1024)

static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return 0;
}

static int load_file(iot_config *c, const char *path, char *err, size_t errlen)
{
    int rc = -1;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    /* Read one byte past the cap so a file that grows after fstat is still caught. */
    buf = malloc(CONFIG__FILE_MAX + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (read_all(fd, buf, CONFIG__FILE_MAX + 1, &len) < 0) {
        snprintf(err, errlen, "%s: read failed: %s", path, strerror(errno));
        goto out;
    }
    if (len > CONFIG__FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, CONFIG__FILE_MAX);
        goto out;
    }
    rc = config_parse_text(c, buf, len, path, err, errlen);
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Finds "--config FILE" / "--config=FILE"; NULL if absent, -1 on a missing or 2nd one. */
static int find_config(int argc, char **argv, const char **path, char *err, size_t errlen)
{
    *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *p = NULL;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--config: missing file name");
                return -1;
            }
            p = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            p = argv[i] + 9;
        }
        if (p && *path) {
            snprintf(err, errlen, "--config: given more than once");
            return -1;
        }
        if (p)
            *path = p;
    }
    return 0;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* Applies argv[*i] (and maybe its value argv[*i + 1]); advances *i past what it used. */
static int apply_flag(iot_config *c, config__source *src, int argc, char **argv, int *i, char *err,
                      size_t errlen)
{
    const char *arg = argv[*i], *value = NULL;
    char key[CONFIG__KEY_MAX], msg[CONFIG__MSG_MAX];
    if (strncmp(arg, "--", 2) != 0) {
        snprintf(err, errlen, "unexpected argument '%.100s'", arg);
        return -1;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    if (config__norm_key(name, nlen, key) == 0 && strcmp(key, "config") == 0) {
        *i += eq ? 0 : 1; /* already applied by find_config(); skip it and its value */
        return 0;
    }
    if (config__norm_key(name, nlen, key) < 0 || !config__key_known(key)) {
        snprintf(err, errlen, "unknown option '%.100s'", arg);
        return -1;
    }
    bool b;
    if (eq) {
        value = eq + 1;
    } else if (config__key_is_bool(key)) {
        bool next_is_bool = *i + 1 < argc && config__parse_bool(argv[*i + 1], &b) == 0;
        value = next_is_bool ? argv[++*i] : "true";
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        snprintf(err, errlen, "--%s: missing value", key);
        return -1;
    }
    if (config__apply(c, src, key, value, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "--%s: %s", key, msg);
        return -1;
    }
    return 0;
}

int config_parse_args(iot_config *c, int argc, char **argv, bool *help, char *err, size_t errlen)
{
    const char *path;
    config__source src = {.listen_seen = false};
    *help = wants_help(argc, argv);
    if (*help)
        return 0;
    if (find_config(argc, argv, &path, err, errlen) < 0)
        return -1;
    if (path && load_file(c, path, err, errlen) < 0)
        return -1;
    for (int i = 1; i < argc; i++)
        if (apply_flag(c, &src, argc, argv, &i, err, errlen) < 0)
            return -1;
    if ((c->cert[0] == '\0') != (c->key[0] == '\0')) {
        snprintf(err, errlen, "cert and key must be given together");
        return -1;
    }
    return 0;
}
