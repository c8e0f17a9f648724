/**
 * telemetry/tm_live — live fan-out of device readings and log lines, as they arrive, to
 * listeners on any worker loop (the SSE streams of api/telemetry/tm_stream.c;
 * docs/telemetry.md "Live streams").
 *
 * The ingest path (tm_ingest, on the device's loop) publishes each parsed message once.
 * A publish with no listener anywhere costs one atomic load. Otherwise the message is
 * copied once into a refcounted block and posted (net_loop_post) to every loop that has
 * at least one listener; there each listener of that device and kind is called. Nothing
 * blocks and nothing waits for the store: a live value is shown before its commit.
 *
 * Threading: new on the main thread; subscribe / unsubscribe on a loop thread (the
 * listener belongs to that loop and is called there); publish from any loop; free on the
 * main thread after the loops are freed (messages still queued at shutdown are dropped).
 */
#ifndef IOT_TELEMETRY_TM_LIVE_H
#define IOT_TELEMETRY_TM_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "telemetry/tm_log.h"
#include "telemetry/tm_parse.h"

#define TM_LIVE_LOOPS_MAX 256 /* loops with listeners at most (net_loop_index below it) */

typedef struct tm_live tm_live;
typedef struct tm_live_sub tm_live_sub;

enum tm_live_kind { TM_LIVE_TELEMETRY = 1, TM_LIVE_LOG = 2 };

/** One message as a listener sees it; valid during the call only. */
typedef struct tm_live_msg {
    enum tm_live_kind kind;
    const char *dev;
    const tm_point *pts; /* TM_LIVE_TELEMETRY: the points, in the message's order */
    size_t n;
    const tm_log_line *log; /* TM_LIVE_LOG */
} tm_live_msg;

typedef void (*tm_live_fn)(void *arg, const tm_live_msg *m);

tm_live *tm_live_new(void);
void tm_live_free(tm_live *h);

/** Calls @fn(@arg, m) on this loop for every later message of device @dev whose kind is
 *  in the mask @kinds. NULL: out of memory, or not on a loop thread. */
tm_live_sub *tm_live_subscribe(tm_live *h, const char *dev, unsigned kinds, tm_live_fn fn,
                               void *arg);
/** On the loop that subscribed. @s is freed; NULL is ignored. */
void tm_live_unsubscribe(tm_live_sub *s);

/** Publishes a parsed telemetry message / log line of device @dev. Never blocks; a copy
 *  that cannot be allocated is not delivered (counted). NULL @h: nothing. */
void tm_live_telemetry(tm_live *h, const char *dev, const tm_batch *b);
void tm_live_log(tm_live *h, const char *dev, const tm_log_line *l);

typedef struct tm_live_stats {
    unsigned long long listeners; /* subscribed now */
    unsigned long long posted;    /* messages posted to a loop */
    unsigned long long failed;    /* messages not delivered: out of memory */
} tm_live_stats;
void tm_live_stats_get(tm_live *h, tm_live_stats *out);

#endif
