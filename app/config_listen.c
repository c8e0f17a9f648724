/*
 * config_listen — listener URLs.
 *
 *   mqtt://HOST[:PORT]     plain MQTT, default port 1883
 *   mqtts://HOST[:PORT]    MQTT over TLS, default port 8883
 *   HOST                   IPv4 literal, name (letters, digits, '-', '.') or [IPv6 literal]
 *   PORT                   0..65535 in decimal; 0 lets the kernel pick a free port
 *
 * Nothing may follow the port (no path, no query): a typo should fail loudly.
 */
#include "app/config_int.h"

#include <arpa/inet.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *url, const char *why)
{
    snprintf(err, errlen, "'%.80s': %s", url, why);
    return -1;
}

static bool is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.';
}

/* Port: 1..5 digits, value <= 65535. */
static int parse_port(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 5)
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (i == 0 || v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* Splits "[v6]:port" / "host:port" into host and the text after the host (":port" or ""). */
static int split_host(const char *hp, config_listen *out, const char **rest, const char **why)
{
    const char *h = hp, *end;
    if (*hp == '[') {
        h = hp + 1;
        end = strchr(h, ']');
        if (!end) {
            *why = "missing ']' after IPv6 address";
            return -1;
        }
        *rest = end + 1;
    } else {
        end = h + strcspn(h, ":");
        *rest = end;
        if (*end == ':' && strchr(end + 1, ':')) {
            *why = "IPv6 addresses need brackets: [::1]:PORT";
            return -1;
        }
    }
    size_t n = (size_t)(end - h);
    if (n == 0) {
        *why = "host is required";
        return -1;
    }
    if (n >= sizeof out->host) {
        *why = "host is too long";
        return -1;
    }
    memcpy(out->host, h, n);
    out->host[n] = '\0';
    return 0;
}

static int check_host(const config_listen *l, bool bracketed, const char **why)
{
    unsigned char addr[16];
    if (bracketed) {
        if (inet_pton(AF_INET6, l->host, addr) != 1) {
            *why = "not a valid IPv6 address in brackets";
            return -1;
        }
        return 0;
    }
    for (const char *p = l->host; *p; p++) {
        if (!is_name_char(*p)) {
            *why = "host may only hold letters, digits, '-' and '.' (IPv6 needs [brackets])";
            return -1;
        }
    }
    return 0;
}

int config_parse_listen(const char *url, config_listen *out, char *err, size_t errlen)
{
    config_listen l;
    memset(&l, 0, sizeof l);
    const char *hp, *rest, *why = NULL;
    if (strncmp(url, "mqtts://", 8) == 0) {
        l.scheme = CONFIG_MQTTS;
        l.port = 8883;
        hp = url + 8;
    } else if (strncmp(url, "mqtt://", 7) == 0) {
        l.scheme = CONFIG_MQTT;
        l.port = 1883;
        hp = url + 7;
    } else {
        return fail(err, errlen, url, "scheme must be mqtt:// or mqtts://");
    }
    if (split_host(hp, &l, &rest, &why) < 0 || check_host(&l, hp[0] == '[', &why) < 0)
        return fail(err, errlen, url, why);
    if (*rest != '\0' && (*rest != ':' || parse_port(rest + 1, &l.port) < 0))
        return fail(err, errlen, url, "port must be a number 0..65535 and end the URL");
    *out = l;
    return 0;
}
