/**
 * ws_setup — MQTT over WebSocket wiring: the "/mqtt" upgrade on the API's HTTP server
 * (every https:// and http:// listener) and one small HTTP server per ws:// or wss://
 * listener that serves only its path's upgrade. Main thread only: app_ws_open before the
 * loops run, app_ws_free after net_server_free.
 */
#ifndef IOT_APP_WS_SETUP_H
#define IOT_APP_WS_SETUP_H

#include "app/config.h"
#include "broker/broker.h"
#include "http/http.h"
#include "net/ws.h"

typedef struct app_ws {
    net_ws_opts ws;   /* the framing, with MQTT inside */
    http_ws_opts hws; /* the handshake: subprotocols, origins */
    http_upgrade up;  /* "/mqtt" on the API server */
    http_upgrade lup[CONFIG_MAX_LISTEN];
    http_server *lsrv[CONFIG_MAX_LISTEN]; /* per ws/wss listener, else NULL */
} app_ws;

/** Registers the upgrade on @api_hs (may be NULL) and builds the ws/wss listeners'
 *  servers. 0, or -1 after logging. */
int app_ws_open(app_ws *w, const iot_config *cfg, broker *br, http_server *api_hs);
/** The HTTP server of listener @i when it is ws:// or wss://, else NULL. */
http_server *app_ws_listener(const app_ws *w, size_t i);
void app_ws_free(app_ws *w);

#endif
