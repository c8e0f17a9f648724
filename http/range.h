/*
 * range — the Range request header of RFC 9110 §14.2, one byte range only.
 *
 * Pure: no connection, no loop, no allocation; any thread may call it.
 */
#ifndef IOT_HTTP_RANGE_H
#define IOT_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

/** Outcome of http_range_parse. */
enum {
    HTTP_RANGE_OK = 0,      /* *out holds one satisfiable range: answer 206 */
    HTTP_RANGE_IGNORE = 1,  /* not a bytes range (other unit): answer 200, whole body */
    HTTP_RANGE_UNSAT = -1,  /* well-formed but outside the representation: 416 */
    HTTP_RANGE_INVALID = -2 /* malformed, or more than one range: 416 */
};

/** An inclusive byte range, first <= last < size. */
typedef struct {
    uint64_t first, last;
} http_range;

/** Parses the @n bytes of a Range header value against a representation of @size bytes.
 *  Forms: "bytes=A-B", "bytes=A-" and "bytes=-N" (the last N bytes); a last-pos past the
 *  end is clamped to size-1. Returns an HTTP_RANGE_* value; *out is set only on OK. */
int http_range_parse(const char *v, size_t n, uint64_t size, http_range *out);

#endif
