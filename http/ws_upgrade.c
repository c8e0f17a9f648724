/*
 * ws_upgrade — the server side of the WebSocket opening handshake (RFC 6455 4.2) as an
 * http_upgrade accept function: version 13, a well-formed key, an allowed Origin and a
 * subprotocol we serve, then Sec-WebSocket-Accept and the chosen subprotocol for the 101.
 * What runs after the switch is the caller's (http_ws_opts.proto); no MQTT here.
 */
#include <string.h>
#include <strings.h>

#include "http/http_int.h"
#include "net/ws_frame.h"

/* True when the comma-separated list @list holds @v exactly (case-insensitive: origins
 * are scheme://host[:port], whose scheme and host are case-insensitive). */
static bool list_has(const char *list, const char *v, size_t vl)
{
    while (*list) {
        list += strspn(list, " \t,");
        size_t n = strcspn(list, ",");
        size_t e = n;
        while (e > 0 && (list[e - 1] == ' ' || list[e - 1] == '\t'))
            e--;
        if (e && e == vl && strncasecmp(list, v, vl) == 0)
            return true;
        list += n;
    }
    return false;
}

/* The first subprotocol the client offers that we serve, or NULL. [RFC 6455 4.2.2] the
 * server picks one of the client's values. */
static const char *pick_protocol(const http_ws_opts *o, const char *offer)
{
    while (offer && *offer) {
        offer += strspn(offer, " \t,");
        size_t n = strcspn(offer, ",");
        size_t e = n;
        while (e > 0 && (offer[e - 1] == ' ' || offer[e - 1] == '\t'))
            e--;
        for (size_t i = 0; i < o->n_protocols; i++)
            if (strlen(o->protocols[i]) == e && strncmp(offer, o->protocols[i], e) == 0)
                return o->protocols[i];
        offer += n;
    }
    return NULL;
}

/* A browser always sends Origin; other clients may not, and are not held to the list. */
static bool origin_ok(const http_ws_opts *o, const char *origin)
{
    if (!o->origins || !o->origins[0] || !origin)
        return true;
    return list_has(o->origins, origin, strlen(origin));
}

const net_proto *http_ws_accept(void *ctx, http_req *r, void **arg)
{
    const http_ws_opts *o = ctx;
    const char *ver = http_req_header(r, "Sec-WebSocket-Version");
    /* [RFC 6455 4.4] an unsupported version: 426 naming the one we speak */
    if (!ver || strcmp(ver, "13") != 0) {
        http_req_add_header(r, "Sec-WebSocket-Version", "13");
        http_respond_error(r, 426, "upgrade_required", "Sec-WebSocket-Version 13 required");
        return NULL;
    }
    const char *key = http_req_header(r, "Sec-WebSocket-Key");
    char accept[29];
    if (!key || net_ws_accept_key(key, accept) < 0) {
        http_respond_error(r, 400, "bad_request", "Sec-WebSocket-Key missing or malformed");
        return NULL;
    }
    if (!origin_ok(o, http_req_header(r, "Origin"))) {
        http_respond_error(r, 403, "forbidden", "origin not allowed (ws-allowed-origins)");
        return NULL;
    }
    /* [MQTT-6.0.0-3] the client includes "mqtt" in Sec-WebSocket-Protocol; the list
     * served is the caller's */
    const char *proto = pick_protocol(o, http_req_header(r, "Sec-WebSocket-Protocol"));
    if (!proto) {
        http_respond_error(r, 400, "bad_request", "no supported Sec-WebSocket-Protocol");
        return NULL;
    }
    if (http_req_add_header(r, "Sec-WebSocket-Accept", accept) < 0 ||
        http_req_add_header(r, "Sec-WebSocket-Protocol", proto) < 0) {
        http_respond_error(r, 500, "internal", "cannot build the answer");
        return NULL;
    }
    *arg = o->proto_arg;
    return o->proto;
}
