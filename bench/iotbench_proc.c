/* iotbench: the broker's memory and CPU time, read from /proc/PID.
 *
 *   /proc/PID/status   line "VmRSS:   12345 kB"
 *   /proc/PID/stat     "pid (comm) state ..." — utime and stime are fields 14 and 15,
 *                      in clock ticks; comm may hold spaces and ')' so fields are
 *                      counted from the last ')'.
 */
#include "bench/iotbench_connect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return -errno;
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n > 0 ? 0 : -EIO;
}

static int read_rss(int pid, uint64_t *bytes)
{
    char path[64], buf[4096];
    const char *p;
    unsigned long long kb;
    int rc;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    rc = read_text(path, buf, sizeof buf);
    if (rc < 0)
        return rc;
    p = strstr(buf, "\nVmRSS:");
    if (!p || sscanf(p + 7, "%llu", &kb) != 1)
        return -EINVAL;
    *bytes = (uint64_t)kb * 1024;
    return 0;
}

static int read_cpu(int pid, uint64_t *us)
{
    char path[64], buf[2048];
    const char *p;
    unsigned long long utime, stime;
    long hz = sysconf(_SC_CLK_TCK);
    int rc;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    rc = read_text(path, buf, sizeof buf);
    if (rc < 0)
        return rc;
    p = strrchr(buf, ')');
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
     * cmajflt(13) utime(14) stime(15) */
    if (!p || hz <= 0 ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
            2)
        return -EINVAL;
    *us = (uint64_t)((utime + stime) * 1000000ull / (unsigned long long)hz);
    return 0;
}

int iotbench_proc_read(int pid, iotbench_proc_sample *s)
{
    int rc = read_rss(pid, &s->rss_bytes);

    return rc < 0 ? rc : read_cpu(pid, &s->cpu_us);
}
