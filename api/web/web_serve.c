/*
 * web_serve — the router's fallback: the embedded dashboard files (see web.h for the
 * path rules), with the security headers, ETag/304 and pre-compressed variants.
 *
 * CSP: only our own origin for scripts, styles, fetches and images; no inline script or
 * eval (no 'unsafe-inline'/'unsafe-eval'), no plugins, no <base> rewriting, and no
 * framing (frame-ancestors 'none', the CSP form of X-Frame-Options: DENY).
 */
#include <string.h>

#include "api/web/web.h"
#include "api/web/web_int.h"

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data: blob:; connect-src 'self'; "
                          "object-src 'none'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";

static const web_asset *find(const char *path)
{
    for (size_t i = 0; i < web_assets_n; i++)
        if (strcmp(web_assets[i].path, path) == 0)
            return &web_assets[i];
    return NULL;
}

/* True when @path may be a client-side route: not the API, not under /assets/, and its
 * last segment has no '.' (a missing file must stay a 404, not an HTML page). */
static bool app_route(const char *path)
{
    if (strncmp(path, "/v1/", 4) == 0 || strcmp(path, "/v1") == 0 ||
        strncmp(path, "/assets/", 8) == 0)
        return false;
    const char *last = strrchr(path, '/');
    return !strchr(last ? last : path, '.');
}

static void security_headers(http_req *r)
{
    http_req_add_header(r, "Content-Security-Policy", csp);
    http_req_add_header(r, "X-Content-Type-Options", "nosniff");
    http_req_add_header(r, "X-Frame-Options", "DENY");
    http_req_add_header(r, "Referrer-Policy", "no-referrer");
    http_req_add_header(r, "Cross-Origin-Opener-Policy", "same-origin");
}

static enum web_coding pick_coding(http_req *r, const web_asset *a)
{
    const char *ae = http_req_header(r, "Accept-Encoding");
    if (a->len[WEB_BR] && a->len[WEB_BR] < a->len[WEB_IDENTITY] && web__accepts(ae, "br"))
        return WEB_BR;
    if (a->len[WEB_GZIP] && a->len[WEB_GZIP] < a->len[WEB_IDENTITY] && web__accepts(ae, "gzip"))
        return WEB_GZIP;
    return WEB_IDENTITY;
}

static void send_asset(http_req *r, const web_asset *a)
{
    security_headers(r);
    http_req_add_header(r, "ETag", a->etag);
    http_req_add_header(r, "Vary", "Accept-Encoding");
    http_req_add_header(r, "Cache-Control",
                        a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    /* [RFC 9110 13.1.2] a GET whose If-None-Match lists the current tag gets 304 */
    if (web__etag_match(http_req_header(r, "If-None-Match"), a->etag)) {
        http_respond_raw(r, 304, NULL, NULL, 0);
        return;
    }
    enum web_coding c = pick_coding(r, a);
    if (c != WEB_IDENTITY)
        http_req_add_header(r, "Content-Encoding", c == WEB_BR ? "br" : "gzip");
    http_respond_raw(r, 200, a->type, a->data[c], a->len[c]);
}

void web_serve(http_req *r)
{
    const char *path = http_req_path(r);
    const web_asset *a = NULL;
    if (strcmp(path, "/") == 0 || app_route(path))
        a = find("/index.html");
    else
        a = find(path);
    if (!a) {
        http_respond_error(r, 404, "not_found", "no such resource");
        return;
    }
    send_asset(r, a);
}
