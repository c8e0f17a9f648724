/* Minimal async MQTT 3.1.1 client for iotbench. See mqtt_client.h for the contract.
 *
 * Output uses two buffers: "pending" collects packets while the other one is being
 * written by libuv; when that write completes the roles swap. So there is at most one
 * uv_write in flight per connection and, under load, each write carries many packets. */
#include "bench/mqtt_client.h"
#include "bench/iotbench_tls.h"
#include "mqtt/mqtt5.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* WebSocket: an output buffer goes out as frames of at most WS_FRAME bytes (a server
 * limits frames to about its largest packet: iotcloud max-packet-size + 5). */
#define WS_FRAME      (1u << 20)
#define WS_MAX_FRAMES (MQTT_CLIENT_MAX_OUTPUT / WS_FRAME + 1)

/* Room offered to libuv for every read. */
#define RX_CHUNK (64u * 1024u)

struct outbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t npkts;
};

struct mqtt_client {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    const mqtt_client_cbs *cbs;
    void *data;
    struct outbuf out[2];
    int pending; /* index of the buffer collecting new packets */
    bool connected;
    bool writing;
    bool closing;
    bool close_after_flush;
    bool persistent;
    bool v5; /* MQTT 5.0 (mqtt_client_set_v5) */
    bool session_present;
    int close_err;
    uint8_t *rx;
    size_t rx_len;
    size_t rx_cap;
    const char *username; /* caller's strings, NULL: not sent */
    const char *password;
    iotbench_tls *tls; /* NULL: plain TCP */
    uint8_t *cin;      /* TLS / WebSocket: raw read buffer, RX_CHUNK bytes */
    /* WebSocket (mqtt_client_set_ws): handshake, then frames both ways */
    const char *ws_path; /* NULL: MQTT straight on TCP */
    uv_write_t ws_req_w;
    char ws_req[320];
    char ws_head[1024]; /* the 101 answer being read */
    size_t ws_head_len;
    uint8_t ws_fh[14]; /* a server frame header being read */
    size_t ws_fh_len;
    uint64_t ws_left;                  /* payload bytes of the current server frame still to read */
    uint8_t ws_out[WS_MAX_FRAMES][14]; /* headers of the frames being written */
};

/* TLS: one uv_write of ciphertext; @data marks the write of an output buffer. */
struct txreq {
    uv_write_t req;
    mqtt_client *c;
    bool data;
    uint8_t bytes[];
};

static void fail(mqtt_client *c, int err);
static void kick(mqtt_client *c);

/* ---- transport: TCP, optionally through the TLS engine (iotbench_tls.h) ------------- *
 *
 * With TLS, "connected" means the handshake is done: until then kick() holds the CONNECT
 * back. Plaintext output is encrypted as a whole buffer and its ciphertext is one uv_write
 * (struct txreq); handshake and other TLS records go out the same way, in order. */

static void io_close_cb(uv_handle_t *h)
{
    mqtt_client *c = h->data;

    if (c->cbs->on_close)
        c->cbs->on_close(c, c->close_err);
    free(c->out[0].p);
    free(c->out[1].p);
    free(c->rx);
    free(c->cin);
    iotbench_tls_free(c->tls);
    free(c);
}

/* The output buffer being written went out (or failed). */
static void write_done(mqtt_client *c, int status)
{
    struct outbuf *done = &c->out[!c->pending];

    c->writing = false;
    done->len = 0;
    done->npkts = 0;
    if (c->closing)
        return;
    if (status < 0) {
        fail(c, status);
        return;
    }
    if (c->close_after_flush && c->out[c->pending].len == 0) {
        mqtt_client_close(c);
        return;
    }
    kick(c);
    if (c->cbs->on_drain)
        c->cbs->on_drain(c);
}

static void io_write_cb(uv_write_t *req, int status) { write_done(req->data, status); }

static void tls_write_cb(uv_write_t *req, int status)
{
    struct txreq *tx = req->data;
    mqtt_client *c = tx->c;
    bool data = tx->data;

    free(tx);
    if (data)
        write_done(c, status);
    else if (status < 0 && !c->closing)
        fail(c, status);
}

/* Sends the ciphertext the engine has produced, if any (always, for @data). */
static int tls_flush(mqtt_client *c, bool data)
{
    size_t n = iotbench_tls_pending(c->tls);
    struct txreq *tx;
    uv_buf_t b;
    int rc;

    if (n == 0 && !data)
        return 0;
    tx = malloc(sizeof *tx + n);
    if (!tx)
        return UV_ENOMEM;
    tx->c = c;
    tx->data = data;
    tx->req.data = tx;
    b = uv_buf_init((char *)tx->bytes, (unsigned)iotbench_tls_take(c->tls, tx->bytes, n));
    rc = uv_write(&tx->req, (uv_stream_t *)&c->tcp, &b, 1, tls_write_cb);
    if (rc < 0)
        free(tx);
    return rc;
}

/* ---- WebSocket: masked binary frames out (key 0: a valid mask that leaves the payload
 * as it is, so the client spends nothing on it; the server unmasks all the same), the
 * server's unmasked frames in, their payload appended to rx ----------------------------- */

static size_t ws_frame_head(uint8_t *h, size_t n)
{
    size_t k;

    h[0] = 0x82;
    if (n < 126) {
        h[1] = (uint8_t)(0x80 | n);
        k = 2;
    } else if (n <= 0xFFFF) {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        k = 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        k = 10;
    }
    memset(h + k, 0, 4);
    return k + 4;
}

static int rx_reserve(mqtt_client *c, size_t n);

/* Frame payload into rx; control frames from the server (close) end the client. */
static int ws_frames(mqtt_client *c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (c->ws_left == 0) {
            size_t need = 2;
            while (c->ws_fh_len < need && n > 0) {
                c->ws_fh[c->ws_fh_len++] = *p++;
                n--;
                if (c->ws_fh_len == 2)
                    need = 2 + ((c->ws_fh[1] & 0x7F) == 126   ? 2
                                : (c->ws_fh[1] & 0x7F) == 127 ? 8
                                                              : 0);
            }
            if (c->ws_fh_len < 2 || c->ws_fh_len < need)
                return 0;
            if ((c->ws_fh[0] & 0x0F) >= 8)
                return UV_EOF; /* close (we never ping) */
            uint64_t len = c->ws_fh[1] & 0x7F;
            if (len == 126)
                len = (uint64_t)c->ws_fh[2] << 8 | c->ws_fh[3];
            else if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = len << 8 | c->ws_fh[2 + i];
            }
            c->ws_fh_len = 0;
            c->ws_left = len;
            continue;
        }
        size_t k = c->ws_left < n ? (size_t)c->ws_left : n;
        if (rx_reserve(c, k) < 0)
            return UV_ENOMEM;
        memcpy(c->rx + c->rx_len, p, k);
        c->rx_len += k;
        c->ws_left -= k;
        p += k;
        n -= k;
    }
    return 0;
}

static void ws_req_cb(uv_write_t *req, int status)
{
    mqtt_client *c = req->data;

    if (status < 0 && !c->closing)
        fail(c, status);
}

static int ws_start(mqtt_client *c)
{
    int k = snprintf(c->ws_req, sizeof c->ws_req,
                     "GET %s HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
                     c->ws_path);
    if (k < 0 || (size_t)k >= sizeof c->ws_req)
        return UV_EINVAL;
    uv_buf_t b = uv_buf_init(c->ws_req, (unsigned)k);
    c->ws_req_w.data = c;
    return uv_write(&c->ws_req_w, (uv_stream_t *)&c->tcp, &b, 1, ws_req_cb);
}

/* Raw bytes: the 101 answer first, frames after it. */
static int ws_input(mqtt_client *c, const uint8_t *p, size_t n)
{
    if (!c->connected) {
        size_t k = sizeof c->ws_head - 1 - c->ws_head_len;
        k = k < n ? k : n;
        memcpy(c->ws_head + c->ws_head_len, p, k);
        c->ws_head_len += k;
        c->ws_head[c->ws_head_len] = '\0';
        char *end = strstr(c->ws_head, "\r\n\r\n");
        if (!end)
            return c->ws_head_len == sizeof c->ws_head - 1 ? UV_EPROTO : 0;
        if (strncmp(c->ws_head, "HTTP/1.1 101", 12) != 0) {
            fprintf(stderr, "iotbench: WebSocket handshake refused: %.40s\n", c->ws_head);
            return UV_EPROTO;
        }
        size_t used = (size_t)(end + 4 - c->ws_head) - (c->ws_head_len - k);
        c->connected = true;
        kick(c);
        p += used;
        n -= used;
    }
    return ws_frames(c, p, n);
}

static int io_write(mqtt_client *c, struct outbuf *ob)
{
    uv_buf_t b = uv_buf_init((char *)ob->p, (unsigned)ob->len);

    if (c->tls)
        return iotbench_tls_write(c->tls, ob->p, ob->len) < 0 ? UV_EPROTO : tls_flush(c, true);
    c->write_req.data = c;
    if (c->ws_path) { /* masked binary frames of at most WS_FRAME; mask key 0 */
        uv_buf_t v[2 * WS_MAX_FRAMES];
        size_t nv = 0;
        for (size_t off = 0; off < ob->len; off += WS_FRAME) {
            size_t n = ob->len - off < WS_FRAME ? ob->len - off : WS_FRAME;
            uint8_t *h = c->ws_out[nv / 2];
            v[nv++] = uv_buf_init((char *)h, (unsigned)ws_frame_head(h, n));
            v[nv++] = uv_buf_init((char *)ob->p + off, (unsigned)n);
        }
        return uv_write(&c->write_req, (uv_stream_t *)&c->tcp, v, (unsigned)nv, io_write_cb);
    }
    return uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, io_write_cb);
}

/* Room for @n more bytes after rx_len; -1 when out of memory. */
static int rx_reserve(mqtt_client *c, size_t n)
{
    size_t want = c->rx_len + n;

    if (want > c->rx_cap) {
        uint8_t *p = realloc(c->rx, want);
        if (!p)
            return -1;
        c->rx = p;
        c->rx_cap = want;
    }
    return 0;
}

static void io_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    mqtt_client *c = h->data;

    if (c->tls || c->ws_path)
        *buf = uv_buf_init((char *)c->cin, RX_CHUNK);
    else if (rx_reserve(c, RX_CHUNK) < 0)
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to the read cb */
    else
        *buf = uv_buf_init((char *)c->rx + c->rx_len, RX_CHUNK);
}

static void parse_input(mqtt_client *c);

/* Handshake step after TCP is up or ciphertext arrived; sends the CONNECT once done. */
static int tls_handshake(mqtt_client *c)
{
    int rc = iotbench_tls_handshake(c->tls);

    if (rc < 0)
        return UV_EPROTO;
    if (rc == 1)
        c->connected = true;
    rc = tls_flush(c, false);
    if (rc == 0)
        kick(c);
    return rc;
}

/* Decrypts everything buffered into rx. */
static int tls_input(mqtt_client *c, const uint8_t *p, size_t n)
{
    long got;
    int rc;

    if (iotbench_tls_feed(c->tls, p, n) < 0)
        return UV_ENOMEM;
    if (!c->connected && (rc = tls_handshake(c)) < 0)
        return rc;
    if (!c->connected)
        return 0;
    do {
        if (rx_reserve(c, RX_CHUNK) < 0)
            return UV_ENOMEM;
        got = iotbench_tls_read(c->tls, c->rx + c->rx_len, RX_CHUNK);
        if (got < 0)
            return UV_EOF;
        c->rx_len += (size_t)got;
    } while (got > 0);          /* bounded: the engine holds at most one read's ciphertext */
    return tls_flush(c, false); /* e.g. an answer to a key update */
}

static void io_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    mqtt_client *c = s->data;
    int rc;

    if (nread < 0) {
        fail(c, (int)nread);
        return;
    }
    if (c->tls) {
        rc = tls_input(c, (const uint8_t *)buf->base, (size_t)nread);
        if (rc < 0) {
            fail(c, rc);
            return;
        }
    } else if (c->ws_path) {
        rc = ws_input(c, (const uint8_t *)buf->base, (size_t)nread);
        if (rc < 0) {
            fail(c, rc);
            return;
        }
    } else {
        c->rx_len += (size_t)nread;
    }
    parse_input(c);
}

static void io_connect_cb(uv_connect_t *req, int status)
{
    mqtt_client *c = req->data;
    int rc;

    if (c->closing)
        return;
    if (status < 0) {
        fail(c, status);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1); /* latency is what we measure: no Nagle */
    rc = uv_read_start((uv_stream_t *)&c->tcp, io_alloc_cb, io_read_cb);
    if (rc == 0 && c->tls)
        rc = tls_handshake(c); /* ClientHello */
    else if (rc == 0 && c->ws_path)
        rc = ws_start(c); /* CONNECT waits for the 101 */
    if (rc < 0) {
        fail(c, rc);
        return;
    }
    if (!c->tls && !c->ws_path) {
        c->connected = true;
        kick(c); /* CONNECT was queued by mqtt_client_connect */
    }
}

/* ---- output queue ------------------------------------------------------------------ */

static void kick(mqtt_client *c)
{
    struct outbuf *ob = &c->out[c->pending];
    int rc;

    if (c->writing || c->closing || !c->connected || ob->len == 0)
        return;
    rc = io_write(c, ob);
    if (rc < 0) {
        fail(c, rc);
        return;
    }
    c->writing = true;
    c->pending ^= 1;
}

/* Space for @n more bytes in the pending buffer, or NULL when over the cap. */
static uint8_t *reserve(mqtt_client *c, size_t n)
{
    struct outbuf *ob = &c->out[c->pending];
    size_t cap = ob->cap ? ob->cap : 4096;

    if (c->closing || c->close_after_flush)
        return NULL;
    if (ob->len + n > MQTT_CLIENT_MAX_OUTPUT)
        return NULL;
    while (cap < ob->len + n)
        cap *= 2;
    if (cap != ob->cap) {
        uint8_t *p = realloc(ob->p, cap);
        if (!p)
            return NULL;
        ob->p = p;
        ob->cap = cap;
    }
    return ob->p + ob->len;
}

static void commit(mqtt_client *c, size_t n)
{
    c->out[c->pending].len += n;
    c->out[c->pending].npkts++;
    kick(c);
}

static void fail(mqtt_client *c, int err)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_err = err;
    uv_close((uv_handle_t *)&c->tcp, io_close_cb);
}

/* ---- input: one handler per packet type a client can receive ------------------------- */

static int rx_connack(mqtt_client *c, uint8_t flags, const uint8_t *body, size_t n)
{
    bool present;
    uint8_t rc;
    int err;

    if (c->v5) {
        mqtt5_connack a;
        err = mqtt5_decode_connack(body, n, &a);
        present = a.session_present;
        rc = a.reason;
    } else {
        err = mqtt_decode_connack(body, n, &present, &rc);
    }

    if (err < 0)
        return err;
    c->session_present = present;
    if (c->cbs->on_connack)
        c->cbs->on_connack(c, rc);
    return 0;
}

/* 5.0 SUBACK: the codes after the packet id and properties (3.9.2, 3.9.3). */
static int suback5(const uint8_t *body, size_t n, uint16_t *id, uint8_t *codes, size_t *count)
{
    mqtt5_props props;
    size_t used;

    if (n < 3 || mqtt5_props_decode(body + 2, n - 2, MQTT_SUBACK, &props, &used) < 0)
        return MQTT_EMALFORMED;
    *id = (uint16_t)(body[0] << 8 | body[1]);
    *count = n - 2 - used;
    if (*count > 0)
        codes[0] = body[2 + used];
    return 0;
}

static int rx_suback(mqtt_client *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t id;
    uint8_t codes[8];
    size_t count;
    int err = c->v5 ? suback5(body, n, &id, codes, &count)
                    : mqtt_decode_suback(body, n, &id, codes, sizeof codes, &count);

    if (err < 0)
        return err;
    if (count != 1)
        return MQTT_EMALFORMED; /* we only ever subscribe to one filter at a time */
    if (c->cbs->on_suback)
        c->cbs->on_suback(c, id, codes[0]);
    return 0;
}

/* A 5.0 PUBLISH as the 3.1.1 view the callbacks take (properties dropped). */
static int publish5(const uint8_t *body, size_t n, uint8_t flags, mqtt_publish *out)
{
    mqtt5_publish m;
    int err = mqtt5_decode_publish(body, n, flags, false, &m);

    if (err < 0)
        return err;
    *out = (mqtt_publish){.qos = m.qos,
                          .dup = m.dup,
                          .retain = m.retain,
                          .topic = m.topic,
                          .packet_id = m.packet_id,
                          .payload = m.payload,
                          .payload_len = m.payload_len};
    return 0;
}

static int rx_publish(mqtt_client *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt_publish p;
    int err = c->v5 ? publish5(body, n, flags, &p) : mqtt_decode_publish(body, n, flags, &p);

    if (err < 0)
        return err;
    if (p.qos > 1)
        return MQTT_EMALFORMED; /* we never subscribe with QoS 2 [MQTT-3.8.4-6] */
    if (c->cbs->on_publish)
        c->cbs->on_publish(c, &p);
    return 0;
}

static int rx_puback(mqtt_client *c, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t id;
    mqtt5_ack a;
    int err = c->v5 ? mqtt5_decode_puback(body, n, MQTT_PUBACK, &a) : mqtt_decode_ack(body, n, &id);

    if (c->v5)
        id = a.packet_id;

    if (err < 0)
        return err;
    if (c->cbs->on_puback)
        c->cbs->on_puback(c, id);
    return 0;
}

static int rx_pingresp(mqtt_client *c, uint8_t flags, const uint8_t *body, size_t n)
{
    return n == 0 ? 0 : MQTT_EMALFORMED;
}

typedef int (*rx_handler)(mqtt_client *c, uint8_t flags, const uint8_t *body, size_t n);

static const rx_handler rx_table[16] = {
    [MQTT_CONNACK] = rx_connack, [MQTT_PUBLISH] = rx_publish,   [MQTT_PUBACK] = rx_puback,
    [MQTT_SUBACK] = rx_suback,   [MQTT_PINGRESP] = rx_pingresp,
};

static void parse_input(mqtt_client *c)
{
    size_t off = 0;

    while (!c->closing) {
        uint8_t type, flags;
        uint32_t rem;
        size_t hl;
        int err = mqtt_fixed_header(c->rx + off, c->rx_len - off, MQTT_CLIENT_MAX_PACKET, &type,
                                    &flags, &rem, &hl);

        if (err == MQTT_EAGAIN || (err == 0 && c->rx_len - off < hl + rem))
            break;
        if (err == 0)
            err =
                rx_table[type] ? rx_table[type](c, flags, c->rx + off + hl, rem) : MQTT_EMALFORMED;
        if (err < 0) {
            fail(c, err);
            return;
        }
        off += hl + rem;
    }
    if (off > 0) {
        memmove(c->rx, c->rx + off, c->rx_len - off);
        c->rx_len -= off;
    }
}

/* ---- public API ---------------------------------------------------------------------- */

mqtt_client *mqtt_client_new(uv_loop_t *loop, const mqtt_client_cbs *cbs, void *data)
{
    mqtt_client *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    if (uv_tcp_init(loop, &c->tcp) < 0) {
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->cbs = cbs;
    c->data = data;
    return c;
}

void *mqtt_client_data(const mqtt_client *c) { return c->data; }

void mqtt_client_set_persistent(mqtt_client *c, bool persistent) { c->persistent = persistent; }

void mqtt_client_set_v5(mqtt_client *c, bool v5) { c->v5 = v5; }

bool mqtt_client_session_present(const mqtt_client *c) { return c->session_present; }

void mqtt_client_set_credentials(mqtt_client *c, const char *username, const char *password)
{
    c->username = username;
    c->password = password;
}

int mqtt_client_set_tls(mqtt_client *c, SSL_CTX *ctx)
{
    c->cin = malloc(RX_CHUNK);
    c->tls = c->cin ? iotbench_tls_new(ctx) : NULL;
    return c->tls ? 0 : UV_ENOMEM;
}

int mqtt_client_set_ws(mqtt_client *c, const char *path)
{
    c->cin = c->cin ? c->cin : malloc(RX_CHUNK);
    c->ws_path = path;
    return c->cin ? 0 : UV_ENOMEM;
}

int mqtt_client_connect(mqtt_client *c, const struct sockaddr *addr, const char *client_id,
                        uint16_t keepalive)
{
    size_t idlen = strlen(client_id);
    size_t ulen = c->username ? strlen(c->username) : 0;
    size_t plen = c->password ? strlen(c->password) : 0;
    mqtt_connect m = {
        .level = c->v5 ? MQTT5_LEVEL : 4,
        .clean_session = !c->persistent,
        .keepalive = keepalive,
        .client_id = {(const uint8_t *)client_id, (uint16_t)idlen},
        .has_username = c->username != NULL,
        .username = {(const uint8_t *)c->username, (uint16_t)ulen},
        /* [MQTT-3.1.2-22] no password without a user name */
        .has_password = c->username != NULL && c->password != NULL,
        .password = (const uint8_t *)c->password,
        .password_len = (uint16_t)plen,
    };
    size_t cap = 64 + idlen + ulen + plen;
    uint8_t *p;
    int n;

    if (idlen > 0xffff || ulen > 0xffff || plen > 0xffff || !(p = reserve(c, cap)))
        return UV_ENOBUFS;
    n = c->v5 ? mqtt5_encode_connect(p, cap, &(mqtt5_connect){.c = m})
              : mqtt_encode_connect(p, cap, &m);
    if (n < 0)
        return UV_EINVAL;
    commit(c, (size_t)n); /* held until the socket is connected */
    c->connect_req.data = c;
    return uv_tcp_connect(&c->connect_req, &c->tcp, addr, io_connect_cb);
}

int mqtt_client_subscribe(mqtt_client *c, uint16_t packet_id, const char *filter, uint8_t qos)
{
    size_t flen = strlen(filter);
    mqtt_str f = {(const uint8_t *)filter, (uint16_t)flen};
    size_t cap = MQTT_FIXED_HDR_MAX + 2 + 1 + 2 + flen + 1;
    uint8_t *p;
    int n;

    if (flen > 0xffff || !(p = reserve(c, cap)))
        return UV_ENOBUFS;
    n = c->v5 ? mqtt5_encode_subscribe(p, cap, MQTT_SUBSCRIBE, packet_id, NULL, &f, &qos, 1)
              : mqtt_encode_subscribe(p, cap, packet_id, &f, &qos, 1);
    if (n < 0)
        return UV_EINVAL;
    commit(c, (size_t)n);
    return 0;
}

int mqtt_client_publish(mqtt_client *c, const char *topic, size_t topic_len, uint8_t qos,
                        uint16_t packet_id, const uint8_t *payload, size_t len)
{
    size_t hl = c->v5 ? mqtt5_publish_header_len(topic_len, qos, 0, len)
                      : mqtt_publish_header_len(topic_len, qos, len);
    uint8_t *p;
    int n;

    if (hl + len > MQTT_CLIENT_MAX_PACKET || !(p = reserve(c, hl + len)))
        return UV_ENOBUFS;
    mqtt_str t = {(const uint8_t *)topic, (uint16_t)topic_len};
    n = c->v5 ? mqtt5_encode_publish_header(p, hl, &t, qos, false, false, qos ? packet_id : 0, NULL,
                                            len)
              : mqtt_encode_publish_header(p, hl, (const uint8_t *)topic, topic_len, qos, false,
                                           false, qos ? packet_id : 0, len);
    if (n < 0)
        return UV_EINVAL;
    memcpy(p + n, payload, len);
    commit(c, (size_t)n + len);
    return 0;
}

int mqtt_client_puback(mqtt_client *c, uint16_t packet_id)
{
    uint8_t *p = reserve(c, 4);

    if (!p)
        return UV_ENOBUFS;
    commit(c, mqtt_encode_ack(p, MQTT_PUBACK, packet_id));
    return 0;
}

static int send_bare(mqtt_client *c, uint8_t type)
{
    uint8_t *p = reserve(c, 2);

    if (!p)
        return UV_ENOBUFS;
    commit(c, (size_t)mqtt_encode_fixed_header(p, type, 0, 0));
    return 0;
}

int mqtt_client_ping(mqtt_client *c) { return send_bare(c, MQTT_PINGREQ); }

int mqtt_client_disconnect(mqtt_client *c)
{
    int rc = send_bare(c, MQTT_DISCONNECT);

    if (rc == 0)
        c->close_after_flush = true;
    return rc;
}

void mqtt_client_close(mqtt_client *c) { fail(c, 0); }

size_t mqtt_client_unflushed(const mqtt_client *c) { return c->out[0].npkts + c->out[1].npkts; }
