/*
 * persist — the broker's durable effects, one store job per loop iteration.
 *
 * Every effect a persistent session or a retained message has on the database (message
 * queued, sent, released, acknowledged or dropped; session created, changed, deleted;
 * retained set or cleared) is appended to the loop's open job (lp->pj). The job is
 * submitted once per iteration, from route__flush, before that iteration's cross-loop
 * deliveries are posted: a message's row is therefore queued in the store before the
 * owner loop of its session can even see the message, and the store runs jobs in FIFO
 * order, so updates and deletes never overtake the insert they refer to.
 *
 * Acknowledgements that promise durability ride in the same job and go out when the
 * store thread reports the commit (posted back to this loop). A connection with one
 * acknowledgement waiting sends every later one through the store too, so a fast
 * acknowledgement never overtakes a slow one [MQTT-4.6.0-2]/[MQTT-4.6.0-3].
 * If a job fails (disk full, I/O error) nothing it promised is acknowledged: the
 * connections waiting on it are closed, and their clients publish again on reconnect.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/mconn.h"
#include "broker/persist.h"
#include "broker/route.h"
#include "broker/session.h"
#include "common/container_of.h"
#include "common/log.h"
#include "mqtt/mqtt_codec.h"

enum pop_kind { P_MSG_ADD, P_MSG_STATE, P_MSG_DEL, P_SESS_NEW, P_SESS_PUT, P_SESS_DEL, P_RET };

typedef struct pop {
    uint8_t kind;
    uint8_t qos;
    uint8_t state;
    bool retain;
    uint16_t pid;
    session *s; /* one reference, for its client id */
    bmsg *m;    /* one reference: P_MSG_ADD, P_RET */
    uint64_t mid;
    bson_t *doc; /* P_SESS_NEW, P_SESS_PUT */
} pop;

typedef struct pafter {
    mconn *c;
    void (*fn)(mconn *c, void *arg, bool ok); /* NULL: write the 4-byte ack below */
    void *arg;
    uint8_t type;
    uint8_t reason; /* 5.0 reason code; 0: the short form, valid in 3.1.1 and 5.0 */
    uint16_t pid;
} pafter;

/* [MQTT-3.4.2-1] a 5.0 acknowledgement with a reason code other than 0x00 carries it */
static void write_ack(mconn *c, const pafter *a)
{
    uint8_t out[5];
    size_t n = mqtt_encode_ack(out, a->type, a->pid);
    if (a->reason) {
        out[1] = 3;
        out[n++] = a->reason;
    }
    mconn__write(c, out, n);
}

typedef struct pjob {
    store_job sj;
    net_msg nm;
    bloop *lp;
    pop *ops;
    uint32_t n_ops, cap_ops;
    pafter *acks;
    uint32_t n_acks, cap_acks;
} pjob;

#define PJOB_FIRST_CAP 16u

/* Allocation failure injection (tests): while non-zero, every allocation below fails and
 * counts it down. Relaxed: a test sets it, the loop thread reads it. */
atomic_uint persist__fail_allocs;

static void *palloc(void *p, size_t size)
{
    unsigned left = atomic_load_explicit(&persist__fail_allocs, memory_order_relaxed);
    if (left) {
        atomic_store_explicit(&persist__fail_allocs, left - 1, memory_order_relaxed);
        return NULL;
    }
    return realloc(p, size);
}

bool persist__session_on(session *s) { return s->br->o.st && !s->clean; }

uint32_t persist__count(bloop *lp) { return lp->pj ? lp->pj->n_ops : 0; }

uint32_t persist__lost(bloop *lp) { return lp->pj_lost; }

static pjob *open_job(bloop *lp)
{
    if (!lp->pj) {
        lp->pj = palloc(NULL, sizeof *lp->pj);
        if (!lp->pj)
            return NULL;
        memset(lp->pj, 0, sizeof *lp->pj);
        lp->pj->lp = lp;
    }
    return lp->pj;
}

static bool grow(void **v, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap)
        return true;
    uint32_t ncap = *cap ? *cap * 2 : PJOB_FIRST_CAP;
    void *nv = palloc(*v, ncap * size);
    if (!nv)
        return false;
    *v = nv;
    *cap = ncap;
    return true;
}

/* Work added after the loop's last iteration (closes at shutdown) goes out at once. */
static void added(bloop *lp)
{
    if (lp->stopped || !lp->nl)
        persist__flush(lp);
    else
        route__mark_dirty(lp);
}

static pop *add_op(bloop *lp, uint8_t kind, session *s)
{
    pjob *j = open_job(lp);
    if (!j || !grow((void **)&j->ops, &j->cap_ops, j->n_ops, sizeof *j->ops)) {
        /* Without memory the effect is lost; say so rather than abort a loop, and count
         * it, so that nothing depending on it is acknowledged (docs/architecture.md,
         * "Out of memory"). */
        log_error("broker: out of memory recording a durable effect");
        BROKER_STAT_ADD(lp->br, store_errors, 1);
        lp->pj_lost++;
        return NULL;
    }
    pop *o = &j->ops[j->n_ops++];
    *o = (pop){.kind = kind, .s = s ? session__ref(s) : NULL};
    return o;
}

void persist__msg_add(bloop *lp, session *s, bmsg *m, uint8_t qos, bool retain)
{
    pop *o = add_op(lp, P_MSG_ADD, s);
    if (!o)
        return;
    o->m = bmsg__ref(m);
    o->mid = m->mid;
    o->qos = qos;
    o->retain = retain;
    added(lp);
}

/* The ADD of (s, mid) if it is the last effect of this iteration: a message delivered
 * at once on the loop that routed it (same loop, empty queue) is then stored already
 * sent, one write instead of two. */
static pop *pending_add(bloop *lp, session *s, uint64_t mid)
{
    pjob *j = lp->pj;
    pop *o = j && j->n_ops ? &j->ops[j->n_ops - 1] : NULL;
    return o && o->kind == P_MSG_ADD && o->s == s && o->mid == mid ? o : NULL;
}

void persist__msg_state(bloop *lp, session *s, uint64_t mid, uint8_t state, uint16_t pid)
{
    pop *o = pending_add(lp, s, mid);
    if (o) {
        o->state = state;
        o->pid = pid;
        return;
    }
    o = add_op(lp, P_MSG_STATE, s);
    if (!o)
        return;
    o->mid = mid;
    o->state = state;
    o->pid = pid;
    added(lp);
}

void persist__msg_del(bloop *lp, session *s, uint64_t mid)
{
    pop *o = add_op(lp, P_MSG_DEL, s);
    if (!o)
        return;
    o->mid = mid;
    added(lp);
}

static void session_doc(bloop *lp, session *s, uint8_t kind)
{
    bson_t *doc = persist__session_doc(s, s->conn ? 0 : s->offline_since);
    pop *o = doc ? add_op(lp, kind, s) : NULL;
    if (!o) {
        if (!doc)
            lp->pj_lost++;
        bson_destroy(doc);
        return;
    }
    o->doc = doc;
    added(lp);
}

void persist__session_new(bloop *lp, session *s) { session_doc(lp, s, P_SESS_NEW); }

void persist__session_put(bloop *lp, session *s) { session_doc(lp, s, P_SESS_PUT); }

void persist__session_del(bloop *lp, session *s)
{
    if (add_op(lp, P_SESS_DEL, s))
        added(lp);
}

void persist__retained(bloop *lp, bmsg *m)
{
    pop *o = add_op(lp, P_RET, NULL);
    if (!o)
        return;
    o->m = bmsg__ref(m);
    added(lp);
}

/* Out of memory where an acknowledgement had to wait for a commit: it is never sent
 * (the promise cannot be kept); the connection is closed and the client retries. */
static void withhold(mconn *c, const pafter *a)
{
    log_error("broker: out of memory queueing an acknowledgement for %s: closing", mconn__peer(c));
    BROKER_STAT_ADD(c->br, store_errors, 1);
    if (a->fn)
        a->fn(c, a->arg, false);
    mconn__close(c);
}

static void after(mconn *c, const pafter *a, bool durable)
{
    bloop *lp = c->lp;
    if (!c->br->o.st || (!durable && !c->store_pending)) {
        if (a->fn)
            a->fn(c, a->arg, true);
        else
            write_ack(c, a);
        return;
    }
    pjob *j = open_job(lp);
    if (!j || !grow((void **)&j->acks, &j->cap_acks, j->n_acks, sizeof *j->acks)) {
        withhold(c, a);
        return;
    }
    j->acks[j->n_acks++] = *a;
    c->store_pending++;
    added(lp);
}

void persist__ack(mconn *c, uint8_t type, uint16_t pid, bool durable)
{
    after(c, &(pafter){.c = c, .type = type, .pid = pid}, durable);
}

void persist__ack_rc(mconn *c, uint8_t type, uint16_t pid, uint8_t reason, bool durable)
{
    after(c, &(pafter){.c = c, .type = type, .reason = reason, .pid = pid}, durable);
}

void persist__after(mconn *c, void (*fn)(mconn *c, void *arg, bool ok), void *arg, bool durable)
{
    after(c, &(pafter){.c = c, .fn = fn, .arg = arg}, durable);
}

/* ---- store thread ------------------------------------------------------------------- */

static store_msg msg_of(const pop *o)
{
    const bmsg *m = o->m;
    return (store_msg){
        .mid = o->mid,
        .qos = o->qos,
        .retain = o->retain,
        .state = o->state,
        .pid = o->pid,
        .topic = m->b->data + m->topic_off,
        .topic_len = m->topic_len,
        .payload = m->b->data + m->payload_off,
        .payload_len = m->payload_len,
    };
}

static int retained_op(store_tx *tx, const bmsg *m)
{
    const uint8_t *topic = m->b->data + m->topic_off;
    if (m->payload_len == 0)
        return store_retained_delete(tx, topic, m->topic_len);
    store_retained r = {topic, m->topic_len, m->qos, m->b->data + m->payload_off, m->payload_len};
    return store_retained_put(tx, &r);
}

static int run_op(store_tx *tx, const pop *o)
{
    store_msg sm;
    switch (o->kind) {
    case P_MSG_ADD:
        sm = msg_of(o);
        return store_msg_add(tx, o->s->id, &sm);
    case P_MSG_STATE:
        return store_msg_update(tx, o->s->id, o->mid, o->state, o->pid);
    case P_MSG_DEL:
        return store_msg_delete(tx, o->s->id, o->mid);
    case P_SESS_NEW:
        return store_session_put(tx, o->s->id, o->doc);
    case P_SESS_PUT:
        return store_session_update(tx, o->s->id, o->doc);
    case P_SESS_DEL:
        return store_session_delete(tx, o->s->id);
    case P_RET:
        return retained_op(tx, o->m);
    }
    return STORE_EINVAL;
}

static int job_run(store_tx *tx, store_job *sj)
{
    pjob *j = (pjob *)sj;
    for (uint32_t i = 0; i < j->n_ops; i++) {
        int rc = run_op(tx, &j->ops[i]);
        /* Races are expected and harmless: an update or delete for a row a session
         * delete already removed, a message queued for a session deleted meanwhile
         * (foreign key), a retained message delivered twice to one session. */
        if (rc < 0 && rc != STORE_ENOTFOUND && rc != STORE_EEXISTS)
            return rc;
    }
    return 0;
}

static void job_complete(net_loop *nl, net_msg *nm);

static void job_done(store_job *sj)
{
    pjob *j = (pjob *)sj;
    j->nm.next = NULL;
    j->nm.fn = job_complete;
    net_loop_post(j->lp->nl, &j->nm);
}

/* ---- back on the loop ----------------------------------------------------------------- */

static void complete_ack(pafter *a, bool ok)
{
    mconn *c = a->c;
    c->store_pending--;
    bool live = !c->transport_gone && c->state != MC_CLOSING;
    if (a->fn) {
        a->fn(c, a->arg, ok && live);
    } else if (ok && live) {
        write_ack(c, a);
    }
    if (!ok && live)
        mconn__close(c); /* nothing promised is acknowledged; the client retries */
    mconn__maybe_free(c);
}

static void free_job(pjob *j)
{
    for (uint32_t i = 0; i < j->n_ops; i++) {
        pop *o = &j->ops[i];
        session__unref_opt(o->s);
        bmsg__unref(o->m);
        if (o->doc)
            bson_destroy(o->doc);
    }
    free(j->ops);
    free(j->acks);
    free(j);
}

static void job_complete(net_loop *nl, net_msg *nm)
{
    (void)nl;
    pjob *j = container_of(nm, pjob, nm);
    bool ok = j->sj.rc >= 0;
    if (!ok) {
        BROKER_STAT_ADD(j->lp->br, store_errors, 1);
        log_error("broker: store commit failed (%s): %u acknowledgement(s) withheld",
                  store_strerror(j->sj.rc), j->n_acks);
    }
    for (uint32_t i = 0; i < j->n_acks; i++)
        complete_ack(&j->acks[i], ok);
    free_job(j);
}

void persist__flush(bloop *lp)
{
    pjob *j = lp->pj;
    if (!j)
        return;
    lp->pj = NULL;
    j->sj.run = job_run;
    j->sj.done = job_done;
    store_submit(lp->br->o.st, &j->sj);
}

void persist__drop(bloop *lp)
{
    if (lp->pj) {
        for (uint32_t i = 0; i < lp->pj->n_acks; i++)
            complete_ack(&lp->pj->acks[i], false);
        free_job(lp->pj);
        lp->pj = NULL;
    }
}
