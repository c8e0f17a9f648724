/*
 * router — route patterns ("/v1/devices/{id}"), matching a decoded path against the
 * table, and running the matched handler behind the authenticate hook.
 *
 * Matching: a route matches when it has as many segments as the path and each literal
 * segment equals the decoded path segment; {param} matches any non-empty segment. When
 * several routes match, the one whose first differing segment is literal wins
 * ("/devices/search" over "/devices/{id}"). A path matched by routes of other methods only
 * gets 405 with Allow (GET implies HEAD; OPTIONS is listed only when a route has it —
 * there is no automatic OPTIONS/CORS handling). No route at all: 404, or 501 for a method
 * we do not know; a GET/HEAD without a route goes to http_opts.fallback when there is one.
 */
#include <stdio.h>
#include <string.h>

#include "http/http_int.h"

static bool literal_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("-._~:@", ch) != NULL;
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* One segment [p, p+n): literal or "{name}". 0 or -1. */
static int compile_segment(http__route *out, const char *p, size_t n)
{
    size_t i = out->nseg;
    if (n == 0 || i == HTTP_MAX_SEGMENTS)
        return -1; /* "//", a trailing '/', or too deep */
    if (p[0] == '{') {
        if (n < 3 || p[n - 1] != '}')
            return -1;
        for (size_t k = 1; k + 1 < n; k++)
            if (!name_char(p[k]))
                return -1;
        size_t params = 0;
        for (size_t k = 0; k < i; k++) {
            if (out->seg[k])
                continue;
            params++;
            if (out->pnamelen[k] == n - 2 && memcmp(out->pname[k], p + 1, n - 2) == 0)
                return -1; /* the same name twice */
        }
        if (params == HTTP_MAX_PARAMS)
            return -1;
        out->seg[i] = NULL;
        out->pname[i] = p + 1;
        out->pnamelen[i] = n - 2;
    } else {
        for (size_t k = 0; k < n; k++)
            if (!literal_char(p[k]))
                return -1;
        out->seg[i] = p;
        out->seglen[i] = n;
    }
    out->nseg++;
    return 0;
}

int http__route_compile(http__route *out, const http_route *row)
{
    memset(out, 0, sizeof *out);
    out->row = row;
    const char *pat = row->pattern;
    if (!row->fn || !pat || pat[0] != '/' || (unsigned)row->method >= HTTP_OTHER)
        return -1;
    if (strcmp(pat, "/") == 0)
        return 0;
    const char *p = pat + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (compile_segment(out, p, n) < 0)
            return -1;
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

bool http__route_same_shape(const http__route *a, const http__route *b)
{
    if (a->nseg != b->nseg)
        return false;
    for (size_t i = 0; i < a->nseg; i++) {
        if (!a->seg[i] != !b->seg[i])
            return false;
        if (a->seg[i] &&
            (a->seglen[i] != b->seglen[i] || memcmp(a->seg[i], b->seg[i], a->seglen[i]) != 0))
            return false;
    }
    return true;
}

static bool path_matches(const http__route *rt, const char *const *segs, size_t n)
{
    if (rt->nseg != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (rt->seg[i]) {
            if (strlen(segs[i]) != rt->seglen[i] || memcmp(segs[i], rt->seg[i], rt->seglen[i]))
                return false;
        } else if (segs[i][0] == '\0') {
            return false; /* a parameter is never empty */
        }
    }
    return true;
}

/* True when @a is more specific than @b (same segment count, both match). */
static bool more_specific(const http__route *a, const http__route *b)
{
    for (size_t i = 0; i < a->nseg; i++)
        if (!a->seg[i] != !b->seg[i])
            return a->seg[i] != NULL;
    return false;
}

const http__route *http__route_find(const http_server *s, enum http_method m,
                                    const char *const *segs, size_t nseg, unsigned *allow)
{
    const http__route *best = NULL, *get = NULL;
    *allow = 0;
    for (size_t i = 0; i < s->nroutes; i++) {
        const http__route *rt = &s->routes[i];
        if (!path_matches(rt, segs, nseg))
            continue;
        enum http_method rm = rt->row->method;
        *allow |= 1u << rm;
        if (rm == HTTP_GET)
            *allow |= 1u << HTTP_HEAD;
        if (rm == m && (!best || more_specific(rt, best)))
            best = rt;
        if (m == HTTP_HEAD && rm == HTTP_GET && (!get || more_specific(rt, get)))
            get = rt;
    }
    return best ? best : get; /* HEAD: an explicit HEAD route, else the GET route */
}

static void allow_header(http_req *r, unsigned allow)
{
    char v[80] = "";
    size_t o = 0;
    for (int m = HTTP_GET; m < HTTP_OTHER; m++) {
        if (!(allow & (1u << m)))
            continue;
        int k = snprintf(v + o, sizeof v - o, "%s%s", o ? ", " : "", http_method_name(m));
        if (k > 0 && (size_t)k < sizeof v - o)
            o += (size_t)k;
    }
    http_req_add_header(r, "Allow", v);
}

static void run_handler(http_req *r) { r->route->row->fn(r); }

void http__dispatch(http_req *r)
{
    uint32_t off[HTTP_MAX_SEGMENTS];
    const char *segs[HTTP_MAX_SEGMENTS] = {NULL};
    size_t n = 0;
    unsigned allow = 0;
    const http__route *rt = NULL;
    int rc = http__req_segments(r, off, HTTP_MAX_SEGMENTS, &n);
    if (rc == -1) {
        http_respond_error(r, 400, "bad_request", "malformed path");
        return;
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            segs[i] = r->arena + off[i];
        rt = http__route_find(r->s, r->method, segs, n, &allow);
    }
    if (!rt && !allow && r->s->o.fallback && (r->method == HTTP_GET || r->method == HTTP_HEAD)) {
        r->s->o.fallback(r);
        return;
    }
    if (!rt && !allow) {
        if (r->method == HTTP_OTHER)
            http_respond_error(r, 501, "not_implemented", "method not implemented");
        else
            http_respond_error(r, 404, "not_found", "no such resource");
        return;
    }
    if (!rt) {
        allow_header(r, allow);
        http_respond_error(r, 405, "method_not_allowed", "method not allowed here");
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!rt->seg[i])
            http__req_add_param(r, rt->pname[i], rt->pnamelen[i], off[i]);
    r->route = rt;
    if (rt->row->auth == HTTP_AUTH_NONE)
        run_handler(r);
    else if (!r->s->o.authenticate)
        http_respond_error(r, 401, "unauthorized", "authentication required");
    else
        r->s->o.authenticate(r, rt->row->auth, run_handler);
}
