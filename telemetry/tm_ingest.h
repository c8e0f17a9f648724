/**
 * telemetry/tm_ingest — readings from devices into the store, off the loops
 * (docs/telemetry.md "Ingestion").
 *
 * A device publishes on "server/{id}/telemetry"; the device-event bus (devices/events.h)
 * hands the message to tm_ingest_on_event on the device's loop, which parses it
 * (tm_parse.h, pure, bounded by max_points) and appends the points to ONE queue shared by
 * all loops. The queue is drained by store jobs: at most one is in flight; it takes every
 * record queued when it is submitted and writes them in its transaction (one savepoint,
 * one group commit), and its completion submits the next drain if more arrived meanwhile.
 * So under load a batch holds whatever arrived during the previous commit, and the cost
 * per point is the SQL alone.
 *
 * Bounded: at most queue_max points wait; a message that would exceed it is dropped whole
 * and counted (a store that cannot keep up must not grow memory, nor slow routing). A
 * payload the parser refuses is counted and recorded as a device event "telemetry_rejected"
 * (reason: "bad_json", "bad_ts", "bad_key: k", "bad_value: k", "too_many: k", "empty"),
 * never stored in part.
 *
 * "Ingested" means committed: a point is durable (and visible to queries) once the drain
 * job that holds it has committed; points still in the queue at a crash are lost, and a
 * device that needs more publishes with QoS 1 and re-sends (duplicates are ignored).
 *
 * A later consumer of the same stream (rules) subscribes to DEV_EV_MESSAGE on the same bus
 * and runs tm_parse itself: the parse is pure and cheap, and nothing here needs to know.
 *
 * Threading: new/free on the main thread (free after the store closed); on_event on any
 * loop; stats from any thread.
 */
#ifndef IOT_TELEMETRY_TM_INGEST_H
#define IOT_TELEMETRY_TM_INGEST_H

#include <stdint.h>

#include "devices/events.h"
#include "store/store.h"

struct tm_live;

typedef struct tm_ingest tm_ingest;

typedef struct tm_ingest_opts {
    uint32_t queue_max;          /* points waiting for the store at once; 0 = 100000 */
    uint32_t max_points;         /* points per message; 0 = TM_POINTS_DEF */
    uint32_t max_keys;           /* series per device; 0 = unlimited */
    uint32_t events_max;         /* device events kept per device (rejections); 0 = 200 */
    int64_t retention_ms;        /* raw points kept; 0 = forever */
    int64_t rollup_retention_ms; /* rollups kept; 0 = forever */
    uint32_t log_max_lines;      /* device log lines kept per device; 0 = 1000 */
    int64_t log_retention_ms;    /* device log lines kept; 0 = forever */
    uint32_t log_line_max;       /* bytes of one line (longer: cut, marked); 0 = 1024 */
    uint32_t log_rate;           /* lines per device per minute (burst as many); 0 = 60 */
    struct tm_live *live;        /* live fan-out of what is accepted (tm_live.h); NULL: none */
    uint64_t quota_device_day;   /* points a UTC day per device (tm_quota.h); 0 = none */
    uint64_t quota_owner_day;    /* points a UTC day per owner; 0 = none */
} tm_ingest_opts;

/** @st must outlive it. NULL: out of memory. */
tm_ingest *tm_ingest_new(store *st, const tm_ingest_opts *o);
/** Waits until every queued point is committed (or failed). Main thread, after the loops
 *  stopped and before the store closes (a drain resubmitted during the close would fail). */
void tm_ingest_flush(tm_ingest *ti);
/** After the store closed (every drain has completed). NULL is ignored. */
void tm_ingest_free(tm_ingest *ti);

/** The DEV_EV_MESSAGE subscriber (@arg = the tm_ingest): handles api "telemetry" and
 *  api "log" (device logs: tm_log.h; rate-limited per device, the first line dropped in a
 *  row is replaced by a warn line saying lines are being dropped). */
void tm_ingest_on_event(void *arg, const dev_event *e);
/** One message of device @dev received at @now_ms. Never blocks. */
void tm_ingest_message(tm_ingest *ti, const char *dev, const uint8_t *p, size_t n, int64_t now_ms);

typedef struct tm_ingest_stats {
    unsigned long long messages;     /* telemetry messages seen */
    unsigned long long rejected;     /* refused by the parser */
    unsigned long long dropped;      /* messages dropped: queue full */
    unsigned long long points;       /* points committed */
    unsigned long long duplicates;   /* points ignored: (device, key, ts) already stored */
    unsigned long long over_keys;    /* points refused: the device's series limit */
    unsigned long long failed;       /* points lost to a failed drain (store error) */
    unsigned long long batches;      /* drain jobs committed */
    unsigned long long pending;      /* points queued now */
    unsigned long long log_lines;    /* log lines queued for the store */
    unsigned long long log_limited;  /* log lines dropped by the per-device rate */
    unsigned long long log_rejected; /* log payloads refused by the parser */
    unsigned long long over_quota;   /* points refused by a day quota (tm_quota.h) */
} tm_ingest_stats;
void tm_ingest_stats_get(tm_ingest *ti, tm_ingest_stats *out);

#endif
