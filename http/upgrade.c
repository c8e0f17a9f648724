/*
 * upgrade — protocol switches (RFC 9110 7.8): a complete GET to a registered path that
 * asks to upgrade is handed to the upgrade's accept function; on success the 101 goes out
 * and the transport switches the connection to the chosen protocol.
 *
 * The HTTP core knows nothing of what runs after the switch (WebSocket, MQTT): the path,
 * the token and the accept function come from http_server_add_upgrade.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "http/http_int.h"

static const http_upgrade *find(const http_server *s, const char *path)
{
    for (size_t i = 0; i < s->nup; i++)
        if (strcmp(s->up[i]->path, path) == 0)
            return s->up[i];
    return NULL;
}

/* True when the comma-separated header value @v lists @token (case-insensitive). */
static bool has_token(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (v && *v) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, ",");
        size_t e = n;
        while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e == tl && strncasecmp(v, token, tl) == 0)
            return true;
        v += n;
    }
    return false;
}

/* "HTTP/1.1 101 Switching Protocols" with the accept function's headers. */
static int write_101(hconn *c, const http_upgrade *u, const http_req *r)
{
    size_t cap = 96 + strlen(u->token);
    for (size_t i = 0; i < r->nxhdr; i++)
        cap += strlen(r->xhdr[i]) + 2;
    char *b = malloc(cap);
    if (!b)
        return -1;
    int k = snprintf(b, cap,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\n"
                     "Connection: Upgrade\r\n",
                     u->token);
    size_t n = k > 0 ? (size_t)k : 0;
    for (size_t i = 0; i < r->nxhdr && n < cap; i++) {
        k = snprintf(b + n, cap - n, "%s\r\n", r->xhdr[i]);
        n += k > 0 ? (size_t)k : 0;
    }
    k = n < cap ? snprintf(b + n, cap - n, "\r\n") : -1;
    int rc = k == 2 ? c->io->write(c->t, b, n + 2) : -1;
    free(b);
    return rc;
}

static int switch_to(hconn *c, const http_upgrade *u, const net_proto *np, void *arg,
                     const uint8_t *rest, size_t n)
{
    http_req *r = c->req;
    int w = write_101(c, u, r);
    log_debug("http %s: GET %s: 101 %s", r->peer, u->path, u->token);
    HTTP_STAT_ADD(c->s, requests, 1);
    c->req = NULL;
    http__req_free(r);
    c->phase = HC_CLOSING; /* no more input reaches this hconn */
    c->io->set_timer(c->t, 0);
    if (c->paused) { /* paused for a full pipeline: the new protocol reads for itself */
        c->paused = false;
        c->io->resume(c->t);
    }
    if (w < 0) {
        c->io->close(c->t);
        return HTTP__UP_SWITCHED;
    }
    (void)c->io->upgrade(c->t, np, arg, rest, n); /* on failure it closes */
    return HTTP__UP_SWITCHED;
}

int http__upgrade(hconn *c, const uint8_t *rest, size_t n)
{
    http_req *r = c->req;
    const http_upgrade *u = c->s->nup ? find(c->s, http_req_path(r)) : NULL;
    if (!u || !c->io->upgrade) /* no switch without a transport that can (unit tests) */
        return HTTP__UP_NONE;
    /* [RFC 6455 4.1] the opening handshake is a GET carrying Upgrade and Connection */
    if (r->method != HTTP_GET || !has_token(http_req_header(r, "Upgrade"), u->token) ||
        !has_token(http_req_header(r, "Connection"), "upgrade")) {
        http_req_add_header(r, "Upgrade", u->token);
        http_respond_error(r, 426, "upgrade_required", "%s serves only an Upgrade to %s", u->path,
                           u->token);
        return HTTP__UP_ANSWERED;
    }
    void *arg = NULL;
    const net_proto *np = u->accept(u->ctx, r, &arg);
    if (!np)
        return HTTP__UP_ANSWERED;
    return switch_to(c, u, np, arg, rest, n);
}
