/*
 * log_format — text and JSON lines (see log.h for both shapes).
 *
 * JSON strings (RFC 8259 section 7): '"' and '\' escaped, control characters as \u00XX,
 * and since a message may carry bytes a peer sent (client ids, paths), every byte sequence
 * that is not well-formed UTF-8 (RFC 3629 section 4: no overlongs, no surrogates, at most
 * U+10FFFF) becomes U+FFFD, so a line always parses.
 */
#include "common/log_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define COMPONENT_MAX 24

typedef struct out_buf {
    char *p;
    size_t len, cap; /* cap keeps room for the closing bytes the caller reserves */
    bool cut;
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    if (o->cut || o->len + n > o->cap) {
        o->cut = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(out_buf *o, const char *s) { put(o, s, strlen(s)); }

static bool word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* "device identity: ..." -> "device identity"; "mqtt 10.0.0.1:4242: ..." -> "mqtt" (a
 * component, then the peer it is about); anything else -> "iotcloud". */
void log__component(const char *msg, char *out, size_t cap)
{
    size_t i = 0, w;
    while (i < COMPONENT_MAX && (word_char(msg[i]) || msg[i] == ' '))
        i++;
    if (i > 0 && i < cap && msg[i] == ':' && (msg[i + 1] == ' ' || !msg[i + 1]) &&
        msg[i - 1] != ' ' && msg[0] != ' ') {
        memcpy(out, msg, i);
        out[i] = '\0';
        return;
    }
    for (w = 0; w < COMPONENT_MAX && word_char(msg[w]); w++)
        ;
    if (w > 0 && w < cap && msg[w] == ' ') {
        size_t t = w + 1 + strcspn(msg + w + 1, " ");
        if (t > w + 2 && msg[t - 1] == ':') {
            memcpy(out, msg, w);
            out[w] = '\0';
            return;
        }
    }
    snprintf(out, cap, "iotcloud");
}

/* Length of the well-formed UTF-8 sequence at @s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Escapes @s into a JSON string body; stops at a whole character when out of room. */
static void put_json_str(out_buf *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p && !o->cut) {
        char esc[8];
        size_t n = utf8_len(p);
        if (n == 0) {
            put(o, "\\ufffd", 6);
            p++;
        } else if (*p == '"' || *p == '\\') {
            esc[0] = '\\', esc[1] = (char)*p;
            put(o, esc, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(o, esc, 6);
            p++;
        } else {
            put(o, (const char *)p, n);
            p += n;
        }
    }
}

static void put_json_member(out_buf *o, const char *key, const char *value)
{
    puts_(o, ",\"");
    put_json_str(o, key);
    puts_(o, "\":\"");
    put_json_str(o, value);
    puts_(o, "\"");
}

static void json_head(out_buf *o, const log__event *e, const char *comp, bool fields)
{
    puts_(o, "{\"time\":\"");
    puts_(o, e->time);
    puts_(o, "\",\"level\":\"");
    puts_(o, e->level);
    puts_(o, "\"");
    put_json_member(o, "component", comp);
    for (size_t i = 0; fields && i < e->n_fields; i++)
        if (e->fields[i].value && strcmp(e->fields[i].key, "component") != 0)
            put_json_member(o, e->fields[i].key, e->fields[i].value);
}

size_t log__format_json(const log__event *e, char *out, size_t cap)
{
    char comp[32];
    log__component(e->msg, comp, sizeof comp);
    for (size_t i = 0; i < e->n_fields; i++) /* a call site may name it */
        if (strcmp(e->fields[i].key, "component") == 0 && e->fields[i].value)
            snprintf(comp, sizeof comp, "%s", e->fields[i].value);
    /* The head and fields leave room for the message member's start and the closing
     * `"}` + '\n'; only the message may then be cut. */
    static const char msg_key[] = ",\"message\":\"";
    size_t head_cap = cap - 3 - (sizeof msg_key - 1);
    out_buf o = {out, 0, head_cap, false};
    json_head(&o, e, comp, true);
    if (o.cut) { /* fields too long: drop them rather than write broken JSON */
        o = (out_buf){out, 0, head_cap, false};
        json_head(&o, e, comp, false);
    }
    o.cap = cap - 3;
    puts_(&o, msg_key);
    put_json_str(&o, e->msg);
    memcpy(out + o.len, "\"}\n", 3);
    return o.len + 3;
}

size_t log__format_text(const log__event *e, char *out, size_t cap)
{
    out_buf o = {out, 0, cap - 1, false};
    char head[64];
    snprintf(head, sizeof head, "%s %-5s ", e->time, e->level);
    puts_(&o, head);
    puts_(&o, e->msg);
    for (size_t i = 0; i < e->n_fields; i++) {
        if (!e->fields[i].value || strcmp(e->fields[i].key, "component") == 0)
            continue;
        puts_(&o, " ");
        puts_(&o, e->fields[i].key);
        puts_(&o, "=");
        puts_(&o, e->fields[i].value);
    }
    out[o.len] = '\n'; /* a piece that did not fit was left out whole */
    return o.len + 1;
}
