/*
 * Fuzzes the request-header parsers of the browser path: Accept-Encoding and
 * If-None-Match (api/web/web_negotiate.c) and the Cookie header (api/accounts/
 * auth_cookie.c), on an exactly-sized, NUL-terminated copy of the input.
 *
 * Checks: a found cookie value is non-empty, shorter than the buffer and a substring of
 * the header; a coding is accepted only when the header names it or has a "*"; an ETag
 * matches only when the header holds it or a "*".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/accounts/accounts_int.h"
#include "api/web/web_int.h"

static void check(bool cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    bool star = strchr(s, '*') != NULL;
    if (web__accepts(s, "gzip"))
        check(star || strcasestr(s, "gzip"));
    if (web__accepts(s, "br"))
        check(star || strcasestr(s, "br"));
    if (web__etag_match(s, "\"0123456789abcdef0123\""))
        check(star || strstr(s, "\"0123456789abcdef0123\""));

    char v[32];
    if (auth__cookie_find(s, "__Secure-iot_refresh", v, sizeof v) == 0) {
        size_t n = strlen(v);
        check(n > 0 && n < sizeof v && strstr(s, v) != NULL);
    }
    if (size > 1 && auth__cookie_find(s + 1, s[0] == '=' ? "a" : "b", v, sizeof v) == 0)
        check(strstr(s + 1, v) != NULL);
    free(s);
    return 0;
}
