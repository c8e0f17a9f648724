/**
 * iotbench rtt — device-control round trips: C HTTPS keep-alive connections call
 * devices through the REST API (docs/device-control.md), open loop at a fixed rate or
 * closed loop as fast as possible, and measure the round trip, the server's own
 * latency_us, the errors by status and the server's CPU and RSS.
 *
 * iotbench_rtt.c runs the calls and paces them, iotbench_rtt_opts.c parses options and
 * loads the device list, iotbench_rtt_report.c prints the summary and the JSON file;
 * iotbench_https.c is the HTTPS client, iotbench_proc.c reads /proc/PID. Everything runs
 * on one uv loop in the calling thread.
 *
 * `iotbench register` (iotbench_register.c) makes the devices: keys and CSRs made here,
 * POSTed over keep-alive HTTPS, ID.crt + ID.key written for `devsim --certdir`.
 */
#ifndef IOT_BENCH_IOTBENCH_RTT_H
#define IOT_BENCH_IOTBENCH_RTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/hist.h"
#include "bench/iotbench_connect.h"

#define IOTBENCH_ID_MAX    128  /* device id bytes, NUL included */
#define IOTBENCH_TOKEN_MAX 2048 /* access token bytes, NUL included */
#define IOTBENCH_STATUS_N  600  /* HTTP statuses counted one by one: 0 .. 599 */

typedef struct iotbench_rtt_opts {
    char host[64]; /* numeric IPv4 or IPv6 address */
    int port;
    const char *cafile; /* verify the server; NULL: no verification */
    char token[IOTBENCH_TOKEN_MAX];
    char (*ids)[IOTBENCH_ID_MAX]; /* the devices, called round-robin; owned by the caller */
    size_t nids;
    char path_pre[256], path_post[256]; /* the path template around its one "%s" */
    int conns;                          /* C keep-alive connections */
    double rate;                        /* calls/s over all connections; 0 = closed loop */
    int depth;                          /* calls outstanding per connection at most */
    double duration, warmup;            /* measured seconds, after warmup seconds */
    double drain;                       /* seconds to wait for answers after the end */
    int server_pid;                     /* 0: no server CPU / RSS */
    const char *json;                   /* NULL: no JSON file */
} iotbench_rtt_opts;

typedef struct iotbench_rtt_result {
    double measured_s;
    uint64_t scheduled; /* calls due in the measured window */
    uint64_t completed; /* answers received in the measured window (any status) */
    uint64_t ok;        /* 2xx answers to calls due in the window */
    uint64_t failed;    /* non-2xx answers, lost or unsent calls due in the window */
    uint64_t status[IOTBENCH_STATUS_N]; /* answers by status, calls due in the window */
    uint64_t lost;                      /* calls due in the window whose connection failed */
    uint64_t unanswered;                /* calls due in the window still open after the drain */
    uint64_t conn_failures;             /* connections that failed (before or during the run) */
    char conn_why[128];                 /* the first failure's text */
    uint64_t no_latency;                /* 2xx answers without a latency_us field */
    uint64_t max_backlog;               /* most calls queued in the client, not yet on the wire */
    double client_cpu_pct;              /* this process, over the measured window */
    bool have_server;
    iotbench_proc_sample server_start, server_end; /* measured window */
    hist rtt;    /* intended send -> answer, calls due in the window */
    hist server; /* latency_us from 2xx answers, in ns */
} iotbench_rtt_result;

/** The whole `iotbench rtt` command; returns the exit code (0, 1 any error, 2 options). */
int iotbench_rtt_main(int argc, char **argv);
/** Runs the scenario; fills @r. 0, or a negative libuv error when it could not run. */
int iotbench_rtt_run(const iotbench_rtt_opts *o, iotbench_rtt_result *r);
void iotbench_rtt_print(const iotbench_rtt_opts *o, const iotbench_rtt_result *r);
int iotbench_rtt_json(const iotbench_rtt_opts *o, const iotbench_rtt_result *r, const char *path);
/** Reads one device id per line (blank lines skipped; ids of [A-Za-z0-9_.-]). */
int iotbench_read_ids(const char *path, char (**ids)[IOTBENCH_ID_MAX], size_t *n);
/** Reads a token: the first line of @path. 0 or -1. */
int iotbench_read_token(const char *path, char *out, size_t cap);

/** The whole `iotbench register` command; returns the exit code. */
int iotbench_register_main(int argc, char **argv);

#endif
