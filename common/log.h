/**
 * log — one line per event, with a level, as text or as JSON, to stderr or a file.
 *
 * Text:  2026-01-02T03:04:05.678Z info  net: listening on ...
 * JSON:  {"time":"2026-01-02T03:04:05.678Z","level":"info","component":"net",
 *         "message":"net: listening on ...", <fields>}          (one object per line)
 *
 * The component is the message's leading "word:" (lowercase letters, digits, spaces, '-',
 * at most 24) — the convention every call site follows — else "iotcloud". log_kv adds
 * named fields (client id, device id, request id, peer) that JSON writes as members and
 * text appends as key=value. Strings are escaped for JSON and invalid UTF-8 becomes
 * U+FFFD, so every JSON line parses whatever a peer sent.
 *
 * Thread-safe: any thread may call log_msg()/log_kv(); each line is written with one
 * write(2) on one descriptor, so lines from different threads never interleave.
 * log_set_level, log_set_format and log_open_file are for the main thread before other
 * threads start; log_reopen is async-signal-safe (SIGUSR1 handler).
 * Secrets (passwords, tokens, keys) must never be passed to these functions.
 */
#ifndef IOT_COMMON_LOG_H
#define IOT_COMMON_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/** Sets the minimum level written (default LOG_INFO). Any thread (a reload calls it while
 *  the loops log). */
void log_set_level(enum log_level lvl);
/** Parses "debug", "info", "warn", "error"; returns 0 or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);
int log_enabled(enum log_level lvl);

/** Sets the line format (default text). Call before threads start. */
void log_set_format(enum log_format f);
/** Parses "text" or "json"; 0 or -1. */
int log_format_parse(const char *name, enum log_format *out);

/** Appends to @path (created 0640) instead of stderr from now on. 0, or -1 with @err
 *  (the log stays where it was). Main thread, before other threads start. */
int log_open_file(const char *path, char *err, size_t errlen);
/** Opens the log file's path again and writes there from now on (after logrotate moved
 *  it). Async-signal-safe; 0, -1 when the path cannot be opened (the old file stays in
 *  use), 1 when there is no log file. */
int log_reopen(void);

/** A named field for log_kv: NULL values are left out. */
typedef struct log_field {
    const char *key;
    const char *value;
} log_field;

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** log_msg with @n named fields. */
void log_kv(enum log_level lvl, const log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_msg(LOG_DEBUG, __VA_ARGS__);                                                       \
    } while (0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
