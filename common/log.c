#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log_int.h"

#define LINE_MAX_BYTES 4096 /* longer lines are cut (JSON stays valid) */
#define PATH_CAP       1024

static _Atomic int min_level = LOG_INFO; /* a reload changes it while threads log */
static enum log_format format = LOG_FORMAT_TEXT;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* The descriptor every line goes to. A log file keeps its number for the whole run:
 * log_reopen dup2()s the new file onto it, so a writer never sees a closed descriptor. */
static int log_fd = STDERR_FILENO;
static char log_path[PATH_CAP];

void log_set_level(enum log_level lvl)
{
    atomic_store_explicit(&min_level, (int)lvl, memory_order_relaxed);
}

int log_enabled(enum log_level lvl)
{
    return (int)lvl >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

void log_set_format(enum log_format f) { format = f; }

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_format_parse(const char *name, enum log_format *out)
{
    if (strcmp(name, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (strcmp(name, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

static int open_path(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int log_open_file(const char *path, char *err, size_t errlen)
{
    if (strlen(path) >= sizeof log_path) {
        snprintf(err, errlen, "log file %.64s...: path too long", path);
        return -1;
    }
    int fd = open_path(path);
    if (fd < 0) {
        snprintf(err, errlen, "log file %s: %s", path, strerror(errno));
        return -1;
    }
    memcpy(log_path, path, strlen(path) + 1);
    log_fd = fd;
    return 0;
}

/* Only async-signal-safe calls: open, dup2, close. */
int log_reopen(void)
{
    if (!log_path[0])
        return 1;
    int saved = errno, rc = -1;
    int fd = open_path(log_path);
    if (fd >= 0) {
        rc = dup2(fd, log_fd) < 0 ? -1 : 0;
        close(fd);
    }
    errno = saved;
    return rc;
}

static void put_line(const char *line, size_t len)
{
    /* One write per line so lines from different threads never interleave. */
    ssize_t w = write(log_fd, line, len);
    (void)w;
}

static void vlog(enum log_level lvl, const log_field *fields, size_t n, const char *fmt, va_list ap)
{
    char msg[LINE_MAX_BYTES / 2], line[LINE_MAX_BYTES], ts[96];
    struct timespec t;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &t);
    gmtime_r(&t.tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, t.tv_nsec / 1000000L);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    if (m < 0)
        msg[0] = '\0';
    log__event ev = {ts, level_names[lvl], msg, fields, n};
    size_t len = format == LOG_FORMAT_JSON ? log__format_json(&ev, line, sizeof line)
                                           : log__format_text(&ev, line, sizeof line);
    put_line(line, len);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (!log_enabled(lvl))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_kv(enum log_level lvl, const log_field *fields, size_t n, const char *fmt, ...)
{
    if (!log_enabled(lvl))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, fields, n, fmt, ap);
    va_end(ap);
}
