/*
 * request — the http_req object: its arena (url, headers, decoded path, query and
 * parameters as NUL-terminated strings addressed by offset, so growing the arena while
 * parsing never leaves a dangling pointer; nothing is appended once the handler runs),
 * percent-decoding, and the handler-side accessors.
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"

void http__peer_ip(const char *peer, char *out, size_t cap)
{
    const char *start = peer, *end;
    if (*peer == '[') { /* "[::1]:port" */
        start = peer + 1;
        end = strchr(start, ']');
    } else {
        end = strrchr(peer, ':');
    }
    size_t n = end ? (size_t)(end - start) : strlen(start);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, start, n);
    out[n] = '\0';
}

http_req *http__req_new(hconn *c)
{
    http_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = c;
    r->s = c->s;
    r->loop = c->io->loop(c->t);
    r->path_off = UINT32_MAX;
    r->method = HTTP_OTHER;
    const char *peer = c->io->peer(c->t);
    snprintf(r->peer, sizeof r->peer, "%s", peer ? peer : "?");
    snprintf(r->peer_ip, sizeof r->peer_ip, "%s", c->peer_ip);
    return r;
}

void http__req_free(http_req *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nxhdr; i++)
        free(r->xhdr[i]);
    free(r->arena);
    free(r->body);
    free(r);
}

long http__req_append(http_req *r, const void *p, size_t n, size_t cap)
{
    if (r->alen + n > cap || r->alen + n >= UINT32_MAX)
        return -1;
    if (r->alen + n > r->acap) {
        size_t ncap = r->acap ? r->acap : 256;
        while (ncap < r->alen + n)
            ncap *= 2;
        char *a = realloc(r->arena, ncap);
        if (!a)
            return -1;
        r->arena = a;
        r->acap = ncap;
    }
    long off = (long)r->alen;
    if (n && p)
        memcpy(r->arena + r->alen, p, n);
    r->alen += n;
    return off;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

long http__pct_decode(const char *in, size_t n, char *out, bool plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch == '%') {
            if (n - i < 3)
                return -1;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1; /* invalid escape, or %00 that would cut the string */
            ch = (char)(hi << 4 | lo);
            i += 2;
        } else if (ch == '+' && plus) {
            ch = ' ';
        } else if (ch == '\0') {
            return -1;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return (long)o;
}

/* Decodes @n arena bytes at @src_off and appends the result; returns its offset or -1. */
static long append_decoded(http_req *r, size_t src_off, size_t n, bool plus)
{
    long off = http__req_append(r, NULL, n + 1, SIZE_MAX);
    if (off < 0)
        return -1;
    /* The arena may have moved: address the source by offset, after the append. */
    long len = http__pct_decode(r->arena + src_off, n, r->arena + off, plus);
    if (len < 0)
        return -1;
    r->alen = (size_t)off + (size_t)len + 1;
    return off;
}

static int parse_query(http_req *r, size_t qoff, size_t qlen)
{
    size_t i = 0;
    while (i < qlen) {
        const char *q = r->arena + qoff;
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && q[eq] != '=')
            eq++;
        if (end > i) {
            if (r->nquery == HTTP_MAX_QUERY)
                return -1;
            long k = append_decoded(r, qoff + i, eq - i, true);
            size_t vstart = eq < end ? eq + 1 : end;
            long v = k < 0 ? -1 : append_decoded(r, qoff + vstart, end - vstart, true);
            if (v < 0)
                return -1;
            r->query[r->nquery].k = (uint32_t)k;
            r->query[r->nquery].v = (uint32_t)v;
            r->nquery++;
        }
        i = end + 1;
    }
    return 0;
}

int http__req_parse_target(http_req *r)
{
    const char *url = r->arena + r->url_off;
    size_t ulen = strlen(url);
    if (ulen == 0 || url[0] != '/') /* origin-form only (RFC 9112 3.2.1) */
        return -1;
    const char *qm = memchr(url, '?', ulen);
    size_t plen = qm ? (size_t)(qm - url) : ulen;
    r->rawpath_len = (uint32_t)plen;
    long p = append_decoded(r, r->url_off, plen, false);
    if (p < 0)
        return -1;
    r->path_off = (uint32_t)p;
    if (qm)
        return parse_query(r, r->url_off + plen + 1, ulen - plen - 1);
    return 0;
}

int http__req_segments(http_req *r, uint32_t *off, size_t max, size_t *n)
{
    *n = 0;
    size_t i = 1; /* after the leading '/' */
    size_t plen = r->rawpath_len;
    if (plen == 1)
        return 0; /* "/": no segments */
    while (i <= plen) {
        const char *raw = r->arena + r->url_off;
        size_t end = i;
        while (end < plen && raw[end] != '/')
            end++;
        if (*n == max)
            return -2; /* deeper than any route: 404, not 400 */
        long o = append_decoded(r, r->url_off + i, end - i, false);
        if (o < 0)
            return -1;
        off[(*n)++] = (uint32_t)o;
        i = end + 1;
    }
    return 0;
}

int http__req_add_param(http_req *r, const char *name, size_t nlen, uint32_t val_off)
{
    if (r->nparam == HTTP_MAX_PARAMS)
        return -1;
    r->param[r->nparam].name = name;
    r->param[r->nparam].nlen = nlen;
    r->param[r->nparam].v = val_off;
    r->nparam++;
    return 0;
}

static bool valid_client_id(const char *v)
{
    size_t n = strlen(v);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

void http__req_set_id(http_req *r)
{
    const char *given = http_req_header(r, "X-Request-Id");
    if (given && valid_client_id(given)) {
        snprintf(r->id, sizeof r->id, "%s", given);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    uint8_t b[8] = {0};
    if (RAND_bytes(b, sizeof b) != 1) {
        static _Thread_local uint64_t fallback;
        uint64_t v = ++fallback ^ (uint64_t)(uintptr_t)r;
        memcpy(b, &v, sizeof b);
    }
    for (size_t i = 0; i < sizeof b; i++) {
        r->id[2 * i] = hex[b[i] >> 4];
        r->id[2 * i + 1] = hex[b[i] & 15];
    }
    r->id[16] = '\0';
}

enum http_method http__method_from_name(const char *name)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return (enum http_method)i;
    return HTTP_OTHER;
}

/* ---- accessors ---------------------------------------------------------------------- */

enum http_method http_req_method(const http_req *r) { return r->method; }

const char *http_req_path(const http_req *r)
{
    return r->path_off == UINT32_MAX ? "" : r->arena + r->path_off;
}

const char *http_req_target(const http_req *r) { return r->arena + r->url_off; }

const char *http_req_param(const http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nparam; i++)
        if (r->param[i].nlen == n && memcmp(r->param[i].name, name, n) == 0)
            return r->arena + r->param[i].v;
    return NULL;
}

const char *http_req_query(const http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nquery; i++)
        if (strcmp(r->arena + r->query[i].k, name) == 0)
            return r->arena + r->query[i].v;
    return NULL;
}

const char *http_req_header(const http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nhdr; i++)
        if (strcasecmp(r->arena + r->hdr[i].k, name) == 0)
            return r->arena + r->hdr[i].v;
    return NULL;
}

size_t http__req_header_count(const http_req *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nhdr; i++)
        n += strcasecmp(r->arena + r->hdr[i].k, name) == 0;
    return n;
}

const uint8_t *http_req_body(const http_req *r, size_t *len)
{
    if (len)
        *len = r->body_len;
    return r->body_len ? r->body : NULL;
}

const char *http_req_peer_ip(const http_req *r) { return r->peer_ip; }
const char *http_req_id(const http_req *r) { return r->id; }
net_loop *http_req_loop(const http_req *r) { return r->loop; }
void *http_req_app(const http_req *r) { return r->s->o.app; }
uint64_t http_req_start_us(const http_req *r) { return r->start_us; }

const http_principal *http_req_principal(const http_req *r)
{
    return r->has_principal ? &r->principal : NULL;
}

void http_req_set_principal(http_req *r, const http_principal *p)
{
    r->principal = *p;
    r->has_principal = true;
}

void http_req_set_ctx(http_req *r, void *ctx) { r->ctx = ctx; }
void *http_req_ctx(const http_req *r) { return r->ctx; }

static bool has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

int http_req_add_header(http_req *r, const char *name, const char *value)
{
    if (!name || !value || !*name || has_crlf(name) || has_crlf(value) || strchr(name, ':'))
        return -1;
    if (r->nxhdr == HTTP_MAX_RESP_HEADERS)
        return -1;
    size_t n = strlen(name) + strlen(value) + 3;
    char *h = malloc(n);
    if (!h)
        return -1;
    snprintf(h, n, "%s: %s", name, value);
    r->xhdr[r->nxhdr++] = h;
    return 0;
}

void http_req_on_gone(http_req *r, void (*fn)(void *arg), void *arg)
{
    r->gone_fn = fn;
    r->gone_arg = arg;
}

void http_req_on_answer(http_req *r, void (*fn)(void *arg, const http_answer *a), void *arg)
{
    r->answer_fn = fn;
    r->answer_arg = arg;
}
