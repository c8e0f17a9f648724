/*
 * config_text — iotcloud.conf lines.
 *
 *   # comment                  ('#' only as the first non-blank character)
 *   key value with spaces      (key ends at the first blank; value is trimmed)
 *   allow_anonymous true       ('_' in keys is read as '-', as mosquitto users write it)
 *
 * Lines may end in "\n" or "\r\n". A NUL byte or a line longer than CONFIG__LINE_MAX is an
 * error rather than something to guess about. A leading UTF-8 byte order mark is skipped.
 */
#include "app/config_int.h"

#include <string.h>

#define CONFIG__LINE_MAX 4096

typedef struct line_ctx {
    const char *name;
    unsigned long lineno;
    char *err;
    size_t errlen;
} line_ctx;

static bool is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

static int fail(const line_ctx *lc, const char *msg)
{
    snprintf(lc->err, lc->errlen, "%s:%lu: %s", lc->name, lc->lineno, msg);
    return -1;
}

/* @line is NUL-terminated and already free of NUL bytes inside. */
static int apply_line(iot_config *c, config__source *src, char *line, const line_ctx *lc)
{
    char *p = line, msg[CONFIG__MSG_MAX], key[CONFIG__KEY_MAX];
    while (is_blank(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    char *k = p;
    while (*p && !is_blank(*p))
        p++;
    size_t klen = (size_t)(p - k);
    while (is_blank(*p))
        p++;
    char *v = p, *e = p + strlen(p);
    while (e > v && is_blank(e[-1]))
        e--;
    *e = '\0';
    if (config__norm_key(k, klen, key) < 0 || !config__key_known(key)) {
        snprintf(msg, sizeof msg, "unknown key '%.*s'", klen > 64 ? 64 : (int)klen, k);
        return fail(lc, msg);
    }
    if (config__apply(c, src, key, v, msg, sizeof msg) < 0)
        return fail(lc, msg);
    return 0;
}

int config_parse_text(iot_config *c, const char *text, size_t len, const char *name, char *err,
                      size_t errlen)
{
    static const char bom[] = "\xEF\xBB\xBF";
    config__source src = {.listen_seen = false};
    line_ctx lc = {.name = name ? name : "config", .lineno = 0, .err = err, .errlen = errlen};
    char line[CONFIG__LINE_MAX + 1];
    size_t pos = 0;
    if (len >= 3 && memcmp(text, bom, 3) == 0)
        pos = 3;
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        lc.lineno++;
        if (n > CONFIG__LINE_MAX)
            return fail(&lc, "line is too long");
        if (memchr(start, '\0', n))
            return fail(&lc, "NUL byte in line");
        memcpy(line, start, n);
        line[n] = '\0';
        if (apply_line(c, &src, line, &lc) < 0)
            return -1;
    }
    return 0;
}
