/*
 * doctor — `iotcloud doctor`: checks a configuration and the machine it is about to run on,
 * and says what to fix. Read-only: it creates nothing, binds each port only to see whether
 * it is free, and opens the database without migrating it.
 *
 * Checks, in order: open-file limit vs the expected connections, data directory, store,
 * each listener's port, the server certificate (doctor_cert.c).
 */
#include "app/doctor_int.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/cmd.h"

#define DEFAULT_CONNECTIONS 10000u
#define FD_OVERHEAD         64u /* store, WAL, CA files, log, eventfds, listeners */
#define MAX_ARGS            256

void doctor__say(doctor *d, enum doctor_verdict v, const char *fmt, ...)
{
    static const char *const tag[] = {"ok   ", "warn ", "FIX  "};
    va_list ap;
    d->checks++;
    d->warnings += v == DOCTOR_WARN;
    d->problems += v == DOCTOR_FIX;
    fputs(tag[v], d->out);
    va_start(ap, fmt);
    vfprintf(d->out, fmt, ap);
    va_end(ap);
    fputc('\n', d->out);
}

static void check_fds(doctor *d, const iot_config *cfg, unsigned long conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        doctor__say(d, DOCTOR_WARN, "descriptors: cannot read the open-file limit");
        return;
    }
    unsigned long long need = conns + cfg->fd_reserve + FD_OVERHEAD;
    if ((unsigned long long)rl.rlim_cur >= need)
        doctor__say(d, DOCTOR_OK,
                    "descriptors: limit %llu >= %llu (%lu connections + fd-reserve %u + %u)",
                    (unsigned long long)rl.rlim_cur, need, conns, cfg->fd_reserve, FD_OVERHEAD);
    else
        doctor__say(d, DOCTOR_FIX,
                    "descriptors: limit %llu < %llu needed for %lu connections (fd-reserve %u "
                    "+ %u): raise it (ulimit -n %llu; systemd LimitNOFILE=%llu)",
                    (unsigned long long)rl.rlim_cur, need, conns, cfg->fd_reserve, FD_OVERHEAD,
                    need, need);
}

static void check_data_dir(doctor *d, const iot_config *cfg)
{
    struct stat sb;
    const char *dir = cfg->data_dir;
    if (stat(dir, &sb) < 0) {
        doctor__say(d, errno == ENOENT ? DOCTOR_OK : DOCTOR_FIX, "data directory %s: %s%s", dir,
                    strerror(errno), errno == ENOENT ? " (the first start creates it, 0700)" : "");
        return;
    }
    if (!S_ISDIR(sb.st_mode))
        doctor__say(d, DOCTOR_FIX, "data directory %s: not a directory", dir);
    else if (access(dir, W_OK | X_OK) < 0)
        doctor__say(d, DOCTOR_FIX,
                    "data directory %s: not writable by this user (uid %u): "
                    "chown it to the service user",
                    dir, (unsigned)getuid());
    else if (sb.st_mode & (S_IWGRP | S_IWOTH))
        doctor__say(d, DOCTOR_FIX,
                    "data directory %s: writable by group or others (mode %03o), "
                    "anyone could replace the keys: chmod 700 %s",
                    dir, (unsigned)(sb.st_mode & 0777), dir);
    else if (sb.st_mode & S_IROTH)
        doctor__say(d, DOCTOR_WARN,
                    "data directory %s: readable by others (mode %03o): "
                    "chmod 700 %s",
                    dir, (unsigned)(sb.st_mode & 0777), dir);
    else
        doctor__say(d, DOCTOR_OK, "data directory %s: writable, mode %03o", dir,
                    (unsigned)(sb.st_mode & 0777));
}

static void check_store(doctor *d, const iot_config *cfg)
{
    char path[CONFIG_PATH_MAX + 16], err[1024];
    if (app_store_is_mongo(cfg->store_path)) {
        /* never echo the URI: it may carry a password */
        const char *missing = store_backend_missing("mongodb");
        if (missing)
            doctor__say(d, DOCTOR_FIX, "store: the mongodb backend lacks %s (docs/store.md)",
                        missing);
        else
            doctor__say(d, DOCTOR_OK, "store: mongodb (reachability: /readyz)");
        return;
    }
    if (cfg->store_path[0])
        snprintf(path, sizeof path, "%s", cfg->store_path);
    else
        snprintf(path, sizeof path, "%s/iotcloud.db", cfg->data_dir);
    if (access(path, F_OK) < 0) {
        doctor__say(d, DOCTOR_OK, "store %s: none yet; the first start creates it", path);
        return;
    }
    if (store_probe(path, err, sizeof err) < 0)
        doctor__say(d, DOCTOR_FIX, "store %s: %s (restore a backup: iotcloud store restore)", path,
                    err);
    else
        doctor__say(d, DOCTOR_OK, "store %s: opens, integrity check passed", path);
}

/* Binds like the server will (SO_REUSEADDR; without SO_REUSEPORT, so another iotcloud
 * listening there counts as in use). Returns 0 or an errno. */
static int try_bind(const char *host, uint16_t port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    if (getaddrinfo(host, ps, &hints, &ai) != 0 || !ai)
        return EADDRNOTAVAIL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0, one = 1;
    if (fd < 0)
        rc = errno;
    else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
             bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        rc = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

static void check_ports(doctor *d, const iot_config *cfg)
{
    for (size_t i = 0; i < cfg->n_listen; i++) {
        const config_listen *l = &cfg->listen[i];
        const char *scheme = config_scheme_name(l->scheme);
        if (l->port == 0) {
            doctor__say(d, DOCTOR_OK, "listen %s://%s:0: the kernel picks a port", scheme, l->host);
            continue;
        }
        int e = try_bind(l->host, l->port);
        if (e == 0)
            doctor__say(d, DOCTOR_OK, "listen %s://%s:%u: free", scheme, l->host, l->port);
        else if (e == EADDRINUSE)
            doctor__say(d, DOCTOR_FIX,
                        "listen %s://%s:%u: in use by another process: stop it "
                        "or choose another port",
                        scheme, l->host, l->port);
        else if (e == EACCES)
            doctor__say(d, DOCTOR_FIX,
                        "listen %s://%s:%u: ports below 1024 need "
                        "CAP_NET_BIND_SERVICE (systemd AmbientCapabilities=) or root",
                        scheme, l->host, l->port);
        else
            doctor__say(d, DOCTOR_FIX, "listen %s://%s:%u: %s", scheme, l->host, l->port,
                        strerror(e));
    }
}

/* Takes "--connections N" out of argv (into *conns); the rest are server flags. */
static int split_args(int argc, char **argv, char **rest, int *nrest, unsigned long *conns)
{
    *nrest = 0;
    for (int i = 0; i < argc && *nrest < MAX_ARGS; i++) {
        if (strcmp(argv[i], "--connections") == 0) {
            char *end;
            if (i + 1 >= argc || argv[i + 1][0] < '0' || argv[i + 1][0] > '9')
                return -1;
            errno = 0;
            *conns = strtoul(argv[++i], &end, 10);
            if (*end || errno || *conns == 0 || *conns > 100000000ul)
                return -1;
            continue;
        }
        rest[(*nrest)++] = argv[i];
    }
    return *nrest < MAX_ARGS ? 0 : -1;
}

int app_cmd_doctor(int argc, char **argv)
{
    static const char usage[] = "usage: iotcloud doctor [--connections N] [server flags, "
                                "e.g. --config FILE]\n";
    iot_config cfg;
    char err[512], *rest[MAX_ARGS];
    int nrest;
    bool help = false;
    unsigned long conns = DEFAULT_CONNECTIONS;
    config_defaults(&cfg);
    if (split_args(argc, argv, rest, &nrest, &conns) < 0 ||
        config_parse_args(&cfg, nrest, rest, &help, err, sizeof err) < 0) {
        fprintf(stderr, "iotcloud doctor: %s\n%s", help ? "" : err, usage);
        return 2;
    }
    if (help) {
        printf("%sChecks the configuration and this machine: open-file limit for N expected\n"
               "connections (default %u), data directory, store, ports, certificate.\n"
               "Exit 0 when ready, 1 when something must be fixed.\n",
               usage, DEFAULT_CONNECTIONS);
        return 0;
    }
    doctor d = {.out = stdout};
    check_fds(&d, &cfg, conns);
    check_data_dir(&d, &cfg);
    check_store(&d, &cfg);
    check_ports(&d, &cfg);
    doctor__cert(&d, &cfg);
    printf("%u checks: %u to fix, %u warnings\n", d.checks, d.problems, d.warnings);
    return d.problems ? 1 : 0;
}
