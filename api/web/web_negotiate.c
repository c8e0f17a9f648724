/*
 * web_negotiate — the two request headers the static files answer to, parsed as pure
 * functions over the header text (fuzzed by fuzz/fuzz_web_negotiate.c):
 *
 *   Accept-Encoding = #( codings [ OWS ";" OWS "q=" qvalue ] )     [RFC 9110 12.5.3]
 *   If-None-Match   = "*" / #entity-tag,  entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE
 *                                                                   [RFC 9110 13.1.2]
 *
 * Malformed elements are skipped, never fatal: the worst outcome is the identity
 * encoding or a full 200 instead of a 304.
 */
#include <string.h>
#include <strings.h>

#include "api/web/web_int.h"

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A qvalue of zero: "0", "0.", "0.0", "0.00", "0.000" [RFC 9110 12.4.2]. */
static bool q_zero(const char *p, size_t n)
{
    if (n == 0 || p[0] != '0')
        return false;
    if (n == 1)
        return true;
    if (p[1] != '.' || n > 5)
        return false;
    for (size_t i = 2; i < n; i++)
        if (p[i] != '0')
            return false;
    return true;
}

/* The parameters of one element [p, end): false when one of them is q=0. */
static bool params_allow(const char *p, const char *end)
{
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            return true;
        p = skip_ows(semi + 1);
        const char *stop = memchr(p, ';', (size_t)(end - p));
        if (!stop)
            stop = end;
        const char *v = stop;
        while (v > p && (v[-1] == ' ' || v[-1] == '\t'))
            v--;
        if (v - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
            return !q_zero(p + 2, (size_t)(v - p - 2));
        p = stop;
    }
    return true;
}

bool web__accepts(const char *hdr, const char *coding)
{
    int named = -1, star = -1; /* -1: not listed, 0: q=0, 1: accepted */
    size_t cn = strlen(coding);
    const char *p = hdr;
    while (p && *p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        p = skip_ows(p);
        size_t n = 0;
        while (p + n < end && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
            n++;
        int ok = p < end && params_allow(p + n, end) ? 1 : 0;
        if (n == cn && strncasecmp(p, coding, cn) == 0)
            named = ok;
        else if (n == 1 && p[0] == '*')
            star = ok;
        p = *end ? end + 1 : end;
    }
    return named >= 0 ? named == 1 : star == 1;
}

bool web__etag_match(const char *hdr, const char *etag)
{
    size_t en = strlen(etag);
    const char *p = hdr;
    while (p && *p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        p = skip_ows(p);
        const char *v = end;
        while (v > p && (v[-1] == ' ' || v[-1] == '\t'))
            v--;
        if (v - p == 1 && p[0] == '*')
            return true;
        if (v - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2; /* weak comparison: the opaque tags alone */
        if ((size_t)(v - p) == en && memcmp(p, etag, en) == 0)
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}
