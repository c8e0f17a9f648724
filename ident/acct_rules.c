/*
 * acct_rules — account field rules. Usernames are case-folded so "Alice" and "alice" are
 * one account; e-mail domains are case-insensitive [RFC 5321 2.4], local parts are kept.
 */
#include "ident/acct_rules.h"

#include "ident/devdir.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

int acct_username_norm(const char *in, char *out, size_t cap, const char **why)
{
    size_t n = in ? strlen(in) : 0;
    if (n < 3 || n > ACCT_USERNAME_MAX || n >= cap) {
        *why = "must be 3 to 64 characters";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = ascii_lower(in[i]);
        bool ok = is_lower_alnum(c) || (i > 0 && (c == '.' || c == '_' || c == '-'));
        if (!ok) {
            *why = "may hold only letters, digits, '.', '_' and '-', and must start with a "
                   "letter or digit";
            return -1;
        }
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}

int acct_username_reserved(const char *norm, const char **why)
{
    if (norm && devdir_id_shaped(norm, strlen(norm))) {
        *why = "is reserved: it has the shape of a device id ('d' and 24 hex digits)";
        return -1;
    }
    return 0;
}

static bool email_char_ok(unsigned char c) { return c > 0x20 && c != 0x7f && c != '"'; }

int acct_email_norm(const char *in, char *out, size_t cap, const char **why)
{
    size_t n = in ? strlen(in) : 0;
    const char *at = in ? strchr(in, '@') : NULL;
    *why = "must be an e-mail address such as name@example.com";
    if (n == 0 || n > ACCT_EMAIL_MAX || n >= cap || !at || at == in || strchr(at + 1, '@'))
        return -1;
    const char *dom = at + 1;
    const char *dot = strchr(dom, '.');
    size_t dlen = strlen(dom);
    if (!dot || dot == dom || dom[dlen - 1] == '.' || strstr(dom, ".."))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!email_char_ok((unsigned char)in[i]))
            return -1;
        out[i] = in + i > at ? ascii_lower(in[i]) : in[i];
    }
    out[n] = '\0';
    return 0;
}

int acct_password_check(const char *pw, const char *username, const char *email, const char **why)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < ACCT_PASSWORD_MIN) {
        *why = "must be at least 10 characters";
        return -1;
    }
    if (n > ACCT_PASSWORD_MAX) {
        *why = "must be at most 1024 characters";
        return -1;
    }
    if ((username && strcasecmp(pw, username) == 0) || (email && strcasecmp(pw, email) == 0)) {
        *why = "must not be the username or the e-mail address";
        return -1;
    }
    const char *at = email ? strchr(email, '@') : NULL;
    if (at && (size_t)(at - email) == n && strncasecmp(pw, email, n) == 0) {
        *why = "must not be the e-mail address";
        return -1;
    }
    return 0;
}

int acct_name_check(const char *name, const char **why)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > ACCT_NAME_MAX) {
        *why = "must be 1 to 128 characters";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) {
            *why = "must not hold control characters";
            return -1;
        }
    }
    return 0;
}
