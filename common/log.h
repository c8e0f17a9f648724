/**
 * log — one line per event on stderr, with a level.
 *
 * Thread-safe: any thread may call log_msg(); each line is written with one write(2).
 * Secrets (passwords, tokens, keys) must never be passed to these functions.
 */
#ifndef IOT_COMMON_LOG_H
#define IOT_COMMON_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/** Sets the minimum level written (default LOG_INFO). Call before threads start. */
void log_set_level(enum log_level lvl);
/** Parses "debug", "info", "warn", "error"; returns 0 or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);
int log_enabled(enum log_level lvl);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_msg(LOG_DEBUG, __VA_ARGS__);                                                       \
    } while (0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
