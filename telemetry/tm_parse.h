/**
 * telemetry/tm_parse — the payload of "server/{id}/telemetry" (docs/telemetry.md), read into
 * points. Pure: no loop, no store, no global; fuzzed by fuzz/fuzz_telemetry.c.
 *
 *   form     payload                                              points
 *   single   {"ts": 1700000000000, "temp": 21.5, "on": true}     one per key, at ts
 *   batch    [{"ts": ..., "values": {"temp": 21.5}}, ...]         one per key per element
 *
 * ts (ms since the epoch, an integer 1..2^53) is optional everywhere: absent, the arrival
 * time @now_ms is used. A value is a finite number, a boolean or a string of at most
 * TM_STR_MAX bytes; a key is 1..TM_KEY_MAX characters of A-Z a-z 0-9 _ . - ("ts" is the
 * timestamp, never a key). Anything else refuses the WHOLE message (a half-stored reading
 * would be harder to explain than a refused one): the error names the reason and the key.
 */
#ifndef IOT_TELEMETRY_TM_PARSE_H
#define IOT_TELEMETRY_TM_PARSE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TM_KEY_MAX    64
#define TM_STR_MAX    256
#define TM_TS_MAX     9007199254740992LL /* 2^53: every ts is exact in a double */
#define TM_POINTS_DEF 1000               /* points per message, default */

typedef enum tm_type { TM_NUM = 0, TM_BOOL = 1, TM_STR = 2 } tm_type;

typedef struct tm_point {
    int64_t ts;
    tm_type type;
    double num;      /* TM_NUM; TM_BOOL: 0 or 1 */
    const char *key; /* into the batch's document */
    const char *str; /* TM_STR: into the batch's document (no NUL inside) */
} tm_point;

/** The points of one message. Owns its document; tm_batch_free releases everything. */
typedef struct tm_batch {
    tm_point *pts;
    size_t n;
    bson_t *doc;
} tm_batch;

typedef struct tm_err {
    char reason[24]; /* "bad_json", "bad_ts", "bad_key", "bad_value", "too_many", "empty" */
    char key[TM_KEY_MAX + 1]; /* the key at fault ("" when none), cut to fit */
} tm_err;

/** Parses @n bytes into @out (at most @max_points points; 0: TM_POINTS_DEF). 0, or <0 with
 *  @e filled and @out empty. -ENOMEM-like failures are reported as reason "nomem". */
int tm_parse(const uint8_t *p, size_t n, int64_t now_ms, size_t max_points, tm_batch *out,
             tm_err *e);
/** Frees what tm_parse gave; a zeroed batch is fine. */
void tm_batch_free(tm_batch *b);
/** Whether @s (@n bytes) is a valid key. */
bool tm_key_ok(const char *s, size_t n);

#endif
