/**
 * mqtt_client — a minimal asynchronous MQTT 3.1.1 client on libuv, for the benchmark.
 *
 * One client is one connection on one uv loop; every call must come from that loop's
 * thread. Packets are built with mqtt/mqtt_codec.h. Only what the benchmark needs:
 * CONNECT, SUBSCRIBE, PUBLISH QoS 0/1, PUBACK, PINGREQ, DISCONNECT.
 *
 * Output is queued, not written per call: bytes are appended to a pending buffer, and
 * whenever libuv has no write in progress the whole pending buffer becomes one write.
 * mqtt_client_unflushed() counts the packets that are queued or being written, which is
 * what a caller limits to apply back-pressure; on_drain fires after each completed write.
 *
 * Transport: plain TCP, or TLS (mqtt_client_set_tls) through the memory-BIO engine of
 * iotbench_tls.h, which sits between the io_* functions and the MQTT framing. TCP_NODELAY
 * is set on every connection.
 *
 * Lifetime: mqtt_client_new allocates; mqtt_client_close (or any I/O / protocol error)
 * closes the socket, then on_close is called once and the client frees itself. After
 * on_close the pointer is invalid.
 */
#ifndef IOT_BENCH_MQTT_CLIENT_H
#define IOT_BENCH_MQTT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "mqtt/mqtt_codec.h"

typedef struct mqtt_client mqtt_client;

typedef struct mqtt_client_cbs {
    void (*on_connack)(mqtt_client *c, uint8_t rc);
    void (*on_suback)(mqtt_client *c, uint16_t packet_id, uint8_t code);
    /** @p points into the receive buffer: valid during the call only. */
    void (*on_publish)(mqtt_client *c, const mqtt_publish *p);
    void (*on_puback)(mqtt_client *c, uint16_t packet_id);
    void (*on_drain)(mqtt_client *c);
    /** @err: 0 after mqtt_client_close, a libuv error (UV_EOF, ...) or an MQTT_E* code. */
    void (*on_close)(mqtt_client *c, int err);
} mqtt_client_cbs;

/* Largest packet the client accepts or builds. */
#define MQTT_CLIENT_MAX_PACKET (1u << 20)
/* Cap on queued output; a send beyond it fails with UV_ENOBUFS. */
#define MQTT_CLIENT_MAX_OUTPUT (16u << 20)

mqtt_client *mqtt_client_new(uv_loop_t *loop, const mqtt_client_cbs *cbs, void *data);
void *mqtt_client_data(const mqtt_client *c);

/** Before mqtt_client_connect: CONNECT with clean session 0, so the broker keeps the
 *  session (subscriptions, queued messages) after the connection ends. Default: clean. */
void mqtt_client_set_persistent(mqtt_client *c, bool persistent);
/* Speak MQTT 5.0 (no properties sent; those received are skipped). Before connect. */
void mqtt_client_set_v5(mqtt_client *c, bool v5);
/** The session present flag of the CONNACK (valid from on_connack on). */
bool mqtt_client_session_present(const mqtt_client *c);

/** Before mqtt_client_connect: CONNECT carries @username and, with a user name, @password
 *  (NULL: not sent). The strings must outlive the client; they are never printed. */
void mqtt_client_set_credentials(mqtt_client *c, const char *username, const char *password);
/** Before mqtt_client_connect: speak TLS with an engine made from @ctx (which must outlive
 *  the client); CONNECT is sent once the handshake is done. A failed handshake (reason on
 *  stderr) closes the client with UV_EPROTO. 0 or UV_ENOMEM. */
int mqtt_client_set_tls(mqtt_client *c, SSL_CTX *ctx);

/** Before mqtt_client_connect: MQTT over WebSocket (plain TCP) on HTTP path @path (which
 *  must outlive the client): the opening handshake first, then each output buffer as one
 *  masked binary frame. 0 or UV_ENOMEM. */
int mqtt_client_set_ws(mqtt_client *c, const char *path);

/** Connects to @addr and sends CONNECT once TCP is up. */
int mqtt_client_connect(mqtt_client *c, const struct sockaddr *addr, const char *client_id,
                        uint16_t keepalive);
int mqtt_client_subscribe(mqtt_client *c, uint16_t packet_id, const char *filter, uint8_t qos);
/** Queues a PUBLISH (QoS 0 or 1; @packet_id ignored for QoS 0). */
int mqtt_client_publish(mqtt_client *c, const char *topic, size_t topic_len, uint8_t qos,
                        uint16_t packet_id, const uint8_t *payload, size_t len);
int mqtt_client_puback(mqtt_client *c, uint16_t packet_id);
int mqtt_client_ping(mqtt_client *c);
/** Queues DISCONNECT; the socket is closed once it has been written. */
int mqtt_client_disconnect(mqtt_client *c);
void mqtt_client_close(mqtt_client *c);

/** Packets queued or being written by libuv. */
size_t mqtt_client_unflushed(const mqtt_client *c);

#endif
