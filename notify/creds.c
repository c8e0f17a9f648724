/*
 * creds — the address and credentials of a delivery channel (SMTP server, SMS gateway):
 * copied from the options once, wiped before they are freed.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify_int.h"

static char *dup_opt(const char *s, bool *ok)
{
    if (!s || !s[0])
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

int notify__creds_set(notify__creds *c, const char *url, const char *user, const char *pass,
                      const char *from)
{
    bool ok = true;
    c->url = dup_opt(url, &ok);
    c->user = dup_opt(user, &ok);
    c->pass = dup_opt(pass, &ok);
    c->from = dup_opt(from, &ok);
    return ok ? 0 : -1;
}

static void wipe(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void notify__creds_clear(notify__creds *c)
{
    wipe(c->pass);
    wipe(c->url); /* may hold user:password@ */
    free(c->user);
    free(c->from);
    *c = (notify__creds){0};
}
