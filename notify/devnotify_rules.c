/*
 * devnotify_rules — what a device may name as a recipient and send as a message. Pure.
 *
 * Recipients are deliberately narrower than RFC 5321 allows: an address the notifier can
 * put into an SMTP envelope and a header without quoting, or an E.164 number.
 */
#include <string.h>

#include "notify/devnotify.h"

#define EMAIL_MAX 254 /* RFC 5321 4.5.3.1.3 path limit minus the brackets */
#define LOCAL_MAX 64  /* RFC 5321 4.5.3.1.1 */
#define E164_MIN  8
#define E164_MAX  15 /* ITU-T E.164: at most 15 digits */
#define LABEL_MAX 63

static bool local_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("<>,;:\"()[]\\@", c);
}

static bool local_ok(const char *s, size_t n)
{
    if (n == 0 || n > LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!local_char((unsigned char)s[i]) || (s[i] == '.' && s[i + 1] == '.'))
            return false;
    }
    return true;
}

static bool label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* Dotted labels of letters, digits and '-', none empty, none starting or ending with '-',
 * at least two of them. */
static bool domain_ok(const char *d)
{
    size_t labels = 0, len = 0;
    for (const char *p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            if (len == 0 || len > LABEL_MAX || p[-1] == '-' || p[-(ptrdiff_t)len] == '-')
                return false;
            labels++;
            len = 0;
            if (*p == '\0')
                break;
        } else if (label_char((unsigned char)*p)) {
            len++;
        } else {
            return false;
        }
    }
    return labels >= 2;
}

static bool email_ok(const char *r, size_t n)
{
    const char *at = strchr(r, '@');
    if (n > EMAIL_MAX || !at || strchr(at + 1, '@'))
        return false;
    return local_ok(r, (size_t)(at - r)) && domain_ok(at + 1);
}

static bool e164_ok(const char *r, size_t n)
{
    if (r[0] != '+' || n - 1 < E164_MIN || n - 1 > E164_MAX || r[1] == '0')
        return false;
    for (size_t i = 1; i < n; i++) {
        if (r[i] < '0' || r[i] > '9')
            return false;
    }
    return true;
}

int devnotify_recipient_kind(const char *r)
{
    if (!r || !r[0])
        return -1;
    size_t n = strnlen(r, EMAIL_MAX + 1);
    if (r[0] == '+')
        return e164_ok(r, n) ? DEVNOTIFY_SMS : -1;
    return email_ok(r, n) ? DEVNOTIFY_MAIL : -1;
}

/* Length of the UTF-8 sequence at @p (at most @left bytes), 0 when invalid: no overlong
 * forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    }
    if ((n == 2 && c < 0xC2) || (n == 3 && c == 0xE0 && p[1] < 0xA0) ||
        (n == 3 && c == 0xED && p[1] >= 0xA0) || (n == 4 && c == 0xF0 && p[1] < 0x90) ||
        (n == 4 && (c > 0xF4 || (c == 0xF4 && p[1] >= 0x90))))
        return 0;
    return n;
}

bool devnotify_message_ok(const char *m, size_t len)
{
    if (!m || len == 0)
        return false;
    const unsigned char *p = (const unsigned char *)m;
    size_t chars = 0;
    for (size_t i = 0; i < len; chars++) {
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return false;
        if (p[i] == 0x7f)
            return false;
        size_t n = utf8_len(p + i, len - i);
        if (n == 0 || chars >= DEVNOTIFY_MESSAGE_MAX)
            return false;
        i += n;
    }
    return true;
}
