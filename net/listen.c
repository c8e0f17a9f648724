/*
 * Listening sockets: one per listener per loop, all bound to the same address with
 * SO_REUSEPORT so the kernel spreads new connections over the loops without a shared
 * accept lock. libuv 1.44 has no reuseport flag, so the sockets are made here and
 * handed to libuv with uv_tcp_open.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "net/net_int.h"

static int resolve(const char *host, struct sockaddr_storage *ss, socklen_t *len, char *err,
                   size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int r = getaddrinfo(host && *host ? host : NULL, "0", &hints, &res);
    if (r != 0 || !res) {
        snprintf(err, errlen, "resolve %s: %s", host ? host : "*", gai_strerror(r));
        return -EINVAL;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static uint16_t get_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* socket + SO_REUSEADDR/SO_REUSEPORT (+ V6ONLY) + bind + listen; returns fd or -errno. */
static int open_one(const struct sockaddr_storage *ss, socklen_t len)
{
    int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    /* V6ONLY so "::" and "0.0.0.0" can be separate listeners on one port. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        (ss->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, NET_LISTEN_BACKLOG) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

int net__listen_bind(net_server *s, net_listener *L, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int r = resolve(L->o.host, &ss, &len, err, errlen);
    if (r < 0)
        return r;
    uint16_t port = L->o.port;
    for (unsigned i = 0; i < s->workers; i++) {
        set_port(&ss, port);
        int fd = open_one(&ss, len);
        if (fd < 0) {
            snprintf(err, errlen, "listen %s:%u: %s", L->o.host ? L->o.host : "*", (unsigned)port,
                     strerror(-fd));
            return fd;
        }
        L->fds[i] = fd;
        if (i == 0 && port == 0)
            port = get_port(fd); /* the other loops join the port the kernel chose */
    }
    L->port = port;
    return 0;
}
