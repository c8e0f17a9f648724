/*
 * log_int — the line formatters (log_format.c), pure functions over one event so the unit
 * tests can check them byte for byte.
 */
#ifndef IOT_COMMON_LOG_INT_H
#define IOT_COMMON_LOG_INT_H

#include <stddef.h>

#include "common/log.h"

typedef struct log__event {
    const char *time;  /* "2026-01-02T03:04:05.678Z" */
    const char *level; /* "info" */
    const char *msg;   /* the formatted message */
    const log_field *fields;
    size_t n_fields;
} log__event;

/** The component of @msg ("net" for "net: conn 3 ...") into @out (cap >= 32), or
 *  "iotcloud" when the message has no such prefix. */
void log__component(const char *msg, char *out, size_t cap);
/** One line, '\n'-terminated, into @out (@cap >= 256); returns its length (<= cap). A line
 *  that does not fit is cut; a JSON line is cut inside the message and stays valid. */
size_t log__format_text(const log__event *e, char *out, size_t cap);
size_t log__format_json(const log__event *e, char *out, size_t cap);

#endif
