/*
 * conn — one MQTT connection: framing of the byte stream into packets, dispatch by
 * packet type, and the end of the connection (will, clean-session cleanup).
 *
 * The transport is reached only through net_transport, so the whole state machine runs
 * without sockets (see fuzz/fuzz_mqtt_conn.c). Owned by one loop.
 *
 * Framing: a packet that arrives whole is handled straight from the transport's buffer;
 * only a partial packet is copied, into c->in, sized from its fixed header once that
 * header passed the size limit — before CONNECT the limit is BROKER_MAX_CONNECT_SIZE,
 * so an unauthenticated peer never makes us allocate more than that.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "broker/auth.h"
#include "broker/bloop.h"
#include "broker/creds.h"
#include "broker/bmsg.h"
#include "broker/flow.h"
#include "broker/handle.h"
#include "broker/mconn.h"
#include "broker/registry.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/sys.h"
#include "broker/tap.h"
#include "broker/v5.h"
#include "common/clock.h"
#include "common/log.h"

/* Buffers larger than this are released once their packet is handled, so an idle
 * connection does not keep the memory of its largest packet. */
#define KEEP_INPUT_BYTES 1024u

static const mconn_handler handlers[16] = {
    [MQTT_CONNECT] = handle__connect,     [MQTT_PUBLISH] = handle__publish,
    [MQTT_PUBACK] = handle__puback,       [MQTT_PUBREC] = handle__pubrec,
    [MQTT_PUBREL] = handle__pubrel,       [MQTT_PUBCOMP] = handle__pubcomp,
    [MQTT_SUBSCRIBE] = handle__subscribe, [MQTT_UNSUBSCRIBE] = handle__unsubscribe,
    [MQTT_PINGREQ] = handle__pingreq,     [MQTT_DISCONNECT] = handle__disconnect,
    [MQTT5_AUTH] = handle__auth,
};

mconn *mconn__new(broker *br, bloop *lp, const net_transport *io, void *t)
{
    mconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->br = br;
    c->lp = lp;
    c->io = io;
    c->t = t;
    /* [MQTT-3.1.0-1] a peer that never sends CONNECT is dropped after connect_timeout:
     * the idle timer catches silence, the deadline a CONNECT sent a byte at a time. */
    io->set_timeout(t, br->o.connect_timeout_ms);
    c->connect_deadline = io->now_ms(t) + br->o.connect_timeout_ms;
    return c;
}

const char *mconn__peer(mconn *c)
{
    const char *p = c->transport_gone ? NULL : c->io->peer(c->t);
    return p ? p : "?";
}

#ifndef NDEBUG
void mconn__assert_loop(const mconn *c)
{
    net_loop *cur = net_loop_current();
    assert((!cur || !c->lp->nl || c->lp->nl == cur) && "connection touched off its loop");
    (void)cur;
}
#endif

void mconn__write(mconn *c, const void *p, size_t n)
{
    mconn__assert_loop(c);
    if (c->state != MC_CLOSING && c->io->write(c->t, p, n) < 0)
        mconn__close(c);
    sys__count(&c->lp->bytes_out, n);
}

void mconn__write_buf(mconn *c, buf *b, size_t off, size_t n)
{
    mconn__assert_loop(c);
    if (c->state != MC_CLOSING && c->io->write_buf(c->t, b, off, n) < 0)
        mconn__close(c);
    sys__count(&c->lp->bytes_out, n);
}

size_t mconn__pending(mconn *c) { return c->io->pending(c->t); }

static bool out_ready(mconn *c) { return c->state == MC_CONNECTED; }

const session_out mconn__session_out = {
    .ready = out_ready,
    .write = mconn__write,
    .write_buf = mconn__write_buf,
    .pending = mconn__pending,
};

void mconn__close(mconn *c)
{
    mconn__assert_loop(c);
    if (c->state == MC_CLOSING)
        return;
    c->state = MC_CLOSING;
    if (!c->transport_gone)
        c->io->close(c->t);
}

static int dispatch(mconn *c, uint8_t type, uint8_t flags, const uint8_t *body, size_t n)
{
    /* [MQTT-2.2.2-2] wrong flags, reserved and server-to-client types close the link;
     * AUTH is a packet of 5.0 only */
    int ok = c->ver == MQTT5_LEVEL ? mqtt5_check_flags_server(type, flags)
                                   : mqtt_check_flags_server(type, flags);
    if (ok < 0 || !handlers[type])
        return MQTT_EMALFORMED;
    /* [MQTT-3.1.0-1] the first packet must be CONNECT */
    if (c->state == MC_NEW && type != MQTT_CONNECT)
        return -1;
    return handlers[type](c, flags, body, n);
}

/* @err: the mqtt_err behind it, the reason code of a 5.0 DISCONNECT (4.13). */
static int fail_rc(mconn *c, const char *why, int err)
{
    BROKER_STAT_ADD(c->br, protocol_errors, 1);
    broker__errlog(c->br, "mqtt %s: closing: %s", mconn__peer(c), why); /* bounded under a flood */
    uint8_t rc = err == MQTT_EMALFORMED || err == MQTT_ETOOBIG ? mqtt5_err_reason(err)
                                                               : MQTT5_RC_PROTOCOL_ERROR;
    v5__disconnect(c, rc, why); /* [MQTT-4.13.1-1]; 3.1.1: closed */
    return 0;
}

static int fail(mconn *c, const char *why) { return fail_rc(c, why, MQTT_EPROTOCOL); }

static size_t limit(mconn *c)
{
    size_t max = c->br->o.max_packet_size;
    return c->state == MC_NEW && max > BROKER_MAX_CONNECT_SIZE ? BROKER_MAX_CONNECT_SIZE : max;
}

static int handle_packet(mconn *c, const uint8_t *p, size_t hl, size_t total)
{
    uint8_t type = p[0] >> 4, flags = p[0] & 0x0f;
    int rc = dispatch(c, type, flags, p + hl, total - hl);
    if (rc < 0)
        return fail_rc(c, rc == MQTT_EMALFORMED ? "malformed packet" : "protocol violation", rc);
    return 0;
}

/* Keeps @n bytes that arrived while a session hand-over is in flight. */
static int hold_input(mconn *c, const uint8_t *p, size_t n)
{
    uint8_t *h = realloc(c->held, c->held_len + n);
    if (!h)
        return -1;
    memcpy(h + c->held_len, p, n);
    c->held = h;
    c->held_len += (uint32_t)n;
    return 0;
}

static int stash(mconn *c, const uint8_t *p, size_t n, size_t need)
{
    size_t cap = need > n ? need : n;
    if (cap < MQTT_FIXED_HDR_MAX)
        cap = MQTT_FIXED_HDR_MAX;
    if (c->in_cap < cap) {
        uint8_t *in = realloc(c->in, cap);
        if (!in)
            return -1;
        c->in = in;
        c->in_cap = (uint32_t)cap;
    }
    memcpy(c->in + c->in_len, p, n);
    c->in_len += (uint32_t)n;
    c->in_need = (uint32_t)need;
    return 0;
}

static void release_input(mconn *c)
{
    c->in_len = c->in_need = 0;
    if (c->in_cap > KEEP_INPUT_BYTES) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
}

/* Completes the partial packet in c->in from @p; returns bytes consumed or <0. */
static long fill_partial(mconn *c, const uint8_t *p, size_t n)
{
    size_t used = 0;
    if (c->in_need == 0) {
        /* Header incomplete: add up to a whole header's worth and parse again. */
        size_t take = MQTT_FIXED_HDR_MAX - c->in_len;
        if (take > n)
            take = n;
        if (stash(c, p, take, 0) < 0)
            return -1;
        used = take;
        uint8_t type, flags;
        uint32_t rem;
        size_t hl;
        int r = mqtt_fixed_header(c->in, c->in_len, limit(c), &type, &flags, &rem, &hl);
        if (r == MQTT_EAGAIN)
            return (long)used;
        if (r < 0)
            return fail_rc(c, r == MQTT_ETOOBIG ? "packet too large" : "malformed length", r), -2;
        size_t total = hl + rem;
        if (c->in_len > total) { /* we took bytes of the next packet: give them back */
            used -= c->in_len - total;
            c->in_len = (uint32_t)total;
        }
        if (stash(c, p, 0, total) < 0)
            return -1;
    }
    size_t take = c->in_need - c->in_len;
    if (take > n - used)
        take = n - used;
    memcpy(c->in + c->in_len, p + used, take);
    c->in_len += (uint32_t)take;
    used += take;
    if (c->in_len == c->in_need) {
        size_t hl = 2;
        while (c->in[hl - 1] & 0x80)
            hl++;
        handle_packet(c, c->in, hl, c->in_need);
        release_input(c);
    }
    return (long)used;
}

int mconn__feed(mconn *c, const uint8_t *p, size_t n)
{
    mconn__assert_loop(c);
    sys__count(&c->lp->bytes_in, n);
    if (c->state == MC_NEW && c->io->now_ms(c->t) >= c->connect_deadline)
        return fail(c, "no CONNECT within connect-timeout");
    while (n > 0) {
        if (c->state == MC_CLOSING)
            return 0;
        /* Waiting for authentication or a session hand-over, or paused by back-pressure
         * (flow.c): keep the rest of this read for later, so the pause takes effect at
         * once. */
        if (c->state == MC_WAIT_AUTH || c->state == MC_WAIT_SESSION || c->blocked_on)
            return hold_input(c, p, n);
        if (c->in_len > 0) {
            long used = fill_partial(c, p, n);
            if (used == -2)
                return 0;
            if (used < 0)
                return -1;
            p += used;
            n -= (size_t)used;
            continue;
        }
        uint8_t type, flags;
        uint32_t rem;
        size_t hl;
        int r = mqtt_fixed_header(p, n, limit(c), &type, &flags, &rem, &hl);
        if (r == MQTT_OK && hl + rem <= n) {
            handle_packet(c, p, hl, hl + rem);
            p += hl + rem;
            n -= hl + rem;
            continue;
        }
        if (r != MQTT_OK && r != MQTT_EAGAIN)
            return fail_rc(c, r == MQTT_ETOOBIG ? "packet too large" : "malformed length", r);
        return stash(c, p, n, r == MQTT_OK ? hl + rem : 0);
    }
    return 0;
}

void mconn__resume_input(mconn *c)
{
    if (c->state != MC_CONNECTED || c->blocked_on)
        return;
    c->io->resume(c->t);
    if (c->held_len == 0)
        return;
    uint8_t *held = c->held;
    uint32_t len = c->held_len;
    c->held = NULL;
    c->held_len = 0;
    if (mconn__feed(c, held, len) < 0)
        mconn__close(c);
    free(held);
}

void mconn__drained(mconn *c)
{
    if (c->s && c->s->conn == c) {
        session__drain(c->s);
        session__maybe_relieve(c->s);
    }
}

void mconn__free(mconn *c)
{
    creds__untrack(c);
    bmsg__unref(c->will);
    v5__alias_free(c);
    free(c->in);
    free(c->held);
    free(c);
}

/* [MQTT-3.1.2-8] The will of a connection that ended without DISCONNECT. 5.0: with a
 * Will Delay Interval and a session that outlives the connection, it waits on the session
 * (expiry.c publishes it when due or when the session ends; a resumption drops it
 * [MQTT-3.1.3-9]); its Message Expiry Interval runs from its publication. */
static void publish_will(mconn *c, session *s)
{
    int64_t now = clock_wall_ms();
    if (c->ver == MQTT5_LEVEL && c->will_delay && !s->clean) {
        bmsg__unref(s->will);
        s->will = c->will;
        s->will_at = now + (int64_t)c->will_delay * 1000;
        if (c->will_expiry_ms)
            s->will->expire_at = s->will_at + c->will_expiry_ms;
        c->will = NULL;
        return;
    }
    if (c->will_expiry_ms)
        c->will->expire_at = now + c->will_expiry_ms;
    session__unref_opt(route__publish(c->lp, c->will).congested);
}

void mconn__closed(mconn *c, bool shutdown)
{
    mconn__assert_loop(c);
    c->transport_gone = true;
    c->state = MC_CLOSING;
    auth__cancel(c); /* a decision still to come finds nobody */
    creds__untrack(c);
    flow__unblock(c);
    tap__offline(c, NULL);
    session *s = c->s;
    if (s && s->conn == c) {
        s->conn = NULL;
        if (shutdown)
            atomic_store(&c->br->stopping, true);
        session__detached(s);
        /* [MQTT-3.1.2-8] the will goes out unless DISCONNECT removed it [MQTT-3.1.2-10] */
        if (c->will && !shutdown)
            publish_will(c, s);
        if (s->clean) {
            /* [MQTT-3.1.2-6] a clean session ends with its connection */
            registry__lock(c->br);
            registry__remove(c->br, s);
            registry__unlock(c->br);
            session__destroy_state(s);
        }
    }
    c->s = NULL;
    session__unref(s);
    mconn__maybe_free(c);
}

void mconn__maybe_free(mconn *c)
{
    if (c->transport_gone && !c->handover_pending && !c->store_pending)
        mconn__free(c);
}
