/**
 * iotbench connect — connection-scaling scenario: ramp to K concurrent MQTT connections
 * (plain or TLS), each doing CONNECT/CONNACK and then staying idle, and measure the
 * handshake latency and what the broker spends per connection (RSS, CPU).
 *
 * iotbench_connect.c runs the connections, iotbench_connect_opts.c parses options,
 * iotbench_connect_report.c prints the summary and the JSON file, iotbench_proc.c reads
 * the broker's /proc counters. Everything runs on one uv loop in the calling thread.
 */
#ifndef IOT_BENCH_IOTBENCH_CONNECT_H
#define IOT_BENCH_IOTBENCH_CONNECT_H

#include <stdbool.h>
#include <stdint.h>

#include "bench/hist.h"

typedef struct iotbench_connect_opts {
    char host[64]; /* numeric IPv4 or IPv6 address */
    int port;
    int conns;          /* K: connections to establish and hold */
    double rate;        /* new connections per second; 0 = as fast as --parallel allows */
    int parallel;       /* cap on connections between connect() and CONNACK */
    double hold;        /* seconds to keep them idle after the ramp */
    int sources;        /* source addresses 127.0.0.1 .. 127.0.0.N (loopback host only) */
    int server_pid;     /* 0: no broker RSS / CPU figures */
    int keepalive;      /* seconds, in CONNECT */
    bool tls;           /* TLS with ALPN "mqtt" */
    bool resume;        /* reuse the first connection's session ticket */
    const char *cafile; /* verify the server against this CA; NULL: no verification */
    const char *json;   /* NULL: no JSON file */
} iotbench_connect_opts;

/* Why a connection did not get established or did not stay up. */
enum iotbench_fail {
    FAIL_SOCKET,     /* socket() / bind() / connect() refused locally */
    FAIL_TCP,        /* TCP connect failed (refused, reset, timed out) */
    FAIL_TLS,        /* TLS handshake failed or the certificate did not verify */
    FAIL_EOF,        /* the broker closed the connection before CONNACK */
    FAIL_REFUSED,    /* CONNACK with a non-zero return code */
    FAIL_PROTOCOL,   /* anything but a well-formed CONNACK first */
    FAIL_TIMEOUT,    /* no CONNACK within the handshake timeout */
    FAIL_DROPPED,    /* established, then closed by the broker while idle */
    IOTBENCH_NFAILS, /* number of causes */
};

/* What the broker process spent, from /proc/PID (see iotbench_proc.c). */
typedef struct iotbench_proc_sample {
    uint64_t rss_bytes; /* VmRSS */
    uint64_t cpu_us;    /* utime + stime */
} iotbench_proc_sample;

typedef struct iotbench_connect_result {
    uint64_t attempted;
    uint64_t established; /* CONNACK 0 received */
    uint64_t up_at_end;   /* still connected when the hold ended */
    uint64_t resumed;     /* TLS handshakes that resumed a session */
    uint64_t fails[IOTBENCH_NFAILS];
    char fail_why[IOTBENCH_NFAILS][96]; /* first error text per cause */
    double ramp_s;                      /* first connect() to the last outcome */
    double client_cpu_us;               /* this process's CPU during the ramp */
    bool have_server;                   /* server_* below are valid */
    iotbench_proc_sample server_before; /* just before the ramp */
    iotbench_proc_sample server_after;  /* when the ramp ended */
    iotbench_proc_sample server_held;   /* when the hold ended */
    hist handshake;                     /* connect() -> CONNACK */
    hist tcp;                           /* connect() -> TCP established */
    hist tls;                           /* TCP established -> TLS handshake done */
} iotbench_connect_result;

const char *iotbench_fail_name(enum iotbench_fail f);

/** The whole `iotbench connect` command; returns the process exit code (0, 1, 2). */
int iotbench_connect_main(int argc, char **argv);
/** Runs the scenario; fills @r. 0, or a negative libuv error when it could not run. */
int iotbench_connect_run(const iotbench_connect_opts *o, iotbench_connect_result *r);
void iotbench_connect_print(const iotbench_connect_opts *o, const iotbench_connect_result *r);
int iotbench_connect_json(const iotbench_connect_opts *o, const iotbench_connect_result *r,
                          const char *path);

/** Reads VmRSS and utime + stime of process @pid. 0 or a negative errno. */
int iotbench_proc_read(int pid, iotbench_proc_sample *s);

#endif
