/* iotbench pubsub: MQTT publishers and subscribers on one uv loop.
 *
 * Payload layout (host byte order: sender and receiver are the same process):
 *
 *   offset  size  field
 *   0       4     publisher index
 *   4       8     sequence number, from 0 per publisher
 *   12      8     send time, CLOCK_MONOTONIC ns
 *   20      ...   zero padding up to --size
 *
 * Phases: SETUP (subscribers connect and subscribe, then publishers connect), WARMUP
 * (traffic, not counted), MEASURE, DRAIN (publishers stop; wait until every expected
 * message arrived and every QoS 1 PUBLISH was acked; gives up after DRAIN_MAX_NS without
 * progress), DONE.
 *
 * --persistent: subscribers connect with clean session 0 under fixed ids. --offline: in
 * SETUP each subscriber subscribes and disconnects (the broker queues for it); publishers
 * start once all are offline; in DRAIN, after every PUBLISH was acked, the subscribers
 * reconnect with the same ids, expect session present 1 and drain the queue without
 * subscribing again. Loss then counts what the broker acknowledged but did not keep.
 *
 * reqrep: publishers are requesters; each also subscribes to bench/resp/<i> and publishes
 * its requests on bench/req/<i>. The one subscriber is the responder: subscribed to
 * bench/req/#, it republishes every request's payload unchanged, same QoS, on
 * bench/resp/<publisher index>. The requester accounts the answers like a subscriber
 * (latency = round trip, loss = requests without an answer).
 *
 * --tls: every client speaks TLS (mqtt_client_set_tls) with one SSL_CTX per run.
 *
 * Publishers time each QoS 1 PUBLISH until its PUBACK (with a durable broker: the commit
 * latency clients see); the send time is kept per packet id in a ring of ACK_RING slots,
 * enough while fewer than ACK_RING ids are allocated between a PUBLISH and its PUBACK. */
#include "bench/iotbench.h"
#include "bench/iotbench_tls.h"
#include "bench/mqtt_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S         1000000000ull
#define SETUP_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  2000
#define DRAIN_MAX_NS     (5 * NS_PER_S)
#define KEEPALIVE_S      60
#define PING_EVERY_NS    (30 * NS_PER_S)
/* Reordering and duplicates are detected within this many sequence numbers. */
#define TRACK_WINDOW 1024
#define ACK_RING     8192

struct run;

struct track {
    uint64_t next;                    /* highest sequence seen + 1 */
    uint64_t seen[TRACK_WINDOW / 64]; /* bit s % TRACK_WINDOW: s received */
};

/* QoS 1 packet ids of one client awaiting PUBACK */
struct ids {
    uint32_t inflight;
    uint16_t next;
    uint8_t inuse[65536 / 8];
};

struct pub {
    struct run *run;
    mqtt_client *c;
    uint32_t idx;
    char topic[32];
    size_t topic_len;
    char reply[32];     /* reqrep: where the answers come */
    struct track track; /* reqrep: answers received */
    uint64_t seq;       /* next sequence number = messages sent */
    struct ids ids;
    uint64_t *sent_at; /* send time by packet id % ACK_RING */
    bool ready;
};

struct sub {
    struct run *run;
    mqtt_client *c;
    uint32_t idx;
    char filter[32];
    struct track *tracks; /* fanin: one per publisher, else one */
    size_t ntracks;
    struct ids ids; /* reqrep: the responder's answers */
    bool ready;
    bool parking;  /* --offline: DISCONNECT sent after SUBACK */
    bool resuming; /* --offline: reconnected to drain its queue */
};

enum phase { PH_SETUP, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE };

struct run {
    const iotbench_opts *o;
    iotbench_result *r;
    uv_loop_t loop;
    struct sockaddr_storage addr;
    struct pub *pubs;
    struct sub *subs;
    int nready;
    int nopen;
    int nparked;  /* --offline subscribers gone offline */
    bool resumed; /* --offline subscribers reconnected */
    enum phase phase;
    int err;
    uint64_t t_start, t_measure, t_drain, t_next_progress, t_next_ping;
    uint64_t t_progress; /* last delivery, last PUBACK or the resume: drain timeout base */
    uv_timer_t tick;
    uv_timer_t guard; /* setup timeout, then stop timeout */
    hist interval;    /* latency of the current progress second */
    uint64_t delivered_total;
    uint64_t prog_sent, prog_delivered;
    uint8_t *payload;
    SSL_CTX *tls; /* --tls, else NULL */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void finish(struct run *run, int err);

/* ---- publishers ------------------------------------------------------------------- */

/* The caller keeps inflight below 65535, so a free id exists. */
static uint16_t take_packet_id(struct ids *ids)
{
    do {
        ids->next++;
    } while (ids->next == 0 || (ids->inuse[ids->next / 8] & (1u << (ids->next % 8))));
    /* [MQTT-2.3.1-2] a new PUBLISH uses an id not in use; 0 is not allowed [MQTT-2.3.1-1] */
    ids->inuse[ids->next / 8] |= (uint8_t)(1u << (ids->next % 8));
    ids->inflight++;
    return ids->next;
}

/* false when @id was not in use */
static bool release_packet_id(struct ids *ids, uint16_t id)
{
    if (!(ids->inuse[id / 8] & (1u << (id % 8))))
        return false;
    ids->inuse[id / 8] &= (uint8_t) ~(1u << (id % 8));
    ids->inflight--;
    return true;
}

static int send_one(struct pub *p)
{
    struct run *run = p->run;
    uint64_t ts = now_ns();
    uint16_t id = 0;
    int rc;

    memcpy(run->payload, &p->idx, 4);
    memcpy(run->payload + 4, &p->seq, 8);
    memcpy(run->payload + 12, &ts, 8);
    if (run->o->qos == 1) {
        id = take_packet_id(&p->ids);
        p->sent_at[id % ACK_RING] = ts;
    }
    rc = mqtt_client_publish(p->c, p->topic, p->topic_len, (uint8_t)run->o->qos, id, run->payload,
                             (size_t)run->o->size);
    if (rc < 0)
        return rc;
    p->seq++;
    run->r->sent_total++;
    if (run->phase == PH_MEASURE)
        run->r->sent++;
    return 0;
}

/* Sends while the back-pressure limits and the rate allow. */
static void pump(struct pub *p)
{
    struct run *run = p->run;
    const iotbench_opts *o = run->o;
    uint64_t due = UINT64_MAX;

    if (run->phase != PH_WARMUP && run->phase != PH_MEASURE)
        return;
    if (o->rate > 0) {
        double per_pub = o->rate / o->pubs;
        due = (uint64_t)(per_pub * (double)(now_ns() - run->t_start) / (double)NS_PER_S) + 1;
    }
    while (p->seq < due && mqtt_client_unflushed(p->c) < (size_t)o->max_unflushed &&
           (o->qos == 0 || p->ids.inflight < (uint32_t)o->inflight)) {
        int rc = send_one(p);
        if (rc < 0) {
            fprintf(stderr, "iotbench: publish failed: %s\n", uv_strerror(rc));
            finish(run, rc);
            return;
        }
    }
}

/* ---- subscribers ------------------------------------------------------------------ */

enum seen { SEEN_NEW, SEEN_LATE, SEEN_DUP };

static enum seen track_note(struct track *t, uint64_t seq)
{
    uint64_t bit = 1ull << (seq % 64);
    uint64_t *w = &t->seen[(seq % TRACK_WINDOW) / 64];

    if (seq >= t->next) {
        if (seq - t->next >= TRACK_WINDOW) {
            memset(t->seen, 0, sizeof t->seen);
        } else {
            for (uint64_t s = t->next; s < seq; s++) /* the gap: not received (yet) */
                t->seen[(s % TRACK_WINDOW) / 64] &= ~(1ull << (s % 64));
        }
        *w |= bit;
        t->next = seq + 1;
        return SEEN_NEW;
    }
    if (t->next - seq > TRACK_WINDOW)
        return SEEN_LATE; /* too old to tell; counted as reordered, not as a duplicate */
    if (*w & bit)
        return SEEN_DUP;
    *w |= bit;
    return SEEN_LATE;
}

static struct track *sub_track(struct sub *s, uint32_t pidx)
{
    const iotbench_opts *o = s->run->o;

    if (o->mode == IOTBENCH_FANIN)
        return pidx < s->ntracks ? &s->tracks[pidx] : NULL;
    if (o->mode == IOTBENCH_ONE2ONE)
        return pidx == s->idx ? &s->tracks[0] : NULL;
    return pidx == 0 ? &s->tracks[0] : NULL;
}

static void account(struct run *run, struct track *t, uint64_t seq)
{
    switch (track_note(t, seq)) {
    case SEEN_NEW:
        run->r->unique++;
        break;
    case SEEN_LATE:
        run->r->unique++;
        run->r->out_of_order++;
        break;
    case SEEN_DUP:
        run->r->dups++;
        break;
    }
}

struct hdr {
    uint32_t pidx;
    uint64_t seq;
    uint64_t ts;
};

static int parse_payload(struct run *run, const mqtt_publish *m, struct hdr *h)
{
    if (m->payload_len < IOTBENCH_MIN_SIZE) {
        fprintf(stderr, "iotbench: foreign message (%zu bytes) on our topics\n", m->payload_len);
        finish(run, UV_EPROTO);
        return -1;
    }
    memcpy(&h->pidx, m->payload, 4);
    memcpy(&h->seq, m->payload + 4, 8);
    memcpy(&h->ts, m->payload + 12, 8);
    return 0;
}

/* A message for a subscriber (or an answer for a requester) arrived. */
static void deliver(struct run *run, mqtt_client *c, struct track *t, const struct hdr *h,
                    const mqtt_publish *m)
{
    uint64_t now = now_ns(), ts = h->ts;

    hist_record(&run->interval, now - ts);
    run->delivered_total++;
    run->t_progress = now;
    if (run->phase == PH_MEASURE) {
        run->r->delivered++;
        if (ts >= run->t_measure)
            hist_record(&run->r->latency, now - ts);
    }
    account(run, t, h->seq);
    if (m->qos == 1 && mqtt_client_puback(c, m->packet_id) < 0)
        finish(run, UV_ENOBUFS);
}

/* reqrep: the responder sends the request back on the requester's reply topic. */
static void respond(struct sub *s, const struct hdr *h, const mqtt_publish *m)
{
    struct run *run = s->run;
    uint8_t qos = (uint8_t)run->o->qos;
    char topic[32];
    int n = snprintf(topic, sizeof topic, "bench/resp/%u", h->pidx);
    uint16_t id = 0;

    if (h->pidx >= (uint32_t)run->o->pubs) {
        fprintf(stderr, "iotbench: request from unknown requester %u\n", h->pidx);
        finish(run, UV_EPROTO);
        return;
    }
    if (qos == 1 && s->ids.inflight >= 65000) {
        fprintf(stderr, "iotbench: responder: 65,000 answers unacknowledged\n");
        finish(run, UV_ENOBUFS);
        return;
    }
    if (qos == 1)
        id = take_packet_id(&s->ids);
    if (mqtt_client_publish(s->c, topic, (size_t)n, qos, id, m->payload, m->payload_len) < 0 ||
        (m->qos == 1 && mqtt_client_puback(s->c, m->packet_id) < 0))
        finish(run, UV_ENOBUFS);
}

static void sub_on_publish(mqtt_client *c, const mqtt_publish *m)
{
    struct sub *s = mqtt_client_data(c);
    struct hdr h;
    struct track *t;

    if (parse_payload(s->run, m, &h) < 0)
        return;
    if (s->run->o->mode == IOTBENCH_REQREP) {
        respond(s, &h, m);
        return;
    }
    t = sub_track(s, h.pidx);
    if (!t) {
        fprintf(stderr, "iotbench: subscriber %u got publisher %u's message\n", s->idx, h.pidx);
        finish(s->run, UV_EPROTO);
        return;
    }
    deliver(s->run, c, t, &h, m);
}

static void sub_on_puback(mqtt_client *c, uint16_t id)
{
    struct sub *s = mqtt_client_data(c);

    if (!release_packet_id(&s->ids, id)) {
        fprintf(stderr, "iotbench: responder: PUBACK for unknown id %u\n", id);
        finish(s->run, UV_EPROTO);
    }
}

/* reqrep: an answer came back to its requester. */
static void pub_on_publish(mqtt_client *c, const mqtt_publish *m)
{
    struct pub *p = mqtt_client_data(c);
    struct hdr h;

    if (parse_payload(p->run, m, &h) < 0)
        return;
    if (h.pidx != p->idx) {
        fprintf(stderr, "iotbench: requester %u got %u's answer\n", p->idx, h.pidx);
        finish(p->run, UV_EPROTO);
        return;
    }
    deliver(p->run, c, &p->track, &h, m);
}

/* ---- setup -------------------------------------------------------------------------- */

static void start_traffic(struct run *run)
{
    uint64_t now = now_ns();

    run->phase = PH_WARMUP;
    run->t_start = now;
    run->t_measure = now + (uint64_t)(run->o->warmup * (double)NS_PER_S);
    run->t_drain = run->t_measure + (uint64_t)(run->o->duration * (double)NS_PER_S);
    run->t_next_progress = now + NS_PER_S;
    run->t_next_ping = now + PING_EVERY_NS;
    if (run->o->warmup <= 0)
        run->phase = PH_MEASURE;
    uv_timer_stop(&run->guard);
    for (int i = 0; i < run->o->pubs; i++)
        pump(&run->pubs[i]);
}

static void client_ready(struct run *run)
{
    run->nready++;
    if (run->nready == run->o->subs + run->o->pubs)
        start_traffic(run);
}

static void connect_client(struct run *run, mqtt_client *c, char kind, int i)
{
    char id[48];
    int rc;

    snprintf(id, sizeof id, "iotbench-%ld-%c%d", (long)getpid(), kind, i);
    mqtt_client_set_persistent(c, kind == 's' && run->o->persistent);
    mqtt_client_set_v5(c, run->o->mqtt5);
    mqtt_client_set_credentials(c, run->o->username, run->o->password);
    rc = run->tls ? mqtt_client_set_tls(c, run->tls) : 0;
    if (rc == 0 && run->o->ws_path)
        rc = mqtt_client_set_ws(c, run->o->ws_path);
    if (rc == 0)
        rc = mqtt_client_connect(c, (const struct sockaddr *)&run->addr, id, KEEPALIVE_S);
    if (rc < 0) {
        fprintf(stderr, "iotbench: connect: %s\n", uv_strerror(rc));
        finish(run, rc);
    }
}

static void pub_on_connack(mqtt_client *c, uint8_t rc)
{
    struct pub *p = mqtt_client_data(c);

    if (rc != MQTT_CONNACK_ACCEPTED) {
        fprintf(stderr, "iotbench: publisher %u refused, CONNACK %u\n", p->idx, rc);
        finish(p->run, UV_ECONNREFUSED);
        return;
    }
    if (p->run->o->mode == IOTBENCH_REQREP) {
        int err = mqtt_client_subscribe(c, 1, p->reply, (uint8_t)p->run->o->qos);
        if (err < 0)
            finish(p->run, err);
        return; /* ready at the SUBACK */
    }
    p->ready = true;
    client_ready(p->run);
}

static void pub_on_suback(mqtt_client *c, uint16_t id, uint8_t code)
{
    struct pub *p = mqtt_client_data(c);

    if (code != p->run->o->qos) {
        fprintf(stderr, "iotbench: requester %u got SUBACK code %u\n", p->idx, code);
        finish(p->run, UV_ECONNREFUSED);
        return;
    }
    p->ready = true;
    client_ready(p->run);
}

static void note_puback(struct run *run, uint64_t sent)
{
    uint64_t now = now_ns();

    run->t_progress = now;
    if (sent >= run->t_measure && sent < run->t_drain)
        hist_record(&run->r->puback_latency, now - sent);
}

static void pub_on_puback(mqtt_client *c, uint16_t id)
{
    struct pub *p = mqtt_client_data(c);

    if (!release_packet_id(&p->ids, id)) {
        fprintf(stderr, "iotbench: PUBACK for unknown id %u\n", id);
        finish(p->run, UV_EPROTO);
        return;
    }
    p->run->r->acked++;
    note_puback(p->run, p->sent_at[id % ACK_RING]);
    pump(p);
}

static void pub_on_drain(mqtt_client *c) { pump(mqtt_client_data(c)); }

static void start_publishers(struct run *run);

static void sub_on_connack(mqtt_client *c, uint8_t rc)
{
    struct sub *s = mqtt_client_data(c);
    int err;

    if (rc != MQTT_CONNACK_ACCEPTED) {
        fprintf(stderr, "iotbench: subscriber %u refused, CONNACK %u\n", s->idx, rc);
        finish(s->run, UV_ECONNREFUSED);
        return;
    }
    if (s->resuming) {
        /* the subscription must come from the stored session, not from us */
        if (!mqtt_client_session_present(c)) {
            fprintf(stderr, "iotbench: subscriber %u: session present 0, session lost\n", s->idx);
            s->run->r->sessions_lost++;
        }
        return;
    }
    err = mqtt_client_subscribe(c, 1, s->filter, (uint8_t)s->run->o->qos);
    if (err < 0)
        finish(s->run, err);
}

static void sub_on_suback(mqtt_client *c, uint16_t id, uint8_t code)
{
    struct sub *s = mqtt_client_data(c);

    if (code == 0x80 || code != s->run->o->qos) {
        fprintf(stderr, "iotbench: subscriber %u got SUBACK code %u\n", s->idx, code);
        finish(s->run, UV_ECONNREFUSED);
        return;
    }
    s->ready = true;
    client_ready(s->run);
    if (s->run->o->offline) {
        s->parking = true;
        if (mqtt_client_disconnect(c) < 0)
            mqtt_client_close(c);
        return;
    }
    if (s->run->nready == s->run->o->subs)
        start_publishers(s->run); /* subscriptions are in place before anything is sent */
}

static void on_close_common(struct run *run, int err, const char *what, uint32_t idx)
{
    run->nopen--;
    if (run->phase == PH_DONE)
        return;
    if (err <= MQTT_OK && err >= MQTT_ENOSPACE)
        fprintf(stderr, "iotbench: %s %u: protocol error %d\n", what, idx, err);
    else
        fprintf(stderr, "iotbench: %s %u: connection lost: %s\n", what, idx, uv_strerror(err));
    finish(run, err ? err : UV_ECONNRESET);
}

static void pub_on_close(mqtt_client *c, int err)
{
    struct pub *p = mqtt_client_data(c);

    p->c = NULL;
    on_close_common(p->run, err, "publisher", p->idx);
}

static void sub_on_close(mqtt_client *c, int err)
{
    struct sub *s = mqtt_client_data(c);

    s->c = NULL;
    if (s->parking && err == 0 && s->run->phase == PH_SETUP) {
        s->parking = false;
        s->run->nopen--;
        if (++s->run->nparked == s->run->o->subs)
            start_publishers(s->run); /* every session is offline and subscribed */
        return;
    }
    on_close_common(s->run, err, "subscriber", s->idx);
}

static const mqtt_client_cbs pub_cbs = {
    .on_connack = pub_on_connack,
    .on_suback = pub_on_suback,
    .on_publish = pub_on_publish,
    .on_puback = pub_on_puback,
    .on_drain = pub_on_drain,
    .on_close = pub_on_close,
};

static const mqtt_client_cbs sub_cbs = {
    .on_connack = sub_on_connack,
    .on_suback = sub_on_suback,
    .on_publish = sub_on_publish,
    .on_puback = sub_on_puback,
    .on_close = sub_on_close,
};

static void start_publishers(struct run *run)
{
    for (int i = 0; i < run->o->pubs && run->phase == PH_SETUP; i++) {
        struct pub *p = &run->pubs[i];

        p->c = mqtt_client_new(&run->loop, &pub_cbs, p);
        if (!p->c) {
            finish(run, UV_ENOMEM);
            return;
        }
        run->nopen++;
        connect_client(run, p->c, 'p', i);
    }
}

static int start_subscribers(struct run *run)
{
    const iotbench_opts *o = run->o;

    for (int i = 0; i < o->subs && run->phase == PH_SETUP; i++) {
        struct sub *s = &run->subs[i];

        if (o->mode == IOTBENCH_FANIN)
            snprintf(s->filter, sizeof s->filter, "bench/#");
        else if (o->mode == IOTBENCH_REQREP)
            snprintf(s->filter, sizeof s->filter, "bench/req/#");
        else
            snprintf(s->filter, sizeof s->filter, "bench/%d", o->mode == IOTBENCH_ONE2ONE ? i : 0);
        s->c = mqtt_client_new(&run->loop, &sub_cbs, s);
        if (!s->c)
            return UV_ENOMEM;
        run->nopen++;
        connect_client(run, s->c, 's', i);
    }
    return 0;
}

/* ---- timers: phases, pacing, progress ------------------------------------------------ */

static const char *phase_name(enum phase ph)
{
    static const char *const names[] = {"setup", "warmup", "measure", "drain", "done"};
    return names[ph];
}

static void progress(struct run *run, uint64_t now)
{
    double el = (double)(now - run->t_start) / (double)NS_PER_S;

    fprintf(stderr, "[%6.1fs %-7s] sent %9llu/s  delivered %9llu/s  p99 %9.1f us\n", el,
            phase_name(run->phase), (unsigned long long)(run->r->sent_total - run->prog_sent),
            (unsigned long long)(run->delivered_total - run->prog_delivered),
            (double)hist_percentile(&run->interval, 99.0) / 1e3);
    run->prog_sent = run->r->sent_total;
    run->prog_delivered = run->delivered_total;
    hist_reset(&run->interval);
    run->t_next_progress += NS_PER_S;
}

static bool pubs_settled(struct run *run)
{
    for (int i = 0; i < run->o->pubs; i++)
        if (run->pubs[i].ids.inflight > 0)
            return false;
    return true;
}

/* --offline: every PUBLISH is acked, so the queues are complete; fetch them. */
static void resume_subscribers(struct run *run)
{
    run->resumed = true;
    run->t_progress = now_ns();
    for (int i = 0; i < run->o->subs && run->phase != PH_DONE; i++) {
        struct sub *s = &run->subs[i];

        s->c = mqtt_client_new(&run->loop, &sub_cbs, s);
        if (!s->c) {
            finish(run, UV_ENOMEM);
            return;
        }
        s->resuming = true;
        run->nopen++;
        connect_client(run, s->c, 's', i);
    }
}

static bool drained(struct run *run)
{
    uint64_t fan = run->o->mode == IOTBENCH_FANOUT ? (uint64_t)run->o->subs : 1;
    uint64_t expected = 0;

    for (int i = 0; i < run->o->pubs; i++) {
        if (run->pubs[i].ids.inflight > 0)
            return false;
        expected += run->pubs[i].seq * fan;
    }
    return run->r->unique >= expected;
}

static void advance_phase(struct run *run, uint64_t now)
{
    if (run->phase == PH_WARMUP && now >= run->t_measure)
        run->phase = PH_MEASURE;
    if (run->phase == PH_MEASURE && now >= run->t_drain) {
        run->phase = PH_DRAIN;
        run->r->measured_s = (double)(now - run->t_measure) / (double)NS_PER_S;
    }
    if (run->phase == PH_DRAIN && run->o->offline && !run->resumed && pubs_settled(run))
        resume_subscribers(run);
    if (run->phase == PH_DRAIN && (drained(run) || (now >= run->t_drain + DRAIN_MAX_NS &&
                                                    now >= run->t_progress + DRAIN_MAX_NS)))
        finish(run, 0);
}

static void ping_all(struct run *run)
{
    for (int i = 0; i < run->o->pubs; i++)
        if (run->pubs[i].c)
            mqtt_client_ping(run->pubs[i].c);
    for (int i = 0; i < run->o->subs; i++)
        if (run->subs[i].c)
            mqtt_client_ping(run->subs[i].c);
}

static void on_tick(uv_timer_t *t)
{
    struct run *run = t->data;
    uint64_t now = now_ns();

    if (run->phase == PH_SETUP || run->phase == PH_DONE)
        return;
    if (now >= run->t_next_progress)
        progress(run, now);
    if (now >= run->t_next_ping) {
        ping_all(run);
        run->t_next_ping += PING_EVERY_NS;
    }
    advance_phase(run, now);
    if (run->o->rate > 0)
        for (int i = 0; i < run->o->pubs && run->phase != PH_DONE; i++)
            pump(&run->pubs[i]);
}

static void on_guard(uv_timer_t *t)
{
    struct run *run = t->data;

    if (run->phase == PH_SETUP) {
        fprintf(stderr, "iotbench: setup did not complete in %d ms\n", SETUP_TIMEOUT_MS);
        finish(run, UV_ETIMEDOUT);
        return;
    }
    /* DONE, and some connection did not close after DISCONNECT: force it. */
    for (int i = 0; i < run->o->pubs; i++)
        if (run->pubs[i].c)
            mqtt_client_close(run->pubs[i].c);
    for (int i = 0; i < run->o->subs; i++)
        if (run->subs[i].c)
            mqtt_client_close(run->subs[i].c);
    if (!uv_is_closing((uv_handle_t *)&run->guard))
        uv_close((uv_handle_t *)&run->guard, NULL);
}

/* ---- teardown ------------------------------------------------------------------------ */

static void stop_client(mqtt_client *c, bool graceful)
{
    if (!c)
        return;
    if (!graceful || mqtt_client_disconnect(c) < 0)
        mqtt_client_close(c);
}

/* Ends the run (once): stops the timers and closes every connection; the loop then
 * runs out of handles and iotbench_pubsub_run returns. */
static void finish(struct run *run, int err)
{
    bool graceful = err == 0;
    uint64_t fan = run->o->mode == IOTBENCH_FANOUT ? (uint64_t)run->o->subs : 1;

    if (run->phase == PH_DONE)
        return;
    if (run->phase == PH_MEASURE)
        run->r->measured_s = (double)(now_ns() - run->t_measure) / (double)NS_PER_S;
    run->phase = PH_DONE;
    run->err = err;
    for (int i = 0; i < run->o->pubs; i++)
        run->r->expected += run->pubs[i].seq * fan;
    run->r->lost = run->r->expected > run->r->unique ? run->r->expected - run->r->unique : 0;
    uv_close((uv_handle_t *)&run->tick, NULL);
    uv_timer_start(&run->guard, on_guard, STOP_TIMEOUT_MS, 0);
    for (int i = 0; i < run->o->pubs; i++)
        stop_client(run->pubs[i].c, graceful);
    for (int i = 0; i < run->o->subs; i++)
        stop_client(run->subs[i].c, graceful);
}

static void guard_close_if_idle(uv_handle_t *h, void *arg)
{
    struct run *run = arg;

    /* Only the guard timer may remain once every client is gone. */
    if (h == (uv_handle_t *)&run->guard && !uv_is_closing(h))
        uv_close(h, NULL);
}

static int init_run(struct run *run, const iotbench_opts *o, iotbench_result *r)
{
    int rc;

    memset(r, 0, sizeof *r);
    run->o = o;
    run->r = r;
    run->phase = PH_SETUP;
    rc = uv_ip4_addr(o->host, o->port, (struct sockaddr_in *)&run->addr);
    if (rc < 0)
        rc = uv_ip6_addr(o->host, o->port, (struct sockaddr_in6 *)&run->addr);
    if (rc < 0)
        return rc;
    run->pubs = calloc((size_t)o->pubs, sizeof *run->pubs);
    run->subs = calloc((size_t)o->subs, sizeof *run->subs);
    run->payload = calloc(1, (size_t)o->size);
    if (!run->pubs || !run->subs || !run->payload)
        return UV_ENOMEM;
    if (o->tls && !(run->tls = iotbench_tls_ctx(o->cafile, o->host, o->alpn)))
        return UV_EINVAL;
    if (o->tls && !o->cafile)
        fprintf(stderr, "iotbench: no --cafile: the server certificate is not verified\n");
    for (int i = 0; i < o->pubs; i++) {
        struct pub *p = &run->pubs[i];
        p->run = run;
        p->idx = (uint32_t)i;
        p->topic_len = (size_t)snprintf(
            p->topic, sizeof p->topic, o->mode == IOTBENCH_REQREP ? "bench/req/%d" : "bench/%d", i);
        snprintf(p->reply, sizeof p->reply, "bench/resp/%d", i);
        p->sent_at = calloc(ACK_RING, sizeof *p->sent_at);
        if (!p->sent_at)
            return UV_ENOMEM;
    }
    for (int i = 0; i < o->subs; i++) {
        struct sub *s = &run->subs[i];
        s->run = run;
        s->idx = (uint32_t)i;
        s->ntracks = o->mode == IOTBENCH_FANIN ? (size_t)o->pubs : 1;
        s->tracks = calloc(s->ntracks, sizeof *s->tracks);
        if (!s->tracks)
            return UV_ENOMEM;
    }
    return 0;
}

static void free_run(struct run *run)
{
    if (run->subs)
        for (int i = 0; i < run->o->subs; i++)
            free(run->subs[i].tracks);
    if (run->pubs)
        for (int i = 0; i < run->o->pubs; i++)
            free(run->pubs[i].sent_at);
    free(run->subs);
    free(run->pubs);
    free(run->payload);
    SSL_CTX_free(run->tls);
}

int iotbench_pubsub_run(const iotbench_opts *o, iotbench_result *r)
{
    struct run *run = calloc(1, sizeof *run);
    int rc;

    if (!run)
        return UV_ENOMEM;
    rc = init_run(run, o, r);
    if (rc < 0)
        goto out_free;
    rc = uv_loop_init(&run->loop);
    if (rc < 0)
        goto out_free;
    uv_timer_init(&run->loop, &run->tick);
    uv_timer_init(&run->loop, &run->guard);
    run->tick.data = run;
    run->guard.data = run;
    uv_timer_start(&run->tick, on_tick, 1, 1);
    uv_timer_start(&run->guard, on_guard, SETUP_TIMEOUT_MS, 0);
    rc = start_subscribers(run);
    if (rc < 0)
        finish(run, rc);
    while (uv_run(&run->loop, UV_RUN_ONCE)) {
        if (run->phase == PH_DONE && run->nopen == 0)
            uv_walk(&run->loop, guard_close_if_idle, run);
    }
    rc = run->err;
    uv_loop_close(&run->loop);
out_free:
    free_run(run);
    free(run);
    return rc;
}
