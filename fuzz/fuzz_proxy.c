/*
 * Fuzzes the PROXY protocol header parser (net/proxy.c), checking its promises: a header
 * never claims more bytes than it was given nor more than the cap, every prefix of a valid
 * header asks for more instead of failing, and an address it reports is INET or INET6.
 *
 * Input layout: data[0] picks the cap (64 * (data[0] + 1) bytes), the rest is the header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "net/proxy.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t cap = 64 * ((size_t)data[0] + 1);
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    net_proxy_hdr h;
    int r = net_proxy_parse(p, n, cap, &h);
    if (r <= 0)
        return 0;
    check((size_t)r <= n && (size_t)r == h.hdr_len && (size_t)r <= cap + NET_PROXY_V1_MAX);
    check(h.version == 1 || h.version == 2);
    check(!h.has_addr || h.src.ss_family == AF_INET || h.src.ss_family == AF_INET6);
    for (size_t k = 0; k < (size_t)r; k++) {
        net_proxy_hdr q;
        check(net_proxy_parse(p, k, cap, &q) == 0);
    }
    return 0;
}
