/*
 * config_listen — listener URLs.
 *
 *   mqtt://HOST[:PORT]     plain MQTT, default port 1883
 *   mqtts://HOST[:PORT]    MQTT over TLS (HTTP too, by ALPN), default port 8883
 *   https://HOST[:PORT]    HTTP over TLS (MQTT too, by ALPN), default port 8443
 *   http://HOST[:PORT]     plain HTTP, loopback only, default port 8080
 *   ws://HOST[:PORT][/PATH]   MQTT over WebSocket, default port 8083, path /mqtt
 *   wss://HOST[:PORT][/PATH]  MQTT over WebSocket over TLS, default port 8084, path /mqtt
 *   metrics://HOST[:PORT]  plain HTTP, GET /metrics only (Prometheus), loopback only,
 *                          default port 9464
 *   HOST                   IPv4 literal, name (letters, digits, '-', '.') or [IPv6 literal]
 *   PORT                   0..65535 in decimal; 0 lets the kernel pick a free port
 *
 * Nothing else may follow the port (no query; a path only for ws/wss): a typo should fail
 * loudly. A path is '/' then letters, digits, '-', '_', '.', '/'.
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
        bool ws = out->scheme == CONFIG_WS || out->scheme == CONFIG_WSS;
        end = h + strcspn(h, ws ? ":/" : ":"); /* a ws URL's path may follow the host */
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

typedef struct scheme_row {
    const char *prefix;
    const char *name;
    enum config_scheme scheme;
    uint16_t port;
} scheme_row;

static const scheme_row schemes[] = {
    {"mqtts://", "mqtts", CONFIG_MQTTS, 8883},
    {"mqtt://", "mqtt", CONFIG_MQTT, 1883},
    {"https://", "https", CONFIG_HTTPS, 8443},
    {"http://", "http", CONFIG_HTTP, 8080},
    {"wss://", "wss", CONFIG_WSS, 8084},
    {"ws://", "ws", CONFIG_WS, 8083},
    {"metrics://", "metrics", CONFIG_METRICS, 9464},
};

static bool is_path_char(char ch) { return is_name_char(ch) || ch == '_' || ch == '/'; }

/* ws/wss: an optional path after the port ("/mqtt" when absent). @rest points at it. */
static int parse_path(const char *rest, config_listen *l, const char **why)
{
    if (*rest == '\0') {
        memcpy(l->path, "/mqtt", sizeof "/mqtt");
        return 0;
    }
    size_t n = strlen(rest);
    if (*rest != '/' || n >= sizeof l->path) {
        *why = "path must start with '/' and be shorter than 64 characters";
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!is_path_char(rest[i])) {
            *why = "path may only hold letters, digits, '-', '_', '.' and '/'";
            return -1;
        }
    memcpy(l->path, rest, n + 1);
    return 0;
}

static const scheme_row *find_scheme(const char *url)
{
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(url, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
            return &schemes[i];
    return NULL;
}

static bool is_loopback(const char *host)
{
    struct in_addr a4;
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

const char *config_scheme_name(enum config_scheme s)
{
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (schemes[i].scheme == s)
            return schemes[i].name;
    return "?";
}

int config_parse_listen(const char *url, config_listen *out, char *err, size_t errlen)
{
    config_listen l;
    memset(&l, 0, sizeof l);
    const char *hp, *rest, *why = NULL;
    const scheme_row *sr = find_scheme(url);
    if (!sr)
        return fail(err, errlen, url,
                    "scheme must be mqtt://, mqtts://, http://, https://, ws://, wss:// "
                    "or metrics://");
    l.scheme = sr->scheme;
    l.port = sr->port;
    hp = url + strlen(sr->prefix);
    if (split_host(hp, &l, &rest, &why) < 0 || check_host(&l, hp[0] == '[', &why) < 0)
        return fail(err, errlen, url, why);
    if (l.scheme == CONFIG_HTTP && !is_loopback(l.host))
        return fail(err, errlen, url,
                    "plain http:// only on a loopback address (127.0.0.1, ::1, localhost); "
                    "use https://");
    if (l.scheme == CONFIG_METRICS && !is_loopback(l.host))
        return fail(err, errlen, url,
                    "metrics:// only on a loopback address (127.0.0.1, ::1, localhost); "
                    "remote scrapes use GET /v1/admin/metrics over https://");
    bool ws = l.scheme == CONFIG_WS || l.scheme == CONFIG_WSS;
    char port[8] = "";
    if (*rest == ':') { /* the port runs to the end, or to the path of a ws URL */
        size_t pl = ws ? strcspn(rest + 1, "/") : strlen(rest + 1);
        if (pl < sizeof port) {
            memcpy(port, rest + 1, pl);
            port[pl] = '\0';
        }
        if (pl >= sizeof port || parse_port(port, &l.port) < 0)
            return fail(err, errlen, url, "port must be a number 0..65535");
        rest += 1 + pl;
    }
    if (ws && parse_path(rest, &l, &why) < 0)
        return fail(err, errlen, url, why);
    if (!ws && *rest != '\0')
        return fail(err, errlen, url, "port must be a number 0..65535 and end the URL");
    *out = l;
    return 0;
}
