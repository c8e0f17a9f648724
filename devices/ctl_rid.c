/*
 * ctl_rid — the request id the server adds to every request: "<loop>-<seq>", both lower-case
 * hex. The loop index tells the device's loop where to post the answer; the sequence
 * number is the call's key in that loop's table. Devices treat it as opaque text.
 */
#include <stdio.h>
#include <string.h>

#include "devices/ctl_int.h"

size_t ctl__rid_encode(unsigned loop, uint64_t seq, char out[CTL_RID_MAX + 1])
{
    int n = snprintf(out, CTL_RID_MAX + 1, "%x-%llx", loop, (unsigned long long)seq);
    return n < 0 ? 0 : (size_t)n;
}

/* Up to @max hex digits of @s[0..n) into *@v; returns how many were read (0: none). */
static size_t hex_run(const char *s, size_t n, size_t max, uint64_t *v)
{
    size_t i = 0;
    *v = 0;
    for (; i < n && i < max + 1; i++) {
        char ch = s[i];
        unsigned d;
        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else
            break;
        if (i == max)
            return 0; /* too long */
        *v = *v << 4 | d;
    }
    return i;
}

int ctl__rid_decode(const char *s, size_t n, unsigned *loop, uint64_t *seq)
{
    uint64_t l, q;
    size_t a = hex_run(s, n, 4, &l);
    if (a == 0 || a >= n || s[a] != '-' || l >= CTL_MAX_LOOPS)
        return -1;
    size_t b = hex_run(s + a + 1, n - a - 1, 16, &q);
    if (b == 0 || a + 1 + b != n)
        return -1;
    *loop = (unsigned)l;
    *seq = q;
    return 0;
}
