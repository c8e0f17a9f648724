/*
 * range — parses one byte range of a Range header (RFC 9110 §14.1.2, §14.2).
 *
 *   ranges-specifier = range-unit "=" range-set     ; unit compared case-insensitively
 *   range-set        = 1#range-spec                 ; we take exactly one spec
 *   int-range        = first-pos "-" [ last-pos ]
 *   suffix-range     = "-" suffix-length
 *
 * A resuming download sends a single range, so a multi-range request is answered 416
 * rather than with multipart/byteranges (documented in docs/jobs.md). Digits are checked
 * for overflow; a value over 2^64-1 is malformed.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "http/range.h"

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ows(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* 1*DIGIT into *v. false when there is no digit or the value overflows. */
static bool digits(cursor *c, uint64_t *v)
{
    const char *start = c->p;
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
        c->p++;
    }
    *v = x;
    return c->p > start;
}

/* "-" suffix-length: the last @len bytes. [RFC 9110 §14.1.2] a zero length is unsatisfiable */
static int suffix(uint64_t len, uint64_t size, http_range *out)
{
    if (len == 0 || size == 0)
        return HTTP_RANGE_UNSAT;
    out->first = len >= size ? 0 : size - len;
    out->last = size - 1;
    return HTTP_RANGE_OK;
}

/* first-pos "-" [last-pos], @has_last false for the open form. */
static int int_range(uint64_t first, uint64_t last, bool has_last, uint64_t size, http_range *out)
{
    /* [RFC 9110 §14.1.1] a last-pos below first-pos makes the spec invalid */
    if (has_last && last < first)
        return HTTP_RANGE_INVALID;
    /* [RFC 9110 §14.1.1] satisfiable only when first-pos is below the length */
    if (first >= size)
        return HTTP_RANGE_UNSAT;
    out->first = first;
    out->last = !has_last || last >= size ? size - 1 : last;
    return HTTP_RANGE_OK;
}

static int spec(cursor *c, uint64_t size, http_range *out)
{
    uint64_t a = 0, b = 0;
    bool has_a = digits(c, &a);
    if (c->p >= c->end || *c->p != '-')
        return HTTP_RANGE_INVALID;
    c->p++;
    bool has_b = digits(c, &b);
    if (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        return HTTP_RANGE_INVALID; /* a ',' (second range) or junk */
    skip_ows(c);
    if (c->p != c->end || (!has_a && !has_b))
        return HTTP_RANGE_INVALID;
    if (!has_a)
        return suffix(b, size, out);
    return int_range(a, b, has_b, size, out);
}

int http_range_parse(const char *v, size_t n, uint64_t size, http_range *out)
{
    static const char unit[] = "bytes";
    cursor c = {v, v + n};
    skip_ows(&c);
    const char *eq = memchr(c.p, '=', (size_t)(c.end - c.p));
    if (!eq || eq == c.p)
        return HTTP_RANGE_INVALID; /* no unit */
    if ((size_t)(eq - c.p) != sizeof unit - 1 || strncasecmp(c.p, unit, sizeof unit - 1))
        return HTTP_RANGE_IGNORE; /* [RFC 9110 §14.2] an unknown unit is ignored */
    c.p = eq + 1;
    skip_ows(&c);
    return spec(&c, size, out);
}
