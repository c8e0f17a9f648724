/**
 * devsim — N simulated iotcloud devices in one process (docs/device-protocol.md).
 *
 * Every device is its own MQTT 3.1.1 connection over TLS (OpenSSL over memory BIOs) on
 * one uv loop: it connects with its client certificate, its secret or anonymously,
 * subscribes to `ID/#` and answers requests on `server/ID/{api}`.
 *
 *   devsim.c       main: options, the ramp that staggers connects, status line, signals
 *   devsim_ids.c   the device list: certdir (ID.crt + ID.key), secrets file, generated ids
 *   devsim_tls.c   client TLS engine over memory BIOs
 *   devsim_conn.c  one device's connection: TCP, TLS, MQTT framing, keepalive, reconnect
 *   devsim_api.c   the device APIs: dispatch table, device state, answers
 *
 * Threading: everything runs on the loop's thread; nothing is shared with another thread.
 * Ownership: the devsim owns the device array; each device owns its handles, its SSL and
 * its buffers, freed in close callbacks (the uv_tcp_t) or at devsim teardown.
 */
#ifndef IOT_BENCH_DEVSIM_H
#define IOT_BENCH_DEVSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <uv.h>

#include <openssl/ssl.h>

#define DEVSIM_ID_MAX      128     /* longest device id, bytes */
#define DEVSIM_SECRET_MAX  256     /* longest device secret, bytes */
#define DEVSIM_MAX_PACKET  262144u /* largest MQTT packet accepted or built */
#define DEVSIM_MAX_OUTPUT  1048576 /* ciphertext queued per connection before we drop it */
#define DEVSIM_KEEPALIVE   60      /* seconds, in CONNECT */
#define DEVSIM_CONNECT_TMO 15000   /* ms from TCP connect to SUBACK */
#define DEVSIM_RESTART_MS  2000    /* "restarting" lasts this long */
#define DEVSIM_GPIOS       32

enum devsim_auth { DEVSIM_AUTH_CERT, DEVSIM_AUTH_SECRET, DEVSIM_AUTH_NONE };

typedef struct devsim_opts {
    const char *host;
    int port;
    const char *cafile;
    const char *certdir; /* DEVSIM_AUTH_CERT */
    const char *secrets; /* DEVSIM_AUTH_SECRET */
    const char *prefix;  /* DEVSIM_AUTH_NONE: ids PREFIX-1 .. PREFIX-N */
    enum devsim_auth auth;
    long count;           /* devices to run; 0 = all in certdir/secrets */
    bool legacy;          /* answers without rid/status/error; silent on errors */
    long reply_delay_ms;  /* every answer waits this long */
    long malformed_every; /* every K-th answer (process-wide) is broken JSON; 0 = never */
    double rate;          /* new connections per second */
    long parallel;        /* connections between connect() and SUBACK at most */
    bool quiet;           /* no live status line */
    long shadow_window;   /* shadow updates in flight per device; 0 = none (devsim_shadow.c) */
    long telemetry_ms;    /* every UP device publishes a reading this often; 0 = never */
    long telemetry_keys;  /* values per reading (k0..kN-1); default 5 */
    bool jobs;            /* run every job the server queues (devsim_jobs.c) */
} devsim_opts;

typedef struct devsim_stats {
    uint64_t connected; /* devices subscribed and answering now */
    uint64_t connects;  /* successful CONNACK+SUBACK, all time */
    uint64_t drops;     /* connections lost or failed (before or after connecting) */
    uint64_t requests;  /* requests received */
    uint64_t answers;   /* answers published */
    uint64_t errors;    /* answers with status >= 400 (or withheld in legacy mode) */
    uint64_t malformed; /* answers deliberately broken */
    uint64_t refused;   /* CONNACK with a non-zero return code */
    uint64_t shadow_sent, shadow_accepted, shadow_rejected, shadow_deltas; /* --shadow-window */
    uint64_t telemetry;                    /* readings published on server/ID/telemetry */
    uint64_t jobs_started, jobs_succeeded; /* --jobs: executions started and finished */
} devsim_stats;

typedef struct devsim devsim;
typedef struct devsim_reply devsim_reply;

enum devsim_state {
    DEV_IDLE,       /* not connected; waiting for the ramp or the backoff timer */
    DEV_CONNECTING, /* TCP connect, TLS handshake, CONNECT, SUBSCRIBE */
    DEV_UP,         /* subscribed: answering */
    DEV_CLOSING,    /* handle closing; back to DEV_IDLE in its close callback */
};

/** One simulated device: identity, connection and the state its APIs expose. */
typedef struct devsim_dev {
    devsim *sim;
    char id[DEVSIM_ID_MAX + 1];
    char secret[DEVSIM_SECRET_MAX + 1]; /* DEVSIM_AUTH_SECRET only; never printed */
    X509 *cert;                         /* DEVSIM_AUTH_CERT only */
    EVP_PKEY *key;
    uint32_t index;

    /* connection (devsim_conn.c) */
    enum devsim_state state;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_shutdown_t sreq;
    uv_timer_t timer; /* connect timeout, keepalive, reconnect backoff */
    SSL *ssl;
    BIO *rbio, *wbio;         /* ciphertext in / out */
    uint8_t *rx;              /* plaintext received, not yet parsed */
    size_t rx_len, rx_cap;    /* rx_len <= rx_cap <= DEVSIM_MAX_PACKET + 32 KiB */
    size_t out_queued;        /* ciphertext handed to libuv, not yet written */
    bool tls_done, connacked; /* handshake finished; CONNACK 0 received */
    uint16_t next_pid;
    uint64_t last_rx_ms;
    uint32_t backoff_ms;
    bool stopping; /* shutdown: no reconnect */

    /* device state (devsim_api.c); kept across reconnects like a real device's RAM */
    uint32_t gpio;      /* bit n = pin n */
    int64_t rtc_offset; /* device clock - system clock, seconds */
    bool restarting;    /* set_status restart: "restarting" for DEVSIM_RESTART_MS */
    uv_timer_t restart_timer;
    devsim_reply *replies; /* answers waiting for --reply-delay-ms */
    uint64_t shadow_seq;   /* last shadow update sent (devsim_shadow.c) */
    bool job_busy;         /* --jobs: a start-next or update in flight (devsim_jobs.c) */
} devsim_dev;

struct devsim {
    uv_loop_t *loop;
    devsim_opts o;
    struct sockaddr_storage addr;
    SSL_CTX *ctx;
    devsim_dev *devs;
    size_t ndevs;
    size_t next_start; /* ramp: devices [0, next_start) have been started */
    size_t connecting; /* devices in DEV_CONNECTING */
    uint64_t answer_seq;
    devsim_stats st;
    bool stopping;
    unsigned fail_logged; /* connection failures printed so far (capped) */
    uint8_t rbuf[65536];  /* every read lands here and goes straight into an rbio */
};

/* ---- devsim_ids.c ---------------------------------------------------------------------- */

/** Fills sim->devs / sim->ndevs from the options (files are read here, before the loop
 *  runs). 0, or -1 with a message on stderr. */
int devsim__load_devices(devsim *sim);
/** Frees what devsim__load_devices allocated (keys, certificates, the array). */
void devsim__free_devices(devsim *sim);

/* ---- devsim_tls.c ---------------------------------------------------------------------- */

/** Client SSL_CTX: TLS 1.2+, verifies the server against @cafile, ALPN "mqtt". */
SSL_CTX *devsim__tls_ctx(const char *cafile);
/** New SSL over two memory BIOs for @d (client cert/key when it has them, host check). */
int devsim__tls_start(devsim_dev *d);
/** Frees the SSL and its BIOs. */
void devsim__tls_free(devsim_dev *d);

/* ---- devsim_conn.c --------------------------------------------------------------------- */

/** Initialises the device's timers; devsim__dev_stop closes them. */
int devsim__dev_init(devsim_dev *d);
/** Starts connecting (state must be DEV_IDLE). */
void devsim__dev_connect(devsim_dev *d);
/** Shutdown: DISCONNECT if up, then closes every handle; no reconnect. */
void devsim__dev_stop(devsim_dev *d);
/** Queues a PUBLISH QoS 1 (retain 0). 0 or a negative error (the connection then drops). */
int devsim__dev_publish(devsim_dev *d, const char *topic, const uint8_t *payload, size_t len);

/* ---- devsim_telem.c -------------------------------------------------------------------- */

/** Publishes one reading {ts, k0..kN-1} on "server/ID/telemetry" for each of the next @n
 *  devices (round robin from *@next) that are up. */
void devsim__telemetry_round(devsim *sim, size_t *next, size_t n);

/* ---- devsim_api.c ---------------------------------------------------------------------- */

/** Handles one request that arrived on `ID/@api` (already stripped of "ID/"). */
void devsim__api_request(devsim_dev *d, const char *api, size_t api_len, const uint8_t *payload,
                         size_t len);
/** Drops the answers still waiting for --reply-delay-ms (the connection went away). */
void devsim__api_drop_replies(devsim_dev *d);

/* ---- devsim_shadow.c --------------------------------------------------------------------- */

/** The device is up: sends its first --shadow-window updates (none when 0). */
void devsim__shadow_start(devsim_dev *d);
/** @api (under ID/) is a shadow reply: counted, the next update sent; true when it was one
 *  (then it is not a request). */
bool devsim__shadow_reply(devsim_dev *d, const char *api, size_t n);

/* ---- devsim_jobs.c ----------------------------------------------------------------------- */

/** The device is up: with --jobs, asks for its next job (start-next). */
void devsim__jobs_start(devsim_dev *d);
/** @api (under ID/) is a jobs reply or notification: handled (the job run to SUCCEEDED,
 *  the next one asked for); true when it was one. */
bool devsim__jobs_reply(devsim_dev *d, const char *api, size_t n, const uint8_t *payload,
                        size_t len);

#endif
