/* devsim: one device's connection.
 *
 *   DEV_IDLE --connect--> DEV_CONNECTING --SUBACK--> DEV_UP
 *       ^                     |                        |
 *       +--- backoff timer <- DEV_CLOSING <------------+  (error, EOF, timeout, refusal)
 *
 * DEV_CONNECTING covers TCP connect, the TLS handshake, CONNECT/CONNACK and
 * SUBSCRIBE/SUBACK; it has DEVSIM_CONNECT_TMO to finish. Once up, the same timer sends a
 * PINGREQ every keepalive/2 and drops a connection that heard nothing for 1.5 keepalives
 * [MQTT-3.1.2-24 is the server's rule; this is the client's mirror of it].
 * Reconnects back off from 0.5 s to 30 s with jitter, reset by a successful connect. */
#include "bench/devsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "mqtt/mqtt_codec.h"

#define BACKOFF_MIN_MS 500u
#define BACKOFF_MAX_MS 30000u
#define RX_GROW        16384u
#define FAIL_LOG_MAX   20u /* connection failures printed before we only count them */

/* A write in flight: libuv needs the bytes until its callback. */
struct wreq {
    uv_write_t req;
    size_t len;
    char data[];
};

static void drop(devsim_dev *d, int err, const char *why);
static void on_timer(uv_timer_t *t);

static void log_fail(devsim_dev *d, int err, const char *why)
{
    devsim *sim = d->sim;

    if (sim->stopping || sim->fail_logged >= FAIL_LOG_MAX)
        return;
    if (++sim->fail_logged == FAIL_LOG_MAX)
        fprintf(stderr, "devsim: %s: %s (%s); further failures are only counted\n", d->id, why,
                err ? uv_strerror(err) : "-");
    else
        fprintf(stderr, "devsim: %s: %s (%s)\n", d->id, why, err ? uv_strerror(err) : "-");
}

/* ---- ciphertext out ---------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    devsim_dev *d = req->data;

    d->out_queued -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        drop(d, status, "write failed");
}

/* Sends whatever TLS produced. */
static void flush(devsim_dev *d)
{
    size_t n = d->wbio ? BIO_ctrl_pending(d->wbio) : 0;
    struct wreq *w;
    uv_buf_t b;

    if (n == 0 || d->state == DEV_CLOSING || d->state == DEV_IDLE)
        return;
    if (d->out_queued + n > DEVSIM_MAX_OUTPUT || !(w = malloc(sizeof *w + n))) {
        drop(d, UV_ENOBUFS, "output backlog");
        return;
    }
    w->len = (size_t)BIO_read(d->wbio, w->data, (int)n);
    w->req.data = d;
    b = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&d->tcp, &b, 1, on_write) < 0) {
        free(w);
        drop(d, UV_EPIPE, "write failed");
        return;
    }
    d->out_queued += w->len;
}

/* Plaintext in, ciphertext out. With memory BIOs SSL_write takes everything at once. */
static int send_plain(devsim_dev *d, const uint8_t *p, size_t n)
{
    if (d->state != DEV_UP && d->state != DEV_CONNECTING)
        return UV_ENOTCONN;
    if (SSL_write(d->ssl, p, (int)n) != (int)n) {
        ERR_clear_error();
        drop(d, UV_EPROTO, "TLS write failed");
        return UV_EPROTO;
    }
    flush(d);
    return 0;
}

/* ---- MQTT out ------------------------------------------------------------------------ */

static int send_connect(devsim_dev *d)
{
    mqtt_connect m = {
        .level = 4,
        .clean_session = true, /* requests older than a reconnect are stale anyway */
        .keepalive = DEVSIM_KEEPALIVE,
        .client_id = {(const uint8_t *)d->id, (uint16_t)strlen(d->id)},
    };
    uint8_t buf[64 + DEVSIM_ID_MAX * 2 + DEVSIM_SECRET_MAX];
    int n;

    if (d->secret[0]) {
        m.has_username = m.has_password = true;
        m.username = m.client_id; /* username = device id */
        m.password = (const uint8_t *)d->secret;
        m.password_len = (uint16_t)strlen(d->secret);
    }
    n = mqtt_encode_connect(buf, sizeof buf, &m);
    if (n < 0)
        return UV_EINVAL;
    return send_plain(d, buf, (size_t)n);
}

static int send_subscribe(devsim_dev *d)
{
    char filter[DEVSIM_ID_MAX + 3];
    int flen = snprintf(filter, sizeof filter, "%s/#", d->id);
    mqtt_str f = {(const uint8_t *)filter, (uint16_t)flen};
    uint8_t qos = 1;
    uint8_t buf[sizeof filter + 16];
    int n = mqtt_encode_subscribe(buf, sizeof buf, 1, &f, &qos, 1);

    if (n < 0)
        return UV_EINVAL;
    return send_plain(d, buf, (size_t)n);
}

static int send_ack(devsim_dev *d, uint8_t type, uint16_t id)
{
    uint8_t buf[4];

    return send_plain(d, buf, mqtt_encode_ack(buf, type, id));
}

static int send_bare(devsim_dev *d, uint8_t type)
{
    uint8_t buf[2];

    return send_plain(d, buf, (size_t)mqtt_encode_fixed_header(buf, type, 0, 0));
}

int devsim__dev_publish(devsim_dev *d, const char *topic, const uint8_t *payload, size_t len)
{
    size_t tlen = strlen(topic);
    size_t hl = mqtt_publish_header_len(tlen, 1, len);
    uint8_t *buf;
    int n, rc;

    if (d->state != DEV_UP)
        return UV_ENOTCONN;
    if (hl + len > DEVSIM_MAX_PACKET || !(buf = malloc(hl + len)))
        return UV_ENOBUFS;
    if (++d->next_pid == 0)
        d->next_pid = 1; /* [MQTT-2.3.1-1] packet id 0 is not allowed */
    n = mqtt_encode_publish_header(buf, hl, (const uint8_t *)topic, tlen, 1, false, false,
                                   d->next_pid, len);
    if (n < 0) {
        free(buf);
        return UV_EINVAL;
    }
    memcpy(buf + n, payload, len);
    rc = send_plain(d, buf, (size_t)n + len);
    free(buf);
    return rc;
}

/* ---- MQTT in: one handler per packet type a client receives ---------------------------- */

static int rx_connack(devsim_dev *d, uint8_t flags, const uint8_t *body, size_t n)
{
    bool present;
    uint8_t rc;
    int err = mqtt_decode_connack(body, n, &present, &rc);

    if (err < 0 || d->connacked)
        return MQTT_EMALFORMED;
    if (rc != MQTT_CONNACK_ACCEPTED) {
        char why[48];
        d->sim->st.refused++;
        snprintf(why, sizeof why, "CONNACK return code %u", rc);
        drop(d, 0, why);
        return 0;
    }
    d->connacked = true;
    return send_subscribe(d);
}

static void became_up(devsim_dev *d)
{
    devsim *sim = d->sim;

    d->state = DEV_UP;
    d->backoff_ms = 0;
    sim->connecting--;
    sim->st.connected++;
    sim->st.connects++;
    uv_timer_start(&d->timer, on_timer, DEVSIM_KEEPALIVE * 500, DEVSIM_KEEPALIVE * 500);
    devsim__shadow_start(d);
    devsim__jobs_start(d);
}

static int rx_suback(devsim_dev *d, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t id;
    uint8_t codes[4];
    size_t count;
    int err = mqtt_decode_suback(body, n, &id, codes, sizeof codes, &count);

    if (err < 0 || count != 1 || d->state != DEV_CONNECTING)
        return MQTT_EMALFORMED;
    if (codes[0] == 0x80) {
        drop(d, 0, "subscription refused");
        return 0;
    }
    became_up(d);
    return 0;
}

static int rx_publish(devsim_dev *d, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt_publish p;
    size_t idlen = strlen(d->id);
    int err = mqtt_decode_publish(body, n, flags, &p);

    if (err < 0 || p.qos > 1 || d->state != DEV_UP)
        return MQTT_EMALFORMED; /* we subscribe with QoS 1 only [MQTT-3.8.4-6] */
    if (p.qos == 1 && (err = send_ack(d, MQTT_PUBACK, p.packet_id)) < 0)
        return err;
    /* ID/{api}: anything else under ID/ is an unknown api, answered by the api layer */
    if (p.topic.len > idlen + 1 && memcmp(p.topic.p, d->id, idlen) == 0 &&
        p.topic.p[idlen] == '/' &&
        !devsim__shadow_reply(d, (const char *)p.topic.p + idlen + 1, p.topic.len - idlen - 1) &&
        !devsim__jobs_reply(d, (const char *)p.topic.p + idlen + 1, p.topic.len - idlen - 1,
                            p.payload, p.payload_len))
        devsim__api_request(d, (const char *)p.topic.p + idlen + 1, p.topic.len - idlen - 1,
                            p.payload, p.payload_len);
    return 0;
}

static int rx_puback(devsim_dev *d, uint8_t flags, const uint8_t *body, size_t n)
{
    uint16_t id;

    return mqtt_decode_ack(body, n, &id);
}

static int rx_pingresp(devsim_dev *d, uint8_t flags, const uint8_t *body, size_t n)
{
    return n == 0 ? 0 : MQTT_EMALFORMED;
}

typedef int (*rx_handler)(devsim_dev *d, uint8_t flags, const uint8_t *body, size_t n);

static const rx_handler rx_table[16] = {
    [MQTT_CONNACK] = rx_connack, [MQTT_PUBLISH] = rx_publish,   [MQTT_PUBACK] = rx_puback,
    [MQTT_SUBACK] = rx_suback,   [MQTT_PINGRESP] = rx_pingresp,
};

static void parse_input(devsim_dev *d)
{
    size_t off = 0;

    while (d->state == DEV_CONNECTING || d->state == DEV_UP) {
        uint8_t type, flags;
        uint32_t rem;
        size_t hl;
        int err = mqtt_fixed_header(d->rx + off, d->rx_len - off, DEVSIM_MAX_PACKET, &type, &flags,
                                    &rem, &hl);

        if (err == MQTT_EAGAIN || (err == 0 && d->rx_len - off < hl + rem))
            break;
        if (err == 0 && !d->connacked && type != MQTT_CONNACK)
            err = MQTT_EMALFORMED; /* [MQTT-3.2.0-1] CONNACK comes first */
        if (err == 0)
            err =
                rx_table[type] ? rx_table[type](d, flags, d->rx + off + hl, rem) : MQTT_EMALFORMED;
        if (err < 0) {
            drop(d, UV_EPROTO, "protocol error from the server");
            return;
        }
        off += hl + rem;
    }
    if (off > 0 && d->rx) {
        memmove(d->rx, d->rx + off, d->rx_len - off);
        d->rx_len -= off;
    }
}

/* ---- TLS in ---------------------------------------------------------------------------- */

static int rx_reserve(devsim_dev *d)
{
    size_t want = d->rx_len + RX_GROW;
    uint8_t *p;

    if (want <= d->rx_cap)
        return 0;
    if (want > DEVSIM_MAX_PACKET + 2 * RX_GROW || !(p = realloc(d->rx, want)))
        return UV_ENOBUFS;
    d->rx = p;
    d->rx_cap = want;
    return 0;
}

static int handshake(devsim_dev *d)
{
    int rc = SSL_do_handshake(d->ssl);
    int e;

    if (rc == 1) {
        d->tls_done = true;
        return send_connect(d);
    }
    e = SSL_get_error(d->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    return UV_EPROTO;
}

/* Decrypts everything the rbio holds into rx and parses it. */
static int pump(devsim_dev *d)
{
    for (;;) {
        int n, e;
        if (rx_reserve(d) < 0)
            return UV_ENOBUFS;
        n = SSL_read(d->ssl, d->rx + d->rx_len, (int)(d->rx_cap - d->rx_len));
        if (n > 0) {
            d->rx_len += (size_t)n;
            parse_input(d);
            if (d->state != DEV_UP && d->state != DEV_CONNECTING)
                return 0;
            continue;
        }
        e = SSL_get_error(d->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            return 0;
        return e == SSL_ERROR_ZERO_RETURN ? UV_EOF : UV_EPROTO;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    devsim_dev *d = h->data;

    *buf = uv_buf_init((char *)d->sim->rbuf, sizeof d->sim->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    devsim_dev *d = s->data;
    int rc = 0;

    if (nread < 0) {
        drop(d, (int)nread, nread == UV_EOF ? "closed by the server" : "read failed");
        return;
    }
    if (nread == 0 || d->state == DEV_CLOSING)
        return;
    d->last_rx_ms = uv_now(d->sim->loop);
    if (BIO_write(d->rbio, buf->base, (int)nread) != (int)nread)
        rc = UV_ENOMEM;
    if (rc == 0 && !d->tls_done)
        rc = handshake(d);
    if (rc == 0 && d->tls_done)
        rc = pump(d);
    flush(d);
    if (rc < 0) {
        unsigned long e = ERR_peek_error();
        char why[160] = "TLS failed";
        if (e)
            ERR_error_string_n(e, why, sizeof why);
        ERR_clear_error();
        drop(d, rc, rc == UV_EOF ? "TLS closed by the server" : why);
    }
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void schedule_reconnect(devsim_dev *d)
{
    uint32_t b = d->backoff_ms ? d->backoff_ms * 2 : BACKOFF_MIN_MS;

    d->backoff_ms = b > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b;
    /* jitter in [b/2, 3b/2): thousands of devices dropped together do not return together */
    uv_timer_start(&d->timer, on_timer,
                   d->backoff_ms / 2 + (uint64_t)rand() % (d->backoff_ms ? d->backoff_ms : 1), 0);
}

static void on_tcp_closed(uv_handle_t *h)
{
    devsim_dev *d = h->data;

    devsim__tls_free(d);
    free(d->rx);
    d->rx = NULL;
    d->rx_len = d->rx_cap = 0;
    d->state = DEV_IDLE;
    if (!d->stopping)
        schedule_reconnect(d);
}

static void drop(devsim_dev *d, int err, const char *why)
{
    devsim *sim = d->sim;

    if (d->state == DEV_CLOSING || d->state == DEV_IDLE)
        return;
    if (d->state == DEV_CONNECTING)
        sim->connecting--;
    else
        sim->st.connected--;
    if (!d->stopping) {
        sim->st.drops++;
        log_fail(d, err, why);
    }
    d->state = DEV_CLOSING;
    uv_timer_stop(&d->timer);
    devsim__api_drop_replies(d);
    uv_close((uv_handle_t *)&d->tcp, on_tcp_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
    devsim_dev *d = req->data;
    int rc;

    if (d->state != DEV_CONNECTING)
        return;
    if (status < 0) {
        drop(d, status, "TCP connect failed");
        return;
    }
    uv_tcp_nodelay(&d->tcp, 1);
    rc = uv_read_start((uv_stream_t *)&d->tcp, on_alloc, on_read);
    if (rc == 0)
        rc = handshake(d); /* writes the ClientHello */
    flush(d);
    if (rc < 0)
        drop(d, rc, "TLS start failed");
}

void devsim__dev_connect(devsim_dev *d)
{
    devsim *sim = d->sim;
    int rc;

    if (d->state != DEV_IDLE || d->stopping)
        return;
    if ((rc = uv_tcp_init(sim->loop, &d->tcp)) < 0) {
        log_fail(d, rc, "socket");
        schedule_reconnect(d);
        return;
    }
    d->tcp.data = d;
    d->state = DEV_CONNECTING;
    d->tls_done = d->connacked = false;
    d->last_rx_ms = uv_now(sim->loop);
    sim->connecting++;
    uv_timer_start(&d->timer, on_timer, DEVSIM_CONNECT_TMO, 0);
    if ((rc = devsim__tls_start(d)) < 0) {
        drop(d, rc, "TLS setup");
        return;
    }
    d->creq.data = d;
    rc = uv_tcp_connect(&d->creq, &d->tcp, (const struct sockaddr *)&sim->addr, on_connect);
    if (rc < 0)
        drop(d, rc, "TCP connect failed");
}

static void on_timer(uv_timer_t *t)
{
    devsim_dev *d = t->data;
    devsim *sim = d->sim;
    uint64_t now = uv_now(sim->loop);

    switch (d->state) {
    case DEV_IDLE:
        if (sim->connecting >= (size_t)sim->o.parallel) {
            uv_timer_start(&d->timer, on_timer, 50 + (uint64_t)rand() % 200, 0);
            return;
        }
        devsim__dev_connect(d);
        return;
    case DEV_CONNECTING:
        drop(d, UV_ETIMEDOUT, "no SUBACK in time");
        return;
    case DEV_UP:
        if (now - d->last_rx_ms > DEVSIM_KEEPALIVE * 1500u) {
            drop(d, UV_ETIMEDOUT, "server silent for 1.5 keepalives");
            return;
        }
        send_bare(d, MQTT_PINGREQ);
        return;
    case DEV_CLOSING:
        return;
    }
}

int devsim__dev_init(devsim_dev *d)
{
    int rc = uv_timer_init(d->sim->loop, &d->timer);

    if (rc == 0)
        rc = uv_timer_init(d->sim->loop, &d->restart_timer);
    d->timer.data = d;
    d->restart_timer.data = d;
    d->state = DEV_IDLE;
    return rc;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    devsim_dev *d = req->data;

    d->state = DEV_CLOSING;
    uv_close((uv_handle_t *)&d->tcp, on_tcp_closed);
}

/* Clean stop of an established connection: DISCONNECT, close_notify, FIN once written. */
static void stop_up(devsim_dev *d)
{
    devsim *sim = d->sim;

    send_bare(d, MQTT_DISCONNECT);
    if (d->state != DEV_UP)
        return; /* the send failed and dropped the connection */
    SSL_shutdown(d->ssl);
    flush(d);
    if (d->state != DEV_UP)
        return;
    sim->st.connected--;
    d->sreq.data = d;
    if (uv_shutdown(&d->sreq, (uv_stream_t *)&d->tcp, on_shutdown) < 0) {
        d->state = DEV_CLOSING;
        uv_close((uv_handle_t *)&d->tcp, on_tcp_closed);
        return;
    }
    d->state = DEV_CLOSING;
}

void devsim__dev_stop(devsim_dev *d)
{
    d->stopping = true;
    devsim__api_drop_replies(d);
    uv_timer_stop(&d->timer);
    if (d->state == DEV_UP)
        stop_up(d);
    else
        drop(d, 0, "stopping");
    uv_close((uv_handle_t *)&d->timer, NULL);
    uv_close((uv_handle_t *)&d->restart_timer, NULL);
}
