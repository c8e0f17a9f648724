/*
 * sms — the SMS channel: one HTTP POST per message to a gateway (libcurl).
 *
 *   POST <sms-url>
 *   Authorization: Basic base64(sms-user ":" sms-password)     (when sms-user is set)
 *   Content-Type: application/x-www-form-urlencoded
 *
 *   to=%2B441234567890&from=<sms-from>&text=<the message, percent-encoded UTF-8>
 *
 *   2xx                      sent
 *   408, 429, 5xx, network   try again later (the notifier's backoff)
 *   other 4xx, 3xx           failed for good (a redirect is not followed: it would carry
 *                            the credentials elsewhere)
 *
 * Nothing here logs; the reason written to @why names a curl error or the HTTP status
 * only, never the URL (it may hold credentials), the password or the text.
 */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify_int.h"

#define CONNECT_TIMEOUT_S 10L
#define TOTAL_TIMEOUT_S   30L

typedef struct sms_ctx {
    notify__creds cr;
} sms_ctx;

static size_t discard(char *p, size_t size, size_t nmemb, void *arg) { return size * nmemb; }

/* "to=..&from=..&text=.." with every value percent-encoded, or NULL. */
static char *form_body(CURL *h, const sms_ctx *c, const notify_mail *m)
{
    char *to = curl_easy_escape(h, m->to, 0);
    char *from = curl_easy_escape(h, c->cr.from, 0);
    char *text = curl_easy_escape(h, m->text, 0);
    char *body = NULL;
    if (to && from && text) {
        size_t n = strlen(to) + strlen(from) + strlen(text) + sizeof "to=&from=&text=";
        if ((body = malloc(n)))
            snprintf(body, n, "to=%s&from=%s&text=%s", to, from, text);
    }
    curl_free(to);
    curl_free(from);
    curl_free(text);
    return body;
}

static int set_opts(CURL *h, const sms_ctx *c, const char *body)
{
    int e = CURLE_OK; /* OR of every result: all are CURLE_OK (0) or it failed */
    e |= curl_easy_setopt(h, CURLOPT_URL, c->cr.url);
    e |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    e |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    e |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    e |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    e |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    e |= curl_easy_setopt(h, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
    e |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* a thread of a threaded server */
    e |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (c->cr.user) {
        e |= curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        e |= curl_easy_setopt(h, CURLOPT_USERNAME, c->cr.user);
        e |= curl_easy_setopt(h, CURLOPT_PASSWORD, c->cr.pass ? c->cr.pass : "");
    }
    return e == CURLE_OK ? 0 : -1;
}

static int classify(long code, char *why, size_t whylen)
{
    snprintf(why, whylen, "SMS gateway answered HTTP %ld", code);
    if (code >= 200 && code < 300)
        return NOTIFY_SENT;
    if (code == 408 || code == 429 || code >= 500)
        return NOTIFY_ETEMP;
    return NOTIFY_EPERM;
}

static int sms_send(void *ctx, const notify_mail *m, char *why, size_t whylen)
{
    const sms_ctx *c = ctx;
    int rc = NOTIFY_ETEMP;
    snprintf(why, whylen, "out of memory");
    CURL *h = curl_easy_init();
    char *body = h ? form_body(h, c, m) : NULL;
    if (!body || set_opts(h, c, body) < 0)
        goto out;
    CURLcode e = curl_easy_perform(h);
    long code = 0;
    if (e != CURLE_OK) {
        snprintf(why, whylen, "SMS gateway: %s", curl_easy_strerror(e));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    rc = classify(code, why, whylen);
out:
    if (body) {
        OPENSSL_cleanse(body, strlen(body));
        free(body);
    }
    curl_easy_cleanup(h);
    return rc;
}

static void sms_free(void *ctx)
{
    sms_ctx *c = ctx;
    if (!c)
        return;
    notify__creds_clear(&c->cr);
    free(c);
}

int notify__sms_channel(notify_channel *ch, const notify_opts *o, char *err, size_t errlen)
{
    if (strncmp(o->sms_url, "http://", 7) != 0 && strncmp(o->sms_url, "https://", 8) != 0) {
        snprintf(err, errlen, "sms-url must start with http:// or https://");
        return -1;
    }
    sms_ctx *c = calloc(1, sizeof *c);
    bool ok = c != NULL;
    if (c) {
        ok = notify__creds_set(&c->cr, o->sms_url, o->sms_user, o->sms_pass,
                               o->sms_from && o->sms_from[0] ? o->sms_from : "iotcloud") == 0;
    }
    if (!ok) {
        sms_free(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *ch = (notify_channel){.name = "sms-http", .send = sms_send, .free = sms_free, .ctx = c};
    return 0;
}
