/**
 * telemetry/tm_log — the payload of "server/{id}/log" (docs/telemetry.md "Device logs"),
 * read into one log line. Pure: no loop, no store; fuzzed by fuzz/fuzz_telemetry.c.
 *
 *   payload                                              line
 *   any UTF-8 text (not starting with '{')               level info, ts arrival, msg the text
 *   {"level": "warn", "msg": "...", "ts": 1700000000000} level / msg / ts (level, ts optional)
 *
 * level is one of debug, info, warn, error. A message longer than @max_len bytes is cut at
 * a character boundary and ends with TM_LOG_CUT ("...[truncated]"), within @max_len. Text
 * that is not UTF-8 or holds a NUL, JSON with other fields or types, an empty message:
 * refused with a reason ("bad_utf8", "bad_json", "bad_level", "bad_ts", "empty").
 */
#ifndef IOT_TELEMETRY_TM_LOG_H
#define IOT_TELEMETRY_TM_LOG_H

#include <stddef.h>
#include <stdint.h>

#define TM_LOG_CUT     "...[truncated]"
#define TM_LOG_LEN_MIN 32 /* smallest max_len: room for some text and the marker */

enum tm_log_level { TM_LOG_DEBUG = 0, TM_LOG_INFO = 1, TM_LOG_WARN = 2, TM_LOG_ERROR = 3 };

typedef struct tm_log_line {
    int level;  /* enum tm_log_level */
    int64_t ts; /* ms */
    char *msg;  /* malloc'ed, NUL-terminated, at most max_len bytes; tm_log_free */
    size_t len;
    int cut; /* 1 when the message was truncated */
} tm_log_line;

/** 0 with @out filled, or <0 with @reason (at least 16 bytes) set and @out empty. */
int tm_log_parse(const uint8_t *p, size_t n, int64_t now_ms, size_t max_len, tm_log_line *out,
                 char *reason, size_t reason_len);
void tm_log_free(tm_log_line *l);
/** "debug" .. "error" into the level; -1 for anything else. */
int tm_log_level_parse(const char *s);
const char *tm_log_level_name(int level);

#endif
