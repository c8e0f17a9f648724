/*
 * `iotcloud reload [server flags]`: asks the running server to reload through its admin
 * socket (app/admin.h), prints the answer and exits 0 when the reload was applied, 1 when
 * it was refused or no server answers, 2 on usage. The flags only locate the data
 * directory (--data-dir, or --config FILE naming it), as for the server.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "app/admin.h"
#include "app/cmd.h"
#include "app/config.h"

static int dial(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "%s: %s (is the server running with this data directory?)", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Sends "reload", reads the one-line answer into @out. */
static int ask(int fd, char *out, size_t cap)
{
    static const char cmd[] = "reload\n";
    if (write(fd, cmd, sizeof cmd - 1) != (ssize_t)(sizeof cmd - 1))
        return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, out + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    return len ? 0 : -1;
}

int app_cmd_reload(int argc, char **argv)
{
    static iot_config cfg;
    char err[800], path[600], out[1200];
    bool help = false;
    config_defaults(&cfg);
    if (config_parse_args(&cfg, argc, argv, &help, err, sizeof err) < 0 || help) {
        fprintf(help ? stdout : stderr,
                "%s%susage: iotcloud reload [--data-dir DIR | --config FILE]\n"
                "Asks the server using that data directory to re-read its configuration and "
                "certificate (as SIGHUP does).\n",
                help ? "" : err, help ? "" : "\n");
        return help ? 0 : 2;
    }
    snprintf(path, sizeof path, "%s/%s", cfg.data_dir, APP_ADMIN_SOCK);
    int fd = dial(path, err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "iotcloud reload: %s\n", err);
        return 1;
    }
    int rc = ask(fd, out, sizeof out);
    close(fd);
    if (rc < 0) {
        fprintf(stderr, "iotcloud reload: no answer from %s\n", path);
        return 1;
    }
    fputs(out, strncmp(out, "ok:", 3) == 0 ? stdout : stderr);
    return strncmp(out, "ok:", 3) == 0 ? 0 : 1;
}
