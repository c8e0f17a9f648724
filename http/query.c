/*
 * query — typed query parameters for handlers (http/http.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "http/http.h"

int http_query_int(http_req *r, const char *name, int64_t lo, int64_t hi, int64_t def,
                   const char *why, int64_t *out)
{
    const char *s = http_req_query(r, name);
    char auto_why[96];
    *out = def;
    if (!s)
        return 0;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || *end || v < lo || v > hi) {
        if (!why) {
            snprintf(auto_why, sizeof auto_why, "an integer from %lld to %lld expected",
                     (long long)lo, (long long)hi);
            why = auto_why;
        }
        http_respond_field(r, name, why);
        return -1;
    }
    *out = v;
    return 0;
}
