/**
 * proxy — the PROXY protocol header (HAProxy "proxy-protocol.txt", versions 1 and 2) a
 * load balancer puts before the client's first byte, as a pure function over bytes: no
 * socket, no loop, no allocation, so fuzz/fuzz_proxy.c and the unit tests drive it from
 * arrays.
 *
 * v2 (binary):
 *   0..11  signature \r\n\r\n\0\r\nQUIT\n
 *   12     version (high nibble, must be 2) | command (low nibble: 0 LOCAL, 1 PROXY)
 *   13     family (high nibble: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX) | transport (low)
 *   14..15 length of what follows, big endian (addresses, then TLVs, which are skipped)
 *   INET:  src4 dst4 sport dport (12 bytes); INET6: src16 dst16 sport dport (36 bytes)
 * v1 (text): "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n" or "PROXY UNKNOWN...\r\n",
 *   at most 107 bytes.
 *
 * Thread-safe (no state).
 */
#ifndef IOT_NET_PROXY_H
#define IOT_NET_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** The longest v1 line, CRLF included (spec section 2.1). */
#define NET_PROXY_V1_MAX 107
/** The fixed part of a v2 header. */
#define NET_PROXY_V2_FIXED 16

typedef struct net_proxy_hdr {
    /** true: the header carries the client's address in @src (PROXY over TCP4/TCP6);
     *  false: LOCAL / UNKNOWN / UNSPEC / UNIX — the caller keeps the socket's address. */
    bool has_addr;
    int version;                 /**< 1 or 2 */
    struct sockaddr_storage src; /**< AF_INET or AF_INET6, port in network order */
    size_t hdr_len;              /**< bytes the header takes; the client's data follows */
} net_proxy_hdr;

/**
 * Parses the header at the start of @p (@n bytes). Returns the header length (> 0) and
 * fills @out, 0 when @p is a valid prefix and more bytes are needed, or -EPROTO when the
 * bytes are not a valid header (the connection must be closed), or -EMSGSIZE when a v2
 * header announces more than @max_len bytes in total.
 */
int net_proxy_parse(const uint8_t *p, size_t n, size_t max_len, net_proxy_hdr *out);

#endif
