/*
 * admin_stats — GET /v1/admin/stats: {"net": {accepted, accept_pauses, refused_fd,
 * refused_ip, refused_handshake, handshakes}}. Counters are relaxed atomics read on the
 * request's loop; nothing blocks and nothing is stored.
 */
#include "api/admin/admin_stats.h"

#include "api/api.h"
#include "net/net.h"

static void stats_get(http_req *r)
{
    api *a = api_of(r);
    if (!a->net) {
        http_respond_error(r, 503, "unavailable", "statistics are not available");
        return;
    }
    net_stats st;
    net_server_stats(a->net, &st);
    bson_t out, net;
    bson_init(&out);
    BSON_APPEND_DOCUMENT_BEGIN(&out, "net", &net);
    BSON_APPEND_INT64(&net, "accepted", (int64_t)st.accepted);
    BSON_APPEND_INT64(&net, "accept_pauses", (int64_t)st.accept_pauses);
    BSON_APPEND_INT64(&net, "refused_fd", (int64_t)st.refused_fd);
    BSON_APPEND_INT64(&net, "refused_ip", (int64_t)st.refused_ip);
    BSON_APPEND_INT64(&net, "refused_handshake", (int64_t)st.refused_handshake);
    BSON_APPEND_INT64(&net, "handshakes", (int64_t)st.handshakes);
    bson_append_document_end(&out, &net);
    http_respond_json(r, 200, &out);
    bson_destroy(&out);
}

static const http_route routes[] = {
    {HTTP_GET, "/v1/admin/stats", stats_get, HTTP_AUTH_ADMIN},
};

int admin_stats_add_routes(http_server *hs)
{
    return http_server_add_routes(hs, routes, sizeof routes / sizeof routes[0]);
}
