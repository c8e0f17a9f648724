/*
 * deliver — outgoing messages of one session: the inflight window, the queue behind it,
 * the QoS 1/2 acknowledgement flows and the resend on reconnect. Owner loop only.
 *
 * Order [MQTT-4.6.0-6]: every message for a session goes through one FIFO. A message is
 * written at once only when the queue is empty and (QoS 0, or an inflight slot is free);
 * otherwise it is queued, so nothing overtakes what was routed before it.
 * Bounds: inflight <= max_inflight, queue <= max_queued (oldest dropped, counted),
 * QoS 0 dropped while a slow reader has more than qos0_drop_bytes of output queued, and
 * the queues of one account's offline persistent sessions <= max_queued_per_user summed
 * (quota.c: the session's own oldest message makes room, else the new one is dropped;
 * both counted in quota_dropped).
 */
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/quota.h"
#include "broker/bmsg.h"
#include "broker/flow.h"
#include "broker/persist.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/share.h"
#include "broker/v5.h"
#include "common/clock.h"
#include "mqtt/mqtt_codec.h"

/* Topics up to this length get their PUBLISH header built in one small copy. */
#define SMALL_TOPIC 200

/* false: too large for a 5.0 receiver, nothing written (v5.h). */
static bool write_publish(session *s, mconn *c, bmsg *m, uint8_t qos, bool retain, bool dup,
                          uint16_t pid)
{
    if (s->ver == MQTT5_LEVEL)
        return v5__write_publish(s, c, m, qos, retain, dup, pid);
    if (qos == 0 && !retain) {
        /* The pre-encoded QoS 0 packet, shared by every QoS 0 subscriber. */
        s->out->write_buf(c, m->b, m->hdr_off, m->payload_off + m->payload_len - m->hdr_off);
        return true;
    }
    uint8_t flags = (uint8_t)((dup ? 0x8 : 0) | (qos << 1) | (retain ? 1 : 0));
    uint32_t remaining = 2u + m->topic_len + (qos ? 2u : 0u) + m->payload_len;
    uint8_t hdr[MQTT_FIXED_HDR_MAX + 2 + SMALL_TOPIC + 2];
    size_t n = (size_t)mqtt_encode_fixed_header(hdr, MQTT_PUBLISH, flags, remaining);
    const uint8_t *topic = m->b->data + m->topic_off - 2;
    if (m->topic_len <= SMALL_TOPIC) {
        memcpy(hdr + n, topic, 2u + m->topic_len);
        n += 2u + m->topic_len;
    } else {
        s->out->write(c, hdr, n);
        s->out->write_buf(c, m->b, m->topic_off - 2, 2u + m->topic_len);
        n = 0;
    }
    if (qos) {
        hdr[n++] = (uint8_t)(pid >> 8);
        hdr[n++] = (uint8_t)pid;
    }
    s->out->write(c, hdr, n);
    if (m->payload_len)
        s->out->write_buf(c, m->b, m->payload_off, m->payload_len);
    return true;
}

/* The inflight window: max-inflight, and a 5.0 client's Receive Maximum [MQTT-3.3.4-9]. */
static uint32_t window(const session *s)
{
    uint32_t w = s->br->o.max_inflight;
    return s->send_max && s->send_max < w ? s->send_max : w;
}

static mconn *live_conn(session *s) { return s->conn && s->out->ready(s->conn) ? s->conn : NULL; }

static int find_inflight(session *s, uint16_t pid)
{
    for (uint32_t i = 0; i < s->n_inf; i++)
        if (s->inf[i].pid == pid)
            return (int)i;
    return -1;
}

static uint16_t alloc_pid(session *s)
{
    /* Never 0 [MQTT-2.3.1-1]; never one still in use [MQTT-2.3.1-4]. The window is at
     * most 65535, so a free id always exists. */
    for (;;) {
        uint16_t pid = s->next_pid++;
        if (s->next_pid == 0)
            s->next_pid = 1;
        if (pid != 0 && find_inflight(s, pid) < 0)
            return pid;
    }
}

/* A reader that lets output pile up holds publishers back too (flow.c); net tells us
 * when it drained (mconn__drained). */
static void check_output(session *s, mconn *c)
{
    if (s->out->pending(c) > s->br->o.out_congest_bytes)
        flow__congest(s);
}

static void send_qos0(session *s, mconn *c, bmsg *m, bool retain)
{
    if (s->out->pending(c) > s->br->o.qos0_drop_bytes) {
        BROKER_STAT_ADD(s->br, dropped_qos0_slow, 1);
        return;
    }
    if (!write_publish(s, c, m, 0, retain, false, 0))
        return; /* [MQTT-3.1.2-25] too large for this receiver: dropped */
    BROKER_STAT_ADD(s->br, msgs_out, 1);
    check_output(s, c);
}

static void forget(session *s, bmsg *m, uint8_t qos);

static int send_new(session *s, mconn *c, bmsg *m, uint8_t qos, bool retain, sgroup *g)
{
    if (s->ver == MQTT5_LEVEL && !v5__fits(s, c, m, qos)) {
        forget(s, m, qos); /* [MQTT-3.1.2-25] dropped for this receiver, as if sent */
        return 0;
    }
    if (!s->inf) {
        s->inf = malloc(sizeof *s->inf * s->br->o.max_inflight);
        if (!s->inf)
            return -1;
    }
    /* The id is chosen before the slot counts as in flight: alloc_pid looks at every
     * slot in use, and the new one still holds whatever a freed array left there (a
     * fresh session's first message then skipped id 1, issue #16). */
    uint16_t pid = alloc_pid(s);
    inflight *f = &s->inf[s->n_inf++];
    f->m = bmsg__ref(m);
    f->g = g ? share__ref(g) : NULL;
    f->mid = m->mid;
    f->pid = pid;
    f->qos = qos;
    f->state = qos == 1 ? INF_WAIT_PUBACK : INF_WAIT_PUBREC;
    f->retain = retain;
    if (persist__session_on(s))
        persist__msg_state(session__owner(s), s, f->mid, STORE_MSG_SENT, f->pid);
    write_publish(s, c, m, qos, retain, false, f->pid);
    BROKER_STAT_ADD(s->br, msgs_out, 1);
    check_output(s, c);
    return 0;
}

/* Queue bound: max_queued, except for QoS 1/2 to an online session that is not slow,
 * which marks the session congested there (publishers wait, flow.c) and may grow to
 * FLOW_HARD_CAP x max_queued with what publishers already had in flight. */
static uint32_t queue_cap(session *s, uint8_t qos, bool online)
{
    uint32_t max = s->br->o.max_queued;
    if (online && qos > 0 && !atomic_load_explicit(&s->slow, memory_order_relaxed) &&
        max <= UINT32_MAX / FLOW_HARD_CAP)
        return max * FLOW_HARD_CAP;
    return max;
}

/* One message routed to @s has left it (written, dropped or refused); see route.c. */
static void backlog_done(session *s)
{
    atomic_fetch_sub_explicit(&s->backlog, 1, memory_order_relaxed);
}

/* A QoS 1/2 message of a persistent session leaves it unsent: forget its store row. */
static void forget(session *s, bmsg *m, uint8_t qos)
{
    if (qos && persist__session_on(s))
        persist__msg_del(session__owner(s), s, m->mid);
}

/* Removes the oldest queued message; the caller counts why. */
static void unqueue_oldest(session *s)
{
    qitem *old = s->qhead;
    s->qhead = old->next;
    if (!s->qhead)
        s->qtail = NULL;
    s->qlen--;
    forget(s, old->m, old->qos);
    bmsg__unref(old->m);
    share__unref(old->g);
    free(old);
    backlog_done(s);
}

static void drop_oldest(session *s)
{
    unqueue_oldest(s);
    BROKER_STAT_ADD(s->br, dropped_queue_full, 1);
}

/* The account's offline queues are full (max_queued_per_user): this session's oldest
 * message makes room, as the per-session bound does; false when it has none to give, and
 * the new message is dropped. */
static bool make_room_quota(session *s)
{
    BROKER_STAT_ADD(s->br, quota_dropped, 1);
    if (!s->qhead)
        return false;
    unqueue_oldest(s);
    return true;
}

/* Adds @m at the tail of the queue. */
static int append(session *s, bmsg *m, uint8_t qos, bool retain, sgroup *g)
{
    qitem *q = malloc(sizeof *q);
    if (!q)
        return -1;
    *q = (qitem){.next = NULL,
                 .m = bmsg__ref(m),
                 .g = g ? share__ref(g) : NULL,
                 .qos = qos,
                 .retain = retain};
    if (s->qtail)
        s->qtail->next = q;
    else
        s->qhead = q;
    s->qtail = q;
    s->qlen++;
    return 0;
}

static void enqueue(session *s, bmsg *m, uint8_t qos, bool retain, bool online, sgroup *g)
{
    uint32_t cap = queue_cap(s, qos, online);
    if (cap == 0 || (qos == 0 && s->qlen >= s->br->o.max_queued)) {
        /* a QoS 0 message never pushes out a QoS 1/2 one */
        if (qos == 0)
            BROKER_STAT_ADD(s->br, dropped_qos0_slow, 1);
        else
            BROKER_STAT_ADD(s->br, dropped_queue_full, 1);
        forget(s, m, qos);
        backlog_done(s);
        return;
    }
    while (s->qlen >= cap)
        drop_oldest(s);
    if (!quota__queue_take(s) && !make_room_quota(s)) {
        forget(s, m, qos);
        backlog_done(s);
        return;
    }
    if (append(s, m, qos, retain, g) < 0) {
        forget(s, m, qos);
        backlog_done(s);
    }
}

static void remove_inflight(session *s, int i);

/* Takes @q (after @prev, or the head) out of the queue; the caller releases it. */
static void unlink_queued(session *s, qitem *prev, qitem *q)
{
    if (prev)
        prev->next = q->next;
    else
        s->qhead = q->next;
    if (s->qtail == q)
        s->qtail = prev;
    s->qlen--;
}

/* A member of a shared subscription lost its connection: what it had not acknowledged of
 * the group's messages goes to another online member (share.c), so nothing the broker
 * acknowledged waits for this one to come back. A QoS 2 message whose PUBREC arrived is
 * delivered already and stays. Without another online member everything stays, except
 * that a clean session (whose state ends now) hands it to an offline persistent member. */
static void reshare(session *s)
{
    bloop *lp = session__owner(s);
    if (atomic_load(&s->br->stopping))
        return; /* shutdown: every member stays where it is, and the store keeps it */
    for (uint32_t i = 0; i < s->n_inf;) {
        inflight *f = &s->inf[i];
        if (f->g && f->m && route__reshare(lp, f->g, f->m, s)) {
            forget(s, f->m, f->qos);
            remove_inflight(s, (int)i);
        } else {
            i++;
        }
    }
    for (qitem *prev = NULL, *q = s->qhead; q;) {
        qitem *next = q->next;
        if (q->g && route__reshare(lp, q->g, q->m, s)) {
            unlink_queued(s, prev, q);
            forget(s, q->m, q->qos);
            bmsg__unref(q->m);
            share__unref(q->g);
            free(q);
            backlog_done(s);
        } else {
            prev = q;
        }
        q = next;
    }
}

void session__detached(session *s)
{
    session__assert_owner(s);
    atomic_store(&s->online, false);
    reshare(s); /* after online=false: share__pick no longer chooses it */
    s->offline_since = clock_wall_ms();
    if (persist__session_on(s) && !s->dead)
        persist__session_put(session__owner(s), s); /* last_seen, for expiry */
    /* Offline, the queue is bounded by max_queued (oldest dropped), and nobody waits. */
    while (s->qlen > s->br->o.max_queued)
        drop_oldest(s);
    quota__queue_sync(s); /* offline: its queue counts against its account */
    flow__relieve(s->br, s);
}

void session__deliver(bloop *lp, session *s, bmsg *m, uint8_t qos, bool retain, sgroup *g)
{
    session__assert_owner(s);
    (void)lp;
    /* [MQTT-3.3.2-5] an expired message is not delivered; options of 5.0 subscriptions
     * (no-local, retain-as-published) apply to routed messages (v5_publish.c) */
    if (s->dead) {
        backlog_done(s);
        return;
    }
    if ((m->expire_at && v5__expired(m, clock_wall_ms())) ||
        (!g && !retain && s->n_opt_subs && !v5__sub_filter(s, m, &retain))) {
        forget(s, m, qos);
        backlog_done(s);
        return;
    }
    mconn *c = live_conn(s);
    if (c && !s->qhead &&
        (qos == 0 || (s->n_inf < window(s) && send_new(s, c, m, qos, retain, g) == 0))) {
        if (qos == 0)
            send_qos0(s, c, m, retain);
        backlog_done(s);
    } else if (!c && (qos == 0 || s->clean)) {
        /* Offline: QoS 0 is not kept [MQTT-3.1.2-5 allows it; we do not], nor is
         * anything for a clean session, whose state ends with its connection. */
        backlog_done(s);
    } else {
        enqueue(s, m, qos, retain, c != NULL, g);
        quota__queue_sync(s);
    }
    session__maybe_relieve(s);
}

void session__drain(session *s)
{
    session__assert_owner(s);
    mconn *c = live_conn(s);
    int64_t now = clock_wall_ms();
    while (c && s->qhead && (s->qhead->qos == 0 || s->n_inf < window(s))) {
        qitem *q = s->qhead;
        s->qhead = q->next;
        if (!s->qhead)
            s->qtail = NULL;
        s->qlen--;
        if (q->m->expire_at && v5__expired(q->m, now))
            forget(s, q->m, q->qos); /* [MQTT-3.3.2-5] expired while queued */
        else if (q->qos == 0)
            send_qos0(s, c, q->m, q->retain);
        else
            send_new(s, c, q->m, q->qos, q->retain, q->g);
        bmsg__unref(q->m);
        share__unref(q->g);
        free(q);
        backlog_done(s);
    }
    session__maybe_relieve(s);
}

void session__maybe_relieve(session *s)
{
    if (!atomic_load_explicit(&s->congested, memory_order_relaxed))
        return;
    mconn *c = live_conn(s);
    if (atomic_load_explicit(&s->backlog, memory_order_relaxed) <= s->br->o.max_queued / 2 &&
        (!c || s->out->pending(c) <= s->br->o.out_congest_bytes))
        flow__relieve(s->br, s);
}

void session__resend(session *s)
{
    session__assert_owner(s);
    mconn *c = live_conn(s);
    if (!c)
        return;
    for (uint32_t i = 0; i < s->n_inf; i++) {
        inflight *f = &s->inf[i];
        if (f->m) {
            /* [MQTT-4.4.0-1] resend unacknowledged PUBLISH with DUP set [MQTT-3.3.1-1] */
            write_publish(s, c, f->m, f->qos, f->retain, true, f->pid);
        } else {
            uint8_t ack[4];
            s->out->write(c, ack, mqtt_encode_ack(ack, MQTT_PUBREL, f->pid));
        }
    }
    session__drain(s);
}

static void remove_inflight(session *s, int i)
{
    bmsg__unref(s->inf[i].m);
    share__unref(s->inf[i].g);
    memmove(&s->inf[i], &s->inf[i + 1], (s->n_inf - (uint32_t)i - 1) * sizeof *s->inf);
    s->n_inf--;
}

/* The last acknowledgement of a delivery (PUBACK, PUBCOMP) in state @want arrived. An id
 * not in flight is ignored (acknowledged twice, or from before a restart); an id in flight
 * in another state is an acknowledgement of the wrong kind: -1, the connection closes
 * [MQTT-4.8.0-1] (PUBACK for QoS 2, PUBCOMP for QoS 1 or before our PUBREL). */
static int complete(session *s, uint16_t pid, uint8_t want)
{
    session__assert_owner(s);
    int i = find_inflight(s, pid);
    if (i < 0)
        return 0;
    if (s->inf[i].state != want)
        return -1;
    if (persist__session_on(s))
        persist__msg_del(session__owner(s), s, s->inf[i].mid);
    remove_inflight(s, i);
    session__drain(s);
    return 0;
}

int session__puback(session *s, uint16_t pid) { return complete(s, pid, INF_WAIT_PUBACK); }

int session__pubrec(session *s, uint16_t pid)
{
    session__assert_owner(s);
    int i = find_inflight(s, pid);
    if (i < 0)
        return 0;
    if (s->inf[i].state == INF_WAIT_PUBACK)
        return -1; /* [MQTT-4.8.0-1] PUBREC for a QoS 1 message */
    inflight *f = &s->inf[i];
    if (f->state == INF_WAIT_PUBREC) {
        /* [MQTT-4.3.3-1] the message is delivered; only the id stays until PUBCOMP. */
        bmsg__unref(f->m);
        f->m = NULL;
        share__unref(f->g); /* delivered: never handed to another member */
        f->g = NULL;
        f->state = INF_WAIT_PUBCOMP;
        if (persist__session_on(s))
            persist__msg_state(session__owner(s), s, f->mid, STORE_MSG_RELEASED, pid);
    }
    mconn *c = live_conn(s);
    if (c) {
        uint8_t ack[4];
        s->out->write(c, ack, mqtt_encode_ack(ack, MQTT_PUBREL, pid));
    }
    return 0;
}

int session__pubcomp(session *s, uint16_t pid) { return complete(s, pid, INF_WAIT_PUBCOMP); }

int session__pubrec_refused(session *s, uint16_t pid) { return complete(s, pid, INF_WAIT_PUBREC); }

int session__rx_qos2_add(session *s, uint16_t pid)
{
    session__assert_owner(s);
    for (uint32_t i = 0; i < s->n_rx_qos2; i++)
        if (s->rx_qos2[i] == pid)
            return 0;
    if (s->n_rx_qos2 == s->cap_rx_qos2) {
        uint32_t ncap = s->cap_rx_qos2 ? s->cap_rx_qos2 * 2 : 8;
        uint16_t *n = realloc(s->rx_qos2, ncap * sizeof *n);
        if (!n)
            return -1; /* a PUBREL for an id we did not keep would close the connection */
        s->rx_qos2 = n;
        s->cap_rx_qos2 = ncap;
    }
    s->rx_qos2[s->n_rx_qos2++] = pid;
    return 1;
}

bool session__rx_qos2_del(session *s, uint16_t pid)
{
    session__assert_owner(s);
    for (uint32_t i = 0; i < s->n_rx_qos2; i++) {
        if (s->rx_qos2[i] == pid) {
            s->rx_qos2[i] = s->rx_qos2[--s->n_rx_qos2];
            return true;
        }
    }
    return false;
}

/* restore.c: a message of a restored persistent session, in mid order. A message sent
 * before the restart goes back into the inflight window with its packet id, to be
 * re-sent with DUP on reconnect [MQTT-4.4.0-1]; the rest is queued. */
int session__restore_msg(session *s, bmsg *m, uint8_t qos, bool retain, uint8_t state, uint16_t pid)
{
    bool sent = state != STORE_MSG_QUEUED && pid != 0 && find_inflight(s, pid) < 0;
    if (sent && s->n_inf < s->br->o.max_inflight) {
        if (!s->inf && !(s->inf = malloc(sizeof *s->inf * s->br->o.max_inflight)))
            return -1;
        bool released = state == STORE_MSG_RELEASED;
        s->inf[s->n_inf++] = (inflight){
            .m = released ? NULL : bmsg__ref(m),
            .g = NULL,
            .mid = m->mid,
            .pid = pid,
            .qos = released ? 2 : qos,
            .state = released   ? INF_WAIT_PUBCOMP
                     : qos == 1 ? INF_WAIT_PUBACK
                                : INF_WAIT_PUBREC,
            .retain = retain,
        };
        if (pid >= s->next_pid)
            s->next_pid = pid == UINT16_MAX ? 1 : (uint16_t)(pid + 1);
        return 0;
    }
    if (state == STORE_MSG_RELEASED)
        return 0; /* only an id was left, and it cannot be kept: nothing to deliver */
    if (append(s, m, qos, retain, NULL) < 0)
        return -1;
    atomic_fetch_add_explicit(&s->backlog, 1, memory_order_relaxed);
    return 0;
}
