/*
 * auth_cookie — the refresh token as a cookie, for the browser dashboard (issue #19).
 *
 * A browser must not hold the refresh token where script can read it, so a login or
 * refresh that asks for it ("cookie": true) gets the refresh token only in
 *
 *   Set-Cookie: __Secure-iot_refresh=<token>; Path=/v1/auth/refresh; Max-Age=<ttl>;
 *               HttpOnly; Secure; SameSite=Strict
 *
 * and the JSON answer carries the access token alone. POST /v1/auth/refresh without a
 * refresh_token in its body reads the cookie (the browser sends it to that path only),
 * and answers the rotated token the same way. SameSite=Strict keeps another site's
 * pages from making the browser send it [RFC 6265bis 5.4.7]; the "__Secure-" prefix makes
 * the browser refuse it unless set over https with Secure [RFC 6265bis 4.1.3.1]. Logout
 * expires it. Other clients keep the Bearer + JSON flow unchanged.
 *
 * The Cookie header is parsed by auth__cookie_find, a pure function (fuzzed by
 * fuzz/fuzz_cookie.c):  cookie-string = cookie-pair *( ";" SP cookie-pair )
 */
#include <stdio.h>
#include <string.h>

#include "api/accounts/accounts_int.h"

#define COOKIE_NAME  "__Secure-iot_refresh"
#define COOKIE_ATTRS "Path=/v1/auth/refresh; HttpOnly; Secure; SameSite=Strict"

int auth__cookie_find(const char *hdr, const char *name, char *out, size_t cap)
{
    size_t nn = strlen(name);
    const char *p = hdr;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > nn && p[nn] == '=' && memcmp(p, name, nn) == 0) {
            size_t vn = n - nn - 1;
            if (vn == 0 || vn >= cap)
                return -1;
            memcpy(out, p + nn + 1, vn);
            out[vn] = '\0';
            return 0;
        }
        p = end;
    }
    return -1;
}

int auth__cookie_refresh(http_req *r, char *out, size_t cap)
{
    return auth__cookie_find(http_req_header(r, "Cookie"), COOKIE_NAME, out, cap);
}

void auth__cookie_set(http_req *r, const char *refresh, uint32_t max_age_s)
{
    char v[512];
    int n = snprintf(v, sizeof v, COOKIE_NAME "=%s; Max-Age=%lu; " COOKIE_ATTRS, refresh,
                     (unsigned long)max_age_s);
    if (n > 0 && (size_t)n < sizeof v)
        http_req_add_header(r, "Set-Cookie", v);
}

void auth__cookie_clear(http_req *r)
{
    http_req_add_header(r, "Set-Cookie", COOKIE_NAME "=; Max-Age=0; " COOKIE_ATTRS);
}

void auth__respond_session(http_req *r, const auth *a, const char *access, const char *refresh,
                           bool cookie)
{
    if (!cookie) {
        auth__respond_tokens(r, access, refresh, a->o.access_ttl_s);
        return;
    }
    auth__cookie_set(r, refresh, a->o.refresh_ttl_s);
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "access_token", access);
    BSON_APPEND_UTF8(&doc, "token_type", "Bearer");
    BSON_APPEND_INT64(&doc, "expires_in", a->o.access_ttl_s);
    http_req_add_header(r, "Cache-Control", "no-store"); /* [RFC 6749 5.1] */
    http_respond_json(r, 200, &doc);
    bson_destroy(&doc);
}
