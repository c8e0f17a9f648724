/**
 * iotbench — shared types of the benchmark tool: options (iotbench.c), the pub/sub
 * scenario (iotbench_pubsub.c) and the result report (iotbench_report.c).
 */
#ifndef IOT_BENCH_IOTBENCH_H
#define IOT_BENCH_IOTBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/hist.h"

enum iotbench_mode {
    IOTBENCH_ONE2ONE, /* P publisher -> subscriber pairs, topic bench/<i> each */
    IOTBENCH_FANIN,   /* P publishers on bench/<i> -> 1 subscriber on bench/# */
    IOTBENCH_FANOUT,  /* 1 publisher on bench/0 -> S subscribers */
    IOTBENCH_REQREP,  /* P requesters on req/<i> -> 1 responder -> resp/<i> back */
};

typedef struct iotbench_opts {
    char host[64]; /* numeric IPv4 or IPv6 address */
    int port;
    int pubs;
    int subs;
    int qos;
    int size;          /* payload bytes, >= IOTBENCH_MIN_SIZE */
    double duration;   /* measured seconds, after the warm-up */
    double warmup;     /* seconds, not counted */
    double rate;       /* total messages/s over all publishers; 0 = as fast as possible */
    int inflight;      /* QoS 1 window of unacknowledged PUBLISHes per publisher */
    int max_unflushed; /* packets queued in the client but not yet written by libuv */
    enum iotbench_mode mode;
    bool persistent;  /* subscribers use clean session 0 */
    bool mqtt5;       /* --mqtt5: clients speak MQTT 5.0 */
    bool offline;     /* subscribers subscribe, go offline, drain after the publishers */
    const char *json; /* NULL: no JSON file */
    bool tls;
    const char *cafile;   /* --tls: verify the server against it; NULL: no verification */
    const char *alpn;     /* --tls: ALPN protocol offered, NULL: none */
    const char *username; /* NULL: CONNECT without credentials */
    const char *password; /* never printed */
    const char *ws_path;  /* --ws: MQTT over WebSocket on this HTTP path; NULL: plain MQTT */
} iotbench_opts;

/* Payload header every publisher writes: publisher index, sequence, send time. */
#define IOTBENCH_MIN_SIZE 20

typedef struct iotbench_result {
    double measured_s;
    uint64_t sent;       /* PUBLISHes written during the measured window */
    uint64_t delivered;  /* PUBLISHes received during the measured window (reqrep: answers) */
    uint64_t sent_total; /* whole run, warm-up and drain included */
    uint64_t expected;   /* deliveries the whole run should produce */
    uint64_t unique;     /* distinct (publisher, sequence) received per subscriber */
    uint64_t lost;       /* expected - unique after the drain */
    uint64_t dups;
    uint64_t out_of_order;
    uint64_t acked;         /* QoS 1 PUBACKs received by publishers */
    uint64_t sessions_lost; /* persistent subscribers resumed with session present 0 */
    hist latency;           /* receive - send (reqrep: round trip), measured window only */
    hist puback_latency;    /* PUBACK - send at the publisher, sent in the measured window */
} iotbench_result;

/* Option values (iotbench.c), shared by the scenarios: 0, or -1 when @s is not a number
 * in [lo, hi] / not a numeric address shorter than @cap. */
int iotbench_parse_long(const char *s, long lo, long hi, long *out);
int iotbench_parse_double(const char *s, double lo, double hi, double *out);
int iotbench_parse_host(const char *s, char *out, size_t cap);

const char *iotbench_mode_name(enum iotbench_mode m);
/** Runs the pub/sub scenario; fills @r. 0 or a negative libuv / MQTT error. */
int iotbench_pubsub_run(const iotbench_opts *o, iotbench_result *r);
void iotbench_report_print(const iotbench_opts *o, const iotbench_result *r);
int iotbench_report_json(const iotbench_opts *o, const iotbench_result *r, const char *path);

#endif
