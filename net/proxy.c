/*
 * proxy.c: PROXY protocol v1/v2 header parser (wire formats in net/proxy.h). Pure.
 */
#include "net/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1_sig[] = "PROXY ";

/* Whether the first @n bytes agree with @sig (of @siglen bytes) as far as both go. */
static bool prefix_of(const uint8_t *p, size_t n, const void *sig, size_t siglen)
{
    return memcmp(p, sig, n < siglen ? n : siglen) == 0;
}

static void set_v4(net_proxy_hdr *out, const uint8_t *a, const uint8_t *port)
{
    struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
    s->sin_family = AF_INET;
    memcpy(&s->sin_addr, a, 4);
    memcpy(&s->sin_port, port, 2);
    out->has_addr = true;
}

static void set_v6(net_proxy_hdr *out, const uint8_t *a, const uint8_t *port)
{
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
    s->sin6_family = AF_INET6;
    memcpy(&s->sin6_addr, a, 16);
    memcpy(&s->sin6_port, port, 2);
    out->has_addr = true;
}

static int parse_v2(const uint8_t *p, size_t n, size_t max_len, net_proxy_hdr *out)
{
    if (n < NET_PROXY_V2_FIXED)
        return 0;
    if ((p[12] >> 4) != 2) /* 2.2: the version nibble must be 0x2 */
        return -EPROTO;
    int cmd = p[12] & 0x0F;
    if (cmd > 1) /* 2.2: other commands are invalid */
        return -EPROTO;
    size_t len = ((size_t)p[14] << 8) | p[15];
    size_t total = NET_PROXY_V2_FIXED + len;
    if (total > max_len)
        return -EMSGSIZE;
    if (n < total)
        return 0;
    out->version = 2;
    out->hdr_len = total;
    if (cmd == 0) /* LOCAL: a health check from the proxy itself; keep the real address */
        return (int)total;
    const uint8_t *a = p + NET_PROXY_V2_FIXED;
    switch (p[13] >> 4) {
    case 1:
        if (len < 12)
            return -EPROTO;
        set_v4(out, a, a + 8);
        break;
    case 2:
        if (len < 36)
            return -EPROTO;
        set_v6(out, a, a + 32);
        break;
    case 0:
    case 3: /* UNSPEC / UNIX: accepted, the socket's address stays (spec 2.2) */
        break;
    default:
        return -EPROTO;
    }
    return (int)total;
}

/* A decimal port 0..65535, 1-5 digits, no leading zero (spec 2.1). */
static int v1_port(const char *s, size_t len, uint8_t out[2])
{
    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return -EPROTO;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EPROTO;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return -EPROTO;
    out[0] = (uint8_t)(v >> 8);
    out[1] = (uint8_t)v;
    return 0;
}

/* Splits @line (no CRLF) at single spaces into at most @max fields. */
static size_t v1_fields(const char *line, size_t len, const char **f, size_t *fl, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ' ')
            continue;
        if (k == max)
            return max + 1;
        f[k] = line + start;
        fl[k++] = i - start;
        start = i + 1;
    }
    return k;
}

static int v1_addr(int af, const char *s, size_t len, uint8_t *out)
{
    char buf[INET6_ADDRSTRLEN];
    if (len == 0 || len >= sizeof buf || memchr(s, '\0', len))
        return -EPROTO;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(af, buf, out) == 1 ? 0 : -EPROTO;
}

static int parse_v1_line(const char *line, size_t len, net_proxy_hdr *out)
{
    const char *f[6];
    size_t fl[6];
    size_t k = v1_fields(line, len, f, fl, 6);
    if (k >= 2 && fl[1] == 7 && memcmp(f[1], "UNKNOWN", 7) == 0)
        return 0; /* 2.1: the rest of the line is ignored, the socket's address stays */
    if (k != 6)
        return -EPROTO;
    int af;
    if (fl[1] == 4 && memcmp(f[1], "TCP4", 4) == 0)
        af = AF_INET;
    else if (fl[1] == 4 && memcmp(f[1], "TCP6", 4) == 0)
        af = AF_INET6;
    else
        return -EPROTO;
    uint8_t src[16], dst[16], sport[2], dport[2];
    if (v1_addr(af, f[2], fl[2], src) < 0 || v1_addr(af, f[3], fl[3], dst) < 0 ||
        v1_port(f[4], fl[4], sport) < 0 || v1_port(f[5], fl[5], dport) < 0)
        return -EPROTO;
    if (af == AF_INET)
        set_v4(out, src, sport);
    else
        set_v6(out, src, sport);
    return 0;
}

static int parse_v1(const uint8_t *p, size_t n, net_proxy_hdr *out)
{
    size_t lim = n < NET_PROXY_V1_MAX ? n : NET_PROXY_V1_MAX;
    for (size_t i = 0; i + 1 < lim; i++) {
        if (p[i] != '\r')
            continue;
        if (p[i + 1] != '\n')
            return -EPROTO;
        out->version = 1;
        out->hdr_len = i + 2;
        int r = parse_v1_line((const char *)p, i, out);
        return r < 0 ? r : (int)(i + 2);
    }
    return n >= NET_PROXY_V1_MAX ? -EPROTO : 0; /* 2.1: 107 bytes at most */
}

int net_proxy_parse(const uint8_t *p, size_t n, size_t max_len, net_proxy_hdr *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    if (prefix_of(p, n, v2_sig, sizeof v2_sig))
        return parse_v2(p, n, max_len, out);
    if (prefix_of(p, n, v1_sig, sizeof v1_sig - 1))
        return n < sizeof v1_sig - 1 ? 0 : parse_v1(p, n, out);
    return -EPROTO;
}
