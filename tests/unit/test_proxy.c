/*
 * proxy.c: the PROXY protocol v1/v2 header parser, driven from byte arrays.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "net/proxy.h"

#define MAX 1024

static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* A v2 PROXY TCP4 header from 192.0.2.7:40000 with @tlv extra bytes; returns its length. */
static size_t v2_tcp4(uint8_t *b, size_t tlv)
{
    memcpy(b, sig, 12);
    b[12] = 0x21;
    b[13] = 0x11;
    b[14] = (uint8_t)((12 + tlv) >> 8);
    b[15] = (uint8_t)(12 + tlv);
    const uint8_t addr[12] = {192, 0, 2, 7, 10, 0, 0, 1, 0x9C, 0x40, 0x22, 0xB3};
    memcpy(b + 16, addr, 12);
    memset(b + 28, 0xEE, tlv);
    return 28 + tlv;
}

static void expect_v4(const net_proxy_hdr *h, const char *ip, unsigned port)
{
    const struct sockaddr_in *s = (const struct sockaddr_in *)&h->src;
    char buf[INET_ADDRSTRLEN];
    cr_assert(h->has_addr);
    cr_assert_eq(s->sin_family, AF_INET);
    cr_assert_str_eq(inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf), ip);
    cr_assert_eq(ntohs(s->sin_port), port);
}

Test(proxy, v2_tcp4_gives_the_client_address_and_skips_tlvs)
{
    uint8_t b[64];
    size_t n = v2_tcp4(b, 7);
    b[n] = 0x10; /* the client's first byte follows the header */
    net_proxy_hdr h;
    cr_assert_eq(net_proxy_parse(b, n + 1, MAX, &h), (int)n);
    cr_assert_eq(h.version, 2);
    cr_assert_eq(h.hdr_len, n);
    expect_v4(&h, "192.0.2.7", 40000);
}

Test(proxy, v2_every_prefix_asks_for_more)
{
    uint8_t b[64];
    size_t n = v2_tcp4(b, 3);
    net_proxy_hdr h;
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(net_proxy_parse(b, k, MAX, &h), 0, "prefix %zu", k);
}

Test(proxy, v2_tcp6)
{
    uint8_t b[52];
    memcpy(b, sig, 12);
    b[12] = 0x21;
    b[13] = 0x21;
    b[14] = 0;
    b[15] = 36;
    memset(b + 16, 0, 36);
    inet_pton(AF_INET6, "2001:db8::5", b + 16);
    b[48] = 0x04;
    b[49] = 0xD2;
    net_proxy_hdr h;
    cr_assert_eq(net_proxy_parse(b, sizeof b, MAX, &h), 52);
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&h.src;
    char buf[INET6_ADDRSTRLEN];
    cr_assert(h.has_addr);
    cr_assert_eq(s->sin6_family, AF_INET6);
    cr_assert_str_eq(inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf), "2001:db8::5");
    cr_assert_eq(ntohs(s->sin6_port), 1234);
}

Test(proxy, v2_local_keeps_the_socket_address)
{
    uint8_t b[16];
    memcpy(b, sig, 12);
    b[12] = 0x20;
    b[13] = 0x00;
    b[14] = 0;
    b[15] = 0;
    net_proxy_hdr h;
    cr_assert_eq(net_proxy_parse(b, sizeof b, MAX, &h), 16);
    cr_assert_not(h.has_addr);
}

Test(proxy, v2_bad_version_command_family_and_short_address_are_rejected)
{
    uint8_t b[64];
    net_proxy_hdr h;
    size_t n = v2_tcp4(b, 0);
    b[12] = 0x11;
    cr_assert_eq(net_proxy_parse(b, n, MAX, &h), -EPROTO);
    n = v2_tcp4(b, 0);
    b[12] = 0x22;
    cr_assert_eq(net_proxy_parse(b, n, MAX, &h), -EPROTO);
    n = v2_tcp4(b, 0);
    b[13] = 0x41;
    cr_assert_eq(net_proxy_parse(b, n, MAX, &h), -EPROTO);
    n = v2_tcp4(b, 0);
    b[15] = 4; /* INET with only 4 address bytes */
    cr_assert_eq(net_proxy_parse(b, 20, MAX, &h), -EPROTO);
}

Test(proxy, v2_longer_than_the_cap_is_refused_before_it_arrives)
{
    uint8_t b[64];
    v2_tcp4(b, 0);
    b[14] = 0xFF;
    b[15] = 0xFF;
    net_proxy_hdr h;
    cr_assert_eq(net_proxy_parse(b, 16, MAX, &h), -EMSGSIZE);
}

Test(proxy, v1_tcp4_and_tcp6)
{
    const char *l4 = "PROXY TCP4 198.51.100.22 203.0.113.7 35646 80\r\nGET";
    net_proxy_hdr h;
    int r = net_proxy_parse((const uint8_t *)l4, strlen(l4), MAX, &h);
    cr_assert_eq(r, (int)strlen(l4) - 3);
    cr_assert_eq(h.version, 1);
    expect_v4(&h, "198.51.100.22", 35646);
    const char *l6 = "PROXY TCP6 2001:db8::1 ::1 65535 8883\r\n";
    cr_assert_eq(net_proxy_parse((const uint8_t *)l6, strlen(l6), MAX, &h), (int)strlen(l6));
    cr_assert(h.has_addr);
    cr_assert_eq(((const struct sockaddr_in6 *)&h.src)->sin6_family, AF_INET6);
}

Test(proxy, v1_unknown_keeps_the_socket_address)
{
    const char *l = "PROXY UNKNOWN ffff::1 ::1 1 2\r\n";
    net_proxy_hdr h;
    cr_assert_eq(net_proxy_parse((const uint8_t *)l, strlen(l), MAX, &h), (int)strlen(l));
    cr_assert_not(h.has_addr);
}

Test(proxy, v1_prefix_asks_for_more)
{
    const char *l = "PROXY TCP4 198.51.100.22 203.0.113.7 35646 80\r\n";
    net_proxy_hdr h;
    for (size_t k = 0; k < strlen(l); k++)
        cr_assert_eq(net_proxy_parse((const uint8_t *)l, k, MAX, &h), 0, "prefix %zu", k);
}

Test(proxy, v1_malformed_lines_are_rejected)
{
    static const char *bad[] = {
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",   "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
        "PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n",   "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",     "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
    };
    net_proxy_hdr h;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(net_proxy_parse((const uint8_t *)bad[i], strlen(bad[i]), MAX, &h), -EPROTO,
                     "%s", bad[i]);
}

Test(proxy, v1_without_crlf_in_107_bytes_is_rejected)
{
    char l[NET_PROXY_V1_MAX];
    memcpy(l, "PROXY ", 6);
    memset(l + 6, 'A', sizeof l - 6);
    net_proxy_hdr h;
    cr_assert_eq(net_proxy_parse((const uint8_t *)l, sizeof l, MAX, &h), -EPROTO);
    cr_assert_eq(net_proxy_parse((const uint8_t *)l, sizeof l - 1, MAX, &h), 0);
}

Test(proxy, a_client_speaking_mqtt_or_tls_first_is_not_a_proxy_header)
{
    const uint8_t connect[] = {0x10, 0x0C, 0x00, 0x04, 'M', 'Q', 'T', 'T'};
    const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x10};
    net_proxy_hdr h;
    cr_assert_eq(net_proxy_parse(connect, sizeof connect, MAX, &h), -EPROTO);
    cr_assert_eq(net_proxy_parse(hello, sizeof hello, MAX, &h), -EPROTO);
    cr_assert_eq(net_proxy_parse((const uint8_t *)"GET / ", 6, MAX, &h), -EPROTO);
}
