/*
 * smtp — the SMTP channel: one libcurl easy transfer per e-mail.
 *
 * The message is built in memory as RFC 5322 with CRLF line endings:
 *
 *   Date: Tue, 02 Jan 2024 10:00:00 +0000
 *   From: <from>                     To: <to>
 *   Subject: <subject, RFC 2047 B-encoded when not ASCII>
 *   Message-ID: <32 hex random digits@domain of from>
 *   MIME-Version: 1.0
 *   Content-Type: text/plain; charset=utf-8
 *   Content-Transfer-Encoding: 8bit
 *   <blank line, then the text with every LF turned into CRLF>
 *
 * curl does the SMTP dot-stuffing. STARTTLS is required for smtp:// unless smtp_insecure
 * ("try": plain when the server offers no TLS). Nothing here logs: the notifier logs the
 * recipient, subject and outcome, and the reason written to @why names a curl error and
 * an SMTP status only, never the text, the URL (it may hold credentials) or a password.
 */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/notify_int.h"
#include "store/store_app.h"

#define CONNECT_TIMEOUT_S 10L
#define TOTAL_TIMEOUT_S   30L
#define SMTP_AUTH_NEEDED  530 /* RFC 4954: a server-wide problem, not this mail's */
#define EWORD_IN_MAX      45  /* bytes per encoded-word: 60 base64 chars, < 75 in all */

typedef struct smtp_ctx {
    notify__creds cr;
    bool insecure;
} smtp_ctx;

/* An output buffer with a fixed capacity; @ok turns false on overflow. */
typedef struct obuf {
    char *p;
    size_t len, cap;
    bool ok;
} obuf;

static void put(obuf *b, const char *s, size_t n)
{
    if (!b->ok || n > b->cap - b->len) {
        b->ok = false;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(obuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_date(obuf *b)
{
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time(NULL);
    struct tm tm;
    char s[64];
    gmtime_r(&t, &tm);
    int n = snprintf(s, sizeof s, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
                     days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    put(b, s, (size_t)n);
}

static void put_message_id(obuf *b, const char *from)
{
    unsigned char r[16];
    char hex[33];
    if (RAND_bytes(r, sizeof r) != 1) {
        b->ok = false;
        return;
    }
    for (size_t i = 0; i < sizeof r; i++) {
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    }
    puts_(b, "Message-ID: <");
    puts_(b, hex);
    puts_(b, strchr(from, '@')); /* from was checked to hold one */
    puts_(b, ">\r\n");
}

static bool is_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80)
            return false;
    }
    return true;
}

/* RFC 2047: "=?UTF-8?B?...?=" words of whole characters, folded onto continuation lines. */
static void put_subject(obuf *b, const char *subject)
{
    puts_(b, "Subject: ");
    if (is_ascii(subject)) {
        puts_(b, subject);
        puts_(b, "\r\n");
        return;
    }
    const unsigned char *p = (const unsigned char *)subject;
    size_t left = strlen(subject);
    while (left > 0) {
        size_t n = left < EWORD_IN_MAX ? left : EWORD_IN_MAX;
        while (n < left && n > 1 && (p[n] & 0xC0) == 0x80)
            n--; /* do not cut a UTF-8 sequence */
        unsigned char enc[4 * EWORD_IN_MAX / 3 + 4];
        int m = EVP_EncodeBlock(enc, p, (int)n);
        puts_(b, p == (const unsigned char *)subject ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
        put(b, (const char *)enc, (size_t)m);
        puts_(b, "?=");
        p += n;
        left -= n;
    }
    puts_(b, "\r\n");
}

static void put_body(obuf *b, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\n' && (p == text || p[-1] != '\r'))
            put(b, "\r", 1);
        put(b, p, 1);
    }
    if (text[0] && text[strlen(text) - 1] != '\n')
        puts_(b, "\r\n");
}

/* The whole message in a malloc'd buffer (*@len bytes), or NULL. */
static char *build_message(const smtp_ctx *c, const notify_mail *m, size_t *len)
{
    obuf b = {.cap = 2048 + 3 * strlen(m->subject) + 2 * strlen(m->text), .ok = true};
    if (!(b.p = malloc(b.cap)))
        return NULL;
    put_date(&b);
    puts_(&b, "From: ");
    puts_(&b, c->cr.from);
    puts_(&b, "\r\nTo: ");
    puts_(&b, m->to);
    puts_(&b, "\r\n");
    put_subject(&b, m->subject);
    put_message_id(&b, c->cr.from);
    puts_(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Transfer-Encoding: 8bit\r\n\r\n");
    put_body(&b, m->text);
    if (!b.ok) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

typedef struct reader {
    const char *p;
    size_t left;
} reader;

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
    reader *r = arg;
    size_t n = size * nmemb < r->left ? size * nmemb : r->left;
    memcpy(dst, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

static int set_opts(CURL *h, const smtp_ctx *c, struct curl_slist *rcpt, reader *r)
{
    char from[STORE_NAME_MAX + 3];
    snprintf(from, sizeof from, "<%s>", c->cr.from);
    int e = CURLE_OK; /* OR of every result: all are CURLE_OK (0) or it failed */
    e |= curl_easy_setopt(h, CURLOPT_URL, c->cr.url);
    e |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    e |= curl_easy_setopt(h, CURLOPT_MAIL_FROM, from); /* curl copies strings */
    e |= curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    e |= curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    e |= curl_easy_setopt(h, CURLOPT_READDATA, r);
    e |= curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    e |= curl_easy_setopt(h, CURLOPT_USE_SSL, c->insecure ? CURLUSESSL_TRY : CURLUSESSL_ALL);
    e |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    e |= curl_easy_setopt(h, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
    /* The notifier is one thread of a multi-threaded server: no SIGALRM for timeouts. */
    e |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->cr.user)
        e |= curl_easy_setopt(h, CURLOPT_USERNAME, c->cr.user);
    if (c->cr.pass)
        e |= curl_easy_setopt(h, CURLOPT_PASSWORD, c->cr.pass);
    return e == CURLE_OK ? 0 : -1;
}

/* 5xx is permanent [RFC 5321 4.2.1], except a refused login or a server that wants one:
 * those are the operator's to fix, and every mail would fail the same way. */
static int classify(CURL *h, CURLcode e, char *why, size_t whylen)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    snprintf(why, whylen, "%s (SMTP %ld)", curl_easy_strerror(e), code);
    if (e == CURLE_LOGIN_DENIED || code == SMTP_AUTH_NEEDED)
        return NOTIFY_ETEMP;
    return code >= 500 && code < 600 ? NOTIFY_EPERM : NOTIFY_ETEMP;
}

static int smtp_send(void *ctx, const notify_mail *m, char *why, size_t whylen)
{
    const smtp_ctx *c = ctx;
    char rcpt_addr[STORE_NAME_MAX + 3];
    size_t len = 0;
    int rc = NOTIFY_ETEMP;
    snprintf(why, whylen, "out of memory");
    CURL *h = curl_easy_init();
    char *msg = build_message(c, m, &len);
    snprintf(rcpt_addr, sizeof rcpt_addr, "<%s>", m->to);
    struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_addr);
    reader r = {.p = msg, .left = len};
    if (!h || !msg || !rcpt || set_opts(h, c, rcpt, &r) < 0)
        goto out;
    CURLcode e = curl_easy_perform(h);
    rc = e == CURLE_OK ? NOTIFY_SENT : classify(h, e, why, whylen);
out:
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    free(msg);
    return rc;
}

static void smtp_free(void *ctx)
{
    smtp_ctx *c = ctx;
    if (!c)
        return;
    notify__creds_clear(&c->cr);
    free(c);
}

int notify__smtp_channel(notify_channel *ch, const notify_opts *o, char *err, size_t errlen)
{
    if (strncmp(o->smtp_url, "smtp://", 7) != 0 && strncmp(o->smtp_url, "smtps://", 8) != 0) {
        snprintf(err, errlen, "smtp-url must start with smtp:// or smtps://");
        return -1;
    }
    smtp_ctx *c = calloc(1, sizeof *c);
    bool ok = c != NULL;
    if (c) {
        ok = notify__creds_set(&c->cr, o->smtp_url, o->smtp_user, o->smtp_pass, o->from) == 0;
        c->insecure = o->smtp_insecure;
    }
    if (!ok) {
        smtp_free(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *ch = (notify_channel){.name = "smtp", .send = smtp_send, .free = smtp_free, .ctx = c};
    return 0;
}
