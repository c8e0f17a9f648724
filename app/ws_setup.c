/*
 * ws_setup — MQTT over WebSocket wiring (see ws_setup.h). Subprotocols served: "mqtt"
 * (MQTT 3.1.1 section 6) and "mqttv3.1", which MQTT.js and paho JavaScript send for 3.1.
 */
#include <string.h>

#include "app/ws_setup.h"
#include "common/log.h"

static const char *const protocols[] = {"mqtt", "mqttv3.1"};

/* MQTT's fixed header is at most 5 bytes: one packet of max-packet-size fits a frame. */
static uint64_t max_frame(const iot_config *cfg)
{
    return cfg->ws_max_frame ? cfg->ws_max_frame : (uint64_t)cfg->max_packet_size + 5;
}

static http_server *listener_server(app_ws *w, const iot_config *cfg, size_t i)
{
    http_opts ho = {
        .idle_timeout_ms = cfg->http_idle_timeout_ms,
        .max_conns_per_ip = cfg->http_max_conns_ip,
        .no_access_log = cfg->no_access_log,
        .max_body_bytes = 1024, /* a handshake has no body */
    };
    http_server *s = http_server_new(&ho);
    w->lup[i] = (http_upgrade){.path = cfg->listen[i].path,
                               .token = "websocket",
                               .accept = http_ws_accept,
                               .ctx = &w->hws};
    if (s && http_server_add_upgrade(s, &w->lup[i]) < 0) {
        http_server_free(s);
        s = NULL;
    }
    return s;
}

int app_ws_open(app_ws *w, const iot_config *cfg, broker *br, http_server *api_hs)
{
    memset(w, 0, sizeof *w);
    w->ws = (net_ws_opts){.inner = &broker_ws_inner, .inner_arg = br, .max_frame = max_frame(cfg)};
    w->hws = (http_ws_opts){.protocols = protocols,
                            .n_protocols = sizeof protocols / sizeof protocols[0],
                            .origins = cfg->ws_allowed_origins,
                            .proto = &net_ws_proto,
                            .proto_arg = &w->ws};
    w->up = (http_upgrade){
        .path = "/mqtt", .token = "websocket", .accept = http_ws_accept, .ctx = &w->hws};
    if (api_hs && http_server_add_upgrade(api_hs, &w->up) < 0) {
        log_error("ws: cannot add the /mqtt upgrade");
        return -1;
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        enum config_scheme sc = cfg->listen[i].scheme;
        if (sc != CONFIG_WS && sc != CONFIG_WSS)
            continue;
        if (!(w->lsrv[i] = listener_server(w, cfg, i))) {
            log_error("ws: out of memory");
            app_ws_free(w);
            return -1;
        }
    }
    return 0;
}

http_server *app_ws_listener(const app_ws *w, size_t i)
{
    return i < CONFIG_MAX_LISTEN ? w->lsrv[i] : NULL;
}

void app_ws_free(app_ws *w)
{
    for (size_t i = 0; i < CONFIG_MAX_LISTEN; i++) {
        http_server_free(w->lsrv[i]);
        w->lsrv[i] = NULL;
    }
}
